"""A first-page thumbnail, WebP at most 320 px wide, for the files that have a first page to show:
PDFs (rendered by PDFium), PNG, JPEG and TIFF images, and office files that carry a preview picture
(OOXML's ``docProps/thumbnail.*``, OpenDocument's ``Thumbnails/thumbnail.png``).

It runs in the sandboxed child after the text is extracted, and it is best effort: a file whose
thumbnail cannot be made is still ready, only without one (the web shows its type icon).
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from docket_core.contracts.formats import IMAGE_TYPES, OFFICE_TYPES, PDF
from docket_worker.processing.ocr import MAX_PAGE_PIXELS

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_WIDTH = 320
MAX_HEIGHT = 4 * MAX_WIDTH  # a very tall page is cut to a readable strip, not a hair-thin line
MAX_BYTES = 96 * 1024
QUALITY = 70
POINTS_PER_INCH = 72
_OFFICE_PREVIEWS = (
    "docProps/thumbnail.jpeg",
    "docProps/thumbnail.jpg",
    "docProps/thumbnail.png",
    "Thumbnails/thumbnail.png",
)


def thumbnail(data: bytes, content_type: str) -> bytes | None:
    """The file's first page as WebP, or None when it has none or it cannot be made."""
    try:
        image = _first_page(data, content_type)
        return None if image is None else _webp(image)
    except Exception:  # best effort: whatever a malformed file provokes, it only has no thumbnail
        return None


def _first_page(data: bytes, content_type: str) -> Image | None:
    if content_type == PDF:
        return _pdf_page(data)
    if content_type in IMAGE_TYPES:
        return _picture(data)
    if content_type in OFFICE_TYPES:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            for name in _OFFICE_PREVIEWS:
                if name in names and archive.getinfo(name).file_size <= 4 * 1024 * 1024:
                    return _picture(archive.read(name))
    return None


def _pdf_page(data: bytes) -> Image:
    import pypdfium2

    page = pypdfium2.PdfDocument(data)[0]
    width, height = page.get_size()
    scale = min(MAX_WIDTH / max(width, 1), MAX_HEIGHT / max(height, 1))
    image: Image = page.render(scale=scale).to_pil()
    return image


def _picture(data: bytes) -> Image:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # checked below, before any pixel is decoded
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PAGE_PIXELS:
        raise ValueError("too many pixels")
    image.draft("RGB", (MAX_WIDTH, MAX_HEIGHT))  # JPEG decodes at 1/2, 1/4 or 1/8 scale: far cheaper
    return image


def _webp(image: Image) -> bytes | None:
    from PIL import Image as PILImage

    image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    image.thumbnail((MAX_WIDTH, MAX_HEIGHT), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=QUALITY, method=4)
    webp = buffer.getvalue()
    return webp if len(webp) <= MAX_BYTES else None
