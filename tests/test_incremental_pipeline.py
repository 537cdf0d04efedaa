"""The whole pipeline, incrementally: after a day's change (edits, deletes, new records) an
`aeglobal run` extracts only what changed, scores only pairs touching changed records, and ends
exactly where `aeglobal run --full-refresh` over the same final data ends — same groups, same
global ids, same golden records and write-back plan — with unchanged people keeping their ids.

Before the change, the same home shows the `aeglobal run` command end to end: the first run
extracts every source object and `aeglobal evaluate` scores its plan, and a second run over
unchanged sources extracts nothing (one home for both: each pipeline run costs tens of seconds
of the suite's time).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from manifest_helpers import load_manifest, person_keyed_models, stored_models
from snapshot_helpers import private_home

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.cli import main
from aeglobal_pipeline.sandbox.change import make_change

# Identity's tables (Python); every table dbt builds is compared too, enumerated from the manifest
# (_dbt_tables), so a model added later is held to the same contract with no edit here.
IDENTITY_SNAPSHOTS = {
    "global ids": "SELECT record_key, global_person_id FROM identity.global_person_map",
    "scored pairs": """SELECT record_key_a, record_key_b, decision, round(match_probability, 9)
                       FROM identity.person_links""",
}
# dbt tables a full refresh changes by design.
NOT_COMPARED = {
    "int_governance__build_state": "when and from what the last governance build ran",
    "int_phone_numbers": "a cache of parsed numbers that only grows",
}
# Columns that say when a row was extracted or built (the build stamp), not what it holds.
WHEN_COLUMNS = ("source_extracted_at", "_built_at")


def _dbt_tables() -> dict[str, str]:
    """Every table dbt builds (person-keyed or not) but NOT_COMPARED: name → `schema.table`."""
    return {name: table for name, table in stored_models(load_manifest()).items()
            if name not in NOT_COMPARED}


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, ["run", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _governance_rebuilt() -> tuple[int, int]:
    """Persons the last governance build redid, and all persons."""
    with warehouse.connect(read_only=True) as con:
        return con.execute(
            "SELECT persons_rebuilt, (SELECT count(*) FROM marts.golden_person) "
            "FROM intermediate.int_governance__build_state"
        ).fetchone()


def _table_query(con, table: str) -> str:
    """Every column of `table` but those of WHEN_COLUMNS it has."""
    schema, name = table.split(".")
    columns = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, name]).fetchall()}
    assert columns, f"no table {table} in the warehouse"
    when = ", ".join(c for c in WHEN_COLUMNS if c in columns)
    # Names from dbt's manifest, not from data.
    return f"SELECT * {f'EXCLUDE ({when})' if when else ''} FROM {table}"  # noqa: S608


def _snapshot() -> dict[str, set[tuple]]:
    with warehouse.connect(read_only=True) as con:
        queries = {**IDENTITY_SNAPSHOTS,
                   **{name: _table_query(con, table) for name, table in _dbt_tables().items()}}
        # str(): some mart columns are lists, which a set cannot hold.
        return {name: {tuple(map(str, row)) for row in con.execute(sql).fetchall()}
                for name, sql in queries.items()}


def _last_scoring() -> dict:
    with warehouse.connect(read_only=True) as con:
        summary = con.execute(
            "SELECT summary FROM identity.identity_runs WHERE step = 'links' ORDER BY \"at\" DESC LIMIT 1"
        ).fetchall()[0][0]
    return json.loads(summary)["scoring"]


@pytest.fixture(scope="module")
def changed_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with private_home(tmp_path_factory.mktemp("incremental_home")) as home:
        generated = CliRunner().invoke(
            main, ["sandbox", "generate", "--persons", "250", "--seed", "8", "--out", str(home / "base")]
        )
        assert generated.exit_code == 0, generated.output
        first, unchanged = _run(), _run()
        evaluated = CliRunner().invoke(main, ["evaluate", "--truth", str(home / "base.truth.csv"), "--json"])
        before = _snapshot()
        change = make_change(home / "base", home / "changed", 0.03, seed=9)
        loaded = CliRunner().invoke(main, ["sandbox", "load", str(home / "changed")])
        assert loaded.exit_code == 0, loaded.output
        output = _run()
        yield {"before": before, "incremental": _snapshot(), "scoring": _last_scoring(),
               "governance": _governance_rebuilt(),
               "touched": change["touched"], "counts": change["counts"], "output": output,
               "first": first, "unchanged": unchanged, "evaluated": evaluated}


def _counts(output: str) -> dict[str, tuple[int, int, int]]:
    """{asset: (new, updated, deleted)} from `aeglobal run` output."""
    pattern = re.compile(r"^\s+(raw/\S+)\s+rows\s+\d+\s+new (\d+), updated (\d+), deleted (\d+)", re.M)
    return {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in pattern.finditer(output)}


def test_run_extracts_everything_then_a_second_run_changes_nothing(changed_home):
    counts = _counts(changed_home["first"])
    # 3 CRM orgs × 3 objects + 2 business units.
    assert len(counts) == 11
    assert all(new > 0 for new, _, _ in counts.values()), counts
    assert set(_counts(changed_home["unchanged"]).values()) == {(0, 0, 0)}


def test_evaluate_scores_the_runs_plan(changed_home):
    """`aeglobal evaluate --json` scores the run's writeback_plan against the truth attributes."""
    result = changed_home["evaluated"]
    assert result.exit_code == 0, result.output
    writeback = json.loads(result.output)["writeback"]
    assert writeback["person_field_changes"] == sum(writeback["counts"].values()) > 0
    assert writeback["counts"]["good_fill"] > 0 and writeback["not_scored"]["global id"] > 0
    example = writeback["examples"]["good_fill"][0]
    assert example["rule"].startswith("precedence.") and example["current_value"] in (None, "")


