"""Real office files built with the libraries the worker reads them with, and hostile ones built from them.

Each well-formed builder hides one distinct word in each place the worker must read: the body, a table,
a header, a footer, speaker notes, a second sheet, so a search for that word proves the place was read.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def docx_file(body: str, table_word: str, header_word: str, title: str = "Field report") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    document.add_paragraph(body)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Item"
    table.cell(1, 1).text = table_word
    document.sections[0].header.paragraphs[0].text = f"Header {header_word}"
    return _saved(document)


def docx_with_thumbnail(body: str) -> bytes:
    """A DOCX with the preview picture Word saves ("Save preview picture"): docProps/thumbnail.jpeg,
    which python-docx's own template already holds (here redrawn, so the test knows what it shows)."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (256, 362), "white")
    ImageDraw.Draw(picture).rectangle((20, 20, 236, 60), fill="navy")
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG")
    return _rewritten(docx_file(body, "cell", "head"), {"docProps/thumbnail.jpeg": buffer.getvalue()})


def xlsx_file(first_sheet_word: str, second_sheet_word: str) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "Summary"
    first.append(["Name", "Value"])
    first.append([first_sheet_word, 42])
    second = workbook.create_sheet("Details")
    second["C7"] = f"note {second_sheet_word}"
    return _saved(workbook)


def pptx_file(slide_word: str, note_word: str, table_word: str = "tablecell") -> bytes:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    assert slide.shapes.title is not None
    slide.shapes.title.text = f"Slide about {slide_word}"
    rows = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    rows.cell(1, 1).text = table_word
    assert slide.notes_slide.notes_text_frame is not None
    slide.notes_slide.notes_text_frame.text = f"Speaker notes: {note_word}"
    presentation.slides.add_slide(presentation.slide_layouts[6])
    return _saved(presentation)


def odt_file(body: str, table_word: str, footer_word: str) -> bytes:
    from odf import style, table, text
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    layout = style.PageLayout(name="pm1")
    document.automaticstyles.addElement(layout)
    master = style.MasterPage(name="Standard", pagelayoutname=layout)
    footer = style.Footer()
    footer.addElement(text.P(text=f"Footer {footer_word}"))
    master.addElement(footer)
    document.masterstyles.addElement(master)
    document.text.addElement(text.H(outlinelevel=1, text="Minutes"))
    document.text.addElement(text.P(text=body))
    grid = table.Table(name="T1")
    grid.addElement(table.TableColumn(numbercolumnsrepeated=2))
    row = table.TableRow()
    for value in ("Item", table_word):
        cell = table.TableCell()
        cell.addElement(text.P(text=value))
        row.addElement(cell)
    grid.addElement(row)
    document.text.addElement(grid)
    return _saved_odf(document)


def ods_file(first_sheet_word: str, second_sheet_word: str) -> bytes:
    from odf import table, text
    from odf.opendocument import OpenDocumentSpreadsheet

    document = OpenDocumentSpreadsheet()
    for name, word in (("Summary", first_sheet_word), ("Details", second_sheet_word)):
        sheet = table.Table(name=name)
        row = table.TableRow()
        cell = table.TableCell()
        cell.addElement(text.P(text=word))
        row.addElement(cell)
        sheet.addElement(row)
        document.spreadsheet.addElement(sheet)
    return _saved_odf(document)


def odp_file(slide_word: str, note_word: str) -> bytes:
    from odf import draw, presentation, style, text
    from odf.opendocument import OpenDocumentPresentation

    document = OpenDocumentPresentation()
    layout = style.PageLayout(name="pm1")
    document.automaticstyles.addElement(layout)
    master = style.MasterPage(name="Default", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    for words in ((slide_word, note_word), ("closing", "thanks")):
        page = draw.Page(masterpagename=master)
        frame = draw.Frame(width="20cm", height="3cm", x="1cm", y="1cm")
        box = draw.TextBox()
        box.addElement(text.P(text=f"Slide on {words[0]}"))
        frame.addElement(box)
        page.addElement(frame)
        notes = presentation.Notes()
        notes_frame = draw.Frame(width="20cm", height="3cm", x="1cm", y="10cm")
        notes_box = draw.TextBox()
        notes_box.addElement(text.P(text=f"Notes: {words[1]}"))
        notes_frame.addElement(notes_box)
        notes.addElement(notes_frame)
        page.addElement(notes)
        document.presentation.addElement(page)
    return _saved_odf(document)


def _saved(document: object) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def _saved_odf(document: object) -> bytes:
    buffer = io.BytesIO()
    document.write(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


# ---- hostile ---------------------------------------------------------------------------------------


def _rewritten(data: bytes, replace: dict[str, bytes], add: list[tuple[str, bytes]] | None = None) -> bytes:
    """The same container with some entries' bytes replaced and others appended, in the same order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            target.writestr(entry.filename, replace.get(entry.filename, source.read(entry)))
        for name, content in add or []:
            target.writestr(name, content)
    return out.getvalue()


def zip_bomb_docx(inflated_mb: int = 300) -> bytes:
    """A real DOCX with one more entry of zeros: a few MB that inflate to ``inflated_mb`` MB."""
    out = io.BytesIO(docx_file("innocent words", "cell", "head"))
    block = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("word/media/padding.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(inflated_mb):
            member.write(block)
    return out.getvalue()


def billion_laughs_xlsx() -> bytes:
    """An XLSX whose first sheet declares the billion-laughs entities (10 levels of 10 references)."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [' + "".join(entities) + "]>\n"
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    ).encode()
    return _rewritten(xlsx_file("alpha", "beta"), {"xl/worksheets/sheet1.xml": sheet})


def many_entries_docx(entries: int = 100_000) -> bytes:
    """A real DOCX followed by ``entries`` tiny custom-XML parts."""
    out = io.BytesIO(docx_file("innocent words", "cell", "head"))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as archive:
        for index in range(entries):
            archive.writestr(f"customXml/i{index}.xml", b"<a/>")
    return out.getvalue()


def huge_image_pptx(width: int = 50_000, height: int = 50_000) -> bytes:
    """A real PPTX whose picture is a PNG that says it is ``width`` x ``height`` (2.5 gigapixels)."""
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    slide.shapes.add_picture(io.BytesIO(png(8, 8)), Inches(1), Inches(1))
    data = _saved(presentation)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        media = next(name for name in archive.namelist() if name.startswith("ppt/media/"))
    return _rewritten(data, {media: png(width, height, rows=64)})


def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit grey PNG of ``width`` x ``height``, white; with ``rows``, only that many rows of data."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    data += compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
