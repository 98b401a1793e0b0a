"""Unicode, emoji and right-to-left text kept intact end to end.

A title and answers mixing Swedish, a combining accent, emoji (a ZWJ sequence with a skin tone, a flag, a
heart with its emoji variation selector), Arabic, Hebrew and both directions in one line go in through the
forms and come out identical in the database, the wizard page, the JSON export and its re-import, the
answers.json embedded in the signed PDF, and the PDF's text.

Normalisation: none. Text is stored exactly as written (only surrounding whitespace is trimmed), not
normalised to NFC: the answers are the author's record and their answers.json checksum is signed, so
"e\u0301" stays two code points everywhere (asserted below).

Layout: a text whose first strong character is right-to-left gets ``dir="rtl"`` (``answers.text_direction``,
HTML's ``dir="auto"`` rule computed on the server, because WeasyPrint implements neither ``dir="auto"`` nor
``unicode-bidi: plaintext``), so an Arabic answer is laid out right-to-left in the PDF and the browser.

Emoji: the report font (DejaVu Sans) has Arabic and Hebrew but not most emoji. Without another font
WeasyPrint draws the .notdef box for each of them (and logs it); with Noto Color Emoji installed
(``fonts-noto-color-emoji``, in .ci/run's apt list) Pango picks it for emoji runs and WeasyPrint embeds a
subset whose glyphs are empty outlines, drawing each emoji as a PNG image at its place: every glyph then
comes from an embedded font, the text extracts, and the PDF stays PDF/A-3b.
"""
from __future__ import annotations

import html
import io
import json
import logging
import re
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from assessments import workflow
from assessments.answers import load_answers
from assessments.extensions import db
from assessments.models import Assessment, Role, User
from assessments.report.verification import attached_files
from assessments.signoff import archive, sign_approval
from tests.answering import latest_demo, step_data, version_of
from tests.conftest import require, require_tool
from tests.factories import answered_assessment

AUTHOR = "kommunikator@exempelkommun.example"

SWEDISH = "Åsa Öberg-Ärlig"
COMBINING = "Rene\u0301e"  # "e" + COMBINING ACUTE ACCENT, deliberately not NFC
EMOJI = "👩🏽\u200d💻 🇸🇪 ❤\ufe0f"  # woman technologist with a skin tone (ZWJ), the Swedish flag, a red heart
ARABIC = "مرحبا بالعالم"
HEBREW = "שלום עולם"
MIXED = f"Blandat: {HEBREW} och {ARABIC} på en rad"
TITLE = f"{SWEDISH}: {EMOJI} {HEBREW}"
LONG_ANSWER = "\n".join([f"{SWEDISH} och {COMBINING} skriver {EMOJI}", ARABIC, HEBREW, MIXED])
RTL_ANSWER = f"{ARABIC} – {HEBREW} 2026"  # its first strong character is Arabic: a right-to-left paragraph
LTR_ANSWER = f"{SWEDISH} {EMOJI}"
# Free-text answers: (step, field, value).
ANSWERS = [("description", "accounts", LONG_ANSWER), ("platform", "eu_entity__facebook", RTL_ANSWER),
           ("platform", "eu_entity__instagram", LTR_ANSWER)]
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def post_step(client, assessment_id: int, section: str, platforms: list[str], changes: dict) -> None:
    url = f"/assessments/{assessment_id}/steps/{section}"
    version = version_of(client.get(url).get_data(as_text=True))
    data = {**step_data(latest_demo(), section, platforms), **changes, "version": version, "action": "later"}
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


