"""A day's worth of change to a snapshot, for measuring and testing incremental runs.

`make_change` copies a snapshot directory with a share of its person records edited, deleted
(IsDeleted) or added, all stamped one day after the snapshot's newest change (the next day's run),
so the extraction's high-water mark picks up exactly those rows; `aeglobal sandbox load` then
loads the copy (the sandbox has no create/delete API). Used by scripts/bench.py and
tests/test_incremental_pipeline.py.
"""

from __future__ import annotations

import csv
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

PERSON_OBJECTS = ("Lead", "Contact", "Prospect")
# Share of the changed records that are edits, deletes and new records.
CHANGE_MIX = {"edit": 0.70, "delete": 0.15, "new": 0.15}


_SF_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id(prefix: str, number: int) -> str:
    """A well-formed 18-character Salesforce id: 15 characters plus the case checksum."""
    base = f"{prefix[:5]}{number:0{15 - len(prefix[:5])}d}"[:15]
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, char in enumerate(base[chunk * 5:chunk * 5 + 5]) if char.isupper())
        suffix += _SF_CHECKSUM[bits]
    return base + suffix


def _salesforce_stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _stamp_columns(object_name: str) -> tuple[str, ...]:
    return ("updatedAt",) if object_name == "Prospect" else ("LastModifiedDate", "SystemModstamp")


def _scan(snapshot: Path) -> tuple[datetime, int]:
    """One pass over the snapshot's person records: the next day (one day after the newest
    change stamp: a daily run's change, not one months after the data, which would move every
    date-relative rule at once) and the highest number in Salesforce ids an earlier
    `make_change` issued (`<prefix>BN<number>`), so chained changes never reuse an id."""
    newest = datetime(2000, 1, 1, tzinfo=UTC)
    highest = 0
    for path in snapshot.glob("*/*.csv"):
        if path.stem not in PERSON_OBJECTS:
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for column in _stamp_columns(path.stem):
                    if row.get(column):
                        newest = max(newest, datetime.fromisoformat(row[column]))
                record_id = row.get("Id", "")
                if record_id[3:5] == "BN" and record_id[5:15].isdigit():
                    highest = max(highest, int(record_id[5:15]))
    return (newest + timedelta(days=1)).replace(microsecond=0), highest


def _edit_value(column: str, value: str, rng: random.Random) -> str:
    lower = column.lower()
    if lower == "email":
        local, _, domain = value.partition("@")
        if domain:
            return f"{local}.{rng.randint(1, 99)}@{domain}"
        return f"bench{rng.randint(1, 9999)}@example.com"
    if lower == "phone":
        digits = "0123456789"
        return (value[:-1] + rng.choice(digits)) if value else f"+1 555 {rng.randint(1000000, 9999999)}"
    if len(value) >= 3:  # a typo: swap two inner letters
        i = rng.randint(1, len(value) - 2)
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    return value + "e"


def make_change(snapshot: Path, out: Path, share: float, seed: int) -> dict:
    """Copy `snapshot` to `out` with `share` of the person records edited, deleted or added.

    Returns counts and the touched record keys (`<source>:<Object>:<Id>`, as in the map)."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(snapshot, out)
    rng = random.Random(seed)
    moment, new_number = _scan(snapshot)
    sf_now = _salesforce_stamp(moment)
    ae_now = moment.astimezone(UTC).isoformat(timespec="seconds")
    touched: set[str] = set()
    counts = {"edit": 0, "delete": 0, "new": 0}
    for path in sorted(out.glob("*/*.csv")):
        if path.stem not in PERSON_OBJECTS:
            continue
        source, object_name = path.parent.name, path.stem
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = list(reader)
        prospect = object_name == "Prospect"
        col = {name: i for i, name in enumerate(header)}
        id_col = col["id" if prospect else "Id"]
        deleted_col = col["isDeleted" if prospect else "IsDeleted"]
        stamp_cols = [col[c] for c in _stamp_columns(object_name) if c in col]
        created_col = col["createdAt" if prospect else "CreatedDate"]
        now = ae_now if prospect else sf_now
        edit_cols = [col[c] for c in (("firstName", "lastName", "email", "phone") if prospect
                                      else ("FirstName", "LastName", "Email", "Phone")) if c in col]
        live = [i for i, row in enumerate(rows) if row[deleted_col].lower() != "true"]
        changes = round(len(rows) * share)
        n_delete = round(changes * CHANGE_MIX["delete"])
        n_new = round(changes * CHANGE_MIX["new"])
        n_edit = changes - n_delete - n_new
        picked = rng.sample(live, min(len(live), n_edit + n_delete))
        for position, index in enumerate(picked):
            row = rows[index]
            touched.add(f"{source}:{object_name}:{row[id_col]}")
            if position < n_edit:
                column = rng.choice(edit_cols)
                row[column] = _edit_value(header[column], row[column], rng)
                counts["edit"] += 1
            else:
                row[deleted_col] = "true"
                counts["delete"] += 1
            for c in stamp_cols:
                row[c] = now
        if prospect:
            next_id = max((int(r[id_col]) for r in rows), default=0) + 1
        for template in rng.sample(rows, min(len(rows), n_new)) if rows else []:
            row = list(template)
            new_number += 1
            if prospect:
                row[id_col] = str(next_id)
                next_id += 1
            else:
                row[id_col] = salesforce_id(template[id_col][:3] + "BN", new_number)
                for c in ("Global_Person_Id__c", "ConvertedContactId", "ConvertedAccountId"):
                    if c in col:
                        row[col[c]] = ""
                if "IsConverted" in col:
                    row[col["IsConverted"]] = "false"
            column = rng.choice(edit_cols)
            row[column] = _edit_value(header[column], row[column], rng)
            row[deleted_col] = "false"
            row[created_col] = now
            for c in stamp_cols:
                row[c] = now
            rows.append(row)
            touched.add(f"{source}:{object_name}:{row[id_col]}")
            counts["new"] += 1
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return {"counts": counts, "touched": touched}
