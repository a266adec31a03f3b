"""Text of scans: the PDF pages whose text layer is (nearly) empty, rendered by pypdfium2, and PNG,
JPEG and TIFF images, each read by OCR (ocr.py) within the worker's OCR settings."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from docket_worker.processing.errors import ExtractionError
from docket_worker.processing.ocr import MAX_PAGE_PIXELS, OcrOptions, OcrResult, greyscale, read_pages

if TYPE_CHECKING:
    from PIL.Image import Image

# a page with fewer visible characters than this has no real text layer (a scan, maybe a page number)
NEAR_EMPTY_CHARS = 20
POINTS_PER_INCH = 72
DEFAULT_IMAGE_DPI = 300  # for an image that does not say its resolution
OCR_OFF = "OCR is off on this server, so the text of a scanned image cannot be read."


def needs_ocr(page_text: str) -> bool:
    return sum(1 for char in page_text if not char.isspace()) < NEAR_EMPTY_CHARS


def ocr_pdf(data: bytes, page_texts: list[str], options: OcrOptions) -> OcrResult:
    """OCR the pages of a PDF whose text layer is (nearly) empty; the others are never rendered."""
    wanted = [index for index, text in enumerate(page_texts) if needs_ocr(text)]
    if not wanted:
        return OcrResult({}, 0, None)
    import pypdfium2

    document = pypdfium2.PdfDocument(data)

    def rendered() -> Iterator[tuple[int, Image]]:
        for index in wanted:
            page = document[index]
            width, height = page.get_size()
            scale = options.dpi / POINTS_PER_INCH
            pixels = max(width * scale, 1) * max(height * scale, 1)
            if pixels > MAX_PAGE_PIXELS:  # a poster-sized page: render it smaller, never bigger than this
                scale *= math.sqrt(MAX_PAGE_PIXELS / pixels)
            yield index, greyscale(page.render(scale=scale, grayscale=True).to_pil())

    return read_pages(rendered(), len(wanted), options)


def ocr_image(data: bytes, options: OcrOptions | None) -> tuple[OcrResult, int]:
    """OCR an image's frames (a TIFF may hold many pages); also how many frames it has."""
    from PIL import Image, UnidentifiedImageError

    if options is None:
        raise ExtractionError(OCR_OFF)
    Image.MAX_IMAGE_PIXELS = None  # each frame's size is checked below, before its pixels are decoded
    try:
        image = Image.open(io.BytesIO(data))
        frames = int(getattr(image, "n_frames", 1))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ExtractionError("The image is damaged or not a PNG, JPEG or TIFF image.") from None
    dpi = image.info.get("dpi", (DEFAULT_IMAGE_DPI,))[0] or DEFAULT_IMAGE_DPI

    def frames_read() -> Iterator[tuple[int, Image.Image]]:
        for index in range(frames):
            image.seek(index)
            width, height = image.size
            if width * height > MAX_PAGE_PIXELS:
                raise ExtractionError(
                    f"The image is {width:,} x {height:,} pixels, more than the {MAX_PAGE_PIXELS:,} allowed."
                )
            try:
                image.load()
                frame = greyscale(image)
            except (OSError, ValueError, SyntaxError):
                raise ExtractionError("The image is damaged: its pixels cannot be read.") from None
            yield index, frame

    bound = options.__class__(
        languages=options.languages,
        max_pages=options.max_pages,
        dpi=round(float(dpi)),
        page_timeout_seconds=options.page_timeout_seconds,
        budget_seconds=options.budget_seconds,
    )
    return read_pages(frames_read(), frames, bound), frames
