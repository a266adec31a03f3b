"""Real documents for tests, built from scratch: PDFs with text, encrypted, truncated and hostile ones."""

from __future__ import annotations

import io
import zlib


def _pdf(objects: list[bytes]) -> bytes:
    """Assemble numbered objects into a PDF with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def text_pdf(*pages: str, title: str | None = None) -> bytes:
    """A PDF whose pages show ``pages`` in Helvetica, so pypdf can extract them."""
    count = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        content = b"BT /F1 12 Tf 72 720 Td (" + escaped + b") Tj ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * i)
        )
        objects.append(_stream(content))
    pdf = _pdf(objects)
    if title is None:
        return pdf
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_pdf(text: str, password: str = "s3cret-pass") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(text))))
    writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def truncated_pdf(text: str) -> bytes:
    data = text_pdf(text)
    return data[: len(data) // 3]


def nested_bomb_pdf(depth: int = 200_000) -> bytes:
    """Page resources nested ``depth`` arrays deep: a naive recursive parser overflows its stack."""
    bomb = b"[" * depth + b"]" * depth
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources 5 0 R >>",
        _stream(b"BT /F1 12 Tf 72 720 Td (nested) Tj ET"),
        b"<< /Font " + bomb + b" >>",
    ]
    return _pdf(objects)


def flate_bomb_pdf(expanded_mb: int = 400) -> bytes:
    """A content stream that inflates from a few hundred KB to ``expanded_mb`` MB."""
    compressor = zlib.compressobj(9)
    block = b"0" * (1024 * 1024)
    packed = b"".join(compressor.compress(block) for _ in range(expanded_mb)) + compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        _stream(packed, b"/Filter /FlateDecode "),
    ]
    return _pdf(objects)


def multipart_body(
    filename: bytes, content: bytes, boundary: bytes = b"docketboundary1234"
) -> tuple[bytes, str]:
    """A hand-built multipart body, so a test controls the exact bytes of the file name."""
    body = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n"
    )
    return body, f"multipart/form-data; boundary={boundary.decode()}"
