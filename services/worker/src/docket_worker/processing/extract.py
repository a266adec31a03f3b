"""Turn a file's bytes into searchable text: pypdf for PDF, office.py for office files, the visible text of
HTML, decoded text otherwise.

Everything here is pure and synchronous, and runs only in the sandboxed child (see child.py), never in
the worker. Code that reads user text uses string operations, never a regex that can backtrack.
"""

from __future__ import annotations

from typing import NamedTuple

from docket_core import text_encoding
from docket_core.contracts.formats import HTML, IMAGE_TYPES, MARKDOWN, OFFICE_TYPES, PDF
from docket_worker.processing import office, scans, thumbnails
from docket_worker.processing.errors import ExtractionError as ExtractionError  # re-exported
from docket_worker.processing.html_text import html_to_text
from docket_worker.processing.ocr import OcrOptions, OcrResult

MAX_TEXT_CHARS = 5_000_000
MAX_TITLE_CHARS = 200
MAX_REASON_CHARS = 500
# What splits lines for str.splitlines(); the first line of a text ends at the first of these.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


class Extracted(NamedTuple):
    text: str
    title: str | None
    page_count: int | None
    word_count: int
    encoding: str | None = None  # the text encoding a text file was read in (None: PDF, office)
    ocr_pages: int = 0  # pages (or image frames) read by OCR
    notice: str | None = None  # what the user should know of a ready document (pages left unread)
    thumbnail: bytes | None = None  # the first page as WebP (thumbnails.py), when the file has one


_ocr: OcrOptions | None = None


def configure_ocr(options: OcrOptions | None) -> None:
    """Set the OCR options for this process (the child, from the worker's request); None turns OCR off."""
    global _ocr
    _ocr = options


def prepare() -> None:
    """Import every parser, so that the sandbox's limits only meet the file's work (in the zygote, once)."""
    import pypdf  # noqa: F401
    import pypdfium2  # noqa: F401

    office.prepare()


def extract(data: bytes, content_type: str) -> Extracted:
    """Extract text from a file's bytes; raises ExtractionError with a user-readable reason."""
    title: str | None = None
    page_count: int | None = None
    encoding: str | None = None
    ocr = OcrResult({}, 0, None)
    if content_type == PDF:
        pages, title, page_count = _pdf(data)
        if _ocr is not None:
            ocr = scans.ocr_pdf(data, pages, _ocr)
            pages = [ocr.texts.get(index, text) for index, text in enumerate(pages)]
        text = "\n".join(pages)
    elif content_type in IMAGE_TYPES:
        ocr, page_count = scans.ocr_image(data, _ocr)
        text = "\n".join(ocr.texts.values())
    elif content_type in OFFICE_TYPES:
        text, title, page_count = office.extract_office(data, content_type)
    elif content_type == HTML:
        text, encoding = _decode(data)
        text, title = html_to_text(text)
    else:
        text, encoding = _decode(data)
        if content_type == MARKDOWN:
            title = _first_heading(text)
    text = text.replace("\x00", "").strip()[:MAX_TEXT_CHARS]
    if not text:
        if content_type in (PDF, *IMAGE_TYPES) and ocr.pages:
            raise ExtractionError("No text could be found in this file, not even by OCR.")
        if content_type == PDF and _ocr is None:
            raise ExtractionError("No text could be found in this file, and OCR is off on this server.")
        raise ExtractionError("No text could be found in this file (is it a scanned image?).")
    title = _short_title(title) or _short_title(_first_line(text))
    return Extracted(
        text, title, page_count, len(text.split()), encoding, ocr.pages, ocr.notice,
        thumbnails.thumbnail(data, content_type),
    )  # fmt: skip


def _decode(data: bytes) -> tuple[str, str]:
    """The file's text and its encoding (a BOM's, UTF-8, or detected); binary data is refused."""
    decoded = text_encoding.decode(data)
    if decoded is None:
        raise ExtractionError("The file's bytes are not text in any encoding; it looks like binary data.")
    if not text_encoding.looks_like_text(decoded.text):
        raise ExtractionError("The file contains binary data, not text.")
    return decoded


def _short_title(title: str | None) -> str | None:
    if not title:
        return None
    # cut before collapsing the spaces, so a title of megabytes costs nothing
    return " ".join(title[: MAX_TITLE_CHARS * 4].replace("\x00", " ").split())[:MAX_TITLE_CHARS] or None


def _first_heading(text: str) -> str | None:
    """The text of the first ATX heading ("# Title", "## Title ##") in Markdown."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        heading = _atx_heading(text[start:end])
        if heading:
            return heading
        start = end + 1
    return None


def _atx_heading(line: str) -> str | None:
    """A CommonMark ATX heading: up to 3 spaces, 1 to 6 "#", a space, the text, optional closing "#"s."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or not body.startswith("#"):
        return None
    marks = len(body) - len(body.lstrip("#"))
    rest = body[marks:]
    if marks > 6 or (rest and rest[0] not in " \t\r"):
        return None  # "#######" or "#hashtag"
    content = rest.strip()
    unclosed = content.rstrip("#")
    if not unclosed.strip():
        return None  # only "#" marks: an empty heading
    if unclosed != content and unclosed[-1] in " \t":
        content = unclosed  # "## Title ##": the closing run goes, a "#" inside a word ("C#") stays
    return content.strip()


def _first_line(text: str) -> str | None:
    """The first line of ``text`` (which starts with a non-space), without splitting the whole text."""
    end = len(text)
    for mark in _LINE_BREAKS:
        found = text.find(mark, 0, end)
        if found != -1:
            end = found
    return text[:end].strip() or None


def _pdf(data: bytes) -> tuple[list[str], str | None, int]:
    """Each page's text (up to MAX_TEXT_CHARS in all), the title, and the page count."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError, PdfStreamError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
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
        return parts, title, len(reader.pages)
    except ExtractionError:
        raise
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            AssertionError, RecursionError, OSError, EOFError):  # fmt: skip
        raise ExtractionError("The PDF is damaged or not a valid PDF.") from None
