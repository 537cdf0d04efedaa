"""Snapshot validation, atomic replacement, reload without restart, and restart persistence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from snapshot_helpers import lead_id, make_leads, write_snapshot

from aeglobal_pipeline.config import parse_sources
from aeglobal_pipeline.sandbox.process import ensure_running, find_running, stop, token_for
from aeglobal_pipeline.sandbox.snapshot import SnapshotError, load_snapshot


def _bad_copy(good: Path, tmp_path: Path, relative: str, text: str) -> Path:
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    (bad / relative).write_text(text, encoding="utf-8")
    return bad


LEAD_HEADER = "Id,LastName,HasOptedOutOfEmail,SystemModstamp\n"
GOOD_ROW = "00Q000000000001AAA,Good,false,2026-03-04T10:15:00.000+0000\n"


@pytest.mark.parametrize(("text", "line", "fragment"), [
    (LEAD_HEADER + GOOD_ROW + "00Q000000000002AAA,Short,false\n", 3, "expected 4 columns, found 3"),
    (LEAD_HEADER + GOOD_ROW + GOOD_ROW, 3, "duplicate Id '00Q000000000001AAA'"),
    (LEAD_HEADER + GOOD_ROW + "00Q000000000002AAA,X,maybe,\n", 3, "HasOptedOutOfEmail"),
    (LEAD_HEADER + "00Q000000000002AAA,X,false,yesterday\n", 2, "SystemModstamp"),
    ("LastName,Email\nNoId,x@y.z\n", 1, "missing the 'Id' column"),
    (LEAD_HEADER + GOOD_ROW + '00Q000000000003AAA,"unterminated,false,\n', 3, "malformed CSV"),
])
def test_malformed_csv_names_file_and_line_and_keeps_state(sandbox, tmp_path, text, line, fragment):
    sf = sandbox.sf()
    before = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    bad = _bad_copy(sandbox.snapshot, tmp_path, "crm_emea/Lead.csv", text)
    with pytest.raises(SnapshotError) as error:
        load_snapshot(bad, sandbox.home)
    assert str(error.value).startswith(f"{bad / 'crm_emea' / 'Lead.csv'}:{line}: ")
    assert fragment in str(error.value)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == before


def test_unknown_object_file_and_bad_sources_yaml_are_refused(sandbox, tmp_path):
    bad = _bad_copy(sandbox.snapshot, tmp_path, "crm_emea/Opportunity.csv", "Id\n006000000000001\n")
    with pytest.raises(SnapshotError, match=r"Opportunity\.csv: unknown object file"):
        load_snapshot(bad, sandbox.home)
    (bad / "crm_emea" / "Opportunity.csv").unlink()
    (bad / "sources.yaml").write_text("sources:\n  - name: Bad-Name\n    kind: salesforce\n")
    with pytest.raises(SnapshotError, match=r"sources\.yaml"):
        load_snapshot(bad, sandbox.home)


def test_a_new_snapshot_is_served_without_restart(sandbox, tmp_path):
    pid = sandbox.endpoint.pid
    token = token_for(sandbox.home, "crm_emea")
    smaller = write_snapshot(tmp_path / "smaller", {"crm_emea": {"Lead": make_leads(3)}})
    summary = load_snapshot(smaller, sandbox.home)
    assert summary.counts["crm_emea"]["Lead"] == 3
    assert sandbox.sf().query("SELECT COUNT() FROM Lead")["totalSize"] == 3
    assert sandbox.endpoint.pid == pid
    assert token_for(sandbox.home, "crm_emea") == token  # tokens survive reloads
    written = parse_sources(sandbox.home / "sources.yaml")
    assert all(s.is_sandbox for s in written.sources)
    load_snapshot(sandbox.snapshot, sandbox.home)  # back to the module's snapshot
    assert sandbox.sf().query("SELECT COUNT() FROM Lead")["totalSize"] == 2_450


def test_state_survives_a_server_restart(sandbox):
    sf = sandbox.sf()
    sf.Lead.update(lead_id(40), {"LastName": "Persisted"})
    stamp = sf.Lead.get(lead_id(40))["SystemModstamp"]
    old_pid = sandbox.endpoint.pid
    assert stop(sandbox.home) is True
    assert find_running(sandbox.home) is None
    restarted = ensure_running(sandbox.home)
    assert restarted.pid != old_pid
    sf = sandbox.sf()
    lead = sf.Lead.get(lead_id(40))
    assert lead["LastName"] == "Persisted" and lead["SystemModstamp"] == stamp
    sf.Lead.update(lead_id(40), {"LastName": "AfterRestart"})
    assert sf.Lead.get(lead_id(40))["SystemModstamp"] > stamp  # the clock never runs backwards
