"""Paging through a query's result: REST query cursors and Bulk 2.0 result locators share it.

Pages continue from the last key served (keyset paging), so a page costs the same at any depth.
A record written while a cursor is open moves to the end of a SystemModstamp order and may be
served twice — never skipped, which is what incremental extraction needs. Orders the indexes
cannot serve are sorted once in Python and paged from the sorted id list.
"""

from __future__ import annotations

from dataclasses import dataclass

from aeglobal_pipeline.sandbox.soql import Query
from aeglobal_pipeline.sandbox.store import Filter, KeyOrder, Row, Store

SCAN_CHUNK = 5_000


@dataclass
class Position:
    """Where the next page starts: after a key (keyset) or at an offset of the sorted ids."""

    after: tuple | None = None
    offset: int = 0
    served: int = 0


class QueryRun:
    def __init__(self, store: Store, source: str, query: Query, include_deleted: bool):
        self.store, self.source, self.query = store, source, query
        self.filters: list[Filter] = list(query.filters)
        if not include_deleted:
            self.filters.append(("is_deleted = ?", (0,)))
        self._sorted_ids: list[str] | None = None
        if query.order is None:
            self._sorted_ids = self._sort_in_python()
        self.total_size = self._count()

    def _count(self) -> int:
        if self._sorted_ids is not None:
            total = len(self._sorted_ids)
        elif self.query.residual is None:
            total = self.store.count(self.source, self.query.object_name, self.filters)
        else:
            total = sum(1 for _ in self._scan(KeyOrder(), None))
        return total if self.query.limit is None else min(total, self.query.limit)

    def _scan(self, order: KeyOrder, after: tuple | None, chunk_rows: int = SCAN_CHUNK):
        """Every matching row in keyset order, fetched in chunks."""
        while True:
            chunk = self.store.fetch(
                self.source, self.query.object_name, self.filters, order, after, chunk_rows
            )
            for row in chunk:
                if self.query.residual is None or self.query.residual(row.values):
                    yield row
            if len(chunk) < chunk_rows:
                return
            after = order.key(chunk[-1])

    def _sort_in_python(self) -> list[str]:
        keyed = [(row.values, row.rid) for row in self._scan(KeyOrder(), None)]
        # Stable sorts from the last key to the first; nulls first ascending, as Salesforce does.
        for index, descending in reversed(self.query.sort_keys):
            keyed.sort(
                key=lambda item, i=index: (item[0][i] is not None, item[0][i] or ""),
                reverse=descending,
            )
        return [rid for _, rid in keyed]

    def page(self, position: Position, size: int) -> tuple[list[Row], Position | None]:
        """Up to `size` rows from `position`; the next position, or None when done."""
        if self.query.limit is not None:
            size = min(size, self.query.limit - position.served)
        if size <= 0:
            return [], None
        if self._sorted_ids is not None:
            rids = self._sorted_ids[position.offset : position.offset + size]
            found = self.store.get_many(self.source, self.query.object_name, rids)
            rows = [found[rid] for rid in rids if rid in found]
            end = position.offset + len(rids)
            more = end < len(self._sorted_ids)
            next_position = Position(offset=end, served=position.served + len(rows))
        else:
            order = self.query.order or KeyOrder()
            rows = []
            more = False
            # Without a Python filter, one row beyond the page tells whether more follow.
            chunk_rows = size + 1 if self.query.residual is None else SCAN_CHUNK
            for row in self._scan(order, position.after, chunk_rows):
                if len(rows) == size:
                    more = True
                    break
                rows.append(row)
            after = order.key(rows[-1]) if rows else position.after
            next_position = Position(after=after, served=position.served + len(rows))
        if self.query.limit is not None and next_position.served >= self.query.limit:
            more = False
        return rows, next_position if more else None
