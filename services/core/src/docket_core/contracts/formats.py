"""The document types Docket accepts: the content types the API sniffs, the worker parses and the web
labels, in one list so that the three services agree."""

from __future__ import annotations

PDF = "application/pdf"
HTML = "text/html"
JSON = "application/json"
CSV = "text/csv"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"

OOXML_TYPES = (DOCX, XLSX, PPTX)
OPENDOCUMENT_TYPES = (ODT, ODS, ODP)
OFFICE_TYPES = OOXML_TYPES + OPENDOCUMENT_TYPES
TEXT_TYPES = (HTML, JSON, CSV, MARKDOWN, TEXT)
IMAGE_TYPES = (PNG, JPEG, TIFF)  # read by OCR
ACCEPTED_TYPES = (PDF, *TEXT_TYPES, *OFFICE_TYPES, *IMAGE_TYPES)

# the short name a person reads, in the order a list of accepted formats is written
TYPE_LABELS = {
    PDF: "PDF",
    TEXT: "Text",
    MARKDOWN: "Markdown",
    HTML: "HTML",
    CSV: "CSV",
    JSON: "JSON",
    DOCX: "Word",
    XLSX: "Excel",
    PPTX: "PowerPoint",
    ODT: "OpenDocument text",
    ODS: "OpenDocument spreadsheet",
    ODP: "OpenDocument presentation",
    PNG: "PNG image",
    JPEG: "JPEG image",
    TIFF: "TIFF image",
}
# what a file picker offers (the HTML ``accept`` attribute): extensions, then types
FILE_EXTENSIONS = (
    ".pdf", ".txt", ".text", ".md", ".markdown", ".html", ".htm", ".csv", ".json",
    ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".png", ".jpg", ".jpeg", ".tif", ".tiff",
)  # fmt: skip
ACCEPTED_SUMMARY = (
    "PDF, text, Markdown, HTML, CSV, JSON, Word, Excel, PowerPoint and OpenDocument files, "
    "and PNG, JPEG and TIFF images"
)
