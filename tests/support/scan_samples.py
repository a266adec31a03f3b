"""Scans built with Pillow: a page of text as a PNG, as an image-only PDF, and as a long scanned PDF."""

from __future__ import annotations

import io

PAGE_SIZE = (1275, 1650)  # US Letter at 150 DPI
DPI = 150


def text_page(lines: list[str], size: tuple[int, int] = PAGE_SIZE) -> object:
    """A white page with ``lines`` in black, large enough for Tesseract to read."""
    from PIL import Image, ImageDraw, ImageFont

    page = Image.new("L", size, 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=36)
    for number, line in enumerate(lines):
        draw.text((100, 150 + 70 * number), line, fill=0, font=font)
    return page


def png_scan(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    text_page(lines).save(buffer, format="PNG", dpi=(DPI, DPI))  # type: ignore[attr-defined]
    return buffer.getvalue()


def image_only_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages are pictures of text, with no text layer at all (what a scanner writes)."""
    images = [text_page(lines) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(  # type: ignore[attr-defined]
        buffer, format="PDF", save_all=True, append_images=images[1:], resolution=float(DPI)
    )
    return buffer.getvalue()


def long_scan_pdf(page_count: int = 200) -> bytes:
    """A scanned PDF of ``page_count`` small pages, each a picture of one short line."""
    from PIL import Image

    page = text_page(["Scanned page of the archive"], size=(600, 300))
    buffer = io.BytesIO()
    rest = [page.copy() for _ in range(page_count - 1)]  # type: ignore[attr-defined]
    page.save(buffer, format="PDF", save_all=True, append_images=rest, resolution=72.0)  # type: ignore[attr-defined]
    del Image
    return buffer.getvalue()
