"""Render the steward report: one self-contained HTML page and one CSV file per section.

The page has no external references (inline CSS and JS), so it opens offline from disk. It
shows the capped items of each section (see `sections`); the CSV files, written by DuckDB
straight from the warehouse, hold every item.
"""

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.config import aeglobal_home
from aeglobal_pipeline.report.safe_text import bdi
from aeglobal_pipeline.report.sections import (
    ITEMS_PER_ENTITY,
    MAX_ITEMS_PER_SECTION,
    Section,
    decided_pairs,
    read_sections,
)

HTML_NAME = "steward_report.html"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class ReportFiles:
    html: Path
    csv: dict[str, Path]
    sections: list[Section]
    model_version: str | None


def reports_dir() -> Path:
    return aeglobal_home() / "reports"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["bdi"] = bdi  # every value from an org: escaped, isolated, cut
    return environment


def filter_options(sections: list[Section]) -> tuple[list[str], list[str]]:
    """Regions and legal entities of the items on the page, for the filter menus."""
    regions, entities = set(), set()
    for section in sections:
        for item in section.shown:
            regions.update(item["regions"])
            entities.update(item["legal_entities"])
    return sorted(regions), sorted(entities)


def render_html(sections: list[Section], *, generated_at: datetime, model_version: str | None) -> str:
    regions, entities = filter_options(sections)
    template = _environment().get_template("steward_report.html.j2")
    return template.render(
        sections=sections, regions=regions, legal_entities=entities,
        generated_at=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        model_version=model_version, per_entity=ITEMS_PER_ENTITY, max_items=MAX_ITEMS_PER_SECTION,
    )


def write_report(directory: Path | None = None) -> ReportFiles:
    """Read the warehouse (read-only), write the CSV files and then the page."""
    directory = directory or reports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    decided = decided_pairs()
    with warehouse.connect(read_only=True) as con:
        sections, model_version = read_sections(con, directory, decided)
    html = render_html(sections, generated_at=datetime.now(UTC),
                       model_version=model_version)
    html_path = directory / HTML_NAME
    partial = html_path.with_name(HTML_NAME + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        handle.write(html)
    os.replace(partial, html_path)  # a reader never sees half a page
    return ReportFiles(html_path, {s.key: directory / s.csv_name for s in sections}, sections,
                       model_version)


def summary_markdown(files: ReportFiles) -> str:
    """Counts per section for the Dagster UI: no personal data."""
    lines = ["| section | items | on the page | CSV |", "|---|---:|---:|---|"]
    for section in files.sections:
        if section.missing:
            lines.append(f"| {section.title} | – | – | {section.missing} |")
        else:
            lines.append(f"| {section.title} | {section.total:,} | {len(section.shown):,} | "
                         f"`{section.csv_name}` |")
    lines.append("")
    lines.append(f"Open `{files.html}` in a browser; the CSV files beside it hold every item.")
    return "\n".join(lines)
