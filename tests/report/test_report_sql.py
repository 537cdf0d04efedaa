"""The SQL the steward report formats its CSV files with agrees with the Python it replaced:
shlex.quote, Python's csv module, str() of a timestamp, the evidence text, the page cap."""

from __future__ import annotations

import csv
import io
import json
import shlex
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from report_helpers import add_field_conflicts, build_warehouse

from aeglobal_pipeline.report import write_report
from aeglobal_pipeline.report.queries import _AT_TEXT, _EVIDENCE_TEXT, IDENTITY_FIELDS
from aeglobal_pipeline.report.safe_text import neutralise_cell, neutralise_cell_sql
from aeglobal_pipeline.report.sections import readable_evidence
from aeglobal_pipeline.report.sql import copy_csv, decide_command, joined, shell_quote, shown_rows

AWKWARD = ["", "crm_emea:Lead:00Q5g00000R4P9FEAV", "a b", "it's", "$(rm -rf ~)", "x'y\"z", "ü-mlaut",
           "tab\there", "line\nbreak", "semi;colon", "-flag", "50%+=:,./@_-", "'", "\"\"", "*"]


@pytest.fixture
def con():
    with duckdb.connect(":memory:") as connection:
        yield connection


def test_shell_quoting_is_shlex_quote(con):
    sql = f"SELECT s, {shell_quote('s')} FROM unnest(?::VARCHAR[]) AS t(s)"  # noqa: S608 - constant SQL
    got = con.execute(sql, [AWKWARD]).fetchall()
    assert {s: quoted for s, quoted in got} == {s: shlex.quote(s) for s in AWKWARD}


def test_decide_commands_survive_the_shell_whatever_the_record_key(con):
    odd = "crm_emea:Lead:00Q 'x'$(rm)"
    [(command,)] = con.execute(f"SELECT {decide_command('cannot-link', '$a', '$b', '$why')}",
                               {"a": odd, "b": "ae_emea:Prospect:1",
                                "why": "different people: <reason>"}).fetchall()
    words = shlex.split(command)
    assert words[:5] == ["aeglobal", "steward", "decide", "cannot-link", odd]
    assert words[5] == "ae_emea:Prospect:1"
    assert words[6:] == ["--by", "$USER", "--why", "different people: <reason>"]


FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1",
            "\r=1", "+4930123456", "+49 30 123456", "+0123456789", "a=b", "", None]


def test_formula_cells_are_neutralised_and_e164_phones_kept(con):
    got = con.execute(f"SELECT s, {neutralise_cell_sql('s')} FROM unnest(?::VARCHAR[]) AS t(s)",  # noqa: S608
                      [FORMULAS]).fetchall()
    assert {s: out for s, out in got} == {s: neutralise_cell(s) for s in FORMULAS}
    assert neutralise_cell("+4930123456") == "+4930123456"
    assert neutralise_cell("+49 30 123456") == "'+49 30 123456"
    assert all(neutralise_cell(f).startswith("'") for f in FORMULAS[:6])


