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


LEAD_HEADER = "Id,LastName,Email,HasOptedOutOfEmail,SystemModstamp\n"
GOOD_ROW = "00Q000000000001AAA,Good,good@example.com,false,2026-03-04T10:15:00.000+0000\n"
ROW_2 = "00Q000000000002AAA,Two,two@example.com,false,2026-03-04T10:16:00.000+0000\n"


def _write_bytes(bad: Path, relative: str, data: bytes) -> Path:
    (bad / relative).write_bytes(data)
    return bad


@pytest.mark.parametrize(("text", "line", "fragment"), [
    (LEAD_HEADER + GOOD_ROW + "00Q000000000002AAA,Short,x@y.z,false\n", 3, "expected 5 columns, found 4"),
    (LEAD_HEADER + GOOD_ROW + GOOD_ROW, 3, "duplicate Id '00Q000000000001AAA'"),
    (LEAD_HEADER + GOOD_ROW + "00Q000000000002AAA,X,x@y.z,maybe,\n", 3, "HasOptedOutOfEmail"),
    (LEAD_HEADER + "00Q000000000002AAA,X,x@y.z,false,yesterday\n", 2, "SystemModstamp"),
    ("LastName,Email\nNoId,x@y.z\n", 1, "missing the standard column Id of Lead"),
    ("Id,FirstName,Phone\n00Q000000000002AAA,X,1\n", 1, "missing the standard columns LastName, Email"),
    (LEAD_HEADER + GOOD_ROW + '00Q000000000003AAA,"unterminated,x@y.z,false,\n', 3, "malformed CSV"),
    # a header-only file would empty the object
    (LEAD_HEADER, 1, "a header and no records: loading it would empty Lead of crm_emea"),
    # a field name that is no API name (it would break every SOQL query later)
    ("Id,LastName,Email,Brace{0}__c\n00Q000000000002AAA,X,x@y.z,1\n", 1,
     "'Brace{0}__c' is not a field API name"),
    ("Id,LastName,Email,Account.Name\n00Q000000000002AAA,X,x@y.z,1\n", 1, "'Account.Name' is not a field"),
    ("Id,LastName,Email,EMAIL\n00Q000000000002AAA,X,x@y.z,y@y.z\n", 1, "columns 3 and 4 are both 'Email'"),
    # a quote opened on line 3 and closed three lines later: four fields, so the count matches
    ("Id,LastName,Email,Title\n00Q000000000001AAA,A,a@x.com,CEO\n"
     '00Q000000000002AAA,B,b@x.com,"Head of\n00Q000000000003AAA,C,c@x.com,Engineer\n'
     '00Q000000000004AAA,D,d@x.com,Closer"\n00Q000000000005AAA,E,e@x.com,CFO\n', 3,
     "the quoted Title cell opened on this line runs over 3 lines and holds what look like records"),
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


def test_a_latin1_byte_is_named_on_its_own_line_and_loads_with_encoding(sandbox, tmp_path):
    sf = sandbox.sf()
    before = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    rows = "".join(f"00Q0000000{n:05d}AAA,Row{n},r{n}@example.com,false,2026-03-04T10:15:00.000+0000\n"
                   for n in range(1, 400))
    text = LEAD_HEADER + rows + "00Q000000099999AAA,Müller,m@example.com,false,2026-03-04T10:15:00.000+0000\n"
    bad = _bad_copy(sandbox.snapshot, tmp_path, "crm_emea/Lead.csv", "")
    _write_bytes(bad, "crm_emea/Lead.csv", text.encode("latin-1"))
    with pytest.raises(SnapshotError) as error:
        load_snapshot(bad, sandbox.home)
    # the header is line 1, then 399 rows: Müller is on line 401
    assert str(error.value).startswith(f"{bad / 'crm_emea' / 'Lead.csv'}:401: not valid utf-8: byte fc")
    assert "--encoding cp1252" in str(error.value)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == before
    summary = load_snapshot(bad, sandbox.home, encoding="latin-1")
    assert summary.counts["crm_emea"]["Lead"] == 400
    assert sf.query("SELECT LastName FROM Lead WHERE Id = '00Q000000099999AAA'")["records"][0][
        "LastName"] == "Müller"
    load_snapshot(sandbox.snapshot, sandbox.home)  # back to the module's snapshot


def test_a_header_only_file_loads_when_allowed(sandbox, tmp_path):
    bad = _bad_copy(sandbox.snapshot, tmp_path, "crm_emea/Lead.csv", LEAD_HEADER)
    summary = load_snapshot(bad, sandbox.home, allow_empty=frozenset({"crm_emea/Lead"}))
    assert summary.counts["crm_emea"]["Lead"] == 0
    assert sandbox.sf().query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    load_snapshot(sandbox.snapshot, sandbox.home)  # back to the module's snapshot


def test_an_unknown_encoding_is_refused_before_anything_changes(sandbox):
    with pytest.raises(SnapshotError, match="unknown encoding 'klingon'"):
        load_snapshot(sandbox.snapshot, sandbox.home, encoding="klingon")


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


def test_sandbox_load_command_refuses_a_header_only_file_unless_allowed(sandbox, tmp_path):
    from click.testing import CliRunner

    from aeglobal_pipeline.cli import main

    bad = _bad_copy(sandbox.snapshot, tmp_path, "crm_emea/Lead.csv", LEAD_HEADER)
    refused = CliRunner().invoke(main, ["sandbox", "load", str(bad)])
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1].startswith(f"error: {bad / 'crm_emea' / 'Lead.csv'}:1: ")
    assert sandbox.sf().query("SELECT COUNT() FROM Lead")["totalSize"] == 2_450
    allowed = CliRunner().invoke(main, ["sandbox", "load", str(bad), "--allow-empty", "Lead"])
    assert allowed.exit_code == 0, allowed.output
    assert sandbox.sf().query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    load_snapshot(sandbox.snapshot, sandbox.home)  # back to the module's snapshot
