"""Echo suppression end to end: a second `run --apply` over unchanged sources writes nothing.

Our own write-back bumps LastModifiedDate / updatedAt; without writeback.echo_stamps the second
run ranks the records we wrote as `most_recent` and plans a few dozen values back (e.g. a
Contact's Account company over a newer Prospect company), flipping on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from snapshot_helpers import private_home

from aeglobal_pipeline.warehouse import connect


@pytest.fixture(scope="module")
def generated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from aeglobal_pipeline.sandbox.generate import generate_snapshot
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    with private_home(tmp_path_factory.mktemp("echo_home")) as home:
        (home / "dagster").mkdir()
        generate_snapshot(persons=300, seed=3, out=home / "snap")
        load_snapshot(home / "snap", home)
        yield home


def _applied(run_id: str) -> list[tuple]:
    with connect() as con:
        return con.execute(
            """select source, object, record_id, field, old_value, new_value, rule
               from writeback.changes_log where run_id = ? and status = 'applied'
               order by all""",
            [run_id],
        ).fetchall()


def test_second_apply_over_unchanged_sources_writes_nothing(generated_home):
    from aeglobal_pipeline.runner import run_pipeline

    first = run_pipeline(apply=True, echo=lambda _: None)
    assert first.success, first.failures
    written = _applied(first.run_id)
    assert written, "the first run must write something for this test to mean anything"
    with connect() as con:
        echoes = con.execute(
            """select count(*), count(stamp_after_write), count(modified_before_write)
               from writeback.echo_stamps where run_id = ?""", [first.run_id],
        ).fetchone()
    records = len({(s, o, r) for s, o, r, *_ in written})
    assert echoes == (records, records, records)

    second = run_pipeline(apply=True, echo=lambda _: None)
    assert second.success, second.failures
    again = _applied(second.run_id)
    assert again == [], f"{len(again)} field writes on an unchanged second run, e.g. {again[:5]}"
    assert second.materialized["writeback"]["totals"].get("applied", 0) == 0