def _python_csv(header: list[str], rows: list[tuple]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_csv_files_are_written_as_pythons_csv_module_wrote_them(con, tmp_path: Path):
    texts = [*AWKWARD, None, "carriage\rreturn", " padded ", "comma, and \"quote\""]
    numbers = [0.1, 1e-05, 1e16, 0.9499957710994091, 4.247799076190992, 100.0, 3.0, None, 1234567890123456.0,
               -2.5, 0.0016738891456595795, 5e-324, 1e22, 123456.789]
    count = max(len(texts), len(numbers))
    texts, numbers = (texts * 2)[:count], (numbers * 2)[:count]
    lists = [["a", None, "b"], [], None, ["x | y"], ["only"]]
    lists = (lists * count)[:count]
    con.execute("CREATE TEMP TABLE t AS SELECT unnest(?::VARCHAR[]) AS text, unnest(?::DOUBLE[]) AS number, "
                "unnest(range(?)) AS n, unnest(?::VARCHAR[][]) AS items", [texts, numbers, count, lists])
    path = tmp_path / "out.csv"
    written = copy_csv(con, "t", [("text", "text"), ("number", "number"), ("n", "n"),
                                  ("items", joined("items"))], path)
    assert written == count

    def py_join(values):
        return " | ".join("" if v is None else str(v) for v in values or [])

    expected = _python_csv(["text", "number", "n", "items"],
                           [(neutralise_cell(t), x, i, neutralise_cell(py_join(items)))
                            for i, (t, x, items) in
                            enumerate(zip(texts, numbers, lists, strict=True))])
    assert path.read_bytes() == expected


def test_timestamps_read_as_python_prints_them(con):
    moments = [datetime(2026, 11, 20, 12, 0, tzinfo=UTC), datetime(2026, 7, 1, 3, 4, 5, 123456, tzinfo=UTC),
               datetime(2026, 3, 29, 0, 30, 0, 500000, tzinfo=timezone(timedelta(hours=-3)))]
    for zone in ("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"):
        con.execute(f"SET TimeZone = '{zone}'")
        sql = f'SELECT l."at", {_AT_TEXT} FROM unnest(?::TIMESTAMPTZ[]) AS l("at")'  # noqa: S608
        rows = con.execute(sql, [moments]).fetchall()
        assert [text for _, text in rows] == [str(at) for at, _ in rows], zone


def test_evidence_text_is_the_readable_evidence_of_the_page(con):
    labels = {("name", 9): "Exact full name", ("email", -1): "No e-mail", ("email", 0): "All other"}
    evidence = [json.dumps({"name": [9, 18.275], "email": [-1, 0.0], "phone": [0, -1.155]}),
                json.dumps({"email": [0, 2.675], "name": [3, 1.005], "birthdate": [2, 7]})]
    rows = con.execute(
        f"SELECT evidence, {_EVIDENCE_TEXT} FROM unnest($evidence::VARCHAR[]) AS t(evidence)",  # noqa: S608
        {"evidence": evidence, "label_keys": [f"{c}\x1f{g}" for c, g in labels],
         "label_values": list(labels.values())},
    ).fetchall()
    for raw, text in rows:
        assert text == "; ".join(f"{e['comparison']}: {e['level']} ({e['match_weight']:+.2f})"
                                 for e in readable_evidence(raw, labels))
    assert rows[0][1] == "name: Exact full name (+18.27); email: No e-mail (+0.00); phone: level 0 (-1.16)"


def test_the_page_takes_the_first_items_per_entity_and_a_hard_limit(con):
    con.execute("CREATE TEMP TABLE items AS SELECT * FROM (VALUES (0, 'A'), (1, 'A'), (2, 'A'), (3, 'A'), "
                "(4, 'B'), (5, 'B'), (6, 'C')) AS t(n, entity) ORDER BY n")
    assert [r["n"] for r in shown_rows(con, "items", per_entity=2, max_items=10)] == [0, 1, 4, 5, 6]
    assert [r["n"] for r in shown_rows(con, "items", per_entity=2, max_items=3)] == [0, 1, 4]
    assert "entity" not in shown_rows(con, "items", 1, 1)[0]


def test_many_items_keep_their_impact_order_in_the_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Several row groups and threads: the CSV still lists every item in impact order."""
    monkeypatch.setenv("AEGLOBAL_HOME", str(tmp_path))
    path = build_warehouse(tmp_path)
    add_field_conflicts(path, 300_000)
    with duckdb.connect(str(path)) as con:  # shuffle the stored order, so only the ranking orders
        con.execute("CREATE TABLE marts.shuffled AS "
                    "SELECT * FROM marts.identity_conflicts ORDER BY hash(conflict_id)")
        con.execute("DROP TABLE marts.identity_conflicts")
        con.execute("ALTER TABLE marts.shuffled RENAME TO identity_conflicts")
    files = write_report()
    with files.csv["field_conflicts"].open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 300_002

    def rank(row: dict) -> tuple:
        field_rank = 0 if row["field"] in IDENTITY_FIELDS else 1 if row["field"] == "phone" else 2
        return field_rank, -len(row["loser_record_keys"].split(" | ")), row["global_person_id"], row["field"]

    assert [rank(row) for row in rows] == sorted(rank(row) for row in rows)
    section = next(s for s in files.sections if s.key == "field_conflicts")
    page = [(i["global_person_id"], i["field"]) for i in section.shown]
    csv_order = [(r["global_person_id"], r["field"]) for r in rows]
    assert page == [key for key in csv_order if key in set(page)]  # the page is in the same order
