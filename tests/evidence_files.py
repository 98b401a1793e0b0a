"""Evidence files for the tests, acceptable and hostile, made here rather than stored (docs/evidence.md). Shared
by the tests and ``benchmarks/evidence_upload.py``."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf_document(*catalog_extra: bytes, objects: tuple[bytes, ...] = (), pages: int = 1, text: str = "Bilaga",
                 page_extra: bytes = b"") -> bytes:
    """A small, well-formed PDF written by hand (so that hostile variants differ in exactly one thing): a
    catalogue (with ``catalog_extra`` entries), ``pages`` pages with a line of text, and ``objects`` appended
    as objects 5, 6 … (``catalog_extra`` may refer to them)."""
    page_ids = list(range(5 + len(objects), 5 + len(objects) + pages))
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R " + b" ".join(catalog_extra) + b" >>",
        2: b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % n for n in page_ids) + b"] /Count %d >>" % pages,
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    }
    for number, body in enumerate(objects, start=5):
        bodies[number] = body
    for number in page_ids:
        bodies[number] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                          b"/Resources << /Font << /F1 3 0 R >> >> " + page_extra + b">>")
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(bodies):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + bodies[number] + b"\nendobj\n")
    start = out.tell()
    size = max(bodies) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for number in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[number])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, start))
    return out.getvalue()


def png_image(width: int = 64, height: int = 48, colour=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def jpeg_image(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "JPEG", quality=80)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes, length: int | None = None) -> bytes:
    return struct.pack(">I", len(data) if length is None else length) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with one tiny compressed row: a decompression
    bomb is exactly this, a small file that would decode to gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def png_with_chunk_length(length: int) -> bytes:
    """A PNG whose text chunk's length field claims ``length`` bytes (e.g. 4 GB) the file does not have."""
    valid = png_image()
    return valid[:33] + _chunk(b"tEXt", b"Comment\x00x", length=length) + valid[33:]


def zip_archive(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_document() -> bytes:
    return zip_archive({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf_document())))
    writer.encrypt(user_password="hemlig", owner_password="hemligare", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


JAVASCRIPT_PDF = pdf_document(b"/OpenAction 5 0 R", objects=(b"<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>",))
LAUNCH_PDF = pdf_document(b"/OpenAction 5 0 R", objects=(
    b"<< /Type /Action /S /Launch /F (C:\\\\Windows\\\\System32\\\\cmd.exe) >>",))
# The same JavaScript with its name written in hexadecimal escapes (/J#61vaScript), as obfuscated files do.
OBFUSCATED_JAVASCRIPT_PDF = pdf_document(b"/Names << /J#61vaScript 5 0 R >>", objects=(
    b"<< /Names [(a) 6 0 R] >>", b"<< /S /JavaScript /JS (app.alert(1)) >>"))
EMBEDDED_FILE_PDF = pdf_document(b"/Names << /EmbeddedFiles 5 0 R >>", objects=(
    b"<< /Names [(a.exe) 6 0 R] >>", b"<< /Type /Filespec /F (a.exe) /EF << /F 7 0 R >> >>",
    b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream"))
RICH_MEDIA_PDF = pdf_document(objects=(b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] >>",),
                              page_extra=b"/Annots [5 0 R] ")
