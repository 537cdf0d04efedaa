"""Load a snapshot directory into the sandbox, replacing its state atomically.

Contract: DIR/sources.yaml plus DIR/<source>/<Object>.csv (Account, Contact, Lead for salesforce
sources; Prospect for account_engagement). Everything is validated while it streams into staging
tables; the live state is only replaced when every file passed, so a bad file leaves the
previous state untouched. Errors name the file and line: `snap/crm_emea/Lead.csv:17: ...`.
Real exports load as they come (Data Loader's UPPERCASE quoted headers, CRLF, a byte-order mark,
another encoding with `encoding=`); the checks that refuse a damaged one are in snapshot_format.
A header-only file would empty its object: it is refused unless the object is in `allow_empty`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aeglobal_pipeline.config import (
    AccountEngagementConnection,
    ConfigError,
    SalesforceConnection,
    SourcesFile,
    parse_sources,
    write_sources,
)
from aeglobal_pipeline.sandbox.credentials import ensure_tokens
from aeglobal_pipeline.sandbox.fields import (
    PROSPECT,
    PROSPECT_STANDARD_FIELDS,
    SALESFORCE_SYSTEM_FIELDS,
    Column,
    field_type,
    from_text,
    stamp,
)
from aeglobal_pipeline.sandbox.snapshot_format import (
    FormatError,
    canonical_header,
    decode_error_line,
    normalise_encoding,
    swallowed_rows,
)
from aeglobal_pipeline.sandbox.store import Row, SourceInfo, Staging, Store, record_key, state_path

BATCH_ROWS = 5_000
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Timestamp columns the sandbox maintains itself; their values must be full timestamps.
_MAINTAINED = {"SystemModstamp", "LastModifiedDate", "CreatedDate", "createdAt", "updatedAt"}


class SnapshotError(ValueError):
    """A snapshot file is malformed; the message starts with `path:line:`."""


@dataclass(frozen=True)
class LoadOptions:
    encoding: str = "utf-8-sig"
    # Objects that may be empty: `Lead` (in every source) or `crm_emea/Lead`; True: any.
    allow_empty: frozenset[str] | bool = frozenset()

    def may_be_empty(self, source: str, object_name: str) -> bool:
        if self.allow_empty is True:
            return True
        return bool({object_name, f"{source}/{object_name}"} & set(self.allow_empty or ()))


@dataclass
class SnapshotSummary:
    directory: Path
    generation: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [
            f"  {source}: " + ", ".join(f"{obj} {n:,}" for obj, n in objects.items())
            for source, objects in self.counts.items()
        ]
        return "\n".join(lines)


def load_snapshot(snapshot_dir: Path, home: Path, *, encoding: str | None = None,
                  allow_empty: frozenset[str] | bool = frozenset()) -> SnapshotSummary:
    """Validate `snapshot_dir` and make it the sandbox's whole state; write <home>/sources.yaml."""
    snapshot_dir = Path(snapshot_dir)
    try:
        options = LoadOptions(normalise_encoding(encoding), allow_empty)
    except ValueError as error:
        raise SnapshotError(str(error)) from error
    try:
        sources = parse_sources(snapshot_dir / "sources.yaml")
    except ConfigError as error:
        raise SnapshotError(str(error)) from error
    _check_layout(snapshot_dir, sources)

    store = Store(state_path(home))
    staging = Staging(store)
    summary = SnapshotSummary(snapshot_dir, generation=0)
    loaded_at = stamp(datetime.now(UTC))
    try:
        for position, source in enumerate(sources.sources):
            staging.add_source(SourceInfo(source.name, source.kind, source.business_unit_id), position)
            summary.counts[source.name] = {}
            for object_name in source.objects:
                path = snapshot_dir / source.name / f"{object_name}.csv"
                count = _load_object(staging, source.name, object_name, path, loaded_at, options)
                summary.counts[source.name][object_name] = count
        summary.generation = staging.swap()
    except BaseException:
        staging.drop()
        raise
    finally:
        store.close()

    sandboxed = SourcesFile(sources=[
        s.model_copy(update={"connection": _sandbox_connection(s.kind)}) for s in sources.sources
    ])
    write_sources(sandboxed, home / "sources.yaml")
    ensure_tokens(home, [s.name for s in sources.sources])
    return summary


def _sandbox_connection(kind: str) -> SalesforceConnection | AccountEngagementConnection:
    if kind == "salesforce":
        return SalesforceConnection(sandbox=True)
    return AccountEngagementConnection(sandbox=True)


def _check_layout(snapshot_dir: Path, sources: SourcesFile) -> None:
    by_name = {s.name: s for s in sources.sources}
    for entry in sorted(snapshot_dir.iterdir()):
        if not entry.is_dir():
            continue  # sources.yaml, READMEs and the like
        source = by_name.get(entry.name)
        if source is None:
            raise SnapshotError(f"{entry}: directory is not a source in {snapshot_dir / 'sources.yaml'}")
        for file in sorted(entry.iterdir()):
            if file.suffix != ".csv" or file.stem not in source.objects:
                raise SnapshotError(
                    f"{file}: unknown object file for {source.kind} source {source.name!r} "
                    f"(expected {', '.join(o + '.csv' for o in source.objects)})"
                )


def _columns_for(object_name: str, header: list[str]) -> list[Column]:
    """The header's columns plus the fields the sandbox always serves for this object."""
    required = PROSPECT_STANDARD_FIELDS if object_name == PROSPECT else SALESFORCE_SYSTEM_FIELDS
    names = list(header) + [n for n in required if n not in header]
    return [Column(n, field_type(object_name, n)) for n in names]


