"""Seal a rendered report with a PAdES baseline signature (ETSI EN 319 142-1).

* Sub-filter ``ETSI.CAdES.detached`` (``SigSeedSubFilter.PADES``); pyHanko's default is
  the older ``adbe.pkcs7.detached`` (docs/stack-notes.md), which is not PAdES.
* Incremental update: the signed bytes are the WeasyPrint PDF/A-3 file followed by a
  new revision, so the original revision (and its XMP ``pdfaid:part=3``) stays
  byte-identical, as ISO 19005-3 §6.1.3 / ISO 32000 incremental updates require for
  signed PDF/A.
* With a ``timestamper`` (``timestamps.CheckedTimeStamper`` for the configured TSA) the
  signature carries an RFC 3161 signature timestamp, making it PAdES B-T; a failing
  authority raises :class:`TimestampError`, so the caller can say so instead of
  "sealing failed".
* A *certification* signature (ISO 32000-1 §12.8.2.2, DocMDP) with permission level 1, no changes
  permitted: viewers and validators flag any later revision, also one that only draws on a page (an
  overlay that whites out the conclusion), where an approval signature would only say "not the whole
  document".  The seal's optional RFC 3161 signature timestamp sits inside the signature (PAdES B-T), so
  no later document timestamp is needed; extending it to B-LTA would need level 2 instead.
* The visible stamp is drawn with an embedded, subset DejaVu Sans (pyHanko's OpenType
  glyph accumulator).  pyHanko's default stamp uses a non-embedded Courier, which
  violates PDF/A's "all fonts embedded" rule (ISO 19005-3 §6.2.11.4).  Its ToUnicode map is
  written as single-code entries (ISO 32000-1 §9.10.3), so the stamp's text can be extracted.
* Tagged PDF: the signature widget gets a human-readable field name (/TU) and is nested in a /Form
  structure element at the end of the document's structure tree, where the stamp is on the page
  (ISO 14289-1 §7.18.4, PDF/UA-1).
* The document information dictionary and XMP packet are left as the renderer wrote them: they agree
  (ISO 19005-3 §6.6.2.3), and pyHanko's rewrite would let the two producers disagree.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.stamp import TextStampStyle

from .collector import with_fewer_full_collections

if TYPE_CHECKING:  # pdf.py imports WeasyPrint, which signing alone does not need
    from .pdf import SignatureBox
    from .seal import Seal

__all__ = ["STAMP_FONT_PATH", "SigningError", "TimestampError", "sign_pdf"]

STAMP_FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
STAMP_FONT_SIZE = 9
STAMP_LEADING = 11


class SigningError(Exception):
    """Sealing the PDF failed; the message is an English sentence."""


class TimestampError(SigningError):
    """The time-stamping authority could not be reached or gave no usable timestamp."""


def _timestamp_failure(exc: BaseException) -> TimestampRequestError | None:
    """The timestamp client's error behind ``exc``, if the TSA is why signing failed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TimestampRequestError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@lru_cache(maxsize=4)
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _stamp_font_program(path: Path, text: str) -> bytes:
    """A copy of the font reduced to ``text``'s glyphs and rescaled to 1000 units per em.

    pyHanko 0.38's glyph accumulator writes /W widths, TJ kerning adjustments and the
    FontDescriptor metrics in raw font units, while PDF glyph space is 1/1000 em
    (ISO 32000-1 §9.2.4).  With DejaVu's 2048 units per em every glyph was drawn twice
    as wide apart, and the /W array disagreed with the embedded program's advance
    widths — itself a PDF/A violation (ISO 19005-3 §6.2.11.5).  A font whose em *is*
    1000 units makes pyHanko's numbers correct.  Subsetting first keeps the rescale at
    ~0.1 s instead of ~2 s for the whole font, and dropping FFTM silences fontTools'
    "FFTM NOT subset" log line.
    """
    font = TTFont(io.BytesIO(_font_bytes(path)))
    options = subset.Options()
    options.hinting = False  # TrueType instructions do not survive a unit rescale
    options.drop_tables += ["FFTM", "MATH"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(text=text or " ")
    subsetter.subset(font)
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


class _StampGlyphs(GlyphAccumulator):
    """pyHanko's accumulator with a ToUnicode CMap of ``bfchar`` entries only, at most 100 per block
    (ISO 32000-1 §9.10.3 and the CMap syntax of Adobe Technical Note 5411): pyHanko 0.38 writes ranges
    with arrays that independent checkers report as a malformed map."""

    def _format_tounicode_cmap(self):
        pairs = sorted(self._cid_to_unicode.items())
        lines = []
        for start in range(0, len(pairs), 100):
            block = pairs[start:start + 100]
            lines.append(f"{len(block)} beginbfchar")
            lines += [f"<{cid:04X}> <{text.encode('utf-16be').hex().upper()}>" for cid, text in block]
            lines.append("endbfchar")
        program = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                   "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                   "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                   "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                   + "\n".join(lines)
                   + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
        stream = generic.StreamObject(stream_data=program.encode("ascii"))
        stream.compress()
        return stream


_UNAMBIGUOUS: dict[type, type] = {}


def _unambiguous(stream: generic.StreamObject) -> None:
    """Make ``stream`` write its data uncompressed where the compressed data would end in a carriage
    return: before the line feed pyHanko writes ahead of ``endstream``, a CR LF reads as the end-of-line
    marker, one byte short of /Length (ISO 19005-3 §6.1.7.1; report/pdf.py does the same for the report).
    zlib data ends with the Adler-32 of the content, so about one stream in 256 would."""
    cls = type(stream)
    if cls not in _UNAMBIGUOUS:
        class Unambiguous(cls):  # type: ignore[valid-type, misc]
            @property
            def encoded_data(self) -> bytes:
                data = super().encoded_data
                if data.endswith(b"\r") and "/Filter" in self:
                    self.strip_filters()
                    data = super().encoded_data
                return data

        Unambiguous.__name__ = f"Unambiguous{cls.__name__}"
        _UNAMBIGUOUS[cls] = Unambiguous
    stream.__class__ = _UNAMBIGUOUS[cls]


class _SealWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves /Info and the XMP packet as they are (module docstring), and
    writes no stream whose data ends in a carriage return (``_unambiguous``): the streams it updates, the
    ones it adds (the stamp, its font, an object stream) and its cross-reference stream."""

    def _update_meta(self):  # pyHanko 0.38: called once, after the font subsets are written, before output
        for obj in self.objects.values():
            if isinstance(obj, generic.StreamObject):
                _unambiguous(obj)

    def add_object(self, obj, obj_stream=None, idnum=None):
        if isinstance(obj, generic.StreamObject):
            _unambiguous(obj)
        return super().add_object(obj, obj_stream=obj_stream, idnum=idnum)

    def _populate_trailer(self, trailer):
        if isinstance(trailer, generic.StreamObject):  # the cross-reference stream
            _unambiguous(trailer)
        super()._populate_trailer(trailer)


class _StampFontFactory(FontEngineFactory):
    """Feeds pyHanko's ``GlyphAccumulator`` an in-memory, 1000-upem subset of the font.

    Also avoids the stock ``GlyphAccumulatorFactory`` leaving the font file open (a
    ResourceWarning per signature, an error under ``filterwarnings = error``).
    """

    def __init__(self, font_path: Path, font_size: int, text: str) -> None:
        self.font_path = font_path
        self.font_size = font_size
        self.text = text

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return _StampGlyphs(
            writer=writer,
            font_handle=io.BytesIO(_stamp_font_program(self.font_path, self.text)),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


def _stamp_style(font_path: Path, text: str) -> TextStampStyle:
    return TextStampStyle(
        stamp_text="%(lines)s",
        text_box_style=TextBoxStyle(
            font=_StampFontFactory(font_path, STAMP_FONT_SIZE, text),
            font_size=STAMP_FONT_SIZE,
            leading=STAMP_LEADING,
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(6),
            inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
        ),
        border_width=1,
        background=None,
    )


def _field_reference(writer, field_name: str):
    for reference in writer.root["/AcroForm"]["/Fields"]:
        if str(reference.get_object().get("/T")) == field_name:
            return reference
    raise SigningError(f"The signature field {field_name} was not created.")


def _tag_widget(writer, field_name: str, page_index: int, label: str) -> None:
    """Nest the signature widget in a /Form structure element (ISO 14289-1 §7.18.4), appended to the
    document element: the stamp is the last thing on the last page of a report. Untagged files are left
    as they are."""
    tree = writer.root.get("/StructTreeRoot")
    if tree is None:
        return
    tree = tree.get_object()
    widget_ref = _field_reference(writer, field_name)
    widget = widget_ref.get_object()
    page_ref = writer.find_page_for_modification(page_index)[0]
    parent_tree = tree["/ParentTree"].get_object()
    numbers = parent_tree["/Nums"]
    key = int(tree.get("/ParentTreeNextKey", 0))
    key = max([key] + [int(numbers[i]) + 1 for i in range(0, len(numbers), 2)])
    kids = tree["/K"]
    document_ref = kids.raw_get(0) if isinstance(kids, generic.ArrayObject) else tree.raw_get("/K")
    document = document_ref.get_object()
    form = generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/StructElem"),
        pdf_name("/S"): pdf_name("/Form"),
        pdf_name("/P"): document_ref,
        pdf_name("/Pg"): page_ref,
        pdf_name("/Alt"): generic.TextStringObject(label),
        pdf_name("/K"): generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/OBJR"), pdf_name("/Obj"): widget_ref, pdf_name("/Pg"): page_ref}),
    })
    form_ref = writer.add_object(form)
    document["/K"].append(form_ref)
    writer.mark_update(document_ref)
    widget[pdf_name("/StructParent")] = generic.NumberObject(key)
    writer.mark_update(widget_ref)
    numbers.append(generic.NumberObject(key))
    numbers.append(form_ref)
    writer.update_container(parent_tree)
    tree[pdf_name("/ParentTreeNextKey")] = generic.NumberObject(key + 1)
    writer.update_container(tree)


@with_fewer_full_collections
def sign_pdf(
    pdf: bytes,
    seal: Seal,
    *,
    box: SignatureBox | None,
    stamp_lines: list[str],
    reason: str,
    name: str,
    location: str | None = None,
    field_name: str = "Signature1",
    field_label: str | None = None,
    timestamper=None,
) -> bytes:
    """Return ``pdf`` certified by ``seal`` with a PAdES signature in an incremental update.

    With ``box`` the signature is visible on ``box.page_index`` inside the rectangle,
    showing ``stamp_lines``; without it the signature field is invisible. ``field_label``
    is the field's human-readable name (/TU, read out by assistive technology).
    ``timestamper`` (a pyHanko ``TimeStamper``) adds a signature timestamp (PAdES B-T).
    """
    stamp_text = "\n".join(stamp_lines)
    label = field_label or (stamp_lines[0] if stamp_lines else "Signature")
    try:
        writer = _SealWriter(io.BytesIO(pdf))
        page_count = int(writer.root["/Pages"]["/Count"])
    except Exception as exc:
        raise SigningError(f"The document to seal is not a readable PDF: {exc}") from exc

    if box is not None:
        if not 0 <= box.page_index < page_count:
            raise SigningError(
                f"The signature box is on page {box.page_index + 1}, "
                f"but the document has {page_count} pages."
            )
        if box.x2 <= box.x1 or box.y2 <= box.y1:
            raise SigningError("The signature box has no area.")
        field_spec = fields.SigFieldSpec(
            sig_field_name=field_name,
            on_page=box.page_index,
            # pyHanko annotates the box as int, but takes PDF user-space numbers (ISO 32000-1 §8.3.2.3).
            box=(round(box.x1, 2), round(box.y1, 2), round(box.x2, 2), round(box.y2, 2)),  # type: ignore[arg-type]
            readable_field_name=label,
        )
        if not STAMP_FONT_PATH.is_file():
            raise SigningError(f"The stamp font {STAMP_FONT_PATH} is not installed.")
        stamp_style = _stamp_style(STAMP_FONT_PATH, stamp_text)
        page_index = box.page_index
    else:
        field_spec = fields.SigFieldSpec(sig_field_name=field_name, readable_field_name=label)
        stamp_style = None
        page_index = 0
    try:
        fields.append_signature_field(writer, field_spec)
        _tag_widget(writer, field_name, page_index, label)
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"The signature field could not be added: {exc}") from exc

    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=name,
        location=location,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=seal.signer,
        timestamper=timestamper,
        stamp_style=stamp_style,
    )
    try:
        output = pdf_signer.sign_pdf(
            writer,
            appearance_text_params={"lines": stamp_text},
        )
    except Exception as exc:
        failure = _timestamp_failure(exc)
        if failure is not None:
            raise TimestampError(f"No signature timestamp could be obtained: {failure}") from exc
        raise SigningError(f"The document could not be sealed: {exc}") from exc
    return output.getvalue()
