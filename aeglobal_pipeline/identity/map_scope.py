"""What a map run has to redo: the connected components where something changed.

Clustering (`clustering.cluster_records`) never looks across a connected component of the edge
graph (clustering edges plus steward must-links), and id assignment never across a person. So
the map of a component where nothing changed is exactly what a full run would write again. The
map run keeps what it needs to find the others (identity.map_edges: the edges it clustered,
identity.map_components: every record's component, identity.map_state: its settings and the
steward decisions it applied) and the next run re-clusters only its *scope*:

- seeds: both ends of every edge added, removed or re-weighted since (`EXCEPT ALL` against
  map_edges), new and vanished records, every record a steward decision names (now or last
  time), and the holders of an id that a new record brings along as written-back id;
- scope: every record of a seed's previous component, plus the seeds.

The scope is closed under the new edges (an unchanged edge stays inside an old component, a
changed one has seeds at both ends), so it is a union of new components: clustering it alone
gives those components' full-run clusters, and every record outside it keeps its row. Its old
persons lie wholly inside it too, so the ids they held are decided among its clusters only.

A full run (no state yet, another cluster size cap or clustering version, or a scope of more than
MAX_SCOPE_SHARE of the records) uses the same code with every record in scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from aeglobal_pipeline.identity.clustering import DETERMINISTIC_WEIGHT, ClusteringResult
from aeglobal_pipeline.identity.decisions import StewardDecisions
from aeglobal_pipeline.identity.features import SOURCE_TABLE, generation_sql
from aeglobal_pipeline.identity.links import KEPT_APART
from aeglobal_pipeline.identity.stable_ids import (
    EVENT_ADOPTED,
    EVENT_ISSUED,
    LINEAGE_TABLE,
    LINKS_TABLE,
    MAP_TABLE,
    table_exists,
)

EDGES_TABLE = "identity.map_edges"
COMPONENTS_TABLE = "identity.map_components"
COMPONENT_STATS_TABLE = "identity.map_component_stats"
STATE_TABLE = "identity.map_state"
# Bump when clustering or id assignment changes what they return for the same input.
CLUSTERING_VERSION = "4"  # 2: chains cut on strong ids; 3: kept-apart pairs; 4: birthdate digit typos
MAX_SCOPE_SHARE = 0.3

# Links that clustering may follow: accepted model pairs and deterministic (must) links.
CLUSTERING_EDGES = "decision = 'accepted' OR decision LIKE 'must\\_link:%' ESCAPE '\\'"
# Kept-apart pairs travel with the edges (so a change to one seeds its records) under a weight no
# edge has; clustering takes them as cannot-links.
KEPT_APART_WEIGHT = -1.0e9

DDL = (
    f"""CREATE TABLE IF NOT EXISTS {EDGES_TABLE} (
        record_key_a VARCHAR, record_key_b VARCHAR, weight DOUBLE)""",
    f"CREATE TABLE IF NOT EXISTS {COMPONENTS_TABLE} (record_key VARCHAR, component VARCHAR)",
    f"""CREATE TABLE IF NOT EXISTS {COMPONENT_STATS_TABLE} (
        component VARCHAR, records INTEGER, edges_used INTEGER, edges_cut_cannot_link INTEGER,
        edges_cut_size INTEGER)""",
    f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        max_cluster_size INTEGER, clustering_version VARCHAR, decisions JSON, run_id VARCHAR)""",
)


@dataclass
class MapPlan:
    mode: str  # full | incremental
    reason: str
    records: int
    scope: int = 0  # records (present or vanished) re-clustered
    seeds: int = 0


@dataclass
class ScopeInputs:
    """Everything clustering and id assignment need about the records in scope."""

    records: list[tuple[str, str | None]]  # (record key, written-back global id)
    edges: pa.Table  # a, b, weight, match_probability: clustering edges inside the scope
    previous: dict[str, str]  # record → id of the last run (present and vanished records)
    issued_at: dict = field(default_factory=dict)  # id → first issued
    known: set[str] = field(default_factory=set)  # ids ever issued (full) or a prefetched part
    # record → (birthdate, generational suffix), for the records that have either
    identifiers: dict[str, tuple] = field(default_factory=dict)


def decisions_json(decisions: StewardDecisions) -> str:
    return json.dumps({"must_link": sorted([a, b] for a, b, _ in decisions.must_links),
                       "cannot_link": sorted([a, b] for a, b, _ in decisions.cannot_links)})


