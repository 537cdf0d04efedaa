"""Incremental extraction of one source × object into its raw warehouse table.

Salesforce: the first load of an object uses a Bulk API 2.0 queryAll job (as production
connectors do for large initial loads); later runs use REST queryAll from the high-water mark
on SystemModstamp, or a Bulk queryAll with the same WHERE clause when the GET would exceed the
org's 16 KB URI + headers limit (orgs with hundreds of fields). Both return deleted rows, which
are kept and flagged, so an incremental history and a full reload give the same table. Account
Engagement: v5 prospect pages from the high-water mark on updatedAt. Every incremental read
starts `lookback_seconds` before the mark (records can become visible with an older stamp); the
merge skips rows whose stamp did not move. Pages stream to staging files; the warehouse is
locked only for the merge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceError

from aeglobal_pipeline.config import Source, aeglobal_home
from aeglobal_pipeline.sources.kinds import PROSPECT_COLUMNS, descriptor
from aeglobal_pipeline.sources.raw_tables import (
    MergeResult,
    StagedPages,
    batched,
    merge_staged_pages,
    read_high_water_mark,
)
from aeglobal_pipeline.warehouse import connect

# Compound and binary fields cannot be selected in Bulk API queries and carry nothing we use.
UNQUERYABLE_TYPES = {"address", "location", "base64"}
REST_PAGE_ROWS = 5_000
BULK_PAGE_ROWS = 50_000
# Salesforce refuses (414/431) a request whose URI + headers exceed 16,384 bytes; this much is
# kept free for the headers simple-salesforce and proxies add.
MAX_REQUEST_BYTES = 16_384
HEADER_ALLOWANCE = 1_024

PROSPECT_FIELDS = PROSPECT_COLUMNS

Log = Callable[[str], None]


@dataclass
class ExtractResult(MergeResult):
    """What one extraction changed in its raw table, and how it fetched."""

    source: str = ""
    object: str = ""
    mode: str = ""

    @classmethod
    def from_merge(cls, source: str, object_name: str, mode: str, merge: MergeResult) -> ExtractResult:
        return cls(source=source, object=object_name, mode=mode, **asdict(merge))


def _staging_dir(run_id: str, source: str, object_name: str) -> Path:
    path = aeglobal_home() / "staging" / run_id / f"{source}__{object_name.lower()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _high_water_mark(source: str, object_name: str) -> datetime | None:
    with connect() as con:
        return read_high_water_mark(con, source, object_name)


def _read_from(source: Source, mark: datetime | None) -> datetime | None:
    """Where an incremental read starts: the mark less the source's lookback."""
    return None if mark is None else mark - timedelta(seconds=source.extract_lookback_seconds)


def rest_query_too_long(sf: Salesforce, soql: str, limit: int = MAX_REQUEST_BYTES) -> bool:
    """Would `GET .../queryAll/?q=<soql>` exceed the org's URI + headers limit?"""
    url = f"{sf.base_url}queryAll/?q={quote(soql, safe='')}"
    return len(url.encode()) + HEADER_ALLOWANCE > limit


def _is_request_too_large(error: SalesforceError) -> bool:
    return error.status in (414, 431)


def queryable_fields(sf: Salesforce, object_name: str) -> list[str]:
    description = getattr(sf, object_name).describe()
    return [f["name"] for f in description["fields"] if f.get("type") not in UNQUERYABLE_TYPES]


def extract_salesforce_object(
    sf: Salesforce,
    source: Source,
    object_name: str,
    run_id: str,
    *,
    log: Log = print,
    full_refresh: bool = False,
    bulk_poll_seconds: float = 0.5,
) -> ExtractResult:
    """Bring raw.<source>__<object> up to date with the org; returns what changed."""
    fields = queryable_fields(sf, object_name)
    mark = None if full_refresh else _high_water_mark(source.name, object_name)
    staged = StagedPages(_staging_dir(run_id, source.name, object_name))
    # Field names come from the org's describe and the object from a fixed list, not from user input.
    select = f"SELECT {', '.join(fields)} FROM {object_name}"  # noqa: S608
    where_from = _read_from(source, mark)
    try:
        if mark is None:
            mode = "bulk_initial"
            log(f"{source.name}.{object_name}: initial load through Bulk API 2.0 ({len(fields)} fields)")
            _bulk_query_all(sf, object_name, select, staged, log, source, bulk_poll_seconds)
        else:
            mode = _incremental(sf, source, object_name, select, where_from, staged, log,
                                bulk_poll_seconds)
        with connect() as con:
            merge = merge_staged_pages(
                con, source=source.name, object_name=object_name,
                shape=descriptor(object_name).shape, staged=staged, run_id=run_id, mode=mode,
            )
    finally:
        staged.cleanup()
    return ExtractResult.from_merge(source.name, object_name, mode, merge)


