"""Tags as forms and links carry them: a comma-separated field, and repeatable ``tag=`` filters."""

from __future__ import annotations

MAX_TAG_FILTERS = 10
MAX_FORM_TAGS = 100  # more than the API allows on a document, so its own refusal explains the limit


def split_tags(text: str) -> list[str]:
    """``"a, b ,,c"`` as ``["a", "b", "c"]``, each once (case-insensitively, as the API compares)."""
    seen: dict[str, str] = {}
    for part in text.split(","):
        name = part.strip()
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())[:MAX_FORM_TAGS]


def chosen_tags(values: list[str] | None) -> list[str]:
    """The tag filters of a list or search, blank ones dropped, each once."""
    return split_tags(",".join(value.replace(",", " ") for value in values or []))[:MAX_TAG_FILTERS]
