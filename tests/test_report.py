"""The signed report a regulator reads: every part present for each demo organisation in both
languages, no answer missing, "Page X of Y" agreeing with the page count, and no blank page."""
from __future__ import annotations

import io
import re
import subprocess

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from assessments import workflow
from assessments.answers import catalog_of, load_answers, screening, visible_slots
from assessments.demo import create_demo_assessment, demo_names
from assessments.extensions import db
from assessments.models import Role, User
from assessments.signoff import archive, sign_approval
from tests.conftest import require_tool

PARTS = {
    "sv": ["Innehåll", "Krävs en konsekvensbedömning?", "Risker", "Inneboende risk (före åtgärder)",
           "Restrisk (efter åtgärder)", "Åtgärdsplan", "Dataskyddsombudets råd och de registrerades synpunkter",
           "Slutsats", "Förhandssamråd med IMY", "Granskning", "Godkännande", "Granskad och godkänd",
           "Bilaga: sammanfattning av händelseloggen och kontrollsummor", "SHA-256 för answers.json"],
    "en": ["Contents", "Is a DPIA required?", "Risks", "Inherent risk (before measures)",
           "Residual risk (after measures)", "Action plan", "The DPO's advice and the data subjects' views",
           "Conclusion", "Prior consultation with IMY", "Review", "Approval", "Reviewed and approved",
           "Appendix: audit summary and hashes", "SHA-256 of answers.json"],
}
FOOTER = {"sv": "Sida {} av {}", "en": "Page {} of {}"}


def flat(text: str) -> str:
    return " ".join(text.split())


def sign_demo(name: str, lang: str) -> tuple[bytes, object]:
    assessment = create_demo_assessment(name)
    assessment.language = lang
    reviewer = db.session.scalars(db.select(User).where(User.organisation_id == assessment.organisation_id,
                                                        User.role == Role.LEGAL)).first()
    workflow.submit_for_review(assessment, assessment.author)
    db.session.flush()
    result = sign_approval(assessment, reviewer, expected_version=assessment.version,
                           registration_number="KS 2026/77")
    db.session.commit()
    return archive().read(result.document.path), assessment


def rendered_answer(question, value, lang) -> list[str]:
    """Fragments of the answer as the report prints it."""
    if question.type in ("single_choice", "yes_no"):
        return [question.option_label(value, lang)]
    if question.type == "multiple_choice":
        return [question.option_label(v, lang) for v in value]
    return [flat(value)[:40]]


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("name", demo_names())
def test_every_part_and_every_answer_is_in_the_signed_report(app, demo_orgs, name, lang):
    with app.app_context():
        pdf, assessment = sign_demo(name, lang)
        reader = PdfReader(io.BytesIO(pdf))
        pages = [flat(page.extract_text()) for page in reader.pages]
        text = " ".join(pages)
        for part in PARTS[lang]:
            assert part in text, part
        assert assessment.organisation.name in text and "KS 2026/77" in text
        assert f"KB-{assessment.organisation_id}-{assessment.id}-r1" in text
        answers = load_answers(assessment)
        catalog = catalog_of(assessment)
        level = screening(assessment, answers).level
        compact = text.replace(" ", "")
        for section in catalog.sections:
            assert flat(section.title.get(lang)) in text, section.key
            for slot in visible_slots(assessment, section, answers, level):
                value = answers.get(slot.key)
                if value in (None, "", []):
                    continue
                for fragment in rendered_answer(slot.question, value, lang):
                    # pypdf may join or split words at line ends; compare without spaces.
                    assert fragment.replace(" ", "") in compact, (slot.key, fragment)
        # The PDF agrees with the register: each active risk with its R-number, ratings, treatment and,
        # where the residual is lower than the inherent rating, the justification naming its measures.
        from assessments.report.document import TREATMENT_LABELS
        from assessments.risk import service
        from assessments.risk.presenter import present

        risks = service.risks_of(assessment)
        history = service.rating_history(risks)
        with force_locale(lang):
            treatments = {t: str(label) for t, label in TREATMENT_LABELS.items()}
        for view in present(assessment, risks):
            risk = view.risk
            if not risk.active:
                continue
            row = compact[compact.index((view.number + view.title).replace(" ", "")[:40]):]
            row = row[:row.index(f"{risk.residual_likelihood}×{risk.residual_severity}") + 3]
            assert f"{risk.inherent_likelihood}×{risk.inherent_severity}" in row, view.number
            assert treatments[risk.treatment].replace(" ", "") in row, view.number
            if service.lowered(risk):
                why = history[risk.id][-1].justification
                assert why.replace(" ", "")[:60] in row, view.number
    total = len(reader.pages)
    for number, page in enumerate(pages, start=1):
        assert FOOTER[lang].format(number, total) in page, f"page {number}"
    assert reader.metadata.title == assessment.title


def test_no_page_is_blank_and_the_report_is_pdfa_with_answers_attached(app, demo_orgs, tmp_path):
    from PIL import Image

    pdftoppm = require_tool("pdftoppm")
    with app.app_context():
        pdf, _assessment = sign_demo(demo_names()[0], "sv")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "20", "-png", str(path), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(PdfReader(io.BytesIO(pdf)).pages)
    for image_path in images:
        image = Image.open(image_path).convert("L")
        width, height = image.size
        # The body (between running header and footer) must have ink on it.
        body = image.crop((0, int(height * 0.08), width, int(height * 0.92)))
        histogram = body.histogram()  # 256 grey levels
        dark = sum(histogram[:200])
        assert dark > 30, f"{image_path.name} looks blank"
    meta = subprocess.run([require_tool("pdfinfo"), "-meta", str(path)], capture_output=True, text=True).stdout
    assert re.search(r'pdfaid:part(="|>)3', meta)


def test_long_answers_and_every_platform_break_cleanly(app, demo_orgs):
    from assessments.catalog import PLATFORMS
    from assessments.models import Answer
    from assessments.report.document import report_html
    from assessments.report.pdf import render_pdf

    with app.app_context(), app.test_request_context():
        assessment = create_demo_assessment(demo_names()[0])
        assessment.platforms = list(PLATFORMS)
        assessment.other_platform_name = "Mastodon"
        words = [f"ord{n}" for n in range(2000)]
        long_answer = " ".join(words)  # ~15,000 characters, longer than a page
        row = db.session.scalars(db.select(Answer).where(Answer.assessment_id == assessment.id,
                                                         Answer.question_key == "purposes")).one()
        row.value = long_answer
        db.session.flush()
        html = report_html(assessment, load_answers(assessment), answers_sha256="0" * 64, signature=None)
        pdf = render_pdf(html, answers_json=b"{}", title=assessment.title, lang="sv")
        db.session.rollback()
    reader = PdfReader(io.BytesIO(pdf.data))
    pages = [flat(page.extract_text()) for page in reader.pages]
    text = " ".join(pages)
    # Nothing clipped: the first, a middle and the last word of the long answer are all in the document.
    for word in (words[0], words[1000], words[-1]):
        assert re.search(rf"\b{word}\b", text), word
    for name in ("Facebook", "Instagram", "LinkedIn", "YouTube", "TikTok", "X", "Mastodon"):
        assert f" {name} " in f" {text} "
    # No orphaned heading: a platform heading is never the last thing on a page.
    for page in pages:
        body = page.rsplit("Sida", 1)[0].strip()
        assert not re.search(r"(Facebook|Instagram|LinkedIn|YouTube|TikTok|Mastodon)$", body), body[-80:]
