#!/usr/bin/env python3
"""Helm post-renderer that pins image references to digests.

The charts render `image: <registry>/docket-<service>:<tag>`; this rewrites each such line to
`…:<tag>@sha256:…` so the pods run exactly the image the build pushed, whatever the tag points at
later. Helm runs it as `--post-renderer <python> --post-renderer-args <this file> --post-renderer-args
<JSON {reference: pinned reference}>`, with the rendered manifests on stdin; it prints them on stdout.
A reference that appears nowhere is an error, so a renamed image cannot slip through unpinned. Helm 3
does not post-render hooks: the migration Job keeps the tag, which the deploy checked points at the
same digest just before.

Only the standard library is used, so Helm can run it with any Python.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping

IMAGE_LINE = re.compile(
    r"^(?P<key>[ \t]*(?:-[ \t]+)?image:[ \t]*)"
    r"(?P<quote>[\"']?)(?P<ref>[^\"'\s#]+)(?P=quote)(?P<rest>[ \t\r]*)$",
    re.MULTILINE,
)


def pin_images(manifests: str, pins: Mapping[str, str]) -> tuple[str, set[str]]:
    """The manifests with every `image:` found in ``pins`` replaced, and the references replaced."""
    used: set[str] = set()

    def swap(match: re.Match[str]) -> str:
        reference = match["ref"]
        if reference not in pins:
            return match[0]
        used.add(reference)
        return f"{match['key']}{match['quote']}{pins[reference]}{match['quote']}{match['rest']}"

    return IMAGE_LINE.sub(swap, manifests), used


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("postrender: expected one argument, a JSON object {reference: pinned}", file=sys.stderr)
        return 2
    try:
        pins = json.loads(argv[0])
    except ValueError:
        pins = None
    if not isinstance(pins, dict) or not all(isinstance(v, str) for v in pins.values()):
        print("postrender: the argument must be a JSON object {reference: pinned}", file=sys.stderr)
        return 2
    output, used = pin_images(sys.stdin.read(), pins)
    if missing := sorted(set(pins) - used):
        print(f"postrender: no manifest uses {', '.join(missing)}; nothing was deployed", file=sys.stderr)
        return 1
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
