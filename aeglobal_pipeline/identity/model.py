"""Training the Splink model and keeping it as a versioned artefact.

Training is separate from prediction: `train_model` estimates u by random sampling and m by EM
on a couple of blocking rules, deterministically for a seed, and `save_model` writes
`$AEGLOBAL_HOME/models/identity/<version>/` with the Splink model JSON, the match-weight and
m/u charts (offline HTML + Vega-Lite JSON) and a manifest (training data fingerprint, counts,
timestamps). Regular runs reuse `latest_model()` until someone retrains.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from splink import Linker, block_on
from splink.backends.duckdb import DuckDBAPI

from aeglobal_pipeline.config import aeglobal_home
from aeglobal_pipeline.identity import name_roles, term_frequencies
from aeglobal_pipeline.identity.features import FEATURES_TABLE
from aeglobal_pipeline.identity.settings import DeterministicRules, MatchingRules
from aeglobal_pipeline.identity.training import (
    TrainingReport,
    choose_prior,
    complete_share,
    note_untrained,
    rule_pairs,
    trained_by,
)

MODEL_FILE = "model.json"
MANIFEST_FILE = "manifest.json"
SPLINK_LOG_LEVEL = logging.WARNING
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelArtefact:
    version: str
    path: Path
    manifest: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def splink_model(self) -> dict[str, Any]:
        return json.loads(self.model_path.read_text(encoding="utf-8"))


def models_dir() -> Path:
    return aeglobal_home() / "models" / "identity"


def latest_model(root: Path | None = None, rules: MatchingRules | None = None) -> ModelArtefact | None:
    """The newest saved model (versions sort by time), or None when none was trained yet — or,
    given `rules`, when its comparison levels are not the rules' (an upgrade or a matching.yaml
    edit added, removed or redefined a level: its trained m/u values would land on other levels)."""
    root = root or models_dir()
    versions = sorted(
        p for p in root.glob("*") if (p / MANIFEST_FILE).is_file() and (p / MODEL_FILE).is_file()
    )
    if not versions:
        return None
    path = versions[-1]
    manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    artefact = ModelArtefact(path.name, path, manifest)
    if rules is not None and not levels_match(artefact, rules):
        log.warning("identity model %s: comparison levels differ from matching.yaml's; retraining", path.name)
        return None
    return artefact


def levels_signature(comparisons: list[dict[str, Any]]) -> list:
    """Each comparison's name and the SQL of its levels, in order: what trained m/u values attach to."""
    return [
        [c.get("output_column_name"), [level.get("sql_condition") for level in c["comparison_levels"]]]
        for c in comparisons
    ]


def levels_match(artefact: ModelArtefact, rules: MatchingRules) -> bool:
    saved = levels_signature(artefact.splink_model()["comparisons"])
    return saved == levels_signature(rules.splink_settings()["comparisons"])


def fingerprint(memory: duckdb.DuckDBPyConnection) -> str:
    """Order-independent fingerprint of the matching features the model was trained on."""
    row = memory.execute(
        f"SELECT count(*), bit_xor(hash(COLUMNS(*))) FROM {FEATURES_TABLE}"  # noqa: S608 - constant
    ).fetchall()[0]
    return hashlib.sha256(json.dumps([str(v) for v in row]).encode()).hexdigest()[:16]


def linker_for(memory: duckdb.DuckDBPyConnection, settings: dict[str, Any]) -> Linker:
    """A Linker over the in-memory feature table (never the warehouse), with the name counts of
    the data in it (training: the model to be saved freezes the same counts)."""
    db_api = DuckDBAPI(connection=memory)
    frame = db_api.register(name_roles.scoring_view(memory))
    return Linker(frame, settings, log_level=SPLINK_LOG_LEVEL)


def prediction_linker(memory: duckdb.DuckDBPyConnection, artefact: ModelArtefact,
                      settings: dict[str, Any] | None = None) -> Linker:
    """A Linker for scoring with the artefact's model and its frozen term frequencies and name
    counts (identity.name_roles).

    `settings` overrides the model JSON (e.g. narrowed blocking rules). An artefact saved before
    frequencies were frozen gets them now, from the data it first scores. One saved before name
    counts were has no level that reads them (its levels would not match the rules'): it scores
    with the counts of the data in memory, and nothing is saved from what may be an incremental
    run's few records."""
    model = artefact.splink_model()
    if not term_frequencies.is_frozen(artefact.path, model):
        term_frequencies.freeze(linker_for(memory, model), memory, artefact.path, model)
    db_api = DuckDBAPI(connection=memory)
    frozen = artefact.path if name_roles.is_frozen(artefact.path) else None
    scored = name_roles.scoring_view(memory, frozen)
    linker = Linker(db_api.register(scored), settings or model, log_level=SPLINK_LOG_LEVEL)
    term_frequencies.register(linker, db_api, memory, artefact.path, model)
    return linker


