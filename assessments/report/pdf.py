"""Render the report HTML to an archival, accessible PDF with WeasyPrint 70: PDF/A-3a (ISO 19005-3, tagged)
that also identifies itself as PDF/UA-1 (ISO 14289-1).

Tagging and identification
--------------------------
WeasyPrint's ``pdf/a-3a`` variant writes the structure tree from the HTML (headings, paragraphs, lists,
tables with their header cells, figures) and marks everything else as artifacts. :func:`_finish` then
completes what the variant leaves out, right before the file is written:

* the XMP packet uncompressed (ISO 19005-3 §6.6.2.1: no /Filter on the metadata stream) and carrying the
  PDF/UA identification ``pdfuaid:part=1`` (ISO 14289-1 §5), declared as a PDF/A extension schema, since
  it is not one of the predefined XMP schemas (ISO 19005-3 §6.6.2.3);
* one ``/AF`` entry per embedded file: WeasyPrint lists each file twice, once from the name tree and once
  from its file specification (ISO 19005-3 §6.8 asks for the association, not for a repetition);
* for the evidence files embedded beside the record (:class:`AssociatedFile`), the relationship, the MIME
  type and an ASCII ``/F`` name set from what the application knows, per file: WeasyPrint finds the
  relationship by the file's MD5 (two files with the same bytes would share one) and the MIME type by the
  name's extension, and writes a non-ASCII name's UTF-8 bytes into ``/F``, which readers take for
  PDFDocEncoding (``/UF`` carries the name as written, ISO 32000-1 §7.11.3);
* no compressed stream whose data ends in a carriage return: the writer puts a line feed before
  ``endstream``, and a CR LF there reads as the end-of-line marker, one byte short of /Length
  (ISO 19005-3 §6.1.7.1). Such a stream (about one in 256: zlib data ends with the Adler-32 of the
  content) is written uncompressed instead; also the object stream and the cross-reference stream, which
  pydyf builds while writing, so that about one sealed report in a hundred is not refused.

Resource loading
----------------
The report HTML is generated from user-supplied answers, so it must never make
WeasyPrint read local files or open network connections (SSRF / file disclosure).
:class:`SafeURLFetcher` therefore serves exactly two kinds of URL:

* ``asset:<relative/path>`` — a file inside :data:`ASSETS_DIR`.  The document base URL
  is ``asset:/`` so relative references (``<link href="report.css">``, ``url(fonts/x.woff2)``
  inside that stylesheet) resolve to ``asset:/report.css`` etc.  That only works because
  the ``asset`` scheme is registered in :data:`urllib.parse.uses_relative` (WeasyPrint
  resolves with :func:`urllib.parse.urljoin`, which leaves relative references to an
  unknown scheme unresolved).  Absolute references such as ``asset:report.css`` work too.
  Path traversal (``..`` segments, also percent-encoded), absolute paths after
  decoding, a host part (``asset://x/…``) and symlinks leading out of the directory are
  refused.
* ``data:`` URLs whose media type is ``image/*`` or ``font/*`` — they are decoded in
  memory and cannot reach anything outside the document.  Other ``data:`` types are
  refused (no use case, and e.g. ``data:text/css`` would be a way to smuggle in
  stylesheets that themselves reference further URLs).

Everything else (``file:``, ``http(s):``, ``ftp:``…) raises :class:`RefusedURL`.  WeasyPrint
turns any exception from a fetcher into a logged error and renders without that
resource, so a hostile reference only loses the resource.  Every refused URL is kept in
``SafeURLFetcher.refused`` and returned in :attr:`RenderedPdf.fetcher_refused`.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import types
import unicodedata
import urllib.parse
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib import request

import pydyf
import weasyprint
from weasyprint.pdf.metadata import NS as XMP_NAMESPACES
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .collector import with_fewer_full_collections

__all__ = [
    "ASSETS_DIR",
    "AssociatedFile",
    "ASSET_BASE_URL",
    "PDF_VARIANT",
    "PdfRenderError",
    "RefusedURL",
    "RenderedPdf",
    "SafeURLFetcher",
    "SignatureBox",
    "render_pdf",
]

ASSETS_DIR: Path = Path(__file__).parent / "assets"
ASSET_SCHEME = "asset"
ASSET_BASE_URL = f"{ASSET_SCHEME}:/"
SIGNATURE_FIELD_ID = "signature-field"

# PDF/A-3 (ISO 19005-3) is the first PDF/A part that allows embedding arbitrary files (the record as
# JSON); WeasyPrint drops non-PDF attachments for PDF/A-1/2. Conformance level A adds the logical
# structure (tagged PDF) on top of level B's visual reproducibility: a public body publishing its
# assessment must publish an accessible document (lag (2018:1937) om tillgänglighet till digital
# offentlig service), and PDF/UA-1 is the standard for that.
PDF_VARIANT = "pdf/a-3a"
PDFUA_PART = 1

# CSS px → PDF points: WeasyPrint lays out at 96 px per inch, PDF user space is 72/inch.
PX_TO_PT = 0.75

# Without this, urljoin("asset:/", "report.css") returns "report.css" unchanged and
# relative hrefs could never be resolved against the asset base URL.  Appending a
# scheme name is process-wide but only affects URLs of this private scheme.
if ASSET_SCHEME not in urllib.parse.uses_relative:
    urllib.parse.uses_relative.append(ASSET_SCHEME)

_CONTENT_TYPES = {
    ".css": "text/css",  # WeasyPrint refuses <link> stylesheets not served as text/css
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}


class RefusedURL(ValueError):
    """Raised by :class:`SafeURLFetcher` for every URL it will not serve."""


class PdfRenderError(Exception):
    """Rendering the report failed (the message is English and technical)."""


class SafeURLFetcher(URLFetcher):
    """Serve only files inside :data:`ASSETS_DIR` (``asset:`` URLs) and image/font ``data:`` URLs.

    Never opens a socket or a file outside the assets directory; see the module
    docstring for the exact rules.  ``refused`` lists every URL that was refused, in
    order of the requests.
    """

    def __init__(self, assets_dir: Path | None = None) -> None:
        # allowed_protocols=() makes the inherited urllib machinery refuse everything,
        # should any WeasyPrint code path ever bypass our fetch(); no redirects either.
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        self.assets_dir = Path(assets_dir or ASSETS_DIR).resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:  # noqa: ARG002
        try:
            scheme = urllib.parse.urlsplit(url).scheme.lower()
            if scheme == ASSET_SCHEME:
                return self._fetch_asset(url)
            if scheme == "data":
                return self._fetch_data(url)
            raise RefusedURL(f"URL scheme not allowed in reports: {url!r}")
        except RefusedURL:
            self.refused.append(url)
            raise
        except Exception as exc:  # malformed URL, unreadable file …
            self.refused.append(url)
            raise RefusedURL(f"Could not fetch {url!r}: {exc}") from exc

    # Overridden so no code path can reach urllib's OpenerDirector.open.
    def open(self, url, data=None, timeout=None):  # noqa: ARG002
        if isinstance(url, request.Request):
            url = url.full_url
        return self.fetch(url)

    def _fetch_asset(self, url: str) -> URLFetcherResponse:
        parts = urllib.parse.urlsplit(url)
        if parts.netloc:
            raise RefusedURL(f"Asset URL must not name a host: {url!r}")
        relative = urllib.parse.unquote(parts.path)
        if "\x00" in relative or "\\" in relative:
            raise RefusedURL(f"Invalid character in asset URL: {url!r}")
        segments = [s for s in relative.split("/") if s not in ("", ".")]
        if not segments or ".." in segments:
            raise RefusedURL(f"Asset path escapes the asset directory: {url!r}")
        candidate = self.assets_dir.joinpath(*segments)
        # realpath also follows symlinks, so a link pointing outside is refused too.
        resolved = Path(os.path.realpath(candidate))
        if not resolved.is_relative_to(self.assets_dir) or not resolved.is_file():
            raise RefusedURL(f"No such asset: {url!r}")
        body = resolved.read_bytes()
        suffix = resolved.suffix.lower()
        content_type = (
            _CONTENT_TYPES.get(suffix)
            or mimetypes.guess_type(resolved.name)[0]
            or "application/octet-stream"
        )
        headers = {"Content-Type": content_type}
        if content_type == "text/css":
            headers["Content-Type"] = "text/css; charset=utf-8"
        canonical = f"{ASSET_SCHEME}:/" + "/".join(segments)
        return URLFetcherResponse(canonical, body, headers=headers)

    def _fetch_data(self, url: str) -> URLFetcherResponse:
        # urllib's DataHandler decodes data: URLs purely in memory (RFC 2397).
        response = request.DataHandler().data_open(request.Request(url))
        content_type = response.headers.get_content_type()
        if not content_type.startswith(("image/", "font/")):
            raise RefusedURL(f"data: URL of type {content_type} not allowed")
        return URLFetcherResponse(
            "data:", response.read(), headers={"Content-Type": content_type}
        )


@dataclass(frozen=True)
class AssociatedFile:
    """A file embedded beside the record (an evidence file): its name in the document, its bytes, its MIME
    type, its /AFRelationship (ISO 32000-2 §7.11.3; "Source" or "Supplement" for evidence) and its
    description."""

    name: str
    data: bytes
    mime_type: str
    relationship: str
    description: str


@dataclass(frozen=True)
class SignatureBox:
    """Rectangle for the visible signature, in PDF points, origin at the page's bottom-left."""

    page_index: int
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    signature_box: SignatureBox | None
    page_count: int
    fetcher_refused: tuple[str, ...]


