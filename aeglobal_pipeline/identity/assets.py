"""Dagster assets of identity resolution and the checks that guard rules 5 and 6.

int_person_records (dbt) → identity_model → person_links → global_person_map (+ lineage).
Wire them in with `build_identity_definitions()` or the `identity_assets` / `identity_checks`
lists. Metadata carries counts, histograms and model versions only, never personal data.
"""

import dagster as dg

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity import resolve, stable_ids
from aeglobal_pipeline.identity.decisions import load_decisions
from aeglobal_pipeline.identity.features import SOURCE_TABLE
from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY

IDENTITY_GROUP = "identity"
WAREHOUSE_POOL = "warehouse"
KINDS = {"splink", "duckdb"}
OWNERS = ["team:data-engineering"]
INT_PERSON_RECORDS = dg.AssetKey(["intermediate", "int_person_records"])
MODEL_KEY = dg.AssetKey(["identity", "identity_model"])
LINKS_KEY = dg.AssetKey(["identity", "person_links"])
MAP_KEY = dg.AssetKey(["identity", "global_person_map"])


class IdentityModelConfig(dg.Config):
    retrain: bool = False  # train a new model version even if one exists


class PersonLinksConfig(dg.Config):
    full_refresh: bool = False  # score every blocked pair, not only those touching changed records


class GlobalPersonMapConfig(dg.Config):
    full_refresh: bool = False  # re-cluster every record, not only the components that changed


def _table(rows: list[tuple], header: tuple[str, ...]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


@dg.asset(
    key=MODEL_KEY,
    deps=[INT_PERSON_RECORDS, CONFIGURATION_CHECK_KEY],
    group_name=IDENTITY_GROUP,
    owners=OWNERS,
    kinds=KINDS,
)
def identity_model(context: dg.AssetExecutionContext, config: IdentityModelConfig) -> dg.MaterializeResult:
    """Splink match model: reused as saved, retrained when none exists or `retrain: true`."""
    artefact, trained = resolve.train_step(retrain=config.retrain)
    context.log.info(f"identity model {artefact.version} ({'trained now' if trained else 'reused'})")
    manifest = artefact.manifest
    return dg.MaterializeResult(
        metadata={
            "model_version": artefact.version,
            "trained_now": trained,
            "trained_at": manifest.get("trained_at", ""),
            "training_records": manifest.get("records", 0),
            "data_fingerprint": manifest.get("data_fingerprint", ""),
            "probability_two_random_records_match": manifest.get("probability_two_random_records_match"),
            # names whose counts as given / family name settle a swapped name's order
            "names_counted_for_name_order": manifest.get("name_roles", {}).get("names", 0),
            "artefact_path": dg.MetadataValue.path(str(artefact.path)),
            "match_weights_chart": dg.MetadataValue.path(str(artefact.path / "match_weights.html")),
        }
    )


@dg.asset(
    key=LINKS_KEY,
    deps=[INT_PERSON_RECORDS, MODEL_KEY],
    group_name=IDENTITY_GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=WAREHOUSE_POOL,
)
def person_links(context: dg.AssetExecutionContext, config: PersonLinksConfig) -> dg.MaterializeResult:
    """Scored record pairs with per-comparison evidence, plus deterministic CRM links."""
    summary = resolve.links_step(context.run.run_id, full_refresh=config.full_refresh)
    scoring = summary.scoring
    context.log.info(
        f"scoring: {scoring['mode']} ({scoring['reason']}); {scoring['changed']:,} of "
        f"{scoring['records']:,} records changed, {scoring['neighbours']:,} unchanged records loaded "
        f"to pair with them, {scoring['kept_pairs']:,} pairs kept"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(summary.pairs.values()),
            "model_version": summary.model_version,
            "records": summary.records,
            "scoring_mode": scoring["mode"],
            "scoring_reason": scoring["reason"],
            "records_changed": scoring["changed"],
            "pairs_kept_from_previous_run": scoring["kept_pairs"],
            "unchanged_records_loaded": scoring["neighbours"],
            "records_read_as_before_our_writes": summary.records_read_as_before_our_writes,
            "pairs_by_decision": _table(sorted(summary.pairs.items()), ("decision", "pairs")),
            "deterministic_links": _table(sorted(summary.deterministic.items()), ("kind", "links")),
            "seconds": summary.seconds,
        }
    )