def train_model(
    memory: duckdb.DuckDBPyConnection, rules: MatchingRules
) -> tuple[Linker, TrainingReport]:
    """Estimate the prior, u (random sampling) and m (EM) on the feature table, using only the
    training steps the data supports (`training`).

    Returns the linker and a report of the EM sessions and the prior (kept in the manifest)."""
    training = rules.training
    report = TrainingReport()
    linker = linker_for(memory, rules.splink_settings())
    records = memory.execute(f"SELECT count(*) FROM {FEATURES_TABLE}").fetchall()[0][0]  # noqa: S608
    if records < training.min_records:
        return linker, report
    prior = choose_prior(memory, rules, report)
    if prior is not None:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*rule) for rule in prior.deterministic_rules], recall=prior.recall
        )
    linker.training.estimate_u_using_random_sampling(max_pairs=training.u_max_pairs, seed=training.seed)
    for rule in training.em_blocking_rules:
        linker = _em_session(linker, memory, rules, rule, report, fallback=False)
    for rule in training.em_fallback_blocking_rules:
        if set(trained_by(rules, rule)) - report.trained():  # it would train what is still untrained
            linker = _em_session(linker, memory, rules, rule, report, fallback=True)
    attempted = [s for s in report.sessions if s["status"] != "skipped"]
    if attempted and len(report.failed) == len(attempted):
        raise ValueError(f"identity model: every EM training session failed: {report.failed}")
    if prior is not None and prior.recall_from_model:
        _prior_again_from_model(linker, memory, rules, prior, report)
    note_untrained(rules, report)
    return linker, report


# A recall below this would multiply the prior more than tenfold: sooner an undertrained level
# than an estate where one person's records almost never agree.
MIN_RECALL_FROM_MODEL = 0.1


def _prior_again_from_model(linker: Linker, memory: duckdb.DuckDBPyConnection, rules: MatchingRules,
                            prior: DeterministicRules, report: TrainingReport) -> None:
    """Estimate the prior again with the recall the trained model gives the deterministic rule:
    its agreement levels' m-probabilities (those of pairs where both records hold the values)
    times the share of pairs where both do; kept as assumed where a comparison it reads was left
    untrained."""
    levels = prior.recall_from_model or {}
    untrained = sorted(set(levels) - report.trained())
    if untrained:
        report.warnings.append(f"prior: recall kept as assumed ({prior.recall}); untrained: {untrained}")
        return
    (rule,) = prior.deterministic_rules  # settings allow recall_from_model on one rule only
    agreeing = rules.m_probability_of(linker.misc.save_model_to_json(), levels)
    recall = agreeing * complete_share(memory, rule) ** 2
    recall = min(1.0, max(MIN_RECALL_FROM_MODEL, recall))
    linker.training.estimate_probability_two_random_records_match([block_on(*rule)], recall=recall)
    report.prior["used"]["recall_from_model"] = round(recall, 4)


def _em_session(linker: Linker, memory: duckdb.DuckDBPyConnection, rules: MatchingRules,
                rule: list[str], report: TrainingReport, *, fallback: bool) -> Linker:
    """One EM session, skipped when its blocking rule pairs too few records; returns the linker
    to go on with."""
    pairs = rule_pairs(memory, rule)
    entry = {"rule": rule, "pairs": pairs, "fallback": fallback, "trains": trained_by(rules, rule),
             "status": "trained", "error": ""}
    report.sessions.append(entry)
    if pairs < rules.training.min_session_pairs:
        entry["status"] = "skipped"
        entry["error"] = f"{pairs} record pairs, fewer than min_session_pairs"
        return linker
    before = linker.misc.save_model_to_json()
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
    except ValueError as error:
        # EM on one blocking rule can drive a level's m towards 0 until it underflows (a level
        # no match shows within that block); the other sessions still estimate that level.
        # A failed session leaves the linker without the comparisons it blocked on: restart
        # from the parameters as they were before it.
        entry["status"], entry["error"] = "failed", str(error)[:300]
        return linker_for(memory, before)
    return linker


def _charts(linker: Linker) -> dict[str, Any]:
    return {
        "match_weights": linker.visualisations.match_weights_chart(),
        "m_u_parameters": linker.visualisations.m_u_parameters_chart(),
    }


