"""render_pdf: PDF/A-3a and PDF/UA-1 structure, the embedded record, safe resource loading, signature box."""
from __future__ import annotations

import io
import re
import shutil
import zlib

import pypdf
import pytest

from assessments.report import pdf as pdf_module
from assessments.report.pdf import (
    ASSETS_DIR,
    PdfRenderError,
    RefusedURL,
    SafeURLFetcher,
    render_pdf,
)
from assessments.report.verification import attached_files

from .conftest import ANSWERS_JSON, report_html, run_tool

A4_WIDTH_PT, A4_HEIGHT_PT = 595.28, 841.89
MM_TO_PT = 72 / 25.4

BILINGUAL_HTML = """<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>Konsekvensbedömning</title></head>
<body>
<h1>Konsekvensbedömning: sociala medier</h1>
<p lang="en">Data protection impact assessment (English summary).</p>
<p>Räksmörgås åäö ÅÄÖ</p>
<table>
  <thead><tr><th>Fråga</th><th>Svar</th></tr></thead>
  <tbody><tr><td>Behövs samtycke?</td><td>Nej, allmänt intresse</td></tr></tbody>
</table>
</body></html>"""


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    result = render_pdf(BILINGUAL_HTML, record_json=ANSWERS_JSON, title="DPIA – Åre kommun", lang="sv")
    path = tmp_path_factory.mktemp("bilingual") / "report.pdf"
    path.write_bytes(result.data)
    return result, path


def _all_stream_bytes(data: bytes) -> bytes:
    """Raw file plus every decodable stream, to search for leaked content."""
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        start = match.end()
        end = data.find(b"endstream", start)
        if end == -1:
            continue
        try:
            chunks.append(zlib.decompress(data[start:end].rstrip(b"\r\n")))
        except zlib.error:
            pass
    return b"\n".join(chunks)


def test_pdfa3_metadata(bilingual):
    result, path = bilingual
    meta = run_tool("pdfinfo", "-meta", path)
    assert re.search(r'pdfaid:part(="|>)3', meta), meta
    info = run_tool("pdfinfo", path)
    assert re.search(r"^Title:\s+DPIA – Åre kommun$", info, re.M), info
    reader = pypdf.PdfReader(io.BytesIO(result.data))
    assert reader.trailer["/Root"]["/Lang"] == "sv"
    assert reader.metadata.title == "DPIA – Åre kommun"
    assert result.page_count == len(reader.pages) == 1