def plan(con: duckdb.DuckDBPyConnection, *, max_cluster_size: int, decisions: str,
         full: bool = False) -> MapPlan:
    """Fill the temp table `scope(record_key)` and say whether this run is full or incremental.

    Also leaves `current_edges(a, b, weight, match_probability)`: every clustering edge of
    identity.person_links, deterministic links weighted DETERMINISTIC_WEIGHT."""
    # Edges naming a record that is gone are left out when the scope is read; here they would
    # only cost a semi-join over every edge, and at worst they make their other end a seed.
    if table_exists(con, LINKS_TABLE):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE current_edges AS
                SELECT record_key_a AS a, record_key_b AS b,
                       CASE WHEN decision = 'accepted' THEN match_weight
                            WHEN decision = ? THEN ? ELSE ? END AS weight,
                       match_probability
                FROM {LINKS_TABLE} WHERE {CLUSTERING_EDGES} OR decision = ?""",  # noqa: S608 - constants
            [KEPT_APART, KEPT_APART_WEIGHT, DETERMINISTIC_WEIGHT, KEPT_APART],
        )
    else:
        con.execute("""CREATE OR REPLACE TEMP TABLE current_edges (
                           a VARCHAR, b VARCHAR, weight DOUBLE, match_probability DOUBLE)""")
    records = con.execute(f"SELECT count(*) FROM {SOURCE_TABLE}").fetchall()[0][0]  # noqa: S608
    reason = "full run asked for" if full else _why_full(con, max_cluster_size)
    if reason:
        _scope_everything(con)
        return MapPlan("full", reason, records, scope=_count(con, "scope"))
    previous_decisions = json.loads(
        con.execute(f"SELECT decisions FROM {STATE_TABLE}").fetchall()[0][0]  # noqa: S608
    )
    current = json.loads(decisions)
    named = sorted({key for state in (previous_decisions, current) for pairs in state.values()
                    for pair in pairs for key in pair})
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE seeds AS
            WITH changed AS (  -- edges whose count differs (EXCEPT ALL both ways, in one pass)
                SELECT a, b FROM (
                    SELECT a, b, weight, 1 AS n FROM current_edges
                    UNION ALL
                    SELECT record_key_a, record_key_b, weight, -1 FROM {EDGES_TABLE}
                ) GROUP BY a, b, weight HAVING sum(n) <> 0
            ),
            arrived AS (
                SELECT record_key, written_global_person_id FROM {SOURCE_TABLE}
                WHERE record_key NOT IN (SELECT record_key FROM {MAP_TABLE})
            )
            SELECT a AS record_key FROM changed
            UNION SELECT b FROM changed
            UNION SELECT record_key FROM arrived
            UNION SELECT record_key FROM {MAP_TABLE}
                  WHERE record_key NOT IN (SELECT record_key FROM {SOURCE_TABLE})
            -- a new record's written-back id counts as its previous id: its holders decide too
            UNION SELECT record_key FROM {MAP_TABLE} WHERE global_person_id IN (
                SELECT written_global_person_id FROM arrived)
            UNION SELECT unnest(?::VARCHAR[])"""  # noqa: S608 - constants; the keys are bound
        , [named],
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE scope AS
            SELECT record_key FROM seeds
            UNION
            SELECT c.record_key FROM {COMPONENTS_TABLE} AS c
            WHERE c.component IN (SELECT component FROM {COMPONENTS_TABLE}
                                  WHERE record_key IN (SELECT record_key FROM seeds))"""  # noqa: S608
    )
    # A key a decision or a dangling edge names may be no record at all: reading the scope's
    # records and previous ids leaves it out, and deleting its rows deletes nothing.
    seeds, scope = _count(con, "seeds"), _count(con, "scope")
    if records and scope > MAX_SCOPE_SHARE * records:
        _scope_everything(con)
        return MapPlan("full", f"{scope:,} of {records:,} records in changed components", records,
                       scope=_count(con, "scope"), seeds=seeds)
    return MapPlan("incremental", "re-cluster the components that changed", records, scope, seeds)


def _why_full(con: duckdb.DuckDBPyConnection, max_cluster_size: int) -> str:
    for table in (MAP_TABLE, STATE_TABLE, EDGES_TABLE, COMPONENTS_TABLE, COMPONENT_STATS_TABLE):
        if not table_exists(con, table):
            return "no previous map state"
    state = con.execute(f"SELECT max_cluster_size, clustering_version FROM {STATE_TABLE}").fetchall()  # noqa: S608
    if len(state) != 1:
        return "no previous map state"
    if state[0][0] != max_cluster_size:
        return "max_cluster_size changed"
    if state[0][1] != CLUSTERING_VERSION:
        return "clustering changed"
    return ""


def _scope_everything(con: duckdb.DuckDBPyConnection) -> None:
    mapped = f"UNION SELECT record_key FROM {MAP_TABLE}" if table_exists(con, MAP_TABLE) else ""  # noqa: S608
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE scope AS SELECT record_key FROM {SOURCE_TABLE} {mapped}"  # noqa: S608
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]  # noqa: S608 - constant names


def read_inputs(con: duckdb.DuckDBPyConnection, plan_: MapPlan) -> ScopeInputs:
    """The records, edges and previous ids of the scope `plan` left in the connection."""
    in_scope = "record_key IN (SELECT record_key FROM scope)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE present AS
            SELECT record_key, written_global_person_id FROM {SOURCE_TABLE}
            {'WHERE ' + in_scope if plan_.mode == 'incremental' else ''}"""  # noqa: S608 - constants
    )
    records = con.execute("SELECT * FROM present").fetchall()
    identifiers = _identifiers(con, in_scope if plan_.mode == "incremental" else "true")
    # Clustering ignores edges to records that are not there (the other end may be gone).
    edges = con.sql(
        """SELECT * FROM current_edges
           WHERE a IN (SELECT record_key FROM present) AND b IN (SELECT record_key FROM present)"""
    ).to_arrow_table()
    if not table_exists(con, MAP_TABLE):
        return ScopeInputs(records, edges, {}, {}, _lineage_ids(con), identifiers)
    previous = dict(con.execute(
        f"SELECT record_key, global_person_id FROM {MAP_TABLE} WHERE {in_scope}"  # noqa: S608
        if plan_.mode == "incremental" else
        f"SELECT record_key, global_person_id FROM {MAP_TABLE}"  # noqa: S608
    ).fetchall())
    issued_at = _issued_at(con, sorted(set(previous.values())) if plan_.mode == "incremental" else None)
    known = set(previous.values())
    if plan_.mode == "full":
        known |= _lineage_ids(con)
    return ScopeInputs(records, edges, previous, issued_at, known, identifiers)


