"""One up-front validation of sources.yaml and every file in identity_rules/.

`check_configuration()` reads each file once for the line of every key, runs the project's own
loaders (config.parse_sources, governance.rules.load_rules, identity.settings.load_matching_rules
and load_nicknames, identity.decisions.load_decisions) and then checks what no single loader can:
names one file gives that another must define (sources, regions, legal entities, objects,
ISO 3166-1 country codes; see cross_refs). Every problem names file, line and key:
`identity_rules/precedence.yaml:14: fields.email.priority[1]: ...`.

`aeglobal run`, the Dagster job's first step (the `configuration_check` asset every root asset
depends on) and `aeglobal check` call it, so a bad file stops everything before the first API
call or warehouse write.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aeglobal_pipeline.config import ConfigError, parse_sources, sources_path
from aeglobal_pipeline.rules_check.yaml_lines import (
    YamlDocument,
    YamlSyntaxError,
    boolean_hint,
    key_text,
    read_document,
)

# Every file identity_rules/ may hold, and whether a rules directory must have it.
RULES_FILES = {
    "precedence.yaml": True, "consent.yaml": True, "sharing.yaml": True,
    "field_dictionary.yaml": True, "lifecycle.yaml": True, "matching.yaml": True,
    "nicknames.yaml": True, "steward_decisions.yaml": False,
}  # fmt: skip
_LINE = re.compile(r"^(?P<file>\S*?(?P<name>[^/\s:]+\.ya?ml))(?::(?P<line>\d+))?: (?P<rest>.*)$")
# The loaders print `key.path[2]: message`; a key may hold spaces (a status) or a note in
# parentheses (`sources[1] (crm_na).countries`).
_KEY = re.compile(r"^(?P<key>[A-Za-z_(](?:\([^)]*\)|[^:(])*?): (?P<message>.*)$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


@dataclass(frozen=True)
class Report:
    problems: list[Problem]
    notes: list[str]  # not errors: e.g. rules for a region no source has yet
    files: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


class ConfigurationError(ConfigError):
    """The rules or sources files have problems; one line per problem, file:line: key: message."""

    def __init__(self, report: Report):
        super().__init__("\n".join(str(p) for p in report.problems))
        self.report = report


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def rules_directory() -> Path:
    from aeglobal_pipeline.governance.rules import rules_dir

    return Path(rules_dir())


class _Checker:
    """Collects the problems of one check; documents and display names by file name."""

    def __init__(self) -> None:
        self.documents: dict[str, YamlDocument] = {}  # file name → key lines
        self.shown: dict[str, str] = {}
        self.problems: list[Problem] = []

    def read(self, name: str, path: Path) -> bool:
        shown = self.shown[name] = display(path)
        try:
            _, document = read_document(path)
        except FileNotFoundError:
            self.problems.append(Problem(shown, 1, "(file)", "not found"))
            return False
        except UnicodeDecodeError as error:
            line = path.read_bytes()[: error.start].count(b"\n") + 1
            self.problems.append(Problem(shown, line, "(file)", f"not valid UTF-8: {error.reason}"))
            return False
        except YamlSyntaxError as error:
            self.problems.append(Problem(shown, error.line, error.key, error.message))
            return False
        self.documents[name] = document
        return True

    def run_loader(self, names: dict[str, str], load: Callable[[], Any]) -> Any:
        """Run a project loader; each line of its error becomes a Problem with the key's line.
        `names`: file name as the loader prints it → the document it is."""
        try:
            return load()
        except ConfigError as error:
            self._from_message(str(error), names)
            return None

    def _from_message(self, message: str, names: dict[str, str]) -> None:
        for text in message.splitlines():
            found = _LINE.match(text)
            name = names.get(found.group("name")) if found else None
            if name is None or name not in self.documents:
                continue  # a continuation line, or a syntax error reported already
            if found.group("line"):
                rest = found.group("rest")
                self.problems.append(Problem(self.shown[name], int(found.group("line")), "(yaml)", rest))
            else:
                self.problems.append(self.locate(name, found.group("rest")))

    def locate(self, name: str, rest: str) -> Problem:
        document = self.documents[name]
        keyed = _KEY.match(rest)
        key, message = (keyed.group("key"), keyed.group("message")) if keyed else ("(top level)", rest)
        path = document.resolve(key)
        surprise = document.surprise_at_or_under(path) if path else None
        if surprise:
            message += f" ({boolean_hint(surprise[1])})"
        return Problem(self.shown[name], document.line_of(path), key, message)

    def at(self, name: str, path: tuple, message: str) -> Problem:
        document = self.documents[name]
        return Problem(self.shown[name], document.line_of(path), key_text(path), message)

    def surprises(self) -> None:
        """A bare NO/yes/on as a list item or a mapping key is never meant as a boolean here."""
        reported = {(p.file, p.line) for p in self.problems}
        for name, document in self.documents.items():
            for path, text in document.surprises.items():
                is_item = isinstance(path[-1], int)
                if not (is_item or path in document.surprising_keys):
                    continue  # a boolean field's value: `ignore_empty: yes` is meant
                problem = self.at(name, path, boolean_hint(text))
                if (problem.file, problem.line) not in reported:
                    self.problems.append(problem)


def check_configuration(sources_file: Path | None = None, rules: Path | None = None) -> Report:
    """Every problem of the active (or given) sources.yaml and rules directory, in file order."""
    from aeglobal_pipeline.governance.rules import load_rules
    from aeglobal_pipeline.identity.decisions import load_decisions
    from aeglobal_pipeline.identity.settings import load_matching_rules, load_nicknames
    from aeglobal_pipeline.rules_check.cross_refs import Loaded, cross_reference_problems

    sources_file = Path(sources_file or sources_path())
    rules = Path(rules or rules_directory())
    checker = _Checker()
    loaded = Loaded()
    if checker.read("sources.yaml", sources_file):
        loaded.sources = checker.run_loader({sources_file.name: "sources.yaml"},
                                            lambda: parse_sources(sources_file))
    if not rules.is_dir():
        checker.problems.append(Problem(display(rules), 1, "(directory)", "rules directory not found"))
        return Report(checker.problems, [], [display(sources_file)])
    _unknown_files(checker, rules)
    present = [n for n, required in RULES_FILES.items() if required or (rules / n).exists()]
    readable = [n for n in present if checker.read(n, rules / n)]
    governance = ["precedence.yaml", "consent.yaml", "sharing.yaml", "field_dictionary.yaml",
                  "lifecycle.yaml"]
    if all(n in readable for n in governance):
        loaded.governance = checker.run_loader({n: n for n in governance}, lambda: load_rules(rules))
    one_file = {"matching.yaml": load_matching_rules, "nicknames.yaml": load_nicknames,
                "steward_decisions.yaml": load_decisions}
    for name, load in one_file.items():
        if name in readable:
            result = checker.run_loader({name: name}, lambda load=load, name=name: load(rules / name))
            if name == "steward_decisions.yaml":
                loaded.decisions = result
    checker.surprises()
    # Names across files, as far as the files they need loaded.
    found, notes = cross_reference_problems(loaded, checker.at, set(checker.documents))
    files = [checker.shown[n] for n in ("sources.yaml", *present) if n in checker.shown]
    order = {name: index for index, name in enumerate(files)}
    problems = sorted([*checker.problems, *found], key=lambda p: (order.get(p.file, -1), p.line))
    return Report(problems, notes, files)


def _unknown_files(checker: _Checker, rules: Path) -> None:
    for path in sorted(rules.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.name not in RULES_FILES:
            expected = ", ".join(RULES_FILES)
            checker.problems.append(Problem(display(path), 1, "(file)",
                                            f"unknown rules file (expected one of {expected})"))


def validate_configuration(sources_file: Path | None = None, rules: Path | None = None,
                           log: Callable[[str], None] | None = None) -> Report:
    """`check_configuration`, raising ConfigurationError when anything is wrong."""
    report = check_configuration(sources_file, rules)
    if log:
        for note in report.notes:
            log(note)
    if not report.ok:
        raise ConfigurationError(report)
    return report
