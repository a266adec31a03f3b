"""Decode bytes that are meant to be text: a BOM's encoding, else UTF-8, else the one charset-normalizer
detects. The API sniffs an upload's head with it and the worker decodes the whole file with it, so the
two agree on what is text."""

from __future__ import annotations

import codecs
import unicodedata
from typing import NamedTuple

from charset_normalizer import from_bytes

# longest first: a UTF-32 LE BOM starts with the UTF-16 LE one
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# When several encodings read the bytes equally well (short Western text reads the same in a dozen
# code pages), take Windows-1252: the WHATWG default for unlabelled text, and a superset of Latin-1's
# printable characters.
TIE_BREAK = "cp1252"
SAMPLE_CHARS = 100_000  # enough to tell text from binary; checking 20 MB would cost seconds


class Decoded(NamedTuple):
    text: str
    encoding: str  # a Python codec name: "utf-8", "utf-16-le", "cp1252", …


def decode(data: bytes, *, final: bool = True) -> Decoded | None:
    """``data`` as text and the encoding it was read in, or None when it decodes as no text at all.

    With ``final=False`` the bytes are a prefix of the file and may end inside a character.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            decoder = codecs.getincrementaldecoder(encoding)("replace")
            return Decoded(decoder.decode(data[len(bom) :], final=final), encoding)
    if b"\x00" not in data:
        try:
            return Decoded(codecs.getincrementaldecoder("utf-8")("strict").decode(data, final=final), "utf-8")
        except UnicodeDecodeError:
            pass
    detected = detect_encoding(data)
    if detected is None:
        return None
    return Decoded(codecs.getincrementaldecoder(detected)("replace").decode(data, final=final), detected)


def detect_encoding(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most plausible, ties going to TIE_BREAK; None for binary."""
    # UTF-16 and UTF-32 are read only with their BOM (which every editor writes): without one, any
    # even run of bytes, an executable's header included, "decodes" into CJK characters
    results = [match for match in from_bytes(data) if not match.encoding.startswith(("utf_16", "utf_32"))]
    if not results:
        return None
    best = results[0]
    tied = set(best.could_be_from_charset)
    for match in results:
        if match.chaos <= best.chaos and match.coherence >= best.coherence:
            tied.add(match.encoding)
            tied.update(match.could_be_from_charset)
    return TIE_BREAK if TIE_BREAK in tied else str(best.encoding)


def looks_like_text(text: str, sample: int = SAMPLE_CHARS) -> bool:
    """No NUL, and few characters that no text holds: controls (C0 other than tab, newlines, form
    feed; all of C1) and unassigned code points, under 1 % of the first ``sample`` characters.

    A BOM followed by binary data decodes "successfully" as UTF-16 into unassigned code points.
    """
    if "\x00" in text:
        return False
    head = text[:sample]
    strange = sum(
        1
        for char in head
        if (char < " " and char not in "\t\n\x0b\x0c\r")
        or (char > "~" and unicodedata.category(char) in ("Cc", "Cn"))  # C1 controls, unassigned
    )
    return strange <= len(head) // 100
