"""The warehouse never vacuums during a run, and compaction drops deleted rows without changing data."""

from pathlib import Path

from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.warehouse.compact import compact, table_rows

ROWS = 400_000  # a few row groups of 122,880 rows: enough for DuckDB to vacuum by itself


def _fill(path: Path) -> None:
    with connect(path) as con:
        con.execute("create table identity.people (record_key varchar primary key, person varchar, n bigint)")
        con.execute(
            "insert into identity.people select 'r' || i, 'p' || (i // 3), i from range(?) as t(i)", [ROWS]
        )
        con.execute("create table identity.small as select i from range(1000) as t(i)")
        con.execute("create view identity.people_view as select * from identity.people where n % 2 = 0")


def _with_deleted_rows(tmp_path: Path) -> Path:
    """A warehouse after what an incremental run does: half of a table's rows deleted, spread
    over every row group (and half of a small table), then a checkpoint."""
    path = tmp_path / "warehouse.duckdb"
    _fill(path)
    with connect(path) as con:
        con.execute("delete from identity.people where n % 2 = 1")
        con.execute("delete from identity.small where i % 2 = 0")
        con.execute("checkpoint")
    return path


def _rows(path: Path) -> dict[str, tuple[int, int]]:
    with connect(path, read_only=True) as con:
        return {rows.name: (rows.stored, rows.live) for rows in table_rows(con)}


def test_deleted_rows_stay_on_disk_until_compacted(tmp_path: Path) -> None:
    path = _with_deleted_rows(tmp_path)
    stored, live = _rows(path)["identity.people"]
    assert live == ROWS - ROWS // 2
    # No vacuum at the checkpoint: with DuckDB's default the merged row groups drop these rows.
    assert stored == ROWS


def test_compact_rewrites_only_tables_past_the_threshold(tmp_path: Path) -> None:
    path = _with_deleted_rows(tmp_path)  # identity.small: half deleted, but under MIN_DEAD_ROWS
    with connect(path) as con:
        before = con.execute("select * from identity.people order by n").fetchall()
        compacted = compact(con, min_dead_share=0.4)
    assert [(rows.name, rows.dead) for rows in compacted] == [("identity.people", ROWS // 2)]
    after = _rows(path)
    assert after["identity.people"] == (ROWS - ROWS // 2, ROWS - ROWS // 2)
    assert after["identity.small"] == (1000, 500)
    with connect(path, read_only=True) as con:
        assert con.execute("select * from identity.people order by n").fetchall() == before
        assert con.execute("select count(*) from identity.people_view").fetchone()[0] == len(before)
        constraints = con.execute(
            "select constraint_type from duckdb_constraints() where table_name = 'people' "
            "and constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    assert constraints == [("PRIMARY KEY",)]


def test_compact_leaves_tables_under_the_threshold(tmp_path: Path) -> None:
    path = _with_deleted_rows(tmp_path)
    with connect(path) as con:
        assert compact(con, min_dead_share=0.6) == []
    assert _rows(path)["identity.people"] == (ROWS, ROWS - ROWS // 2)


def test_dbt_connections_do_not_vacuum_either() -> None:
    import yaml

    from aeglobal_pipeline.transform.project import DBT_PROJECT_DIR
    from aeglobal_pipeline.warehouse import duckdb_config

    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    settings = profile["aeglobal"]["outputs"]["duckdb"]["settings"]
    assert str(settings["max_vacuum_tasks"]) == duckdb_config()["max_vacuum_tasks"] == "0"


def test_the_compaction_job_and_command_compact_this_homes_warehouse(tmp_path: Path, monkeypatch) -> None:
    import dagster as dg
    from click.testing import CliRunner

    from aeglobal_pipeline.cli import main
    from aeglobal_pipeline.warehouse.maintenance import warehouse_compaction

    monkeypatch.setenv("AEGLOBAL_HOME", str(tmp_path))
    monkeypatch.delenv("AEGLOBAL_WAREHOUSE", raising=False)
    path = _with_deleted_rows(tmp_path)

    result = warehouse_compaction.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    output = result.output_for_node("compact_warehouse")
    assert output == 1
    assert _rows(path)["identity.people"] == (ROWS // 2, ROWS // 2)

    with connect(path) as con:
        con.execute("delete from identity.people where n % 4 = 0")
    answer = CliRunner().invoke(main, ["compact", "--min-dead-share", "0.2"])
    assert answer.exit_code == 0, answer.output
    assert "compacting identity.people: 100,000 of 200,000 stored rows deleted" in answer.output
    assert "compacted 1 table (100,000 deleted rows dropped)" in answer.output
    assert _rows(path)["identity.people"] == (ROWS // 4, ROWS // 4)
