"""What an uploaded evidence file is, decided from its bytes and never from its name, and which files are
refused (docs/evidence.md, "What is accepted").

Accepted: PDF, PNG, JPEG and plain text in UTF-8. Office documents are refused with the advice to save them as
PDF (a PDF is what the sealed report can carry unchanged and what any reader opens). Refused as hostile,
before anything is stored:

* a PDF with JavaScript, a launch action or another active or data-submitting action, rich media, XFA forms,
  files embedded in it, encryption, more pages or objects than the limits, or that cannot be read;
* a polyglot: a file that is also a ZIP archive (a reader finds its central directory at the end), has web
  markup where a browser sniffs, a PDF with anything before ``%PDF-`` or after its last ``%%EOF``, an image
  with anything after its end marker;
* an image whose header claims more pixels than the limit (a decompression bomb), or that does not decode;
* text that is not UTF-8, or that holds control characters (the same rule as typed text, plaintext.py).

:func:`inspect` raises :class:`Refused` with a code (the service turns it into a message in the user's
language). The work is bounded by the limits and by a CPU budget (``budget.cpu_budget``).
"""
from __future__ import annotations

import io
import re
import struct
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from ..budget import OverBudget, cpu_budget
from ..plaintext import CONTROL_CHARACTERS

PDF, PNG, JPEG, TEXT = "application/pdf", "image/png", "image/jpeg", "text/plain"
SUFFIXES = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg", TEXT: ".txt"}
# The extensions a file of each type may keep from the name it was uploaded with.
KEPT_EXTENSIONS = {PDF: {".pdf"}, PNG: {".png"}, JPEG: {".jpg", ".jpeg"}, TEXT: {".txt", ".text", ".md", ".csv"}}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_START = b"\xff\xd8\xff"
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls, .ppt, .msg
OFFICE_ZIP_MARKERS = (b"[Content_Types].xml", b"word/", b"xl/", b"ppt/", b"mimetypeapplication/vnd.oasis.opendocument")
# What a browser's content sniffing looks for in the first bytes (WHATWG MIME Sniffing §7.1), and markup no
# image has any reason to carry anywhere.
HTML_AT_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg", b"<?xml")
MARKUP_IN_IMAGES = (b"<script", b"<html", b"<iframe", b"<body")
SNIFFED_BYTES = 1024

# PDF actions that run code, start programs, send or fetch data, or play media (ISO 32000-1 §12.6.4).
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/Rendition",
                            "/RichMediaExecute", "/Sound", "/Movie", "/GoToE", "/Hide", "/SetOCGState"})
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/XFA", "/RichMediaContent", "/RichMediaSettings"})
ACTIVE_SUBTYPES = frozenset({"/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"})
EMBEDDING_KEYS = frozenset({"/EmbeddedFiles", "/EF", "/EmbeddedFile"})
EMBEDDING_TYPES = frozenset({"/EmbeddedFile"})
EMBEDDING_SUBTYPES = frozenset({"/FileAttachment"})


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    max_pages: int
    max_objects: int
    cpu_seconds: float | None


