"""Tell the office formats apart by the entries at the start of their ZIP container.

DOCX, XLSX, PPTX, ODT, ODS and ODP are all ZIP files. OpenDocument stores its type, uncompressed, in
a first entry named ``mimetype``; Office Open XML lists its parts' types in ``[Content_Types].xml``,
which writers put first, and names its main part ``word/``, ``xl/`` or ``ppt/``. Both show within the
first few kilobytes, which is all the upload has when it sniffs. The worker checks the whole archive
(entry count, sizes, ratios) before any parser opens it; this only names the type.
"""

from __future__ import annotations

import struct
import zlib

from docket_core.contracts.formats import DOCX, OPENDOCUMENT_TYPES, PPTX, XLSX

ZIP_MAGIC = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_DATA_DESCRIPTOR = b"PK\x07\x08"
_MAX_ENTRIES = 64
_CONTENT_TYPES_BYTES = 64 * 1024  # inflating more of [Content_Types].xml than this tells nothing new
_STORED, _DEFLATED = 0, 8
# the content type of each format's main part, as [Content_Types].xml lists it
_MAIN_PARTS = {
    b"wordprocessingml.document.main+xml": DOCX,
    b"spreadsheetml.sheet.main+xml": XLSX,
    b"presentationml.presentation.main+xml": PPTX,
}
_MAIN_FOLDERS = {b"word/document.xml": DOCX, b"xl/workbook.xml": XLSX, b"ppt/presentation.xml": PPTX}


def office_type(head: bytes) -> str | None:
    """The office format of a ZIP container starting with ``head``, or None when it is none of them."""
    pos = 0
    for index in range(_MAX_ENTRIES):
        if head[pos : pos + 4] != ZIP_MAGIC or pos + _LOCAL_HEADER.size > len(head):
            return None
        _, _, flags, method, _, _, _, size, _, name_length, extra_length = _LOCAL_HEADER.unpack_from(
            head, pos
        )
        name = head[pos + _LOCAL_HEADER.size : pos + _LOCAL_HEADER.size + name_length]
        start = pos + _LOCAL_HEADER.size + name_length + extra_length
        if start > len(head):
            return None
        if index == 0 and name == b"mimetype" and method == _STORED:
            declared = head[start : start + size].decode("ascii", "replace").strip()
            return declared if declared in OPENDOCUMENT_TYPES else None
        if name == b"[Content_Types].xml":
            found = _main_part(_inflate(head[start:], method))
            if found:
                return found
        if name in _MAIN_FOLDERS:
            return _MAIN_FOLDERS[name]
        if flags & 0x08:  # sizes follow the data: find its end by inflating it
            end = _deflated_end(head, start) if method == _DEFLATED else None
            if end is None:
                return None
            pos = end + (16 if head[end : end + 4] == _DATA_DESCRIPTOR else 12)
        else:
            pos = start + size
    return None


def _inflate(data: bytes, method: int) -> bytes:
    if method == _STORED:
        return data[:_CONTENT_TYPES_BYTES]
    if method != _DEFLATED:
        return b""
    try:
        return zlib.decompressobj(-15).decompress(data, _CONTENT_TYPES_BYTES)
    except zlib.error:
        return b""


def _main_part(content_types: bytes) -> str | None:
    for marker, content_type in _MAIN_PARTS.items():
        if marker in content_types:
            return content_type
    return None


def _deflated_end(head: bytes, start: int) -> int | None:
    """Where the deflate stream starting at ``start`` ends, if it ends within ``head``."""
    inflater = zlib.decompressobj(-15)
    data = head[start:]
    try:
        while data and not inflater.eof:
            inflater.decompress(data, 1 << 16)
            data = inflater.unconsumed_tail
    except zlib.error:
        return None
    if not inflater.eof:
        return None
    return len(head) - len(inflater.unused_data)
