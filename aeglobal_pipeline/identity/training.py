"""Which training steps the data at hand can support.

A real org may carry no e-mail, no mobile or no birthdate at all. Splink's EM session on a
blocking rule that pairs no records raises, and its prior estimate on a deterministic rule that
finds no pair raises too (`EMTrainingException: Training rule email_match resulted in no record
pairs`). So every rule's pairs are counted first (one GROUP BY on the feature table, no join):
a session with too few pairs is skipped, a fallback session runs only while some comparison is
still untrained, and what was skipped or left at its defaults goes into the model manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from aeglobal_pipeline.identity.comparison_base import check_columns
from aeglobal_pipeline.identity.features import FEATURES_TABLE
from aeglobal_pipeline.identity.settings import DeterministicRules, MatchingRules


def _all_present_sql(rule: list[str]) -> str:
    """SQL: every column of `rule` holds a value (validated feature names: no data in it)."""
    return " AND ".join(f'"{c}" IS NOT NULL' for c in check_columns(rule))


def rule_pairs(memory: duckdb.DuckDBPyConnection, rule: list[str]) -> int:
    """Record pairs that agree on every column of `rule` (nulls never agree, as in block_on)."""
    not_null = _all_present_sql(rule)
    keys = ", ".join(f'"{c}"' for c in rule)
    row = memory.execute(
        f"""SELECT coalesce(sum(n * (n - 1) / 2), 0)::BIGINT FROM (
                SELECT count(*) AS n FROM {FEATURES_TABLE} WHERE {not_null} GROUP BY {keys})"""  # noqa: S608
    ).fetchall()
    return int(row[0][0])


def complete_share(memory: duckdb.DuckDBPyConnection, rule: list[str]) -> float:
    """Share of records holding every column of `rule` (a pair can agree on the rule only where
    both do)."""
    present = _all_present_sql(rule)
    row = memory.execute(
        f"SELECT count(*) FILTER (WHERE {present}) / greatest(count(*), 1) FROM {FEATURES_TABLE}"  # noqa: S608
    ).fetchall()
    return float(row[0][0])


def trained_by(rules: MatchingRules, blocking_rule: list[str]) -> list[str]:
    """Comparisons an EM session on `blocking_rule` estimates: Splink holds fixed every
    comparison that reads a column the session blocks on."""
    blocked = set(blocking_rule)
    return [c.name for c in rules.comparisons if not blocked & set(c.columns())]


@dataclass
class TrainingReport:
    """What training did with the data it had; saved in the model manifest."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    prior: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [s for s in self.sessions if s["status"] == "failed"]

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return [s for s in self.sessions if s["status"] == "skipped"]

    def trained(self) -> set[str]:
        return {name for s in self.sessions if s["status"] == "trained" for name in s["trains"]}

    def as_manifest(self) -> dict[str, Any]:
        return {
            "em_sessions": self.sessions,
            "em_sessions_failed": [{"em_blocking_rule": s["rule"], "error": s["error"]}
                                   for s in self.failed],
            "em_sessions_skipped": [{"em_blocking_rule": s["rule"], "pairs": s["pairs"]}
                                    for s in self.skipped],
            "prior_estimate": self.prior,
            "warnings": self.warnings,
        }


def choose_prior(memory: duckdb.DuckDBPyConnection, rules: MatchingRules,
                 report: TrainingReport) -> DeterministicRules | None:
    """The first prior estimate (the configured one, then its fallbacks) whose rules find pairs,
    narrowed to the rules that do; None when none does (Splink's default prior stays)."""
    prior = rules.training.prior
    tried = []
    for option in (prior, *prior.fallback):
        counts = {tuple(rule): rule_pairs(memory, rule) for rule in option.deterministic_rules}
        tried.append({"rules": option.deterministic_rules, "pairs": list(counts.values()),
                      "recall": option.recall})
        usable = [list(rule) for rule, n in counts.items() if n > 0]
        if usable:
            report.prior = {"used": {"rules": usable, "recall": option.recall}, "tried": tried}
            return DeterministicRules(deterministic_rules=usable, recall=option.recall,
                                      recall_from_model=option.recall_from_model)
    report.prior = {"used": None, "tried": tried}
    report.warnings.append(
        "prior: no deterministic rule found a record pair; the probability that two random "
        "records match keeps Splink's default"
    )
    return None


def note_untrained(rules: MatchingRules, report: TrainingReport) -> None:
    untrained = [c.name for c in rules.comparisons if c.name not in report.trained()]
    for name in untrained:
        report.warnings.append(
            f"comparison {name}: no EM session trained it (too few pairs on every session that "
            "could); it keeps default m values"
        )
