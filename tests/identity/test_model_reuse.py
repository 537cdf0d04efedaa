"""A saved identity model is reused only while its comparison levels are matching.yaml's: after an
upgrade or an edit that adds, removes or redefines a level, its m/u values would attach to other
levels, so the next run retrains instead."""

from __future__ import annotations

import copy
import json

from aeglobal_pipeline.identity.model import MANIFEST_FILE, MODEL_FILE, latest_model
from aeglobal_pipeline.identity.settings import load_matching_rules


def _save(root, version: str, settings: dict) -> None:
    path = root / version
    path.mkdir(parents=True)
    (path / MODEL_FILE).write_text(json.dumps(settings), encoding="utf-8")
    (path / MANIFEST_FILE).write_text(json.dumps({"version": version}), encoding="utf-8")


def test_a_model_with_the_rules_levels_is_reused(tmp_path):
    rules = load_matching_rules()
    _save(tmp_path, "20260101T000000000000Z-aaaa", rules.splink_settings())
    assert latest_model(tmp_path, rules).version == "20260101T000000000000Z-aaaa"


def test_a_model_whose_levels_differ_from_the_rules_is_not_reused(tmp_path):
    rules = load_matching_rules()
    settings = rules.splink_settings()
    older = copy.deepcopy(settings)
    del older["comparisons"][0]["comparison_levels"][2]  # a release with one name level fewer
    _save(tmp_path, "20260101T000000000000Z-aaaa", older)
    assert latest_model(tmp_path, rules) is None
    assert latest_model(tmp_path) is not None  # without rules (the report, a pinned run): as saved
    redefined = copy.deepcopy(settings)
    redefined["comparisons"][1]["comparison_levels"][1]["sql_condition"] += " AND 1 = 1"
    _save(tmp_path, "20260102T000000000000Z-bbbb", redefined)
    assert latest_model(tmp_path, rules) is None