def _load_object(staging: Staging, source: str, object_name: str, path: Path, loaded_at: str,
                 options: LoadOptions) -> int:
    if not path.exists():
        staging.set_columns(source, object_name, _columns_for(object_name, []))
        return 0
    with path.open(newline="", encoding=options.encoding) as handle:
        reader = csv.reader(handle, strict=True)
        loader = _ObjectLoader(staging, source, object_name, path, loaded_at)
        line = 1
        try:
            header = next(reader, None)
            loader.set_header(header)
            line = reader.line_num + 1
            for row in reader:
                if row:
                    if reader.line_num > line:  # a quoted cell spans lines: did it eat records?
                        loader.check_multiline(row, line)
                    loader.add(row, line)
                line = reader.line_num + 1
        except csv.Error as error:
            raise SnapshotError(f"{path}:{reader.line_num}: malformed CSV: {error}") from error
        except UnicodeDecodeError as error:
            bad_line, what = decode_error_line(path, options.encoding)
            hint = " (exported as Latin-1 / Windows-1252? load with --encoding cp1252)" if (
                options.encoding == "utf-8-sig") else ""
            raise SnapshotError(f"{path}:{bad_line}: not valid {options.encoding.removesuffix('-sig')}"
                                f": {what}{hint}") from error
        loader.flush()
    if loader.count == 0 and not options.may_be_empty(source, object_name):
        raise SnapshotError(
            f"{path}:1: a header and no records: loading it would empty {object_name} of {source}; "
            f"pass --allow-empty {source}/{object_name} if it really has none"
        )
    staging.set_columns(source, object_name, loader.columns)
    return loader.count


class _ObjectLoader:
    """Turns CSV rows of one file into typed rows, batching them into the staging tables."""

    def __init__(self, staging: Staging, source: str, object_name: str, path: Path, loaded_at: str):
        self.staging, self.source, self.object_name, self.path = staging, source, object_name, path
        self.loaded_at = loaded_at
        self.columns: list[Column] = []
        self.count = 0
        self._batch: list[Row] = []
        self._lines: list[int] = []
        self._undecided: set[int] = set()

    def _fail(self, line: int, message: str) -> SnapshotError:
        return SnapshotError(f"{self.path}:{line}: {message}")

    def set_header(self, header: list[str] | None) -> None:
        if not header:
            raise self._fail(1, "empty file: expected a header row")
        try:
            header = canonical_header(self.object_name, header)
        except FormatError as error:
            raise self._fail(error.line, error.message) from None
        self.header = header
        self.width = len(header)
        self.columns = _columns_for(self.object_name, header)
        self.index = {c.name: i for i, c in enumerate(self.columns)}
        self._undecided = {
            i for i, c in enumerate(self.columns) if c.type == "datetime" and c.name not in _MAINTAINED
        }

    def check_multiline(self, cells: list[str], line: int) -> None:
        swallowed = swallowed_rows(self.object_name, cells, self.header, self.width, line)
        if swallowed:
            raise self._fail(swallowed.line, swallowed.message)

    def add(self, cells: list[str], line: int) -> None:
        if len(cells) != self.width:
            raise self._fail(line, f"expected {self.width} columns, found {len(cells)}")
        values: list = [None] * len(self.columns)
        for i, text in enumerate(cells):
            if text == "":
                continue
            column = self.columns[i]
            if i in self._undecided:
                # A `*Date` column holding plain dates is a date field (e.g. ConvertedDate).
                self._undecided.discard(i)
                if _DATE_ONLY.match(text.strip()):
                    column = self.columns[i] = Column(column.name, "date")
            try:
                values[i] = from_text(column.type, text)
            except ValueError as error:
                raise self._fail(line, f"column {column.name}: {error}") from None
        self._batch.append(self._complete(values, line))
        self._lines.append(line)
        if len(self._batch) >= BATCH_ROWS:
            self.flush()

    def _complete(self, values: list, line: int) -> Row:
        """Fill the maintained timestamps and derive the row's key, modstamp and deleted flag."""
        get = lambda name: values[self.index[name]]  # noqa: E731
        if self.object_name == PROSPECT:
            updated = get("updatedAt") or get("createdAt") or self.loaded_at
            values[self.index["updatedAt"]] = updated
            values[self.index["createdAt"]] = get("createdAt") or updated
            deleted_name, id_name = "isDeleted", "id"
        else:
            modstamp = (
                get("SystemModstamp") or get("LastModifiedDate") or get("CreatedDate") or self.loaded_at
            )
            values[self.index["SystemModstamp"]] = modstamp
            values[self.index["LastModifiedDate"]] = get("LastModifiedDate") or modstamp
            values[self.index["CreatedDate"]] = get("CreatedDate") or get("LastModifiedDate")
            updated = modstamp
            deleted_name, id_name = "IsDeleted", "Id"
        record_id = get(id_name)
        if record_id is None:
            raise self._fail(line, f"empty {id_name}")
        deleted = bool(get(deleted_name))
        values[self.index[deleted_name]] = deleted
        return Row(record_key(self.object_name, record_id), updated, deleted, values)

    def flush(self) -> None:
        if not self._batch:
            return
        duplicate = self.staging.insert(self.source, self.object_name, self._batch)
        if duplicate is not None:
            row = self._batch[duplicate]
            id_name = "id" if self.object_name == PROSPECT else "Id"
            raise self._fail(
                self._lines[duplicate], f"duplicate {id_name} {row.values[self.index[id_name]]!r}"
            )
        self.count += len(self._batch)
        self._batch, self._lines = [], []