class Refused(Exception):
    """``code`` says why (the service's REFUSALS give the message); ``detail`` is for the log, in English."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def inspect(data: bytes, limits: Limits) -> str:
    """The MIME type of an acceptable evidence file, or :class:`Refused`."""
    if not data:
        raise Refused("empty")
    if len(data) > limits.max_bytes:
        raise Refused("too_large", f"{len(data)} bytes")
    try:
        with cpu_budget(limits.cpu_seconds):
            return _inspect(data, limits)
    except OverBudget:
        raise Refused("too_complex", "over the CPU budget") from None


def _inspect(data: bytes, limits: Limits) -> str:
    head = data[:SNIFFED_BYTES]
    if data.startswith(OLE2_SIGNATURE) or data.startswith(b"{\\rtf") or (
            data.startswith(b"PK\x03\x04") and any(marker in data[:4096] for marker in OFFICE_ZIP_MARKERS)):
        raise Refused("office")
    if data.startswith(b"%PDF-"):
        _common(data)
        _pdf(data, limits)
        return PDF
    if b"%PDF-" in head:
        raise Refused("polyglot", "content before the PDF header")
    if data.startswith(PNG_SIGNATURE):
        _common(data)
        _image_markup(data)
        _png_structure(data)
        _image(data, "PNG", limits)
        return PNG
    if data.startswith(JPEG_START):
        _common(data)
        _image_markup(data)
        _jpeg_structure(data)
        _image(data, "JPEG", limits)
        return JPEG
    return _text(data)


def _common(data: bytes) -> None:
    lowered = data[:SNIFFED_BYTES].lower()
    if any(marker in lowered for marker in HTML_AT_START):
        raise Refused("polyglot", "web markup at the start")
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise Refused("polyglot", "also a ZIP archive")


def _image_markup(data: bytes) -> None:
    lowered = data.lower()
    if any(marker in lowered for marker in MARKUP_IN_IMAGES):
        raise Refused("polyglot", "web markup inside an image")


# -- text -----------------------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte order mark
        raise Refused("text_not_utf8")
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:SNIFFED_BYTES]:
        raise Refused("unknown_type")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # No NUL and mostly printable: text in another encoding (Windows-1252, say); else some binary format.
        printable = sum(1 for byte in data[:SNIFFED_BYTES] if byte >= 0x20 or byte in b"\t\r\n")
        raise Refused("text_not_utf8" if printable >= 0.95 * len(data[:SNIFFED_BYTES])
                      else "unknown_type") from None
    if CONTROL_CHARACTERS.search(text):
        raise Refused("text_control")
    if not text.strip("\ufeff \t\r\n"):
        raise Refused("empty")
    start = text.lstrip("\ufeff \t\r\n")[:SNIFFED_BYTES].lower()
    if start.startswith(tuple(marker.decode() for marker in HTML_AT_START)) or "<script" in text.lower():
        raise Refused("markup")
    return TEXT


# -- images ---------------------------------------------------------------------------------------------


def _png_structure(data: bytes) -> None:
    """Chunk by chunk (PNG §5.3): every length within the file, every CRC right, and IEND the last bytes."""
    position = len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            raise Refused("image_unreadable", "truncated PNG")
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        end = position + 12 + length
        if end > len(data):  # a length claiming more than the file holds (up to 4 GB)
            raise Refused("image_unreadable", f"PNG chunk of {length} bytes beyond the end")
        crc = struct.unpack(">I", data[end - 4:end])[0]
        if zlib.crc32(data[position + 4:end - 4]) != crc:
            raise Refused("image_unreadable", "PNG chunk CRC")
        position = end
        if kind == b"IEND":
            break
    if position != len(data):
        raise Refused("trailing_data", f"{len(data) - position} bytes after IEND")


_STANDALONE = set(range(0xD0, 0xD8)) | {0x01, 0xD8}  # RSTn, TEM, SOI: markers without a length


def _jpeg_structure(data: bytes) -> None:
    """Segment by segment (ITU-T T.81 Annex B): lengths within the file, and EOI the last two bytes."""
    position = 2
    size = len(data)
    while True:
        if position + 2 > size or data[position] != 0xFF:
            raise Refused("image_unreadable", "JPEG marker expected")
        while position < size and data[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= size:
            raise Refused("image_unreadable", "truncated JPEG")
        marker = data[position]
        position += 1
        if marker == 0xD9:  # EOI
            break
        if marker in _STANDALONE:
            continue
        if position + 2 > size:
            raise Refused("image_unreadable", "truncated JPEG segment")
        length = struct.unpack(">H", data[position:position + 2])[0]
        if length < 2 or position + length > size:
            raise Refused("image_unreadable", "JPEG segment beyond the end")
        position += length
        if marker == 0xDA:  # SOS: entropy-coded data until a marker other than a stuffed zero or RSTn
            while True:
                found = data.find(b"\xff", position)
                if found < 0 or found + 1 >= size:
                    raise Refused("image_unreadable", "JPEG scan without an end")
                following = data[found + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    position = found + (1 if following == 0xFF else 2)
                    continue
                position = found
                break
    if position != size:
        raise Refused("trailing_data", f"{size - position} bytes after EOI")


def _image(data: bytes, kind: str, limits: Limits) -> None:
    try:
        with warnings.catch_warnings():
            # The pixel limit is checked here, before decoding, for every size (Pillow only warns up to twice
            # its own limit).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
                if width * height > limits.max_pixels:
                    raise Refused("too_many_pixels", f"{width}×{height}")
                image.load()
    except Refused:
        raise
    except Image.DecompressionBombError as exc:
        raise Refused("too_many_pixels", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any decoder error means the image is not what it says
        raise Refused("image_unreadable", f"{type(exc).__name__}: {exc}"[:200]) from None


# -- PDF ------------------------------------------------------------------------------------------------


def _pdf(data: bytes, limits: Limits) -> None:
    end = data.rfind(b"%%EOF")
    if end < 0:
        raise Refused("pdf_unreadable", "no %%EOF")
    if data[end + 5:].strip(b"\r\n\t \x00\x0c"):
        raise Refused("trailing_data", f"{len(data) - end - 5} bytes after %%EOF")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        encrypted = reader.encrypted
    except Exception as exc:  # noqa: BLE001
        raise Refused("pdf_unreadable", f"{type(exc).__name__}: {exc}"[:200]) from None
    if encrypted:
        raise Refused("pdf_encrypted")
    try:
        _walk(reader, limits)
    except Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - a structure the parser cannot follow
        raise Refused("pdf_unreadable", f"{type(exc).__name__}: {exc}"[:200]) from None


def _walk(reader: PdfFileReader, limits: Limits) -> None:
    """Every object reachable from the trailer (what a reader can reach), checked for what is refused."""
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer_view]
    objects = pages = 0
    while stack:
        item = stack.pop()
        if isinstance(item, generic.IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        objects += 1
        if objects > limits.max_objects:
            raise Refused("too_complex", f"more than {limits.max_objects} objects")
        if isinstance(item, generic.DictionaryObject):
            kind, subtype = item.get("/Type"), item.get("/Subtype")
            if kind == "/Page":
                pages += 1
                if pages > limits.max_pages:
                    raise Refused("too_many_pages", f"more than {limits.max_pages} pages")
            _check_dictionary(item, kind, subtype)
            stack.extend(value for key, value in _raw_items(item) if key != "/Parent")
        elif isinstance(item, generic.ArrayObject):
            stack.extend(list(item))


def _raw_items(dictionary: generic.DictionaryObject):
    for key in list(dictionary.keys()):
        yield str(key), dictionary.raw_get(key)


def _check_dictionary(item: generic.DictionaryObject, kind, subtype) -> None:
    keys = {str(key) for key in item.keys()}
    action = item.get("/S")
    if keys & ACTIVE_KEYS or subtype in ACTIVE_SUBTYPES or action in ACTIVE_ACTIONS:
        raise Refused("pdf_active", ", ".join(sorted(keys & ACTIVE_KEYS)) or str(subtype or action))
    if keys & EMBEDDING_KEYS or kind in EMBEDDING_TYPES or subtype in EMBEDDING_SUBTYPES:
        raise Refused("pdf_embedded")


# -- names ----------------------------------------------------------------------------------------------

NAME_MAX = 100
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
DEFAULT_STEM = "evidence"


def safe_filename(raw: str | None, mime_type: str) -> str:
    """The name an evidence file is kept, listed and downloaded under: the uploaded name's last part, without
    control, direction-changing or path characters, at most :data:`NAME_MAX` characters, ending in an
    extension that fits its type (the type comes from the content, never from the name)."""
    name = unicodedata.normalize("NFC", str(raw or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(_UNSAFE.sub("", name).split()).strip(". -")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = f".{extension.lower()}" if extension else ""
    if extension not in KEPT_EXTENSIONS[mime_type]:
        if not re.fullmatch(r"\.[a-z0-9]{1,5}", extension):  # no extension: the dot was part of the name
            stem = name if extension else stem
        extension = SUFFIXES[mime_type]
    stem = stem.strip(". -")[:NAME_MAX - len(extension)].rstrip(". -") or DEFAULT_STEM
    if _RESERVED.match(stem):
        stem = f"_{stem}"
    return stem + extension
