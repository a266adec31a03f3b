"""Turn a file's bytes into searchable text: pypdf for PDF, a strict HTML-to-text, decoded text otherwise.

Everything here is pure and synchronous so it can run in a sandboxed child process.
"""

from __future__ import annotations

import html.parser
import re
from dataclasses import dataclass
from pathlib import Path

MAX_TEXT_CHARS = 5_000_000
MAX_TITLE_CHARS = 200


class ExtractionError(Exception):
    """The file cannot be turned into text; ``reason`` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None
    page_count: int | None


def extract(path: Path, content_type: str) -> Extracted:
    """Extract text from the file at ``path``; raises ExtractionError with a user-readable reason."""
    if content_type == "application/pdf":
        result = _pdf(path)
    elif content_type == "text/html":
        result = _html(_decode(path.read_bytes()))
    else:
        text = _decode(path.read_bytes())
        result = Extracted(text, _first_heading(text) if content_type == "text/markdown" else None, None)
    text = result.text.replace("\x00", "").strip()
    if not text:
        raise ExtractionError("No text could be found in this file (is it a scanned image?).")
    title = (result.title or _first_line(text) or "").strip()[:MAX_TITLE_CHARS] or None
    return Extracted(text[:MAX_TEXT_CHARS], title, result.page_count)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExtractionError("The file is not valid UTF-8 text; it looks like binary data.") from None
    if "\x00" in text:
        raise ExtractionError("The file contains binary data, not text.")
    return text


def _first_heading(text: str) -> str | None:
    match = re.search(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return None


def _pdf(path: Path) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, PdfStreamError

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")  # many "protected" PDFs only restrict printing
                _ = len(reader.pages)
            except (FileNotDecryptedError, NotImplementedError, PdfReadError):
                raise ExtractionError("The PDF is encrypted; upload a copy without a password.") from None
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            piece = page.extract_text() or ""
            parts.append(piece)
            size += len(piece)
            if size > MAX_TEXT_CHARS:
                break
        title = None
        metadata = reader.metadata
        if metadata is not None and metadata.title:
            title = str(metadata.title)
        return Extracted("\n".join(parts), title, len(reader.pages))
    except ExtractionError:
        raise
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            AssertionError, RecursionError, OSError, EOFError):  # fmt: skip
        raise ExtractionError("The PDF is damaged or not a valid PDF.") from None


class _TextFromHtml(html.parser.HTMLParser):
    """Keeps visible text only: scripts, styles and other non-content elements are dropped."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "head"})
    BLOCKS = frozenset(
        {
            "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
            "header", "footer", "pre", "blockquote", "table", "ul", "ol", "dd", "dt",
        }
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.in_title = False
        self.title: list[str] = []
        self.h1: list[str] = []
        self.in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        elif tag in self.SKIP:
            self.skipping += 1
        elif tag == "h1":
            self.in_h1 = True
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag == "h1":
            self.in_h1 = False
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        elif not self.skipping:
            self.parts.append(data)
            if self.in_h1:
                self.h1.append(data)


def _html(markup: str) -> Extracted:
    parser = _TextFromHtml()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]+", " ", "".join(parser.parts))
    text = re.sub(r"\s*\n\s*", "\n", text)
    title = " ".join("".join(parser.title).split()) or " ".join("".join(parser.h1).split()) or None
    return Extracted(text, title, None)