def _identifiers(con: duckdb.DuckDBPyConnection, where: str) -> dict[str, tuple]:
    """Strong identifiers of the records matching `where` (a constant condition) that have any."""
    suffix = generation_sql("family_name_norm")
    rows = con.execute(
        f"""SELECT record_key, strftime(birthdate, '%Y-%m-%d'), {suffix} FROM {SOURCE_TABLE}
            WHERE ({where}) AND (birthdate IS NOT NULL OR {suffix} IS NOT NULL)"""  # noqa: S608 - constants
    ).fetchall()
    return {key: (birthdate, generation) for key, birthdate, generation in rows}


def _issued_at(con: duckdb.DuckDBPyConnection, ids: list[str] | None) -> dict:
    """id → when first issued or adopted, for `ids` (None: every id). Naive UTC timestamps:
    converting a million tz-aware values costs seconds in pytz."""
    if not table_exists(con, LINEAGE_TABLE):
        return {}
    sql = f"""SELECT global_person_id, timezone('UTC', min("at")) FROM {LINEAGE_TABLE}
              WHERE event IN (?, ?)"""  # noqa: S608 - constants
    events = [EVENT_ISSUED, EVENT_ADOPTED]
    if ids is None:
        rows = con.execute(sql + " GROUP BY 1", events).fetchall()
    else:
        rows = con.execute(
            sql + " AND global_person_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1", [*events, ids]
        ).fetchall()
    return {pid: at for pid, at in rows if at is not None}


def _lineage_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not table_exists(con, LINEAGE_TABLE):
        return set()
    return {r[0] for r in con.execute(f"SELECT DISTINCT global_person_id FROM {LINEAGE_TABLE}").fetchall()}  # noqa: S608


def ids_in_use(con: duckdb.DuckDBPyConnection, ids: list[str]) -> set[str]:
    """Those of `ids` that were ever issued (lineage) or are held by a record now (map)."""
    if not ids:
        return set()
    parts = [
        f"SELECT global_person_id FROM {table} WHERE global_person_id IN (SELECT unnest(?::VARCHAR[]))"  # noqa: S608
        for table in (LINEAGE_TABLE, MAP_TABLE) if table_exists(con, table)
    ]
    if not parts:
        return set()
    sql = " UNION ".join(parts)
    return {r[0] for r in con.execute(sql, [ids] * len(parts)).fetchall()}


# --- writing ------------------------------------------------------------------------------------


