"""Echo suppression end to end: a second `run --apply` over unchanged sources writes nothing.

Our own write-back bumps LastModifiedDate / updatedAt; without writeback.echo_stamps the second
run ranks the records we wrote as `most_recent` and plans a few dozen values back (e.g. a
Contact's Account company over a newer Prospect company), flipping on every run. Our written
values must not become evidence either (writeback/own_writes.py): a filled phone or a fixed name
would otherwise move records between persons on the next run, which re-plans ids and values.

The snapshot holds every phone and e-mail format of issue 14 point 6 (`--formats all`), and the
test checks the first run did write values that came from each of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from snapshot_helpers import private_home

from aeglobal_pipeline.warehouse import connect


@pytest.fixture(scope="module")
def generated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from aeglobal_pipeline.sandbox.all_formats import rewrite_all_formats
    from aeglobal_pipeline.sandbox.generate import generate_snapshot
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    with private_home(tmp_path_factory.mktemp("echo_home")) as home:
        (home / "dagster").mkdir()
        generate_snapshot(persons=300, seed=3, out=home / "snap")
        rewrite_all_formats(home / "snap")
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


# How the source record of a written value had typed it (all_formats.py writes each of them).
FORMATS = {
    # national: a trunk prefix ("030 …") or none (NANP "(212) …"), not "00" nor "+"
    "phone national": lambda t: not t.startswith(("+", "00")) and "(0)" not in t
    and any(c.isdigit() for c in t) and not any(c.isalpha() for c in t),
    "phone 00": lambda t: t.startswith("00"),
    "phone (0)": lambda t: "(0)" in t,
    "phone vanity": lambda t: sum(c.isalpha() for c in t.split(";")[0].split(" x")[0].split(" ext")[0]) >= 3,
    "phone extension": lambda t: any(m in t for m in (" ext. ", " x", ";ext=")),
    "email upper case": lambda t: "@" in t and t == t.upper(),
    "email mixed case": lambda t: "@" in t and t != t.upper() and t != t.lower(),
    "email padded": lambda t: "@" in t and t != t.strip(),
}


def _formats_written() -> dict[str, int]:
    """Per format, how many planned-and-applied phone / e-mail values came from a record that
    held the value typed in it (its raw text as extracted)."""
    with connect() as con:
        sources = [t for (t,) in con.execute(
            """select raw.value
               from marts.writeback_plan as plan
               join rules.field_dictionary as target
                   on target.object = plan.object and target.api_name = plan.field
               join rules.field_dictionary as origin
                   on origin.field = target.field and origin.object = split_part(plan.value_source, ':', 2)
               join intermediate.int_governance__raw_values as raw
                   on raw.record_key = plan.value_source and raw.api_name = origin.api_name
               join writeback.changes_log as written
                   on written.source = plan.target_source and written.object = plan.object
                   and written.record_id = plan.record_id and written.field = plan.field
                   and written.status = 'applied'
               where target.field in ('phone', 'mobile', 'email')""").fetchall()]
    return {name: sum(1 for text in sources if matches(text)) for name, matches in FORMATS.items()}


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
    formats = _formats_written()
    missing = set(FORMATS) - {name for name, n in formats.items() if n}
    assert not missing, f"the first run wrote no value typed as {sorted(missing)}: {formats}"

    second = run_pipeline(apply=True, echo=lambda _: None)
    assert second.success, second.failures
    again = _applied(second.run_id)
    assert again == [], f"{len(again)} field writes on an unchanged second run, e.g. {again[:5]}"
    assert second.materialized["writeback"]["totals"].get("applied", 0) == 0
