"""Text of Office Open XML (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP) files.

Each parser gets the container only after archive.check_archive has passed it. python-docx and
python-pptx parse XML with lxml without resolving entities; openpyxl and odfpy parse through
defusedxml. Each function returns the text, the title from the document's properties, and the
page, sheet or slide count.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from docket_core.contracts.formats import DOCX, ODP, ODS, ODT, PPTX, XLSX
from docket_worker.processing.archive import check_archive
from docket_worker.processing.errors import ExtractionError

Parsed = tuple[str, str | None, int | None]
TEXT_BUDGET = 5_000_000  # stop reading past this; extract.py cuts the text to its MAX_TEXT_CHARS


def prepare() -> None:
    """Import the office parsers (in the zygote, once)."""
    import docx  # noqa: F401
    import odf.opendocument  # noqa: F401
    import openpyxl  # noqa: F401
    import pptx  # noqa: F401
    from PIL import Image  # noqa: F401


def extract_office(data: bytes, content_type: str) -> Parsed:
    """The text, title and count of an office file; ExtractionError if it is unsafe or unreadable."""
    check_archive(data)
    parse = _PARSERS[content_type]
    try:
        return parse(data)
    except ExtractionError:
        raise
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:  # each library raises its own zoo for a malformed part
        raise ExtractionError(f"The file is damaged or not a valid {_NAMES[content_type]} file.") from exc


class _Text:
    """Pieces of text up to TEXT_BUDGET: the rest of a huge document is not read at all."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    @property
    def full(self) -> bool:
        return self.size > TEXT_BUDGET

    def add(self, piece: str | None) -> None:
        if piece and not self.full:
            self.parts.append(piece)
            self.size += len(piece) + 1

    def joined(self) -> str:
        return "\n".join(self.parts)


# ---- Word ------------------------------------------------------------------------------------------


def _docx(data: bytes) -> Parsed:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    out = _Text()
    seen: set[int] = set()

    def blocks(items: Iterable[Any]) -> None:
        for block in items:
            if out.full:
                return
            if isinstance(block, Table):
                table(block)
            else:
                out.add(block.text)

    def table(grid: Table) -> None:
        for row in grid.rows:
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell comes back once per grid column it spans
                    continue
                seen.add(id(cell._tc))
                blocks(cell.iter_inner_content())

    blocks(document.iter_inner_content())
    for section in document.sections:
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer,
                     section.even_page_header, section.even_page_footer):  # fmt: skip
            if not part.is_linked_to_previous:
                blocks(part.iter_inner_content())
    title = document.core_properties.title or None
    return out.joined(), title, _docx_pages(data)


def _docx_pages(data: bytes) -> int | None:
    """The page count Word saved in docProps/app.xml, if any (only Word lays out pages)."""
    import zipfile

    from defusedxml.ElementTree import fromstring

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            app = archive.read("docProps/app.xml")
        except KeyError:
            return None
    for element in fromstring(app).iter():
        if element.tag.endswith("}Pages") and (element.text or "").strip().isdigit():
            return int((element.text or "").strip())
    return None


# ---- Excel -----------------------------------------------------------------------------------------


def _xlsx(data: bytes) -> Parsed:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        out = _Text()
        for sheet in workbook.worksheets:
            out.add(sheet.title)
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # iterate the cells there are, not the range the file claims
            for row in sheet.iter_rows(values_only=True):
                values = [str(value) for value in row if value is not None and str(value).strip()]
                out.add("\t".join(values))
                if out.full:
                    break
        title = workbook.properties.title or None
        return out.joined(), title, len(workbook.sheetnames)
    finally:
        workbook.close()


# ---- PowerPoint ------------------------------------------------------------------------------------


def _pptx(data: bytes) -> Parsed:
    import pptx

    presentation = pptx.Presentation(io.BytesIO(data))
    out = _Text()
    for slide in presentation.slides:
        for text in _shape_texts(slide.shapes):
            out.add(text)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None:
                out.add(notes.text)
        if out.full:
            break
    title = presentation.core_properties.title or None
    return out.joined(), title, len(presentation.slides)


def _shape_texts(shapes: Iterable[Any]) -> Iterator[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_texts(shape.shapes)
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text
        if getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                for cell in row.cells:
                    yield cell.text


# ---- OpenDocument ----------------------------------------------------------------------------------

_ODF_BREAKS = {"p", "h", "table-cell", "list-item", "frame", "page", "notes", "line-break", "tab"}


def _odf(data: bytes, counted: str) -> Parsed:
    from odf import draw, opendocument, table, teletype
    from odf.namespaces import METANS

    document = opendocument.load(io.BytesIO(data))
    out = _Text()
    _odf_text(document.body, out)
    _odf_text(document.masterstyles, out)  # the master pages' headers and footers
    title = None
    count: int | None = None
    for node in document.meta.childNodes:
        if node.qname[1] == "title":
            title = teletype.extractText(node).strip() or None
        elif node.qname[1] == "document-statistic" and counted == "page":
            value = str(node.attributes.get((METANS, "page-count"), ""))
            count = int(value) if value.isdigit() else None
    if counted == "sheet":
        count = len(document.body.getElementsByType(table.Table))
    elif counted == "slide":
        count = len(document.body.getElementsByType(draw.Page))
    return out.joined(), title, count


def _odf_text(root: Any, out: _Text) -> None:
    """Walk the element tree without recursion (a deep file cannot overflow the stack)."""
    line: list[str] = []
    stack: list[Any] = [root]
    while stack and not out.full:
        node = stack.pop()
        if node is None:  # the end of an element that breaks the line
            out.add("".join(line))
            line = []
            continue
        if node.nodeType == node.TEXT_NODE:
            line.append(str(node.data))
            continue
        if node.nodeType != node.ELEMENT_NODE:
            continue
        name = node.qname[1]
        if name == "s":  # text:s, one or more spaces
            line.append(" ")
            continue
        if name in _ODF_BREAKS:
            stack.append(None)
        stack.extend(reversed(node.childNodes))
    out.add("".join(line))


_PARSERS: dict[str, Callable[[bytes], Parsed]] = {
    DOCX: _docx,
    XLSX: _xlsx,
    PPTX: _pptx,
    ODT: lambda data: _odf(data, "page"),
    ODS: lambda data: _odf(data, "sheet"),
    ODP: lambda data: _odf(data, "slide"),
}
_NAMES = {DOCX: "Word", XLSX: "Excel", PPTX: "PowerPoint", ODT: "OpenDocument text",
          ODS: "OpenDocument spreadsheet", ODP: "OpenDocument presentation"}  # fmt: skip