@pytest.fixture
def written(app, client, auth, demo_orgs):
    """The demo assessment with the mixed texts written through the wizard, and a title through the form."""
    with app.app_context():
        assessment = answered_assessment(latest_demo())
        assessment_id, platforms = assessment.id, list(assessment.platforms)
    auth.login(AUTHOR)
    for section in {section for section, _field, _value in ANSWERS}:
        post_step(client, assessment_id, section, platforms,
                  {field: value for s, field, value in ANSWERS if s == section})
    response = client.post("/assessments/new", data={"title": TITLE, "platforms": ["facebook"], "language": "sv"})
    assert response.status_code == 302
    new_id = int(response.headers["Location"].split("/assessments/")[1].split("/")[0])
    with app.app_context():
        titled = db.session.get(Assessment, new_id)
        assert titled.title == TITLE  # byte-identical through the form and the database
        db.session.get(Assessment, assessment_id).title = titled.title  # the report's title, as written
        db.session.commit()
    return assessment_id


def stored_answers(app, assessment_id: int) -> dict:
    with app.app_context():
        return load_answers(db.session.get(Assessment, assessment_id))


def key(field: str) -> tuple[str, str]:
    question, _sep, platform = field.partition("__")
    return (question, platform)


def test_database_keeps_every_code_point_and_does_not_normalise(app, written):
    answers = stored_answers(app, written)
    for _section, field, value in ANSWERS:
        assert answers[key(field)] == value
        assert answers[key(field)].encode("utf-8") == value.encode("utf-8")
    assert "e\u0301" in answers[("accounts", "")] and "\u00e9" not in answers[("accounts", "")]
    with app.app_context():
        assert db.session.get(Assessment, written).title == TITLE


def test_wizard_and_overview_show_the_text_unchanged_with_its_direction(client, written):
    page = client.get(f"/assessments/{written}/steps/description").get_data(as_text=True)
    textarea = re.search(r'<textarea[^>]*name="accounts"[^>]*>(.*?)</textarea>', page, re.S)
    assert textarea and 'dir="auto"' in textarea.group(0)
    # Browsers drop one newline right after <textarea>; what is left is the answer exactly.
    assert html.unescape(textarea.group(1)).replace("\r\n", "\n").removeprefix("\n") == LONG_ANSWER
    page = client.get(f"/assessments/{written}/steps/platform").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="eu_entity__facebook"[^>]*>', page).group(0)
    assert 'dir="auto"' in field and html.unescape(re.search(r'value="([^"]*)"', field).group(1)) == RTL_ANSWER
    overview = client.get(f"/assessments/{written}").get_data(as_text=True)
    assert f'<div class="prewrap" dir="rtl">{html.escape(RTL_ANSWER)}</div>' in overview
    assert f'<div class="prewrap" dir="auto">{html.escape(LTR_ANSWER)}</div>' in overview
    assert html.escape(LONG_ANSWER) in overview and html.escape(TITLE) in overview


