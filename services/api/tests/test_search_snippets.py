"""Search snippets over real HTTP: built from a short window of the text, yet a match deep in a long
document still gets a highlighted snippet; the text is HTML-escaped and only the hits are marked."""

from __future__ import annotations

import datetime as dt

import httpx
import psycopg
from searchkit import add_ready, ids_of, search_page
from teamkit import Person

from docket_core.tables.documents import HEADLINE_TEXT_CHARS, SNIPPET_WINDOW_CHARS, SOUGHT_LEXEMES

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=1)


def _filler(chars: int) -> str:
    """Plain words, none of them searched for, exactly ``chars`` long."""
    words = "the quiet river passes old mills and green fields under a grey sky "
    return (words * (chars // len(words) + 1))[:chars]


def _snippets(page: dict[str, object]) -> list[str]:
    return [hit["snippet_html"] for hit in page["items"]]  # type: ignore[attr-defined, index]


def test_a_word_only_in_the_middle_of_a_30000_character_document_is_highlighted(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    text = _filler(15_000) + " narwhal " + _filler(15_000)
    assert text.index("narwhal") > SNIPPET_WINDOW_CHARS * 10
    [doc] = add_ready(clean_db, ada, ada.personal, [text], NOW, STEP)
    for query in ("narwhal", "narwh*", "Narwhals"):
        page = search_page(api, ada, q=query)
        assert ids_of(page) == [doc], query
        [snippet] = _snippets(page)
        assert "<mark>narwhal</mark>" in snippet, (query, snippet)
        assert "river" in snippet  # the words around it, not only the match


def test_a_match_past_the_snippet_limit_is_found_and_shown_from_the_start(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    text = "Opening words. " + _filler(HEADLINE_TEXT_CHARS + 5_000) + " narwhal " + _filler(100)
    [doc] = add_ready(clean_db, ada, ada.personal, [text], NOW, STEP)
    page = search_page(api, ada, q="narwhal")
    assert ids_of(page) == [doc]
    [snippet] = _snippets(page)
    assert snippet.startswith("Opening words")
    assert "<mark>" not in snippet


def test_a_match_near_the_start_is_highlighted_from_the_first_window(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    docs = add_ready(
        clean_db, ada, ada.personal,
        ["narwhal " + _filler(40_000), _filler(SNIPPET_WINDOW_CHARS - 100) + " narwhal " + _filler(500)],
        NOW, STEP,
    )  # fmt: skip
    page = search_page(api, ada, q="narwhal", sort="date")
    assert ids_of(page) == docs
    assert all("<mark>narwhal</mark>" in snippet for snippet in _snippets(page))


def test_a_short_document_found_by_its_title_alone_gets_its_text_without_marks(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    """The title is indexed, not in the text: the deep scan finds nothing and the snippet is the start."""
    [doc] = add_ready(clean_db, ada, ada.personal, ["short text"], NOW, STEP)  # title: "document 1"
    with psycopg.connect(clean_db, autocommit=True) as conn:  # the title indexed too, as the worker does
        conn.execute(
            "UPDATE documents SET search = setweight(to_tsvector('english', title), 'A') || search "
            "WHERE id = %s",
            (doc,),
        )
    page = search_page(api, ada, q="document")
    assert ids_of(page) == [doc]
    assert _snippets(page) == ["short text"]


def test_snippets_escape_the_text_and_mark_only_the_hits(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    """Deep in the text and at its start, alike. (ts_headline drops
    what its parser reads as tags, such as <script>; what it keeps is escaped.)"""
    hostile = "then \"harbor\" it's x < y & a > b <script>alert('x')</script> done"
    add_ready(
        clean_db, ada, ada.personal, [_filler(5_000) + " " + hostile + " " + _filler(100), hostile], NOW, STEP
    )
    snippets = _snippets(search_page(api, ada, q="harbor", sort="date"))
    assert len(snippets) == 2
    for snippet in snippets:
        assert "&quot;<mark>harbor</mark>&quot; it&#x27;s x &lt; y &amp; a &gt; b" in snippet, snippet
        assert "alert(&#x27;x&#x27;)" in snippet
        assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


def test_a_deep_match_in_capitals_or_found_by_one_of_many_words_is_highlighted(
    api: httpx.Client, ada: Person, clean_db: str
) -> None:
    """The scan lower-cases the text, and looks for each of the query's lexemes (up to SOUGHT_LEXEMES):
    any one of a long query's words places the window."""
    texts = [
        _filler(12_000) + " the NARWHAL surfaced " + _filler(500),
        _filler(9_000) + " aardvark " + _filler(9),
    ]
    docs = add_ready(clean_db, ada, ada.personal, texts, NOW, STEP)
    query = "narwhal or aardvark or abacus or abbey or abyss"
    assert len(query.split(" or ")) <= SOUGHT_LEXEMES
    page = search_page(api, ada, q=query, sort="date")
    assert ids_of(page) == docs
    narwhal, aardvark = _snippets(page)
    assert "<mark>NARWHAL</mark> surfaced" in narwhal, "lower-cased to be found, shown as written"
    assert "<mark>aardvark</mark>" in aardvark