def write(con: duckdb.DuckDBPyConnection, plan_: MapPlan, *, scope: pa.Table, assigned: pa.Table,
          edges: pa.Table, lineage: pa.Table, result: ClusteringResult, max_cluster_size: int,
          decisions: str, run_id: str) -> None:
    """Replace the scope's rows of the map and of the map state (inside the caller's transaction).

    scope: record_key of every record re-clustered (present or vanished); assigned: record_key,
    global_person_id of the present ones; edges: the clustering edges among them."""
    for statement in DDL:
        con.execute(statement)
    full = plan_.mode == "full"
    con.register("scope_arrow", scope)
    con.register("assigned_arrow", assigned)
    con.register("edges_arrow", edges)
    con.register("lineage_arrow", lineage)
    con.register("components_arrow", pa.table({
        "record_key": list(result.component_of), "component": list(result.component_of.values())}))
    stats = result.components
    con.register("stats_arrow", pa.table({
        "component": list(stats),
        "records": [s.records for s in stats.values()],
        "edges_used": [s.edges_used for s in stats.values()],
        "edges_cut_cannot_link": [s.edges_cut_cannot_link for s in stats.values()],
        "edges_cut_size": [s.edges_cut_size for s in stats.values()],
    }))
    scoped = "WHERE record_key IN (SELECT record_key FROM scope_arrow)"
    con.execute(f"DELETE FROM {MAP_TABLE} {'' if full else scoped}")  # noqa: S608 - constants
    # match_probability: the record's best link inside its person (NULL when it stands alone).
    con.execute(
        f"""INSERT INTO {MAP_TABLE}
            WITH ends AS (
                SELECT a AS record_key, b AS other, match_probability FROM edges_arrow
                WHERE weight > {KEPT_APART_WEIGHT}
                UNION ALL
                SELECT b, a, match_probability FROM edges_arrow WHERE weight > {KEPT_APART_WEIGHT}
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
            FROM {SOURCE_TABLE} AS r
            JOIN assigned_arrow AS a USING (record_key)
            LEFT JOIN best USING (record_key)""",  # noqa: S608 - constant identifiers
        [run_id],
    )
    con.execute(f"INSERT INTO {LINEAGE_TABLE} SELECT * FROM lineage_arrow")  # noqa: S608
    if full:
        for table in (EDGES_TABLE, COMPONENTS_TABLE, COMPONENT_STATS_TABLE):
            con.execute(f"DELETE FROM {table}")  # noqa: S608 - constants
    else:
        # Old components of the scope lie wholly inside it (see the module docstring).
        con.execute(
            f"""DELETE FROM {COMPONENT_STATS_TABLE} WHERE component IN (
                    SELECT component FROM {COMPONENTS_TABLE} {scoped})"""  # noqa: S608 - constants
        )
        con.execute(f"DELETE FROM {COMPONENTS_TABLE} {scoped}")  # noqa: S608 - constants
        con.execute(
            f"""DELETE FROM {EDGES_TABLE}
                WHERE record_key_a IN (SELECT record_key FROM scope_arrow)
                   OR record_key_b IN (SELECT record_key FROM scope_arrow)"""  # noqa: S608 - constants
        )
    con.execute(f"INSERT INTO {EDGES_TABLE} SELECT a, b, weight FROM edges_arrow")  # noqa: S608
    con.execute(f"INSERT INTO {COMPONENTS_TABLE} SELECT * FROM components_arrow")  # noqa: S608
    con.execute(f"INSERT INTO {COMPONENT_STATS_TABLE} SELECT * FROM stats_arrow")  # noqa: S608
    con.execute(f"DELETE FROM {STATE_TABLE}")  # noqa: S608
    con.execute(f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
                [max_cluster_size, CLUSTERING_VERSION, decisions, run_id])
    for name in ("scope_arrow", "assigned_arrow", "edges_arrow", "lineage_arrow", "components_arrow",
                 "stats_arrow"):
        con.unregister(name)


def totals(con: duckdb.DuckDBPyConnection) -> dict:
    """Whole-map figures after a write: persons, their sizes, edges used and cut."""
    sizes = con.execute(
        f"""SELECT size, count(*) FROM (
                SELECT count(*) AS size FROM {MAP_TABLE} GROUP BY global_person_id) GROUP BY size"""  # noqa: S608
    ).fetchall()
    edges = con.execute(
        f"""SELECT coalesce(sum(edges_used), 0), coalesce(sum(edges_cut_cannot_link), 0),
                   coalesce(sum(edges_cut_size), 0) FROM {COMPONENT_STATS_TABLE}"""  # noqa: S608
    ).fetchall()[0]
    return {"sizes": dict(sizes), "edges_used": int(edges[0]), "edges_cut_cannot_link": int(edges[1]),
            "edges_cut_size": int(edges[2])}
