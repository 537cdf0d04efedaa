"""The steward report in a real browser: headless Chromium (Debian's) driven by Selenium.

The report comes from a real pipeline run on a small generated snapshot (`aeglobal sandbox
generate` + `aeglobal run`, as a user would), plus an applied write-back with a few records the
sandbox refuses, so every section has rows. `AEGLOBAL_REPORT_HOME=DIR` uses an existing
`$AEGLOBAL_HOME` with a finished run instead (e.g. to take the README screenshot from a larger
run); `AEGLOBAL_SCREENSHOT=1` saves the screenshot to docs/steward_report.png (or to the path
given, when it ends in .png) instead of the test's tmp dir.

Chromium comes from `make browser` (part of `make install`, run by .ci/run). Without it the
test skips on a developer machine and fails in CI (`CI` set), so CI never passes silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import chromium, require_chromium
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("uncertain_matches", "large_clusters", "field_conflicts", "consent_disagreements",
            "governance_findings", "writeback_rejects")
FAILING_RECORDS = 3  # per CRM org, refused by the sandbox with a validation error


def _apply_with_rejects(home: Path) -> None:
    """Apply the dry run's plan with a few CRM records set to refuse their update."""
    from aeglobal_pipeline.sandbox.control import SandboxControl
    from aeglobal_pipeline.warehouse import connect
    from aeglobal_pipeline.writeback import run_writeback

    with connect(read_only=True) as con:
        targets = con.execute(
            """SELECT target_source, record_id FROM (
                   SELECT DISTINCT target_source, record_id FROM marts.writeback_plan
                   WHERE object IN ('Lead', 'Contact'))
               QUALIFY row_number() OVER (PARTITION BY target_source ORDER BY record_id) <= ?""",
            [FAILING_RECORDS],
        ).fetchall()
    control = SandboxControl.for_home(home)
    for source, record_id in targets:
        control.fail_record(record_id, "FIELD_CUSTOM_VALIDATION_EXCEPTION", source=source,
                            message="Region__c must be set before a name change")
    result = run_writeback(apply=True, log=lambda _: None)
    assert result.totals().get("rejected", 0) >= len(targets), result.totals()
    control.clear_faults()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The steward report's HTML path, from a finished run with a write-back that had rejects."""
    import dagster as dg

    from aeglobal_pipeline.cli import main
    from aeglobal_pipeline.report.assets import steward_report
    from aeglobal_pipeline.sandbox.process import stop

    require_chromium()
    existing = os.environ.get("AEGLOBAL_REPORT_HOME")
    home = Path(existing) if existing else tmp_path_factory.mktemp("report_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.delenv("AEGLOBAL_SOURCES", raising=False)
        try:
            if not existing:
                generated = CliRunner().invoke(
                    main, ["sandbox", "generate", "--persons", "300", "--seed", "3",
                           "--out", str(home / "snap")])
                assert generated.exit_code == 0, generated.output
                run = CliRunner().invoke(main, ["run"])
                assert run.exit_code == 0, run.output
                assert f"steward report: {home / 'reports' / 'steward_report.html'}" in run.output
                _apply_with_rejects(home)
            result = dg.materialize([steward_report])
            assert result.success
            [materialization] = result.asset_materializations_for_node("steward_report")
            yield Path(materialization.metadata["report"].value)
        finally:
            if not existing:
                stop(home)


@pytest.fixture(scope="module")
def browser(report: Path, tmp_path_factory: pytest.TempPathFactory):
    with chromium(report, tmp_path_factory.mktemp("chromium_profile")) as driver:
        yield driver


def _rows(driver) -> list[dict]:
    """Every item row: section, regions, entities and whether the browser displays it."""
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('tr.item')).map(function (row) {
             return {section: row.dataset.section, regions: row.dataset.regions.split('|'),
                     entities: row.dataset.entities.split('|'),
                     shown: row.getClientRects().length > 0}; });"""
    )


def _choose(driver, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def _least_common(rows: list[dict], key: str) -> str:
    """A filter value that some rows have and others do not (the rarest one)."""
    counts: dict[str, int] = {}
    for row in rows:
        for value in set(row[key]) - {""}:
            counts[value] = counts.get(value, 0) + 1
    assert len(counts) > 1, f"need at least two {key} to test a filter: {counts}"
    return min(counts, key=lambda value: (counts[value], value))


def test_every_section_renders_with_rows(browser):
    from selenium.webdriver.common.by import By

    assert browser.title.startswith("Steward report")
    for key in SECTIONS:
        section = browser.find_element(By.ID, key)
        assert "Nothing to show" not in section.text, section.text[:300]
        rows = section.find_elements(By.CSS_SELECTOR, "tr.item")
        assert rows, f"section {key} has no rows"
        assert rows[0].is_displayed()
    commands = browser.find_elements(By.CSS_SELECTOR, "#uncertain_matches .cmd code")
    assert commands and commands[0].text.startswith("aeglobal steward decide ")


@pytest.mark.parametrize(("select_id", "key"), [("filter-region", "regions"),
                                                ("filter-entity", "entities")])
def test_filters_hide_and_show_rows(browser, select_id, key):
    everything = _rows(browser)
    assert all(row["shown"] for row in everything)
    wanted = _least_common(everything, key)

    _choose(browser, select_id, wanted)
    filtered = _rows(browser)
    shown = [row for row in filtered if row["shown"]]
    hidden = [row for row in filtered if not row["shown"]]
    assert shown and hidden
    assert all(wanted in row[key] for row in shown)
    assert not any(wanted in row[key] for row in hidden)
    counter = browser.execute_script(
        "return document.querySelector('b[data-visible-for=\"uncertain_matches\"]').textContent")
    assert int(counter.replace(",", "")) == sum(r["section"] == "uncertain_matches" for r in shown)

    _choose(browser, select_id, "")
    assert all(row["shown"] for row in _rows(browser))


def test_text_search_narrows_to_matching_rows(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    record_key = browser.find_element(By.CSS_SELECTOR, "#uncertain_matches tr.item .key").text
    box = browser.find_element(By.ID, "filter-text")
    box.send_keys(record_key)
    WebDriverWait(browser, 5).until(
        lambda driver: sum(row["shown"] for row in _rows(driver)) < len(_rows(driver)))
    shown = browser.find_elements(By.CSS_SELECTOR, "tr.item:not([hidden])")
    assert shown and all(record_key in row.text for row in shown)
    box.clear()
    box.send_keys(" ")  # clear() sends no input event; a blank query shows everything again
    WebDriverWait(browser, 5).until(lambda driver: all(row["shown"] for row in _rows(driver)))


def test_screenshot_of_the_whole_page(browser, tmp_path):
    wanted = os.environ.get("AEGLOBAL_SCREENSHOT")
    if wanted:
        path = Path(wanted) if wanted.endswith(".png") else ROOT / "docs" / "steward_report.png"
    else:
        path = tmp_path / "steward_report.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    browser.refresh()  # no filter or search left over from the other tests
    # Sections scroll on their own (capped height), so a window as tall as the page shows them all.
    for _ in range(2):
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1366, height)
    assert browser.save_screenshot(str(path))
    assert path.stat().st_size > 50_000  # a rendered page, not a blank one
