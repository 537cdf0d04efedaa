"""The identity steps end to end, each reading and writing the warehouse briefly.

1. `train_step`  — the model (trains when none exists or `retrain`), in memory.
2. `links_step`  — scored pairs + deterministic links → identity.person_links.
3. `map_step`    — clustering under steward decisions, stable ids → identity.global_person_map,
                   identity.global_person_lineage, identity.identity_runs.

Splink only ever sees an in-memory copy of int_person_records; the warehouse is opened through
`warehouse.connect()` for the read and for the write and closed in between.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity import features, incremental, links, stable_ids
from aeglobal_pipeline.identity.clustering import DETERMINISTIC_WEIGHT, cluster_records, size_histogram
from aeglobal_pipeline.identity.decisions import StewardDecisions, load_decisions
from aeglobal_pipeline.identity.model import ModelArtefact, ensure_model, latest_model
from aeglobal_pipeline.identity.settings import MatchingRules, load_matching_rules


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _load_memory():
    with warehouse.connect(read_only=True) as con:
        records = features.read_records(con)
    memory = features.in_memory()
    features.load_records(memory, records)
    return memory, records.num_rows


def train_step(rules: MatchingRules | None = None, *, retrain: bool = False) -> tuple[ModelArtefact, bool]:
    """The model to use: the latest one, or a newly trained one (none yet, or `retrain`)."""
    rules = rules or load_matching_rules()
    if not retrain and (existing := latest_model()) is not None:
        return existing, False
    memory, _ = _load_memory()
    with memory:
        return ensure_model(memory, rules, retrain=retrain)


@dataclass
class LinksSummary:
    run_id: str
    model_version: str
    records: int
    pairs: dict[str, int]  # decision → pairs
    deterministic: dict[str, int]  # kind → links (…_rejected_names_differ: failed the name check)
    seconds: float
    scoring: dict[str, Any] = field(default_factory=dict)  # full | incremental, why, changed records


def links_step(
    run_id: str, rules: MatchingRules | None = None, artefact: ModelArtefact | None = None,
    *, full_refresh: bool = False,
) -> LinksSummary:
    """Predict pairs (only those touching changed records, when it can) and collect deterministic
    links; replace identity.person_links."""
    started = time.perf_counter()
    rules = rules or load_matching_rules()
    artefact = artefact or latest_model()
    if artefact is None:
        raise RuntimeError("no identity model yet: materialise identity_model (or run train_step) first")
    with warehouse.connect(read_only=True) as con:
        records_table = features.read_records(con)
        previous = incremental.read_previous(con)
    rules_hash = incremental.rules_fingerprint(rules)
    memory = features.in_memory()
    with memory:
        features.load_records(memory, records_table)
        del records_table
        incremental.fingerprint_records(memory)
        plan = incremental.plan_scoring(
            memory, previous, model_version=artefact.version, rules_hash=rules_hash,
            full_refresh=full_refresh,
        )
        stale = None
        if plan.mode == "incremental":
            links.score_pairs(memory, artefact, rules, only_flagged=incremental.CHANGED_COLUMN)
            stale = memory.sql(f"SELECT record_key FROM {incremental.STALE_TABLE}").to_arrow_table()  # noqa: S608
        else:
            links.score_pairs(memory, artefact, rules)
        del previous
        deterministic = links.deterministic_links(memory)
        table = memory.sql(
            f"""
            SELECT record_key_a, record_key_b, match_weight, match_probability, decision, evidence
            FROM {links.PAIRS_TABLE}
            UNION ALL
            SELECT record_key_a, record_key_b, NULL, 1.0,
                   CASE WHEN names_compatible THEN 'must_link:' ELSE 'rejected_must_link:' END || kind,
                   NULL
            FROM {links.MUST_TABLE}
            """  # noqa: S608 - constant identifiers
        ).to_arrow_table()
        fingerprints = memory.sql("SELECT record_key, fingerprint FROM record_fingerprints").to_arrow_table()
    with warehouse.connect() as con:
        stable_ids.ensure_tables(con)
        con.execute("BEGIN")
        incremental.write_pairs(con, plan, table, stale, model_version=artefact.version, run_id=run_id)
        incremental.save_state(
            con, fingerprints, model_version=artefact.version, rules_hash=rules_hash, run_id=run_id
        )
        con.execute("COMMIT")
        pairs = dict(con.execute(
            f"SELECT decision, count(*) FROM {stable_ids.LINKS_TABLE} GROUP BY ALL"  # noqa: S608
        ).fetchall())
        summary = LinksSummary(run_id, artefact.version, plan.records, pairs, deterministic, 0.0,
                               scoring=asdict(plan))
        summary.seconds = round(time.perf_counter() - started, 2)
        _log_run(con, run_id, "links", artefact.version, asdict(summary))
    return summary


@dataclass
class MapSummary:
    run_id: str
    model_version: str | None
    records: int
    clusters: int
    cluster_sizes: dict[str, int]
    largest_cluster: int
    edges_used: int
    edges_cut_cannot_link: int
    edges_cut_size: int
    steward_must_links: int
    steward_cannot_links: int
    events: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# Links that clustering may follow: accepted model pairs and deterministic (must) links.
CLUSTERING_EDGES = "decision = 'accepted' OR decision LIKE 'must\\_link:%' ESCAPE '\\'"


def map_step(
    run_id: str, rules: MatchingRules | None = None, decisions: StewardDecisions | None = None
) -> MapSummary:
    """Cluster accepted links under steward decisions and assign stable ids."""
    started = time.perf_counter()
    rules = rules or load_matching_rules()
    decisions = decisions or load_decisions()
    with warehouse.connect(read_only=True) as con:
        records = con.execute(
            f"SELECT record_key, written_global_person_id FROM {features.SOURCE_TABLE}"  # noqa: S608
        ).fetchall()
        edges = (
            con.execute(
                f"""SELECT record_key_a, record_key_b,
                       CASE WHEN decision = 'accepted' THEN match_weight ELSE ? END
                FROM {stable_ids.LINKS_TABLE} WHERE {CLUSTERING_EDGES}""",  # noqa: S608
                [DETERMINISTIC_WEIGHT],
            ).fetchall()
            if stable_ids.table_exists(con, stable_ids.LINKS_TABLE)
            else []
        )
        model_version = _links_model_version(con)
        previous, issued_at, known = stable_ids.read_previous(con)

    result = cluster_records(
        (r[0] for r in records),
        edges,
        must_links=[(a, b) for a, b, _ in decisions.must_links],
        cannot_links=[(a, b) for a, b, _ in decisions.cannot_links],
        max_cluster_size=rules.thresholds.max_cluster_size,
    )
    del edges
    # Ids written back to the CRM by an earlier deployment count as previous ids.
    adopted = set()
    previous = dict(previous)
    for key, written in records:
        if written and key not in previous:
            previous[key] = written
            if written not in known:
                adopted.add(written)
    assignment = stable_ids.assign_ids(
        result.cluster_of, previous, issued_at, run_id, known_ids=known, adopted=adopted
    )
    at = datetime.now(UTC)
    assigned = pa.table(
        {
            "record_key": list(assignment.id_of_record),
            "global_person_id": list(assignment.id_of_record.values()),
        }
    )
    lineage_rows = pa.table(
        {
            "global_person_id": [e[0] for e in assignment.events],
            "event": [e[1] for e in assignment.events],
            "other_global_person_id": [e[2] for e in assignment.events],
            "run_id": [run_id] * len(assignment.events),
            "at": pa.array([at] * len(assignment.events), pa.timestamp("us", tz="UTC")),
        }
    )
    summary = MapSummary(
        run_id=run_id,
        model_version=model_version,
        records=len(records),
        clusters=len(result.sizes),
        cluster_sizes=size_histogram(result.sizes.values()),
        largest_cluster=max(result.sizes.values(), default=0),
        edges_used=result.edges_used,
        edges_cut_cannot_link=result.edges_cut_cannot_link,
        edges_cut_size=result.edges_cut_size,
        steward_must_links=len(decisions.must_links),
        steward_cannot_links=len(decisions.cannot_links),
        events=dict(Counter(e[1] for e in assignment.events)),
    )
    with warehouse.connect() as con:
        stable_ids.ensure_tables(con)
        con.register("assigned_arrow", assigned)
        con.register("lineage_arrow", lineage_rows)
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {stable_ids.MAP_TABLE}")  # noqa: S608
        # match_probability: the record's best link inside its person (NULL when it stands alone).
        con.execute(
            f"""INSERT INTO {stable_ids.MAP_TABLE}
                WITH ends AS (
                    SELECT record_key_a AS record_key, record_key_b AS other, match_probability
                    FROM {stable_ids.LINKS_TABLE} WHERE {CLUSTERING_EDGES}
                    UNION ALL
                    SELECT record_key_b, record_key_a, match_probability
                    FROM {stable_ids.LINKS_TABLE} WHERE {CLUSTERING_EDGES}
                ),
                best AS (
                    SELECT ends.record_key, max(ends.match_probability) AS match_probability
                    FROM ends
                    JOIN assigned_arrow AS mine ON mine.record_key = ends.record_key
                    JOIN assigned_arrow AS theirs ON theirs.record_key = ends.other
                    WHERE mine.global_person_id = theirs.global_person_id
                    GROUP BY ends.record_key
                )
                SELECT r.record_key, r.source, r.object, r.record_id, a.global_person_id,
                       best.match_probability, ?
                FROM {features.SOURCE_TABLE} AS r
                JOIN assigned_arrow AS a USING (record_key)
                LEFT JOIN best USING (record_key)""",  # noqa: S608 - constant identifiers
            [run_id],
        )
        con.execute(f"INSERT INTO {stable_ids.LINEAGE_TABLE} SELECT * FROM lineage_arrow")  # noqa: S608
        con.execute("COMMIT")
        con.unregister("assigned_arrow")
        con.unregister("lineage_arrow")
        summary.seconds = round(time.perf_counter() - started, 2)
        _log_run(con, run_id, "map", model_version, asdict(summary))
    return summary


def _links_model_version(con) -> str | None:
    if not stable_ids.table_exists(con, stable_ids.LINKS_TABLE):
        return None
    rows = con.execute(f"SELECT any_value(model_version) FROM {stable_ids.LINKS_TABLE}").fetchall()  # noqa: S608
    return rows[0][0] if rows else None


def _log_run(con, run_id: str, step: str, model_version: str | None, summary: dict[str, Any]) -> None:
    con.execute(
        f"INSERT INTO {stable_ids.RUNS_TABLE} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
        [run_id, step, datetime.now(UTC), model_version, json.dumps(summary, default=str)],
    )


def resolve_identities(
    *, run_id: str | None = None, retrain: bool = False, full_refresh: bool = False
) -> tuple[LinksSummary, MapSummary]:
    """All three steps: model (reused unless `retrain`), links, map."""
    run_id = run_id or new_run_id()
    rules = load_matching_rules()
    artefact, _ = train_step(rules, retrain=retrain)
    return links_step(run_id, rules, artefact, full_refresh=full_refresh), map_step(run_id, rules)
