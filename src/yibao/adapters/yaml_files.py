"""Reading policy and scenario YAML files that may be hostile: bounded before they are built.

PyYAML builds nested collections recursively (5,000 open brackets exhaust Python's stack) and
shares aliased nodes, so a "billion laughs" file loads quickly and then explodes in whatever walks
it (a JSON dump, a copy). The file is therefore checked on PyYAML's event stream, which is read
without recursion, before any object is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 2 * 1024 * 1024  # far above any real area policy or scenario file
MAX_DEPTH = 64  # mappings and lists nested in each other
MAX_NODES = 200_000  # values in the document once every alias is expanded


class UnreadableYaml(Exception):
    """The file cannot be taken as YAML; `line` (1-based) points at the problem when known."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def load_yaml_file(path: Path, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    """The document in `path`: UTF-8, at most MAX_BYTES, MAX_DEPTH deep, MAX_NODES expanded."""
    text = read_utf8(path)
    check_shape(text)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as error:
        raise _unreadable(error) from None
    except ValueError as error:  # a timestamp that does not exist, such as 2024-02-30
        raise UnreadableYaml(f"is bad YAML: {error}") from None


def read_utf8(path: Path) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise UnreadableYaml(f"cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise UnreadableYaml(f"is larger than {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UnreadableYaml(
            f"is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start})", line
        ) from None


def check_shape(text: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and more than MAX_NODES values after aliases."""
    expanded: dict[str, int] = {}  # anchor -> size of its node with aliases expanded
    open_sizes: list[int] = [0]  # sizes of the collections being read, the document at [0]
    open_anchors: list[str | None] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.CollectionStartEvent):
                if len(open_anchors) >= MAX_DEPTH:
                    raise UnreadableYaml(f"nests deeper than {MAX_DEPTH} levels", line)
                open_sizes.append(1)
                open_anchors.append(event.anchor)
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                size, anchor = open_sizes.pop(), open_anchors.pop()
            elif isinstance(event, yaml.ScalarEvent):
                size, anchor = 1, event.anchor
            elif isinstance(event, yaml.AliasEvent):
                size, anchor = expanded.get(str(event.anchor), 1), None
            else:
                continue
            if anchor is not None:
                expanded[anchor] = size
            open_sizes[-1] += size
            if open_sizes[-1] > MAX_NODES:
                raise UnreadableYaml(
                    f"holds more than {MAX_NODES} values once its aliases are expanded", line
                )
    except yaml.YAMLError as error:
        raise _unreadable(error) from None


def _unreadable(error: yaml.YAMLError) -> UnreadableYaml:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return UnreadableYaml(f"is bad YAML: {problem}", mark.line + 1 if mark else None)
