"""The one error a parser raises for a file it cannot turn into text."""

from __future__ import annotations


class ExtractionError(Exception):
    """The file cannot be turned into text; ``reason`` is shown to the user, ``outcome`` is counted."""

    def __init__(self, reason: str, outcome: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome
