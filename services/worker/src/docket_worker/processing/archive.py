"""Check a ZIP container (DOCX, XLSX, PPTX, ODT, ODS, ODP) before any parser opens it.

The parsers read members through Python's ``zipfile``, which stops each member at its declared size
(and fails its CRC past it), so the sizes in the central directory bound what inflating can produce.
These checks turn a zip bomb, a flood of entries, a nested archive, an XML entity bomb or an image
of billions of pixels into one clear reason, before any parser has allocated for them.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO

from docket_worker.processing.errors import ExtractionError

MAX_ENTRIES = 10_000
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # inflated, all entries together
# Apache POI's ZipSecureFile refuses entries that inflate more than 100 times (its MIN_INFLATE_RATIO,
# 0.01); entries too small to matter are let through whatever their ratio
MAX_RATIO = 100
RATIO_EXEMPT_BYTES = 1024 * 1024
MAX_NESTED_ARCHIVES = 16  # embedded files (an Excel chart's workbook) are allowed, never opened
MAX_IMAGE_PIXELS = 89_478_485  # Pillow's decompression-bomb threshold (about 9,459 x 9,459)
IMAGE_HEAD_BYTES = 256 * 1024  # enough for any header, EXIF included, that gives the dimensions
_READ_BYTES = 64 * 1024
_ARCHIVE_MAGICS = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")
_IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
_XML_SUFFIXES = (".xml", ".rels")

BOMB_REASON = "The file is a compressed archive that would inflate far beyond its size (a zip bomb)."


def check_archive(data: bytes) -> None:
    """Raise ExtractionError with a reason if the container is not one that is safe to parse."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise ExtractionError("The file is damaged: its ZIP container cannot be read.") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ExtractionError(
                f"The file's archive holds {len(entries):,} entries; at most {MAX_ENTRIES:,} are allowed."
            )
        total = 0
        for entry in entries:
            total += entry.file_size
            if total > MAX_TOTAL_BYTES:
                raise ExtractionError(BOMB_REASON)
            if entry.file_size > RATIO_EXEMPT_BYTES and entry.file_size > MAX_RATIO * max(
                entry.compress_size, 1
            ):
                raise ExtractionError(BOMB_REASON)
        nested = 0
        for entry in entries:
            if entry.is_dir() or entry.file_size == 0:
                continue
            try:
                with archive.open(entry) as member:
                    nested += _check_member(entry.filename, member)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError):
                raise ExtractionError(
                    "The file is damaged: an entry of its ZIP container cannot be read."
                ) from None
            if nested > MAX_NESTED_ARCHIVES:
                raise ExtractionError(
                    f"The file holds more than {MAX_NESTED_ARCHIVES} archives inside it, more than allowed."
                )


def _check_member(name: str, member: IO[bytes]) -> int:
    """Check one entry from its first bytes; 1 if it is itself an archive, else 0."""
    head = member.read(_READ_BYTES)
    if head.startswith(_ARCHIVE_MAGICS):
        return 1
    if head.startswith(_IMAGE_MAGICS):
        _check_image(head + member.read(IMAGE_HEAD_BYTES - len(head)))
    elif name.lower().endswith(_XML_SUFFIXES):
        _check_xml(head, member)
    return 0


def _check_xml(head: bytes, member: IO[bytes]) -> None:
    """Refuse XML that declares a DTD: Office and OpenDocument never do, entity bombs and XXE must."""
    prolog = _Prolog()
    chunk = head
    while chunk:
        if prolog.feed(chunk):
            return
        chunk = member.read(_READ_BYTES)


class _Prolog:
    """Scans an XML prolog (declaration, comments, processing instructions) up to the root element."""

    def __init__(self) -> None:
        self.text = ""
        self.decoder: str | None = None

    def feed(self, chunk: bytes) -> bool:
        """Add bytes; True once the root element is reached with no DTD before it."""
        if self.decoder is None:
            self.decoder = "utf-16" if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
        self.text += chunk.decode(self.decoder, "replace")
        return self._scan()

    def _scan(self) -> bool:
        while True:
            text = self.text.lstrip("\ufeff \t\r\n")
            self.text = text
            if len(text) < 9:
                return False
            if text.startswith("<?"):
                end = text.find("?>")
            elif text.startswith("<!--"):
                end = text.find("-->")
            elif text[:9].upper() == "<!DOCTYPE" or text.startswith("<!"):
                raise ExtractionError(
                    "The file's XML declares a document type (DTD) or entities, which Office and "
                    "OpenDocument files never do; it was refused."
                )
            elif text.startswith("<"):
                return True
            else:
                raise ExtractionError("The file is damaged: one of its XML parts is not XML.")
            if end == -1:
                return False
            self.text = text[end + (3 if text.startswith("<!--") else 2) :]


def _check_image(head: bytes) -> None:
    from PIL import Image, UnidentifiedImageError

    bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # only the header is read: size it here
    try:
        with Image.open(io.BytesIO(head)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return  # not an image Pillow knows, or a header past the bytes read: no parser decodes it
    finally:
        Image.MAX_IMAGE_PIXELS = bound
    if width * height > MAX_IMAGE_PIXELS:
        raise ExtractionError(
            f"The file holds an image of {width:,} x {height:,} pixels, more than the "
            f"{MAX_IMAGE_PIXELS:,} pixels allowed."
        )
