"""identity_rules/steward_decisions.yaml: must-link / cannot-link decisions by data stewards.

```yaml
decisions:
  - decision: cannot_link            # or must_link
    records: [crm_emea:Lead:00Q…, ae_emea:Prospect:1000…]
    by: jane.doe@example.com
    at: 2026-03-04
    why: Father and son, same home phone
```
Validated on load; an error names the file and the entry (`decisions[3]`). A steward's
cannot-link is never undone by clustering and a must-link is never split (DESIGN.md rule 5).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aeglobal_pipeline.config import ConfigError
from aeglobal_pipeline.identity.settings import _display, describe_validation_error, load_yaml, rules_dir

RECORD_KEY = re.compile(r"^[a-z0-9_]+:(Lead|Contact|Prospect):[^:\s]+$")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Literal["must_link", "cannot_link"]
    records: list[str] = Field(min_length=2, max_length=2)
    by: str = Field(min_length=1)
    at: dt.date | dt.datetime
    why: str = Field(min_length=1)

    @field_validator("records")
    @classmethod
    def _record_keys(cls, value: list[str]) -> list[str]:
        bad = [key for key in value if not RECORD_KEY.match(key)]
        if bad:
            raise ValueError(f"not record keys <source>:<Lead|Contact|Prospect>:<Id>: {bad}")
        return value

    @model_validator(mode="after")
    def _two_records(self):
        if self.records[0] == self.records[1]:
            raise ValueError("a decision needs two different records")
        return self


class DecisionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decisions: list[Decision] = Field(default_factory=list)


@dataclass(frozen=True)
class StewardDecisions:
    must_links: list[tuple[str, str, int]]  # (record a, record b, entry index)
    cannot_links: list[tuple[str, str, int]]
    path: str

    @property
    def count(self) -> int:
        return len(self.must_links) + len(self.cannot_links)


def load_decisions(path: Path | None = None) -> StewardDecisions:
    """Read steward_decisions.yaml (a missing file means no decisions)."""
    path = path or rules_dir() / "steward_decisions.yaml"
    display = _display(path)
    if not path.exists():
        return StewardDecisions([], [], display)
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{display}: expected a mapping with a 'decisions' list")
    try:
        parsed = DecisionsFile.model_validate(raw)
    except ValidationError as exc:
        message = describe_validation_error(display, exc)
        raise ConfigError(_name_entries(message, raw)) from exc
    must, cannot = [], []
    for index, entry in enumerate(parsed.decisions):
        a, b = sorted(entry.records)
        (must if entry.decision == "must_link" else cannot).append((a, b, index))
    _check_conflicts(display, must, cannot)
    return StewardDecisions(must, cannot, display)


def _name_entries(message: str, raw: dict) -> str:
    """`decisions[3]: by: …` → `decisions[3] (cannot_link a, b): by: …` so the entry is findable."""
    entries = raw.get("decisions") if isinstance(raw.get("decisions"), list) else []

    def label(match: re.Match) -> str:
        index = int(match.group(1))
        entry = entries[index] if index < len(entries) and isinstance(entries[index], dict) else {}
        records = entry.get("records")
        what = f" ({entry.get('decision', '?')} {', '.join(map(str, records))})" if records else ""
        return f"decisions[{index}]{what}"

    return re.sub(r"decisions\[(\d+)\]", label, message)


def _check_conflicts(display: str, must: list, cannot: list) -> None:
    """A cannot-link between records that steward must-links join is a contradiction."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in must:
        parent[find(a)] = find(b)
    for a, b, index in cannot:
        if find(a) == find(b):
            raise ConfigError(
                f"{display}: decisions[{index}]: cannot_link {a}, {b} contradicts must_link "
                "decisions that join these records"
            )
