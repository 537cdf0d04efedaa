"""Where each key of a YAML file is written, and the YAML 1.1 values that are not what they look like.

PyYAML reads YAML 1.1, where a bare `NO`, `yes`, `on` or `off` is a boolean: Norway's country
code `NO` becomes `False`. `YamlDocument` keeps the line of every key and list item, so an error
about a key path (`regimes[1].countries[0]`) can name the line it is on, and lists the bare
scalars YAML turned into booleans so a message can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

Path_ = tuple[str | int, ...]
# PyYAML's implicit booleans besides true/false, which nobody writes by accident.
YAML11_BOOLEANS = re.compile(r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
_TRUE = re.compile(r"^(?:y|Y|yes|Yes|YES|on|On|ON)$")
# One step of a key path as the loaders print it: `name`, `[3]` or a note in parentheses.
_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


class YamlSyntaxError(ValueError):
    def __init__(self, line: int, key: str, message: str):
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


@dataclass
class YamlDocument:
    lines: dict[Path_, int] = field(default_factory=dict)  # key path → 1-based line
    surprises: dict[Path_, str] = field(default_factory=dict)  # key path → bare text read as boolean
    surprising_keys: set[Path_] = field(default_factory=set)  # the surprise is a mapping key

    def line_of(self, path: Path_) -> int:
        """The line of the deepest part of `path` the file has (1 for the top level)."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def resolve(self, key: str) -> Path_:
        """A key path as a loader prints it (`sources[1] (crm_na).countries`, `fields.email`,
        `sources.1.countries`) → the path in this file, as far as the file has it."""
        key = re.sub(r"\s*\([^)]*\)", "", key)
        path: Path_ = ()
        for index, name in _STEP.findall(key):
            step: str | int = int(index) if index else name.strip()
            candidates = [step]
            if isinstance(step, str) and step.isdigit():
                candidates.append(int(step))
            found = next((c for c in candidates if (*path, c) in self.lines), None)
            if found is None:
                break
            path += (found,)
        return path

    def surprise_at_or_under(self, path: Path_) -> tuple[Path_, str] | None:
        for where, text in self.surprises.items():
            if where[: len(path)] == path:
                return where, text
        return None


def boolean_hint(text: str) -> str:
    value = "true" if _TRUE.match(text) else "false"
    return (f"YAML reads the bare {text} as the boolean {value}; "
            f"write '{text}' in quotes if you mean the text")


def key_text(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def read_document(path: Path) -> tuple[str, YamlDocument]:
    """The file's text and its key lines; a syntax error names the line and the key before it."""
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise _syntax_error(text, error) from error
    document = YamlDocument()
    if root is not None:
        _walk(root, (), document)
    return text, document


def _syntax_error(text: str, error: yaml.YAMLError) -> YamlSyntaxError:
    """Name the line where the broken construct starts (an unclosed `[` or quote), and where
    the parser noticed."""
    problem_mark = getattr(error, "problem_mark", None)
    context_mark = getattr(error, "context_mark", None)
    mark = context_mark or problem_mark
    line = mark.line + 1 if mark else 1
    message = f"not valid YAML: {getattr(error, 'problem', None) or str(error).splitlines()[0]}"
    if problem_mark:
        message += f" (at line {problem_mark.line + 1}, column {problem_mark.column + 1})"
    if context_mark and getattr(error, "context", None):
        message += f", {error.context} opened here"
    return YamlSyntaxError(line, _key_before(text, line), message)


def _key_before(text: str, line: int) -> str:
    """The nearest `key:` at or above `line`, to name where a syntax error is."""
    for candidate in reversed(text.splitlines()[:line]):
        found = re.match(r"^\s*-?\s*([A-Za-z_][\w-]*)\s*:", candidate)
        if found:
            return found.group(1)
    return "(top level)"


def _walk(node: yaml.Node, path: Path_, document: YamlDocument) -> None:
    document.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            document.lines[child] = key_node.start_mark.line + 1
            if _is_surprise(key_node):
                document.surprises[child] = key
                document.surprising_keys.add(child)
                # pydantic names the key by its boolean value.
                document.lines[(*path, str(bool(_TRUE.match(key))))] = key_node.start_mark.line + 1
            _walk(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            document.lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), document)
    elif _is_surprise(node):
        document.surprises[path] = str(node.value)


def _is_surprise(node: yaml.Node) -> bool:
    return (isinstance(node, yaml.ScalarNode) and node.style is None
            and bool(YAML11_BOOLEANS.match(str(node.value))))
