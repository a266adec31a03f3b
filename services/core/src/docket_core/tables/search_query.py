"""Split a search box's text into what ``websearch_to_tsquery`` reads and the prefix terms (``kube*``)
it cannot, which become ``to_tsquery`` prefix matches (``'kube':*``).

Phrases ("rolling update"), ``or`` and ``-word`` stay websearch syntax. A prefix term keeps only its
letters and digits, so nothing a user types can reach to_tsquery's own operators. Plain string scanning,
no regular expression that could backtrack.
"""

from __future__ import annotations

from typing import NamedTuple

MAX_PREFIX_TERMS = 8
MIN_PREFIX_CHARS = 2  # "a*" would match half the dictionary
# Ranking and matching cost grows with the query's terms: a 200-character query of 19 common words,
# ORed, cost PostgreSQL 15 times the CPU of a two-word search. A query may hold this many words (runs of
# letters and digits, "or" included), which every search people type fits in.
MAX_QUERY_WORDS = 10


class SearchQuery(NamedTuple):
    text: str  # for websearch_to_tsquery; may be empty when the query is only prefix terms
    prefixes: str  # for to_tsquery: "'kube':* & 'deploy':*", or empty


def parse(query: str) -> SearchQuery:
    """The websearch part and the prefix part of ``query``."""
    kept: list[str] = []
    prefixes: list[str] = []
    in_phrase = False
    for token in _tokens(query):
        if token.count('"') % 2:
            in_phrase = not in_phrase
        word = (
            token[:-1] if token.endswith("*") and not in_phrase and not token.startswith(("-", '"')) else None
        )
        stem = "".join(char for char in word if char.isalnum()).lower() if word is not None else ""
        if word is not None and len(stem) >= MIN_PREFIX_CHARS and len(prefixes) < MAX_PREFIX_TERMS:
            prefixes.append(f"'{stem}':*")
        else:
            kept.append(token)
    return SearchQuery(" ".join(kept), " & ".join(prefixes))


def word_count(query: str) -> int:
    """The runs of letters and digits in ``query``: at least as many as the terms it becomes, but for
    a hyphenated word's parts (``rolling-update`` is 2 words, 3 terms)."""
    words, in_word = 0, False
    for char in query:
        if char.isalnum():
            words += not in_word
            in_word = True
        else:
            in_word = False
    return words


def _tokens(query: str) -> list[str]:
    return query.split()