def test_the_incremental_run_only_scores_what_changed(changed_home):
    scoring = changed_home["scoring"]
    assert scoring["mode"] == "incremental", scoring
    counts = changed_home["counts"]
    # New records are always flagged, edited ones when the edit changed a matching feature (a
    # swap of two equal letters does not); deleted ones keep their row and features, and the
    # untouched majority is never flagged.
    assert counts["new"] <= scoring["changed"] <= counts["new"] + counts["edit"]
    assert scoring["changed"] >= counts["new"] + counts["edit"] // 2
    assert scoring["kept_pairs"] > 0


def test_the_incremental_run_only_governs_the_persons_it_touched(changed_home):
    rebuilt, persons = changed_home["governance"]
    counts = changed_home["counts"]
    touched_records = counts["new"] + counts["edit"] + counts["delete"]
    # Each touched record marks its old and its new person; merges and splits a few more.
    assert 0 < rebuilt <= 3 * touched_records < persons / 2, (rebuilt, persons, counts)


def test_unchanged_people_keep_their_ids(changed_home):
    before = dict(changed_home["before"]["global ids"])
    after = dict(changed_home["incremental"]["global ids"])
    touched = changed_home["touched"]
    groups: dict[str, set[str]] = {}
    for key, gid in before.items():
        groups.setdefault(gid, set()).add(key)
    untouched_groups = [g for g in groups.values() if not g & touched]
    assert len(untouched_groups) > 100
    for group in untouched_groups:
        assert {after[k] for k in group} == {before[next(iter(group))]}, sorted(group)


def test_every_person_keyed_model_is_compared():
    """The models an incremental build redoes per person come from the manifest, as do the
    tables compared below: none can be left out of the comparison by omission."""
    person_keyed = person_keyed_models(load_manifest())
    assert {"golden_person", "writeback_plan", "int_governance__candidates"} <= person_keyed
    assert person_keyed <= set(_dbt_tables()), person_keyed - set(_dbt_tables())


def test_a_full_refresh_on_the_same_data_ends_exactly_where_the_incremental_run_did(changed_home):
    _run("--full-refresh")
    assert _last_scoring()["mode"] == "full"
    full = _snapshot()
    for name, rows in changed_home["incremental"].items():
        assert rows == full[name], f"{name}: {len(rows ^ full[name])} rows differ"
