"""The identity steps end to end, each reading and writing the warehouse briefly.

1. `train_step`  — the model (trains when none exists or `retrain`), in memory.
2. `links_step`  — scored pairs + deterministic links → identity.person_links.
3. `map_step`    — clustering under steward decisions, stable ids → identity.global_person_map,
                   identity.global_person_lineage, identity.identity_runs (`mapping`).

Splink only ever sees an in-memory copy of (part of) int_person_records: every record in a full
run, the changed records and those sharing a block with them in an incremental one
(`incremental`). The map step re-clusters only the components that changed (`mapping`,
`map_scope`). The warehouse is opened through `warehouse.connect()` for the read and for the
write and closed in between.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity import features, incremental, links, stable_ids, term_frequencies
from aeglobal_pipeline.identity.mapping import MapSummary, log_run, map_step
from aeglobal_pipeline.identity.model import ModelArtefact, ensure_model, latest_model
from aeglobal_pipeline.identity.settings import MatchingRules, load_matching_rules, load_nicknames


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _load_memory():
    features.prepare_source()
    with warehouse.connect(read_only=True) as con:
        records = features.read_records(con)
    memory = features.in_memory()
    features.load_records(memory, records)
    return memory, records.num_rows


def train_step(rules: MatchingRules | None = None, *, retrain: bool = False) -> tuple[ModelArtefact, bool]:
    """The model to use: the latest one, or a newly trained one (none yet, or `retrain`)."""
    rules = rules or load_matching_rules()
    if not retrain and (existing := latest_model(rules=rules)) is not None:
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
    # records holding a value our write-back wrote, matched on what they held before (own_writes)
    records_read_as_before_our_writes: int = 0


def links_step(
    run_id: str, rules: MatchingRules | None = None, artefact: ModelArtefact | None = None,
    *, full_refresh: bool = False,
) -> LinksSummary:
    """Predict pairs (only those touching changed records, when it can) and collect deterministic
    links; update identity.person_links."""
    started = time.perf_counter()
    rules = rules or load_matching_rules()
    artefact = artefact or latest_model()
    if artefact is None:
        raise RuntimeError("no identity model yet: materialise identity_model (or run train_step) first")
    model = artefact.splink_model()
    blocking_rules = model["blocking_rules_to_generate_predictions"]
    rules_hash = incremental.rules_fingerprint(rules)
    nicknames = load_nicknames()
    features_hash = features.features_fingerprint(nicknames)
    own_written = features.prepare_source()
    memory = features.in_memory()
    with memory:
        stale = None
        with warehouse.connect(read_only=True) as con:
            previous = incremental.read_previous(con)
            plan = incremental.plan_scoring(
                con, previous, model_version=artefact.version, rules_hash=rules_hash,
                features_hash=features_hash, blocking_rules=blocking_rules,
                tf_frozen=term_frequencies.is_frozen(artefact.path, model), full_refresh=full_refresh,
            )
            if plan.mode == "incremental":
                features.load_records(memory, incremental.read_changed(con), nicknames)
                stored = memory.sql(f"SELECT * FROM {features.FEATURES_TABLE}").to_arrow_table()  # noqa: S608
                around = incremental.read_neighbours(con, stored, blocking_rules)
                stale = incremental.read_stale(con)
            else:
                features.load_records(memory, features.read_records(con, features.FEATURE_INPUTS), nicknames)
        if plan.mode == "incremental":
            flag = incremental.CHANGED_COLUMN
            memory.execute(f"ALTER TABLE {features.FEATURES_TABLE} ADD COLUMN {flag} BOOLEAN DEFAULT true")
            memory.register("around_arrow", around)
            memory.execute(
                f"INSERT INTO {features.FEATURES_TABLE} BY NAME SELECT *, false AS {flag} FROM around_arrow"  # noqa: S608
            )
            memory.unregister("around_arrow")
            plan.neighbours = around.num_rows
            del around
            links.score_pairs(memory, artefact, rules, only_flagged=flag)
        else:
            links.score_pairs(memory, artefact, rules)
            stored = memory.sql(f"SELECT * FROM {features.FEATURES_TABLE}").to_arrow_table()  # noqa: S608
        pairs = memory.sql(
            f"""SELECT record_key_a, record_key_b, match_weight, match_probability, decision, evidence
                FROM {links.PAIRS_TABLE}"""  # noqa: S608 - constant identifiers
        ).to_arrow_table()
    with warehouse.connect() as con:
        stable_ids.ensure_tables(con)
        con.execute("BEGIN")
        incremental.write_features(con, plan, stored, stale)
        incremental.write_pairs(con, plan, pairs, stale, model_version=artefact.version, run_id=run_id)
        deterministic = links.deterministic_links(con, features.SOURCE_TABLE, features.STORED_FEATURES_TABLE)
        links.store_deterministic_links(con, stable_ids.LINKS_TABLE, incremental.SCORED_DECISIONS,
                                        model_version=artefact.version, run_id=run_id)
        incremental.save_state(con, model_version=artefact.version, rules_hash=rules_hash,
                               features_hash=features_hash, run_id=run_id)
        con.execute("COMMIT")
        counts = dict(con.execute(
            f"SELECT decision, count(*) FROM {stable_ids.LINKS_TABLE} GROUP BY ALL"  # noqa: S608
        ).fetchall())
        summary = LinksSummary(run_id, artefact.version, plan.records, counts, deterministic, 0.0,
                               scoring=asdict(plan), records_read_as_before_our_writes=own_written or 0)
        summary.seconds = round(time.perf_counter() - started, 2)
        log_run(con, run_id, "links", artefact.version, asdict(summary))
    return summary


def resolve_identities(
    *, run_id: str | None = None, retrain: bool = False, full_refresh: bool = False
) -> tuple[LinksSummary, MapSummary]:
    """All three steps: model (reused unless `retrain`), links, map."""
    run_id = run_id or new_run_id()
    rules = load_matching_rules()
    artefact, _ = train_step(rules, retrain=retrain)
    links = links_step(run_id, rules, artefact, full_refresh=full_refresh)
    return links, map_step(run_id, rules, full_refresh=full_refresh)
