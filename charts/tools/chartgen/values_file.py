"""The keys of a values.yaml with the comment above each: what the README tables and tests read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Parameter:
    """One key of values.yaml: its dotted path, the comment above it, and whether it is a leaf."""

    path: str
    description: str
    leaf: bool
    line: int


KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/]+):(?P<rest>.*)$")


def parse_values(path: Path) -> list[Parameter]:
    """Every mapping key of a values.yaml with the comment lines directly above it (list items are values)."""
    lines = path.read_text().splitlines()
    params: list[Parameter] = []
    stack: list[tuple[int, str]] = []  # (indent, key)
    comment: list[str] = []
    list_indent: int | None = None  # inside a list value: its items are not parameters
    for number_, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped:
            comment = []
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if list_indent is not None:
            if indent > list_indent or (indent == list_indent and stripped.startswith("- ")):
                continue
            list_indent = None
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
            continue
        if stripped.startswith("- "):
            # a list directly under the previous key
            list_indent = indent
            comment = []
            continue
        match = KEY.match(raw)
        if not match:
            comment = []
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = match["key"]
        dotted = ".".join([k for _, k in stack] + [key])
        rest = match["rest"].split(" #", 1)[0].strip()
        # a key with nothing after the colon has children (or a list) on the following lines
        leaf = rest != ""
        if not leaf:
            following = next(
                (ln for ln in lines[number_:] if ln.strip() and not ln.strip().startswith("#")), ""
            )
            if following.strip().startswith("- "):
                leaf = True
                list_indent = len(following) - len(following.lstrip(" "))
                if list_indent <= indent:
                    list_indent = indent  # "key:\n- item" at the same indentation
        params.append(Parameter(dotted, " ".join(comment), leaf, number_))
        comment = []
        if not leaf:
            stack.append((indent, key))
    return params