def _bulk_query_all(sf: Salesforce, object_name: str, soql: str, staged: StagedPages, log: Log,
                    source: Source, poll_seconds: float) -> None:
    bulk = getattr(sf.bulk2, object_name)
    # queryAll, so a first load holds the same rows (deleted ones flagged) as later increments.
    for page in bulk.query_all(soql, max_records=BULK_PAGE_ROWS, wait=poll_seconds):
        staged.add_csv(page)
        log(f"{source.name}.{object_name}: {staged.rows:,} records fetched")


def _incremental(sf: Salesforce, source: Source, object_name: str, select: str, since: datetime,
                 staged: StagedPages, log: Log, poll_seconds: float) -> str:
    """Changes since `since`: REST queryAll, or Bulk queryAll when the GET would be too long."""
    where = format_soql(" WHERE SystemModstamp >= {}", since)
    soql = select + where + " ORDER BY SystemModstamp, Id"
    if not rest_query_too_long(sf, soql):
        log(f"{source.name}.{object_name}: changes since {since.isoformat()} through queryAll")
        try:
            for page in batched(sf.query_all_iter(soql, include_deleted=True), REST_PAGE_ROWS):
                staged.add_records(page)
                log(f"{source.name}.{object_name}: {staged.rows:,} records fetched")
            return "incremental"
        except SalesforceError as error:
            # The org's front end limits URI + headers below what we assumed: use the POST body.
            if not _is_request_too_large(error) or staged.rows:
                raise
    log(f"{source.name}.{object_name}: the query is too long for a GET; Bulk queryAll since "
        f"{since.isoformat()}")
    _bulk_query_all(sf, object_name, select + where, staged, log, source, poll_seconds)
    return "incremental_bulk"


def extract_prospects(
    client,
    source: Source,
    run_id: str,
    *,
    log: Log = print,
    full_refresh: bool = False,
) -> ExtractResult:
    """Bring raw.<source>__prospect up to date with the business unit; returns what changed."""
    mark = None if full_refresh else _high_water_mark(source.name, "Prospect")
    staged = StagedPages(_staging_dir(run_id, source.name, "Prospect"))
    mode = "initial" if mark is None else "incremental"
    try:
        pages = client.iter_prospect_pages(
            list(PROSPECT_FIELDS),
            updated_after=_read_from(source, mark),
            deleted="all",
        )
        for page in pages:
            staged.add_records(page)
            log(f"{source.name}.Prospect: {staged.rows:,} prospects fetched")
        with connect() as con:
            merge = merge_staged_pages(
                con, source=source.name, object_name="Prospect", shape=descriptor("Prospect").shape,
                staged=staged, run_id=run_id, mode=mode,
            )
    finally:
        staged.cleanup()
    return ExtractResult.from_merge(source.name, "Prospect", mode, merge)


def extract_object(source_systems, source: Source, object_name: str, run_id: str, *,
                   log: Log = print, full_refresh: bool = False) -> ExtractResult:
    """Extract one object of any source kind with that kind's client (see sources/kinds.py)."""
    extract = EXTRACTORS[source.kind]
    return extract(source_systems, source, object_name, run_id, log=log, full_refresh=full_refresh)


def _salesforce_extractor(source_systems, source, object_name, run_id, **options) -> ExtractResult:
    return extract_salesforce_object(source_systems.salesforce(source.name), source, object_name,
                                     run_id, **options)


def _account_engagement_extractor(source_systems, source, object_name, run_id, **options):
    return extract_prospects(source_systems.account_engagement(source.name), source, run_id, **options)


EXTRACTORS: dict[str, Callable[..., ExtractResult]] = {
    "salesforce": _salesforce_extractor,
    "account_engagement": _account_engagement_extractor,
}
