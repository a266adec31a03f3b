"""Text extraction on real files, including hostile ones, through the same sandbox the worker uses."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from samples import encrypted_pdf, flate_bomb_pdf, nested_bomb_pdf, text_pdf, truncated_pdf

from docket_worker.processing.extract import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    Extracted,
    ExtractionError,
    extract,
)
from docket_worker.processing.sandbox import Sandbox, SandboxLimits

MEMORY = 512 * 1024 * 1024


def _run(tmp_path: Path, data: bytes, content_type: str, timeout: float = 20.0) -> Extracted:
    path = tmp_path / "file"
    path.write_bytes(data)
    limits = SandboxLimits(wall_seconds=timeout, cpu_seconds=20, memory_bytes=MEMORY)

    async def extract_in_a_child() -> Extracted:
        async with Sandbox() as sandbox:
            return await sandbox.extract(path, content_type, limits)

    return asyncio.run(extract_in_a_child())


def test_pdf_text_pages_and_metadata_title(tmp_path: Path) -> None:
    result = _run(
        tmp_path, text_pdf("First page aardvark", "Second page", title="Annual Report"), "application/pdf"
    )
    assert "aardvark" in result.text
    assert result.page_count == 2
    assert result.title == "Annual Report"


def test_encrypted_pdf_fails_with_a_reason_a_user_understands(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="encrypted"):
        _run(tmp_path, encrypted_pdf("secret words"), "application/pdf")


def test_truncated_pdf_is_reported_damaged_or_textless(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"damaged|No text"):
        _run(tmp_path, truncated_pdf("cut in the middle"), "application/pdf")


def test_deeply_nested_pdf_fails_without_taking_the_worker_down(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError):
        _run(tmp_path, nested_bomb_pdf(), "application/pdf")


def test_decompression_bomb_is_stopped_by_a_limit(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError):
        _run(tmp_path, flate_bomb_pdf(), "application/pdf")


def test_a_parser_that_runs_too_long_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    big = text_pdf(*[f"page {i} " + "word " * 200 for i in range(400)])
    with pytest.raises(ExtractionError, match="longer than"):
        _run(tmp_path, big, "application/pdf", timeout=0.05)


def test_html_keeps_visible_text_and_drops_scripts_and_styles(tmp_path: Path) -> None:
    markup = (
        b"<!doctype html><html><head><title>The  Title</title><style>p{color:red}</style>"
        b"<script>var leaked = 'scriptword';</script></head><body><h1>Heading</h1>"
        b"<p>Visible &amp; kept</p><noscript>hiddenword</noscript></body></html>"
    )
    result = _run(tmp_path, markup, "text/html")
    assert result.title == "The Title"
    assert "Visible & kept" in result.text
    assert "scriptword" not in result.text
    assert "hiddenword" not in result.text
    assert "color" not in result.text


def test_markdown_title_is_its_first_heading() -> None:
    assert extract(b"intro line\n\n## Real Title ##\n\nbody text\n", "text/markdown").title == "Real Title"


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        (b"# C#\n", "C#"),  # a "#" inside a word is not a closing sequence
        (b"#hashtag\n## Second\n", "Second"),  # no space after the marks: not a heading
        (b"    # indented code\n# Real\n", "Real"),  # four spaces: code, not a heading
        (b"####### seven\n###### six\n", "six"),
        (b"# \n#\n## ##\n## Second\n", "Second"),  # empty headings are skipped
        (b"  ##   Spaced   out   ##  \r\n", "Spaced out"),
    ],
)
def test_markdown_headings_follow_commonmark(markdown: bytes, title: str) -> None:
    assert extract(markdown, "text/markdown").title == title


@pytest.mark.parametrize(
    ("data", "encoding", "word"),
    [
        ("Le café est fermé à l'été.\n".encode("latin-1"), "cp1252", "fermé"),
        ("Smart “quotes”, a € sign, naïve café.\n".encode("cp1252"), "cp1252", "naïve"),
        ("\ufeffGrüße aus München\n".encode("utf-16-le"), "utf-16-le", "München"),
        ("\ufeffGrüße aus München\n".encode("utf-16-be"), "utf-16-be", "Grüße"),
        ("\ufeffcrème brûlée\n".encode(), "utf-8", "brûlée"),
        ("Привет, как дела? Это тест кодировки.\n".encode("cp1251"), "cp1251", "кодировки"),
        (b"plain ascii\n", "utf-8", "ascii"),
    ],
)
def test_text_in_other_encodings_is_decoded_and_its_encoding_reported(
    data: bytes, encoding: str, word: str
) -> None:
    result = extract(data, "text/plain")
    assert word in result.text
    assert not result.text.startswith("\ufeff"), "the BOM is not text"
    assert result.encoding == encoding


def test_pdf_and_html_report_their_encoding_only_when_decoded_here() -> None:
    assert extract(text_pdf("words"), "application/pdf").encoding is None
    html = "<html><title>Café</title><body>crème</body></html>".encode("latin-1")
    assert extract(html, "text/html").encoding == "cp1252"


def test_binary_bytes_after_a_text_prefix_fail_as_not_text() -> None:
    with pytest.raises(ExtractionError, match=r"binary"):
        extract(b"looks like text " * 1000 + b"\xff\xfe\x00\x01" * 100, "text/plain")


def test_whitespace_only_file_has_no_text() -> None:
    with pytest.raises(ExtractionError, match="No text"):
        extract(b"   \n\t\n", "text/plain")


def test_text_is_cut_at_max_text_chars_and_titles_are_short_and_on_one_line() -> None:
    result = extract(b"   first \t  line   words\n" + b"x" * (MAX_TEXT_CHARS + 10), "text/plain")
    assert len(result.text) == MAX_TEXT_CHARS
    assert result.title == "first line words"
    assert result.word_count == 4
    huge_title = extract(b"y" * 1000 + b"\nbody", "text/plain").title
    assert huge_title == "y" * MAX_TITLE_CHARS


@pytest.mark.parametrize(
    ("markup", "text", "title"),
    [
        (b"<p title='a > b'>kept</p><p>also</p>", "kept\nalso", "kept"),  # ">" inside a quoted value
        (b"<p class=a'b>quote in a bare value</p>", "quote in a bare value", None),
        (b"<HTML><BODY><P>Upper &eacute; &#x41;&#66;</P>", "Upper \u00e9 AB", None),
        (b"<head><title>T</title><meta x=y>head words<body>body words", "body words", "T"),
        (b"<svg/><p>after a closed svg</p><svg><text>drawn</text></svg>", "after a closed svg", None),
        (b"<noscript>hidden</noscript><textarea>typed &lt;b&gt;</textarea>", "typed <b>", None),
        (b"<h1>First</h1><h1>Second</h1>", "First\nSecond", "First"),
        (b"<script>if (a < b) { x = '</p>' }</script>visible", "visible", None),
        (b"a < b and 1<2", "a < b and 1<2", None),  # "<" before a non-letter is text
        (b"<p>unfinished <a href='x", "unfinished", None),  # a tag open at the end ends the file
        (b"text &#" + b"9" * 5000 + b"; stays", "text &#" + "9" * 5000 + "; stays", None),
        (b"<!-- note --><!doctype html><![CDATA[x]]><?pi?>shown", "shown", None),
    ],
)
def test_html_text_title_and_hostile_markup(markup: bytes, text: str, title: str | None) -> None:
    result = extract(markup, "text/html")
    assert result.text == text
    assert result.title == (title or text.split("\n")[0][:MAX_TITLE_CHARS])


@pytest.mark.parametrize(
    "markup",
    [
        "<a" * 500_000,  # html.parser (3.11) re-scanned this from every "<": hours at 1 MB
        "<![CDATA[" * 100_000,
        "</" * 500_000,
        "<div>" * 100_000 + "</p>" * 100_000,  # lxml and lexbor walk their open-element stack per "</p>"
        "<b><i><u><s>" * 50_000 + "</p>" * 50_000,
        "<a " + "'" * 500_000 + ">",
        "<a b=" + " " * 500_000 + "'c'>",
        "\u2000" * 500_000 + "x",  # re.sub(r"\s*\n\s*") was quadratic on a run of non-ASCII spaces
        "<p>" + "&amp" * 200_000,
    ],
    ids=[
        "lt-a",
        "cdata",
        "lt-slash",
        "stray-end-tags",
        "formatting",
        "quotes",
        "spaces-before-value",
        "unicode-spaces",
        "entities",
    ],
)
def test_hostile_html_is_scanned_in_one_pass(markup: str) -> None:
    started = time.monotonic()
    with contextlib.suppress(ExtractionError):  # "no text" is a fine answer; hanging is not
        extract(markup.encode(), "text/html")
    assert time.monotonic() - started < 20, "did not finish: the scan is not linear"
