"""The map step: accepted links → clusters under steward decisions → stable ids.

Writes identity.global_person_map, identity.global_person_lineage and the map state. Re-clusters
only the connected components where something changed since the last map run (`map_scope`);
a record outside them keeps its row as it was, which is the row a full run would write again
(its `run_id` stays that of the run that last placed it).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity import map_scope, stable_ids
from aeglobal_pipeline.identity.clustering import ClusteringResult, cluster_records
from aeglobal_pipeline.identity.decisions import StewardDecisions, load_decisions
from aeglobal_pipeline.identity.features import prepare_source
from aeglobal_pipeline.identity.settings import MatchingRules, load_matching_rules


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
    mode: str = "full"  # full | incremental
    reason: str = ""
    records_reclustered: int = 0


def map_step(
    run_id: str, rules: MatchingRules | None = None, decisions: StewardDecisions | None = None,
    *, full_refresh: bool = False,
) -> MapSummary:
    """Cluster accepted links under steward decisions and assign stable ids."""
    started = time.perf_counter()
    rules = rules or load_matching_rules()
    decisions = decisions or load_decisions()
    cap = rules.thresholds.max_cluster_size
    decided = map_scope.decisions_json(decisions)
    prepare_source(refresh=False)
    with warehouse.connect(read_only=True) as con:
        plan = map_scope.plan(con, max_cluster_size=cap, decisions=decided, full=full_refresh)
        inputs = map_scope.read_inputs(con, plan)
        scope = con.sql("SELECT record_key FROM scope").to_arrow_table()
        model_version = _links_model_version(con)
        edges = zip(inputs.edges["a"].to_pylist(), inputs.edges["b"].to_pylist(),
                    inputs.edges["weight"].to_pylist(), strict=True)
        linked, apart = [], []
        for a, b, weight in edges:
            (apart if weight == map_scope.KEPT_APART_WEIGHT else linked).append((a, b, weight))
        result = cluster_records(
            (r[0] for r in inputs.records),
            linked,
            must_links=[(a, b) for a, b, _ in decisions.must_links],
            cannot_links=[(a, b) for a, b, _ in decisions.cannot_links],
            kept_apart=[(a, b) for a, b, _ in apart],
            max_cluster_size=cap,
            identifiers=inputs.identifiers,
        )
        assignment = _assign(con, plan, inputs, result, run_id)
    at = datetime.now(UTC)
    events = assignment.events
    assigned = pa.table({"record_key": list(assignment.id_of_record),
                         "global_person_id": list(assignment.id_of_record.values())})
    lineage = pa.table({
        "global_person_id": [e[0] for e in events],
        "event": [e[1] for e in events],
        "other_global_person_id": [e[2] for e in events],
        "run_id": [run_id] * len(events),
        "at": pa.array([at] * len(events), pa.timestamp("us", tz="UTC")),
    })
    with warehouse.connect() as con:
        stable_ids.ensure_tables(con)
        con.execute("BEGIN")
        map_scope.write(con, plan, scope=scope, assigned=assigned, edges=inputs.edges, lineage=lineage,
                        result=result, max_cluster_size=cap, decisions=decided, run_id=run_id)
        con.execute("COMMIT")
        totals = map_scope.totals(con)
        summary = MapSummary(
            run_id=run_id,
            model_version=model_version,
            records=plan.records,
            clusters=sum(totals["sizes"].values()),
            cluster_sizes=_histogram(totals["sizes"]),
            largest_cluster=max(totals["sizes"], default=0),
            edges_used=totals["edges_used"],
            edges_cut_cannot_link=totals["edges_cut_cannot_link"],
            edges_cut_size=totals["edges_cut_size"],
            steward_must_links=len(decisions.must_links),
            steward_cannot_links=len(decisions.cannot_links),
            events=dict(Counter(e[1] for e in events)),
            mode=plan.mode,
            reason=plan.reason,
            records_reclustered=len(result.cluster_of),
        )
        summary.seconds = round(time.perf_counter() - started, 2)
        log_run(con, run_id, "map", model_version, asdict(summary))
    return summary


def _assign(con: duckdb.DuckDBPyConnection, plan: map_scope.MapPlan, inputs: map_scope.ScopeInputs,
            result: ClusteringResult, run_id: str) -> stable_ids.Assignment:
    """Stable ids for the clusters in scope (the warehouse answers which ids exist elsewhere)."""
    incremental = plan.mode == "incremental"
    previous = dict(inputs.previous)
    known = set(inputs.known)
    # Ids written back to the CRM by an earlier deployment count as previous ids.
    written = {key: value for key, value in inputs.records if value and key not in previous}
    if incremental:
        known |= map_scope.ids_in_use(con, sorted(set(written.values())))
    adopted = {value for value in written.values() if value not in known}
    previous.update(written)
    is_known = None
    if incremental:
        # Every id ever issued is not loaded: look up the new ids this run would draw first.
        drawn = {stable_ids.candidate_id(cluster, run_id) for cluster in set(result.cluster_of.values())}
        known |= map_scope.ids_in_use(con, sorted(drawn))

        def is_known(candidate: str) -> bool:
            return candidate not in drawn and bool(map_scope.ids_in_use(con, [candidate]))

    return stable_ids.assign_ids(result.cluster_of, previous, inputs.issued_at, run_id,
                                 known_ids=known, adopted=adopted, is_known=is_known)


def _histogram(sizes: dict[int, int]) -> dict[str, int]:
    """Person counts by size bucket: 1, 2, 3, 4, 5-9, 10-19, 20+."""
    buckets = {"1": 0, "2": 0, "3": 0, "4": 0, "5-9": 0, "10-19": 0, "20+": 0}
    for size, persons in sizes.items():
        key = str(size) if size <= 4 else "5-9" if size < 10 else "10-19" if size < 20 else "20+"
        buckets[key] += persons
    return buckets


def _links_model_version(con: duckdb.DuckDBPyConnection) -> str | None:
    if not stable_ids.table_exists(con, stable_ids.LINKS_TABLE):
        return None
    rows = con.execute(f"SELECT any_value(model_version) FROM {stable_ids.LINKS_TABLE}").fetchall()  # noqa: S608
    return rows[0][0] if rows else None


def log_run(con: duckdb.DuckDBPyConnection, run_id: str, step: str, model_version: str | None,
            summary: dict) -> None:
    con.execute(
        f"INSERT INTO {stable_ids.RUNS_TABLE} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
        [run_id, step, datetime.now(UTC), model_version, json.dumps(summary, default=str)],
    )