@dg.asset(
    key=MAP_KEY,
    deps=[INT_PERSON_RECORDS, LINKS_KEY],
    group_name=IDENTITY_GROUP,
    owners=OWNERS,
    kinds=KINDS,
    pool=WAREHOUSE_POOL,
)
def global_person_map(
    context: dg.AssetExecutionContext, config: GlobalPersonMapConfig
) -> dg.MaterializeResult:
    """Record → stable global_person_id, with merges and splits recorded in the lineage table."""
    summary = resolve.map_step(context.run.run_id, full_refresh=config.full_refresh)
    context.log.info(
        f"clustering: {summary.mode} ({summary.reason}); {summary.records_reclustered:,} of "
        f"{summary.records:,} records re-clustered"
    )
    with warehouse.connect(read_only=True) as con:
        preview = con.execute(
            f"""SELECT source, object, count(*) AS records, count(DISTINCT global_person_id) AS persons
                FROM {stable_ids.MAP_TABLE} GROUP BY ALL ORDER BY ALL"""  # noqa: S608 - constants
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": summary.records,
            "model_version": summary.model_version or "",
            "clustering_mode": summary.mode,
            "clustering_reason": summary.reason,
            "records_reclustered": summary.records_reclustered,
            "global_persons": summary.clusters,
            "largest_cluster": summary.largest_cluster,
            "cluster_size_histogram": _table(list(summary.cluster_sizes.items()), ("records", "persons")),
            "lineage_events": _table(sorted(summary.events.items()), ("event", "ids")),
            "edges_cut_for_cannot_links": summary.edges_cut_cannot_link,
            "edges_cut_for_size": summary.edges_cut_size,
            "steward_decisions": summary.steward_must_links + summary.steward_cannot_links,
            "records_by_source": _table(preview, ("source", "object", "records", "persons")),
            "seconds": summary.seconds,
        }
    )


# --- checks -----------------------------------------------------------------------------------


@dg.asset_check(asset=MAP_KEY, blocking=True)
def every_record_mapped_once() -> dg.AssetCheckResult:
    """Every int_person_records row has exactly one global_person_id."""
    with warehouse.connect(read_only=True) as con:
        missing, duplicated = con.execute(
            f"""SELECT
                  (SELECT count(*) FROM {SOURCE_TABLE} AS r
                   WHERE NOT EXISTS (SELECT 1 FROM {stable_ids.MAP_TABLE} AS m
                                     WHERE m.record_key = r.record_key)),
                  (SELECT count(*) FROM (SELECT record_key FROM {stable_ids.MAP_TABLE}
                                         GROUP BY 1 HAVING count(*) > 1))"""  # noqa: S608 - constants
        ).fetchall()[0]
    return dg.AssetCheckResult(
        passed=missing == 0 and duplicated == 0,
        metadata={"unmapped_records": missing, "records_mapped_twice": duplicated},
    )


def _decision_violations(kind: str) -> tuple[int, list[str]]:
    decisions = load_decisions()
    pairs = decisions.cannot_links if kind == "cannot_link" else decisions.must_links
    named = sorted({key for a, b, _ in pairs for key in (a, b)})
    with warehouse.connect(read_only=True) as con:
        ids = dict(
            con.execute(
                f"""SELECT record_key, global_person_id FROM {stable_ids.MAP_TABLE}
                    WHERE record_key IN (SELECT unnest(?::VARCHAR[]))""",  # noqa: S608 - keys are bound
                [named],
            ).fetchall()
        ) if named else {}
    bad = []
    for a, b, index in pairs:
        if a not in ids or b not in ids:
            continue  # a record no longer extracted: nothing to violate
        same = ids[a] == ids[b]
        if same == (kind == "cannot_link"):
            bad.append(f"decisions[{index}]")
    return len(pairs), bad


@dg.asset_check(asset=MAP_KEY, blocking=True)
def cannot_links_respected() -> dg.AssetCheckResult:
    """No steward cannot-link pair shares a global_person_id."""
    total, bad = _decision_violations("cannot_link")
    return dg.AssetCheckResult(passed=not bad, metadata={"cannot_links": total, "violated": ", ".join(bad)})


@dg.asset_check(asset=MAP_KEY, blocking=True)
def must_links_respected() -> dg.AssetCheckResult:
    """Every steward must-link pair shares a global_person_id."""
    total, bad = _decision_violations("must_link")
    return dg.AssetCheckResult(passed=not bad, metadata={"must_links": total, "violated": ", ".join(bad)})


identity_assets = [identity_model, person_links, global_person_map]
identity_checks = [every_record_mapped_once, cannot_links_respected, must_links_respected]


def build_identity_definitions() -> dg.Definitions:
    """The identity group, ready for `dg.Definitions.merge` in definitions.py."""
    return dg.Definitions(
        assets=identity_assets,
        asset_checks=identity_checks,
        jobs=[dg.define_asset_job("identity_job", selection=dg.AssetSelection.groups(IDENTITY_GROUP))],
    )
