"""A Data Loader export of a generated snapshot loads and runs to the same person records.

Data Loader writes every cell quoted, headers in UPPERCASE, CRLF line ends and (in many
setups) a UTF-8 byte-order mark. The copy below is made that way from a generated snapshot; the
pipeline (extract + dbt person records) runs once over each and int_person_records must agree
row for row, apart from when the rows were extracted.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from snapshot_helpers import private_home

PERSON_RECORDS = '+key:"intermediate/int_person_records"'
RUN_COLUMNS_LEFT_OUT = ("source_extracted_at",)  # when the run extracted the row


def data_loader_copy(snapshot: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    shutil.copy(snapshot / "sources.yaml", target / "sources.yaml")
    for path in sorted(snapshot.glob("*/*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        out = target / path.parent.name / path.name
        out.parent.mkdir(exist_ok=True)
        with out.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            writer.writerow([name.upper() for name in rows[0]])
            writer.writerows(rows[1:])
    return target


def _person_records(home: Path, snapshot: Path) -> list[tuple]:
    import duckdb

    from aeglobal_pipeline.runner import run_pipeline
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    load_snapshot(snapshot, home)
    summary = run_pipeline(selection=PERSON_RECORDS, full_refresh=True, echo=lambda _: None)
    assert summary.success, summary.failures
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_name = 'int_person_records' "
            "order by ordinal_position").fetchall() if c not in RUN_COLUMNS_LEFT_OUT]
        select = ", ".join(f'"{c}"' for c in columns)
        return con.execute(f"select {select} from intermediate.int_person_records order by record_key"  # noqa: S608
                           ).fetchall()


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    from aeglobal_pipeline.sandbox.generate import generate_snapshot

    root = tmp_path_factory.mktemp("exports")
    original = generate_snapshot(40, 17, root / "original").out
    yield original, data_loader_copy(original, root / "data_loader")


def test_the_copy_really_is_data_loader_style(snapshots):
    _, copy = snapshots
    raw = (copy / "crm_emea" / "Lead.csv").read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"ID","FIRSTNAME","LASTNAME","EMAIL"')
    assert b"\r\n" in raw


def test_a_data_loader_export_runs_to_the_same_person_records(snapshots, tmp_path):
    original, copy = snapshots
    with private_home(tmp_path / "original") as home:
        expected = _person_records(home, original)
    with private_home(tmp_path / "data_loader") as home:
        loaded = _person_records(home, copy)
    assert len(expected) > 50
    assert loaded == expected
