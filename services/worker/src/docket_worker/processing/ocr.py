"""OCR of scanned PDF pages and images with Tesseract, inside the sandboxed child.

Tesseract is called through its C API (``libtesseract.so.5``, from Debian's ``tesseract-ocr`` package)
with ctypes, not through the ``tesseract`` program (as pytesseract does): the child may start no
process (RLIMIT_NPROC 0) and write no file (RLIMIT_FSIZE 0), and pytesseract needs both. In the
child's own address space the OCR stays under every sandbox limit, and each page gets a deadline
through Tesseract's progress monitor. OpenMP is held to one thread (the child may start none).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docket_worker.processing.errors import ExtractionError

if TYPE_CHECKING:
    from PIL.Image import Image

LIBRARY = "tesseract"
# the most pixels one page or image may have once rendered: Pillow's bomb bound (an A4 page at 300 DPI
# is 8.7 million; a poster at 300 DPI is scaled down to fit)
MAX_PAGE_PIXELS = 89_478_485


@dataclass(frozen=True)
class OcrOptions:
    """What the worker allows: languages ("eng+deu"), pages per file, render DPI, seconds per page,
    and the seconds after which no new page is started (the rest of the child's wall-clock budget)."""

    languages: str = "eng"
    max_pages: int = 50
    dpi: int = 300
    page_timeout_seconds: float = 30.0
    budget_seconds: float = 60.0

    def to_request(self) -> dict[str, Any]:
        return {
            "languages": self.languages,
            "max_pages": self.max_pages,
            "dpi": self.dpi,
            "page_timeout_seconds": self.page_timeout_seconds,
            "budget_seconds": self.budget_seconds,
        }

    @classmethod
    def from_request(cls, raw: dict[str, Any] | None) -> OcrOptions | None:
        if not raw:
            return None
        return cls(
            languages=str(raw["languages"]),
            max_pages=int(raw["max_pages"]),
            dpi=int(raw["dpi"]),
            page_timeout_seconds=float(raw["page_timeout_seconds"]),
            budget_seconds=float(raw["budget_seconds"]),
        )


def library_found() -> bool:
    """Whether libtesseract can be loaded here (OCR_ENABLED's default)."""
    return ctypes.util.find_library(LIBRARY) is not None


class _Tesseract:
    """One TessBaseAPI handle, initialised for the languages."""

    def __init__(self, languages: str) -> None:
        os.environ["OMP_THREAD_LIMIT"] = "1"  # read by libgomp when the library loads
        path = ctypes.util.find_library(LIBRARY) or "libtesseract.so.5"
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            raise ExtractionError("OCR is not installed on this server.", "refused") from None
        void_p, int_ = ctypes.c_void_p, ctypes.c_int
        lib.TessBaseAPICreate.restype = void_p
        lib.TessBaseAPIInit3.argtypes = [void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.TessBaseAPISetImage.argtypes = [void_p, ctypes.c_char_p, int_, int_, int_, int_]
        lib.TessBaseAPISetSourceResolution.argtypes = [void_p, int_]
        lib.TessBaseAPIRecognize.argtypes = [void_p, void_p]
        lib.TessBaseAPIGetUTF8Text.argtypes = [void_p]
        lib.TessBaseAPIGetUTF8Text.restype = void_p
        lib.TessDeleteText.argtypes = [void_p]
        lib.TessBaseAPIClear.argtypes = [void_p]
        lib.TessMonitorCreate.restype = void_p
        lib.TessMonitorSetDeadlineMSecs.argtypes = [void_p, int_]
        lib.TessMonitorDelete.argtypes = [void_p]
        self.lib = lib
        self.handle = lib.TessBaseAPICreate()
        if lib.TessBaseAPIInit3(self.handle, None, languages.encode()) != 0:
            raise ExtractionError(f"OCR has no language data for {languages!r} on this server.", "refused")

    def read(self, image: Image, dpi: int, timeout_seconds: float) -> str:
        """The text of one 8-bit greyscale image; what is read by the deadline when it passes."""
        lib = self.lib
        lib.TessBaseAPISetImage(self.handle, image.tobytes(), image.width, image.height, 1, image.width)
        lib.TessBaseAPISetSourceResolution(self.handle, dpi)
        monitor = lib.TessMonitorCreate()
        try:
            lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(timeout_seconds * 1000)))
            lib.TessBaseAPIRecognize(self.handle, monitor)
            text = lib.TessBaseAPIGetUTF8Text(self.handle)
            if not text:
                return ""
            try:
                return ctypes.string_at(text).decode("utf-8", "replace")
            finally:
                lib.TessDeleteText(text)
        finally:
            lib.TessMonitorDelete(monitor)
            lib.TessBaseAPIClear(self.handle)


@dataclass
class OcrResult:
    texts: dict[int, str]  # page index -> text
    pages: int  # pages read
    notice: str | None  # why some pages were not read, for the document's status


def read_pages(pages: Iterable[tuple[int, Image]], wanted: int, options: OcrOptions) -> OcrResult:
    """OCR up to ``options.max_pages`` of the ``wanted`` (page index, image) pairs, in order."""
    started = time.monotonic()
    engine: _Tesseract | None = None
    texts: dict[int, str] = {}
    notice = None
    for index, image in pages:
        if len(texts) >= options.max_pages:
            break
        if texts and time.monotonic() - started > options.budget_seconds:  # the first page always starts
            notice = (
                f"OCR stopped for time after {len(texts)} of {wanted} scanned pages; the rest were not read."
            )
            break
        engine = engine or _Tesseract(options.languages)
        texts[index] = engine.read(image, options.dpi, options.page_timeout_seconds)
    if notice is None and wanted > len(texts):
        notice = (
            f"OCR read the first {len(texts)} of {wanted} scanned pages (OCR_MAX_PAGES is "
            f"{options.max_pages}); the rest were not read."
        )
    return OcrResult(texts, len(texts), notice)


def greyscale(image: Image) -> Image:
    """An 8-bit greyscale copy, the one format handed to Tesseract."""
    return image if image.mode == "L" else image.convert("L")