def test_record_attached_once_and_round_trip(bilingual, tmp_path):
    result, path = bilingual
    listing = run_tool("pdfdetach", "-list", path)
    assert listing.splitlines() == ["1 embedded files", "1: record.json"]
    run_tool("pdfdetach", "-saveall", "-o", tmp_path, path)
    assert (tmp_path / "record.json").read_bytes() == ANSWERS_JSON
    assert attached_files(result.data) == {"record.json": ANSWERS_JSON}
    # PDF/A-3 associated file: referenced once from the catalogue's /AF with a relationship (ISO 19005-3 §6.8).
    reader = pypdf.PdfReader(io.BytesIO(result.data))
    associated = reader.trailer["/Root"]["/AF"]
    assert len(associated) == 1
    filespec = associated[0].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    assert filespec["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"


def test_tagged_with_pdfua_identification_and_title_shown(bilingual):
    result, path = bilingual
    assert re.search(r"^Tagged:\s+yes$", run_tool("pdfinfo", path), re.M)
    meta = run_tool("pdfinfo", "-meta", path)
    assert re.search(r'pdfaid:conformance(="|>)A', meta) and re.search(r'pdfuaid:part(="|>)1', meta)
    reader = pypdf.PdfReader(io.BytesIO(result.data))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712 (pypdf BooleanObject)
    assert root["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    assert "/StructTreeRoot" in root
    # ISO 19005-3 §6.6.2.1: the XMP stream is not compressed; Info and XMP name the same producer.
    metadata = root["/Metadata"].get_object()
    assert "/Filter" not in metadata
    assert f'pdf:Producer="{reader.metadata.producer}"' in metadata.get_data().decode()


def test_all_fonts_embedded(bilingual):
    _, path = bilingual
    rows = run_tool("pdffonts", path).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        # columns: name type encoding emb sub uni object ID — "emb" is 5th from the end
        assert row.split()[-5] == "yes", row


def test_swedish_text_extractable(bilingual):
    result, _ = bilingual
    text = pypdf.PdfReader(io.BytesIO(result.data)).pages[0].extract_text()
    for expected in ("Räksmörgås åäö ÅÄÖ", "Konsekvensbedömning", "Fråga", "English summary"):
        assert expected in text


def test_hostile_references_refused(tmp_path):
    html = """<!DOCTYPE html><html lang="sv"><head><title>Elak</title>
<link rel="stylesheet" href="http://169.254.169.254/x.css">
<link rel="attachment" href="file:///etc/hostname">
<style>body { background: url(https://example.com/a.png) }</style></head>
<body><p>Innehåll</p>
<img src="file:///etc/passwd" alt="">
<img src="asset:../../pyproject.toml" alt="">
<img src="asset:%2e%2e/%2e%2e/pyproject.toml" alt="">
<img src="asset://evil.example/report.css" alt="">
<img src="ftp://example.com/x.png" alt="">
</body></html>"""
    result = render_pdf(html, record_json=b"{}", title="Elak", lang="sv")
    refused = set(result.fetcher_refused)
    for url in (
        "file:///etc/passwd",
        "http://169.254.169.254/x.css",
        "file:///etc/hostname",
        "https://example.com/a.png",
        "asset:../../pyproject.toml",
        "asset:%2e%2e/%2e%2e/pyproject.toml",
        "asset://evil.example/report.css",
        "ftp://example.com/x.png",
    ):
        assert url in refused, (url, refused)
    everything = _all_stream_bytes(result.data)
    assert b"root:x:0:0" not in everything
    assert b"[project]" not in everything
    with open("/etc/hostname", "rb") as handle:
        hostname = handle.read().strip()
    if len(hostname) >= 6:
        assert hostname not in everything
    assert attached_files(result.data) == {"record.json": b"{}"}
    assert "Innehåll" in pypdf.PdfReader(io.BytesIO(result.data)).pages[0].extract_text()


def test_fetcher_rules(tmp_path):
    assets = tmp_path / "assets"
    (assets / "css").mkdir(parents=True)
    (assets / "css" / "a.css").write_text("p { color: red }")
    (tmp_path / "secret.txt").write_text("secret")
    (assets / "link.txt").symlink_to(tmp_path / "secret.txt")
    fetcher = SafeURLFetcher(assets_dir=assets)

    for url in ("asset:css/a.css", "asset:/css/a.css", "asset:css/./a.css"):
        response = fetcher.fetch(url)
        assert response.read() == b"p { color: red }"
        assert response.content_type == "text/css"
        assert response.url == "asset:/css/a.css"
        response.close()

    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg=="
    assert fetcher.fetch(png).content_type == "image/png"

    hostile = [
        "asset:link.txt",
        "asset:../secret.txt",
        "asset:css/../../secret.txt",
        "asset:/",
        "asset:missing.css",
        "asset:css\\a.css",
        "data:text/css,p{}",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "http://localhost/",
        "javascript:alert(1)",
    ]
    for url in hostile:
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert fetcher.refused == hostile


def test_report_css_asset_is_fetched():
    if not (ASSETS_DIR / "report.css").is_file():
        pytest.fail("assessments/report/assets/report.css is missing")
    html = report_html(3)  # links href="report.css", relative to the asset: base URL
    result = render_pdf(html, record_json=b"{}", title="T", lang="sv")
    assert result.fetcher_refused == ()


def test_relative_urls_inside_assets(tmp_path, monkeypatch):
    """A stylesheet under assets/ can pull a font from assets/fonts/ by relative URL."""
    assets = tmp_path / "assets"
    (assets / "fonts").mkdir(parents=True)
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf", assets / "fonts" / "mono.ttf")
    (assets / "print.css").write_text(
        '@font-face { font-family: "Egen Mono"; src: url(fonts/mono.ttf); }\n'
        'p { font-family: "Egen Mono"; }\n'
    )
    monkeypatch.setattr(pdf_module, "ASSETS_DIR", assets)
    html = '<html lang="sv"><head><title>T</title><link rel="stylesheet" href="print.css"></head><body><p>Hej på dig</p></body></html>'
    result = render_pdf(html, record_json=b"{}", title="T", lang="sv")
    assert result.fetcher_refused == ()
    path = tmp_path / "out.pdf"
    path.write_bytes(result.data)
    assert "Egen-Mono" in run_tool("pdffonts", path)  # named after the @font-face family


def test_signature_box_on_last_page(rendered, tmp_path):
    box = rendered.signature_box
    assert rendered.page_count >= 3
    assert box is not None
    assert box.page_index == rendered.page_count - 1
    assert 0 <= box.x1 < box.x2 <= A4_WIDTH_PT
    assert 0 <= box.y1 < box.y2 <= A4_HEIGHT_PT
    assert box.x2 - box.x1 == pytest.approx(80 * MM_TO_PT, abs=0.5)
    assert box.y2 - box.y1 == pytest.approx(30 * MM_TO_PT, abs=0.5)


def test_signature_box_matches_drawn_pixels(tmp_path):
    """Paint the field red and check poppler's raster at the computed PDF coordinates."""
    from PIL import Image

    html = report_html(60).replace(
        'style="height:30mm;width:80mm"', 'style="height:30mm;width:80mm;margin-left:40mm;background:#ff0000"'
    )
    result = render_pdf(html, record_json=b"{}", title="T", lang="sv")
    box = result.signature_box
    path = tmp_path / "red.pdf"
    path.write_bytes(result.data)
    page = box.page_index + 1
    run_tool("pdftoppm", "-r", "36", "-png", "-f", page, "-l", page, "-singlefile", path, tmp_path / "page")
    image = Image.open(tmp_path / "page.png").convert("RGB")
    scale = image.height / A4_HEIGHT_PT

    def pixel(x_pt, y_pt):
        return image.getpixel((int(x_pt * scale), int((A4_HEIGHT_PT - y_pt) * scale)))

    centre = pixel((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2)
    assert centre[0] > 200 and centre[1] < 60 and centre[2] < 60, centre
    for x, y in ((box.x1 - 8, box.y1 + 5), (box.x2 + 8, box.y2 - 5), (box.x1 + 5, box.y2 + 8), (box.x1 + 5, box.y1 - 8)):
        assert pixel(x, y) == (255, 255, 255), (x, y)


def test_no_signature_field():
    result = render_pdf(report_html(2, signature_field=False), record_json=b"{}", title="T", lang="en")
    assert result.signature_box is None
    assert pypdf.PdfReader(io.BytesIO(result.data)).trailer["/Root"]["/Lang"] == "en"


def test_record_must_be_bytes():
    with pytest.raises(PdfRenderError):
        render_pdf("<p>x</p>", record_json="{}", title="T", lang="sv")  # type: ignore[arg-type]


def test_a_stream_whose_compressed_data_ends_in_cr_is_written_uncompressed():
    """Compressed data ending in CR reads as CR LF before endstream, one byte short of /Length
    (ISO 19005-3 §6.1.7.1): about one stream in 256, so a report of hundreds of streams meets it."""
    import zlib

    import pydyf

    from assessments.report.pdf import _unambiguous

    # zlib data ends with the Adler-32 of the content, whose last byte moves by 123 per "q\n" (all of 0–255).
    content = next(b"q\n" * n + b"Q" for n in range(1, 1000) if zlib.compress(b"q\n" * n + b"Q", 9).endswith(b"\r"))
    stream = pydyf.Stream([content], compress=True)
    assert stream.data.endswith(b"\r\nendstream")  # what pydyf writes by itself
    stream.__class__ = _unambiguous(pydyf.Stream)
    data = stream.data
    assert b"/FlateDecode" not in data and data.endswith(content + b"\nendstream")
    assert re.search(rb"/Length (\d+)", data).group(1) == str(len(content)).encode()
    normal = pydyf.Stream([b"q Q"], compress=True)
    normal.__class__ = _unambiguous(pydyf.Stream)
    assert b"/FlateDecode" in normal.data  # everything else stays compressed


def test_the_streams_pydyf_builds_while_writing_never_end_in_cr():
    """The object stream and the cross-reference stream are built inside pydyf's write(): a report whose
    cross-reference stream compressed to data ending in CR failed PDF/A-3 (found in about 1 in 50 sealed
    demo reports). The report's write() builds them unambiguously too."""
    import types

    import pydyf

    from assessments.report.pdf import _unambiguous_write

    def pdf_with(title: str) -> pydyf.PDF:
        pdf = pydyf.PDF()
        pdf.info["Title"] = pydyf.String(title)
        pdf.add_object(pydyf.Dictionary({"Type": "/Example"}))
        return pdf

    def written(pdf: pydyf.PDF) -> bytes:
        out = io.BytesIO()
        pdf.write(out, compress=True)
        return out.getvalue()

    ambiguous = next(title for title in (f"t{n}" for n in range(5000))
                     if b"\r\nendstream" in written(pdf_with(title)))
    pdf = pdf_with(ambiguous)
    pdf.write = types.MethodType(_unambiguous_write(), pdf)
    data = written(pdf)
    assert b"\r\nendstream" not in data and b"/Type /XRef" in data and b"/Type /ObjStm" in data
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.metadata.title == ambiguous  # the file still reads through its cross-reference stream
    assert b"\r\nendstream" in written(pdf_with(ambiguous))  # pydyf's own write() is unchanged