def test_json_export_and_reimport_are_byte_identical(app, client, written):
    exported = client.get(f"/assessments/{written}/export.json")
    assert exported.status_code == 200
    document = json.loads(exported.data.decode("utf-8"))
    values = {(a["question"], a["platform"] or ""): a["value"] for a in document["answers"]}
    for _section, field, value in ANSWERS:
        assert values[key(field)] == value
    assert document["assessment"]["title"] == TITLE
    assert LONG_ANSWER.encode("utf-8") in exported.data.replace(b"\\n", b"\n")  # not \u-escaped
    response = client.post("/assessments/import", data={"file": (io.BytesIO(exported.data), "export.json")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    imported_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    imported = stored_answers(app, imported_id)
    for _section, field, value in ANSWERS:
        assert imported[key(field)] == value
    with app.app_context():
        assert db.session.get(Assessment, imported_id).title == TITLE


def sign(app, assessment_id: int) -> bytes:
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        reviewer = db.session.scalars(select(User).where(User.organisation_id == assessment.organisation_id,
                                                         User.role == Role.LEGAL)).first()
        workflow.submit_for_review(assessment, assessment.author)
        db.session.flush()
        result = sign_approval(assessment, reviewer, expected_version=assessment.version)
        db.session.commit()
        return archive().read(result.document.path)


def emoji_font_installed() -> bool:
    fonts = subprocess.run(["fc-list", ":charset=1f469", "family"], capture_output=True, text=True).stdout
    return "Noto Color Emoji" in fonts


def test_the_signed_pdf_keeps_the_text_and_lays_out_right_to_left(app, written, caplog, tmp_path):
    """One signature (the expensive part) for every check of the PDF."""
    require(emoji_font_installed(), "no emoji font (apt-get install fonts-noto-color-emoji)")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = sign(app, written)
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    log = [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]
    check_answers_json(pdf)
    check_text(path)
    check_glyphs_and_pdfa(path, log)
    check_right_to_left_layout(path)


def check_answers_json(pdf: bytes) -> None:
    assert PdfReader(io.BytesIO(pdf)).metadata.title == TITLE  # the document title (and XMP dc:title)
    embedded = attached_files(pdf)["record.json"]
    document = json.loads(embedded.decode("utf-8"))
    values = {(a["question"], a["platform"] or ""): a["value"] for a in document["answers"]}
    for _section, field, value in ANSWERS:
        assert values[key(field)] == value
    assert document["assessment"]["title"] == TITLE
    assert json.dumps(LONG_ANSWER, ensure_ascii=False).encode("utf-8") in embedded


def check_text(path) -> None:
    text = subprocess.run([require_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    # pdftotext marks right-to-left runs with bidi controls; the characters between them are the text's.
    text = BIDI_CONTROLS.sub("", text)
    for fragment in (SWEDISH, ARABIC, HEBREW, TITLE.split(":")[0], "🇸🇪", "👩🏽"):
        assert fragment in text, fragment
    assert "Rene\u0301e" in text or "Ren\u00e9e" in text  # one accented letter either way, not a lost accent


def check_glyphs_and_pdfa(path, log: list[str]) -> None:
    # WeasyPrint logs each character it has no font for and draws the .notdef box (a PDF/A violation).
    assert not [message for message in log if ".notdef" in message], log
    fonts = subprocess.run([require_tool("pdffonts"), str(path)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert any("Noto-Color-Emoji" in row for row in fonts), fonts
    for row in fonts:
        assert row.split()[-5] == "yes", row  # embedded
    meta = subprocess.run([require_tool("pdfinfo"), "-meta", str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r'pdfaid:part(="|>)3', meta)


def words_with_boxes(path) -> list[tuple[int, float, float, float, str]]:
    """(page, yMin, xMin, xMax, word) for every word, from pdftotext's bounding boxes. Words of a
    right-to-left run come in visual order, their letters reversed."""
    out = subprocess.run([require_tool("pdftotext"), "-enc", "UTF-8", "-bbox", str(path), "-"],
                         capture_output=True, check=True).stdout.decode("utf-8", "replace")
    words, page = [], 0
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        match = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*)</word>', line)
        if match:
            words.append((page, float(match.group(2)), float(match.group(1)), float(match.group(3)),
                          html.unescape(match.group(4))))
    return words


def check_right_to_left_layout(path) -> None:
    words = words_with_boxes(path)
    # The answer column's left edge: where the left-to-right answers start (LONG_ANSWER, LTR_ANSWER: "Åsa").
    column_left = min(x0 for _page, _y, x0, _x1, word in words if word == "Åsa" and x0 > 200)
    shalom = set(HEBREW.split()[0])
    lines = {(page, y) for page, y, _x0, _x1, word in words if word == "2026"}
    rtl = [(page, y) for page, y in lines
           if any(set(w[4]) == shalom for w in words if (w[0], w[1]) == (page, y))]
    assert len(rtl) == 1, "the right-to-left answer's line is not in the PDF's text"
    page, y = rtl[0]
    line = [w for w in words if (w[0], w[1]) == (page, y) and w[2] >= column_left - 1]
    column_right = max(w[3] for w in words if w[0] == page and w[2] >= column_left - 1)
    # Right-to-left: the paragraph is set against the cell's right edge (within a glyph's side bearing
    # of the rightmost text in the column), not its left edge; left-aligned it started at column_left.
    assert min(w[2] for w in line) > column_left + 20, (line, column_left)
    assert max(w[3] for w in line) > column_right - 8, (line, column_right)