def save_model(
    linker: Linker,
    memory: duckdb.DuckDBPyConnection,
    *,
    rules: MatchingRules,
    data_fingerprint: str,
    records: int,
    seconds: float,
    report: TrainingReport | None = None,
    root: Path | None = None,
) -> ModelArtefact:
    """Write model JSON, charts and manifest into a new version directory."""
    root = root or models_dir()
    trained_at = datetime.now(UTC)
    model = linker.misc.save_model_to_json()
    floored = _floor_unseen_u(model, rules.training.u_max_pairs)
    digest = hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()[:8]
    version = f"{trained_at:%Y%m%dT%H%M%S%fZ}-{digest}"
    path = root / version
    path.mkdir(parents=True, exist_ok=False)
    (path / MODEL_FILE).write_text(json.dumps(model, indent=2, default=str), encoding="utf-8")
    term_frequencies.freeze(linker, memory, path, model)
    names_counted = name_roles.freeze(memory, path)
    for name, chart in _charts(linker).items():
        (path / f"{name}.html").write_text(chart.to_html(inline=True), encoding="utf-8")
        (path / f"{name}.vl.json").write_text(json.dumps(chart.chart_dict, default=str), encoding="utf-8")
    manifest = {
        "version": version,
        "trained_at": trained_at.isoformat(),
        "training_seconds": round(seconds, 2),
        "records": records,
        # Too few records to learn from: Splink's default m/u values, not estimates.
        "cold_start": records < rules.training.min_records,
        **(report or TrainingReport()).as_manifest(),
        "data_fingerprint": data_fingerprint,
        "rules_fingerprint": hashlib.sha256(rules.fingerprint_text().encode()).hexdigest()[:16],
        "seed": rules.training.seed,
        "u_max_pairs": rules.training.u_max_pairs,
        "em_blocking_rules": rules.training.em_blocking_rules,
        "em_fallback_blocking_rules": rules.training.em_fallback_blocking_rules,
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "comparisons": [c.name for c in rules.comparisons],
        # Levels the data never showed (m or u unestimated): Splink falls back to defaults there.
        "untrained_levels": _untrained_levels(model),
        "u_floored_levels": floored,
        # never_link_on rules that yield where this estate's data makes their contradiction common
        "vetoes_where_common": rules.where_common_report(model),
        # distinct names whose given / family counts settle a swapped name's order (name_roles)
        "name_roles": {"file": name_roles.ROLES_FILE, "names": names_counted},
        "splink_version": _splink_version(),
    }
    (path / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return ModelArtefact(version, path, manifest)


def _floor_unseen_u(model: dict[str, Any], sampled_pairs: int) -> list[str]:
    """A level no random pair showed (a shared mobile among 400k records) has u below about
    1/sampled_pairs; leaving it unset would make Splink fall back to a default u and undervalue
    the strongest evidence. Returns the levels floored."""
    floored = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level") or level.get("u_probability") is not None:
                continue
            if level.get("m_probability") is not None:
                level["u_probability"] = 1.0 / sampled_pairs
                floored.append(f"{comparison['output_column_name']}: {level.get('label_for_charts', '?')}")
    return floored


def _untrained_levels(model: dict[str, Any]) -> list[str]:
    missing = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            gaps = [p for p in ("m", "u") if level.get(f"{p}_probability") is None]
            if gaps:
                label = level.get("label_for_charts", "?")
                missing.append(f"{comparison['output_column_name']}: {label} ({'/'.join(gaps)})")
    return missing


def _splink_version() -> str:
    import splink

    return splink.__version__


def ensure_model(
    memory: duckdb.DuckDBPyConnection,
    rules: MatchingRules,
    *,
    retrain: bool = False,
    root: Path | None = None,
) -> tuple[ModelArtefact, bool]:
    """The latest model, training (and saving) one first when none exists or `retrain`.

    Returns (artefact, trained_now).
    """
    existing = None if retrain else latest_model(root, rules)
    if existing is not None:
        return existing, False
    started = time.perf_counter()
    linker, report = train_model(memory, rules)
    records = memory.execute(f"SELECT count(*) FROM {FEATURES_TABLE}").fetchall()[0][0]  # noqa: S608
    artefact = save_model(
        linker,
        memory,
        rules=rules,
        data_fingerprint=fingerprint(memory),
        records=int(records),
        seconds=time.perf_counter() - started,
        report=report,
        root=root,
    )
    # Free Splink's scratch tables before prediction reuses the connection.
    linker.table_management.delete_tables_created_by_splink_from_db()
    return artefact, True
