"""safe_text: formulas, markdown cells, <bdi> and masked samples (no pipeline needed)."""

from __future__ import annotations

from aeglobal_pipeline.report.safe_text import bdi, markdown_cell, mask
from aeglobal_pipeline.writeback.plan import PreviewGroup, preview_markdown


def test_markdown_cells_keep_a_pipe_and_markup_inside_the_cell():
    assert markdown_cell("a | b") == "a \\| b"
    assert markdown_cell("line\nbreak") == "line break"
    assert markdown_cell("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert markdown_cell(None) == ""


def test_bdi_escapes_isolates_and_cuts():
    assert str(bdi("<i>\u202eabc")) == "<bdi>&lt;i&gt;\u202eabc</bdi>"
    assert len(str(bdi("x" * 1000))) < 320
    assert str(bdi("x" * 1000, 0)).count("x") == 1000


def test_masks_show_the_shape_of_a_personal_value_only():
    assert mask("email", "jane.doe@northwind.de") == "j…@…d.de"
    assert mask("phone", "+4930123456") == "+49…56"
    assert mask("family_name", "Müller") == "M… (6 chars)"
    assert mask("email_opt_out", "true") == "true"
    assert mask("lifecycle_stage", "MQL") == "MQL"


def test_the_write_back_preview_has_counts_masked_samples_and_intact_rows():
    group = PreviewGroup(
        "crm_emea", "Lead", 2, 3, {"email": 1, "phone": 1, "company": 1}, {"fill_empty": 3},
        [{"record_id": "00Q1", "field": "email", "current_value": None, "new_value": "jane.doe@northwind.de",
          "rule": "fill_empty"},
         {"record_id": "00Q1", "field": "phone", "current_value": "", "new_value": "+4930123456",
          "rule": "fill_empty"},
         {"record_id": "00Q2", "field": "company", "current_value": "A | B", "new_value": "Acme | Co",
          "rule": "most_recent, crm_na:Lead:00Q9 at 2026-01-01"}],
    )
    text = preview_markdown([group])
    assert "jane.doe@northwind.de" not in text and "+4930123456" not in text and "Acme" not in text
    assert "crm_na:Lead:00Q9" not in text  # the rule's evidence stays in the warehouse
    rows = [line for line in text.splitlines() if line.startswith("| 00Q")]
    assert len(rows) == 3
    for row in rows:  # five cells: no unescaped pipe from a value
        assert len([part for part in row.replace("\\|", "").split("|")]) == 7, row
