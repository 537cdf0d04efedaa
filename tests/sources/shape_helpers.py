"""Small generated estates cut into the shapes a real rollout passes through (deployment-shape
tests): helpers to cut a snapshot, load it, run `aeglobal run` and read the warehouse."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner
from snapshot_helpers import private_home

from aeglobal_pipeline.cli import main


def generate_estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated estate (3 orgs, 2 business units) to cut shapes from."""
    with private_home(tmp_path_factory.mktemp("gen_home")) as home:
        out = home / "snap"
        result = CliRunner().invoke(
            main, ["sandbox", "generate", "--persons", "120", "--seed", "5", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        return out


def cut(generated: Path, target: Path, keep_kind: str | None) -> Path:
    """A copy of the estate with only the sources of `keep_kind` (all when None)."""
    shutil.copytree(generated, target)
    spec = yaml.safe_load((target / "sources.yaml").read_text())
    kept = []
    for source in spec["sources"]:
        if keep_kind and source["kind"] != keep_kind:
            shutil.rmtree(target / source["name"])
            continue
        if keep_kind:
            source.pop("connected_crm", None)
        kept.append(source)
    spec["sources"] = kept
    (target / "sources.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def load_and_run(home: Path, snapshot: Path, *extra: str, allow_empty: tuple[str, ...] = ()) -> str:
    flags = [arg for obj in allow_empty for arg in ("--allow-empty", obj)]
    load = CliRunner().invoke(main, ["sandbox", "load", str(snapshot), *flags])
    assert load.exit_code == 0, load.output
    result = CliRunner().invoke(main, ["run", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def sources_of(snapshot: Path) -> set[str]:
    return {s["name"] for s in yaml.safe_load((snapshot / "sources.yaml").read_text())["sources"]}