def _find_signature_box(document) -> SignatureBox | None:
    """Locate the element with id="signature-field" in WeasyPrint's laid-out box tree.

    WeasyPrint 70 has no public API for element positions, so this walks the private
    ``Page._page_box`` tree.  Anonymous and pseudo-element boxes carry the element of
    their parent, so only the outermost box of the element counts (pre-order walk,
    skipping ``::before``/``::after``).  If the element is split over several pages,
    the largest fragment wins.
    """
    best: tuple[float, SignatureBox] | None = None
    for page_index, page in enumerate(document.pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or element.get("id") != SIGNATURE_FIELD_ID:
                continue
            if "::" in (getattr(box, "element_tag", "") or ""):
                continue
            x, y = box.border_box_x(), box.border_box_y()
            width, height = box.border_width(), box.border_height()
            # Page boxes are in CSS px from the page's top-left corner; PDF user space
            # starts at the bottom-left, hence the flip against the page height.
            rect = SignatureBox(
                page_index=page_index,
                x1=x * PX_TO_PT,
                y1=(page.height - (y + height)) * PX_TO_PT,
                x2=(x + width) * PX_TO_PT,
                y2=(page.height - y) * PX_TO_PT,
            )
            area = width * height
            if best is None or area > best[0]:
                best = (area, rect)
            break  # the first match in pre-order is the outermost box on this page
    return best[1] if best else None


_RDF = XMP_NAMESPACES["rdf"]
_PDFAEXT = {"pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
            "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
            "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#"}
for _prefix, _uri in _PDFAEXT.items():
    ElementTree.register_namespace(_prefix, _uri)


def _pdfua_extension_schema(parent) -> None:
    """Declare the PDF/UA identification schema as a PDF/A extension schema (ISO 19005-3 §6.6.2.3.2)."""
    description = ElementTree.SubElement(parent, f"{{{_RDF}}}Description", {f"{{{_RDF}}}about": ""})
    schemas = ElementTree.SubElement(description, f"{{{_PDFAEXT['pdfaExtension']}}}schemas")
    bag = ElementTree.SubElement(schemas, f"{{{_RDF}}}Bag")
    schema = ElementTree.SubElement(bag, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    for name, value in (("schema", "PDF/UA Universal Accessibility Schema"),
                        ("namespaceURI", XMP_NAMESPACES["pdfuaid"]), ("prefix", "pdfuaid")):
        ElementTree.SubElement(schema, f"{{{_PDFAEXT['pdfaSchema']}}}{name}").text = value
    properties = ElementTree.SubElement(schema, f"{{{_PDFAEXT['pdfaSchema']}}}property")
    seq = ElementTree.SubElement(properties, f"{{{_RDF}}}Seq")
    item = ElementTree.SubElement(seq, f"{{{_RDF}}}li", {f"{{{_RDF}}}parseType": "Resource"})
    for name, value in (("name", "part"), ("valueType", "Integer"), ("category", "internal"),
                        ("description", "Indicates, which part of ISO 14289 standard is followed")):
        ElementTree.SubElement(item, f"{{{_PDFAEXT['pdfaProperty']}}}{name}").text = value


def xmp_packet(metadata) -> bytes:
    """The document's XMP: WeasyPrint's PDF/A-3a description plus the PDF/UA-1 identification."""
    rdf = ElementTree.fromstring(metadata.generate_rdf_metadata("a", 3, "A"))
    _pdfua_extension_schema(rdf)
    ElementTree.SubElement(rdf, f"{{{_RDF}}}Description", {
        f"{{{_RDF}}}about": "", f"{{{XMP_NAMESPACES['pdfuaid']}}}part": str(PDFUA_PART)})
    return (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + ElementTree.tostring(rdf, encoding="utf-8")
            + b'</x:xmpmeta>\n<?xpacket end="r"?>')


_UNAMBIGUOUS: dict[type, type] = {}


def _unambiguous(cls: type) -> type:
    """A subclass of the pydyf stream class ``cls`` that falls back to uncompressed data rather than
    write compressed data ending in CR (module docstring)."""
    if cls not in _UNAMBIGUOUS:
        class Unambiguous(cls):
            @property
            def data(self):
                data = super().data
                if self.compress and data.endswith(b"\r\nendstream"):
                    self.compress = False
                    try:
                        data = super().data
                    finally:
                        self.compress = True
                return data

        Unambiguous.__name__ = f"Unambiguous{cls.__name__}"
        _UNAMBIGUOUS[cls] = Unambiguous
    return _UNAMBIGUOUS[cls]


def _ascii_name(name: str) -> str:
    """``name`` in ASCII for a file specification's /F: accents dropped, anything else as "_"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return "".join(c if 32 <= ord(c) < 127 else "_" for c in folded) or "file"


def _describe_files(pdf, associated: dict[str, AssociatedFile]) -> None:
    """Each associated file's relationship, MIME type and ASCII /F, by its name (module docstring)."""
    for obj in pdf.objects:
        if not isinstance(obj, dict) or obj.get("Type") != "/Filespec":
            continue
        name = getattr(obj.get("UF"), "string", None)
        item = associated.get(name) if isinstance(name, str) else None
        if item is None:
            continue
        obj["AFRelationship"] = f"/{item.relationship}"
        obj["F"] = pydyf.String(_ascii_name(item.name))
        stream = pdf.objects[int(obj["EF"]["F"].split()[0])]
        stream.extra["Subtype"] = "/" + item.mime_type.replace("/", "#2f")


def _finish(document, pdf, associated: dict[str, AssociatedFile] | None = None) -> None:
    """Complete WeasyPrint's PDF/A-3a output (module docstring): the XMP packet, one /AF entry per file, the
    associated files described. (The tagged variant already sets /MarkInfo, /Lang and /DisplayDocTitle,
    ISO 14289-1 §7.1.)"""
    catalog = pdf.catalog
    if "AF" in catalog:
        unique = []
        for reference in catalog["AF"]:
            if reference not in unique:
                unique.append(reference)
        catalog["AF"] = pydyf.Array(unique)
    if associated:
        _describe_files(pdf, associated)
    reference = catalog["Metadata"]  # b"<number> 0 R"
    metadata = pdf.objects[int(bytes(reference).split()[0])]
    metadata.stream = [xmp_packet(document.metadata)]
    metadata.compress = False
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and obj.compress:
            obj.__class__ = _unambiguous(type(obj))
    # The object stream and the cross-reference stream are built inside pydyf's write(), from its module's
    # Stream class: this instance writes with a copy of write() that builds them with the unambiguous one.
    pdf.write = types.MethodType(_unambiguous_write(), pdf)


@functools.cache
def _unambiguous_write():
    """pydyf's ``PDF.write`` with ``Stream`` bound to the unambiguous stream class (the module is not
    changed: other renderings in the same process are not affected)."""
    write = pydyf.PDF.write
    copy = types.FunctionType(write.__code__, {**vars(pydyf), "Stream": _unambiguous(pydyf.Stream)},
                              write.__name__, write.__defaults__, write.__closure__)
    copy.__kwdefaults__ = write.__kwdefaults__
    return copy


@with_fewer_full_collections
def render_pdf(html: str, *, record_json: bytes, title: str, lang: str,
               record_name: str = "record.json", files: Sequence[AssociatedFile] = ()) -> RenderedPdf:
    """Render ``html`` to PDF/A-3a (and PDF/UA-1) with ``record_json`` embedded as ``record_name`` and each
    of ``files`` (the evidence) embedded after it, under its own name.

    ``title`` and ``lang`` override ``<title>`` and ``<html lang>`` so the PDF's /Title,
    XMP dc:title and catalog /Lang are always set (PDF/A-3 requires Info and XMP to
    agree; WeasyPrint writes both from the same metadata).
    """
    if not isinstance(record_json, bytes | bytearray):
        raise PdfRenderError("record_json must be bytes")
    fetcher = SafeURLFetcher()
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        document = weasyprint.HTML(
            string=html, base_url=ASSET_BASE_URL, url_fetcher=fetcher
        ).render(pdf_variant=PDF_VARIANT)
        document.metadata.title = title
        document.metadata.lang = lang
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.created = document.metadata.created or stamp
        document.metadata.modified = stamp
        attachment = weasyprint.Attachment(
            string=bytes(record_json),
            name=record_name,  # → /Subtype /application#2Fjson via the file name
            description="Assessment record (JSON)",
            # PDF/A-3 requires an AFRelationship on associated files; "Data" = the
            # information the visual document was rendered from (ISO 32000-2, 7.11.3).
            relationship="Data",
            created=now,
            modified=now,
            url_fetcher=fetcher,
        )
        names = [record_name, *(item.name for item in files)]
        if len(set(names)) != len(names):
            raise PdfRenderError("two embedded files would have the same name")
        attachments = [attachment, *(weasyprint.Attachment(
            string=bytes(item.data), name=item.name, description=item.description,
            relationship=item.relationship, created=now, modified=now, url_fetcher=fetcher) for item in files)]
        finisher = functools.partial(_finish, associated={item.name: item for item in files})
        data = document.write_pdf(pdf_variant=PDF_VARIANT, attachments=attachments, finisher=finisher)
    except Exception as exc:
        raise PdfRenderError(f"Could not render the report PDF: {exc}") from exc
    return RenderedPdf(
        data=data,
        signature_box=_find_signature_box(document),
        page_count=len(document.pages),
        fetcher_refused=tuple(fetcher.refused),
    )
