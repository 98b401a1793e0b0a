"""The signed report a regulator reads: for each demo organisation in both languages, a summary of the
decision on page 2, every part and every answer, no raw key, no word of the other language, no word broken
without a hyphen, PDF/A-3a and PDF/UA-1 by an independent checker, a certification no appended change
survives, and an embedded record that follows the published schema and agrees with the register."""
from __future__ import annotations

import io
import json
import re
import subprocess
from html import unescape
from pathlib import Path

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from assessments import workflow
from assessments.answers import catalog_of, load_answers, screening, visible_slots
from assessments.demo import DEMO_DIR, create_demo_assessment, demo_names
from assessments.extensions import db
from assessments.models import Role, User
from assessments.signoff import archive, sign_approval
from tests.conftest import pdf_checker, require_tool

PARTS = {
    "sv": ["Sammanfattning", "Innehåll", "Risker", "Inneboende risk (före åtgärder)",
           "Restrisk (efter åtgärder)", "Åtgärdsplan", "Dataskyddsombudets råd och de registrerades synpunkter",
           "Slutsats", "Förhandssamråd med IMY", "Granskning", "Godkännande", "Granskad och godkänd",
           "Underlag och händelselogg", "SHA-256 för underlaget", "record.json", "Elektroniskt sigill"],
    "en": ["Summary", "Contents", "Risks", "Inherent risk (before measures)",
           "Residual risk (after measures)", "Action plan", "The DPO's advice and the data subjects' views",
           "Conclusion", "Prior consultation with IMY", "Review", "Approval", "Reviewed and approved",
           "Record and audit trail", "SHA-256 of the record", "record.json", "Electronic seal"],
}
FOOTER = {"sv": "Sida {} av {}", "en": "Page {} of {}"}
# Words only the other language's report may contain (the report's own wording, citations and labels;
# words the demo's own answers contain are left out per demo, since answers are printed as written).
OTHER_LANGUAGE = {
    "en": ["förteckning", "skäl", "kap.", "e-sigill", "Sida", "Bilaga", "Verktyget", "tillsynspaketet",
           "verifieringskommandot", "Hantering", "Berörda", "Inneboende", "Restrisk", "Åtgärdsplan", "Slutsats",
           "Godkännande", "Sannolikhet", "Allvarlighetsgrad", "utgåva", "Granskning", "Sammanfattning",
           "Dataskyddslagen", "Kommunallagen", "Arkivlagen", "steg", "kriterium", "användningsfall", "m.fl.",
           "sista stycket", "Frågekatalog", "Färger", "Krävs"],
    "sv": ["Page 2 of", "Summary", "Approved by", "Appendix", "Likelihood", "Severity", "Colours", "may take place",
           "Based on the answers", "Recital", "Chapter", "Guidelines", "use cases", "Residual", "Inherent",
           "Treatment", "Affected", "Measures", "assessment", "Record", "Art. 35(", "e-seal", "demo)"],
}
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def flat(text: str) -> str:
    return " ".join(text.split())


def squeeze(text: str) -> str:
    """Text compared without spaces or hyphens: extraction may split a line anywhere, with or without the
    hyphen the soft hyphen became."""
    return re.sub(r"[\s\-\u00ad\u2010\u200b]", "", text)


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


def pdftotext(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run([require_tool("pdftotext"), *args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def broken_words(lines: list[str], vocabulary: set[str], source: str) -> list[str]:
    """Words split over two lines without a hyphen: a line ending in letters, the next starting with
    lowercase letters, and the two halves together one word of the report (and not two words that follow
    each other in it)."""
    found = []
    for before, after in zip(lines, lines[1:], strict=False):
        end = re.search(r"([^\W\d_]{2,})$", before.rstrip())
        start = re.match(r"([a-zåäöé][^\W\d_]*)", after.lstrip())
        if not end or not start or before.rstrip().endswith("-"):
            continue
        joined = end.group(1) + start.group(1)
        if joined.lower() in vocabulary and f"{end.group(1)} {start.group(1)}" not in source:
            found.append(f"{before[-40:]}|{after[:40]}")
    return found


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("name", demo_names())
def test_the_signed_report_reads_as_a_report_and_is_a_record(app, demo_orgs, name, lang, tmp_path):
    from assessments.answers import RECORDED_SECTIONS
    from assessments.approval import decision_summary
    from assessments.report.document import TREATMENT_LABELS, report_html
    from assessments.report.record import RECORD_FILE, validate
    from assessments.report.verification import attached_files, verify_pdf
    from assessments.review import dpo_advice_of
    from assessments.risk import service
    from assessments.risk.presenter import present
    from assessments.signoff import trusted_seal_certificates

    with app.app_context(), app.test_request_context():
        pdf, assessment = sign_demo(name, lang)
        reader = PdfReader(io.BytesIO(pdf))
        pages = [flat(page.extract_text()) for page in reader.pages]
        text = " ".join(pages)
        compact = squeeze(text)
        for part in PARTS[lang]:
            assert part in text, part
        assert assessment.organisation.name in text and "KS 2026/77" in text
        document_id = f"KB-{assessment.organisation_id}-{assessment.id}-r1"
        cover = pages[0]
        assert document_id in cover and "version" not in cover.lower()  # one version identifier: the id

        # --- the summary, on page 2, with each element of the decision
        summary = decision_summary(assessment)
        conclusion = summary.conclusion
        page2 = squeeze(pages[1])
        with force_locale(lang):
            from assessments.risk.matrix import LEVEL_LABELS

            labels = {
                "sv": ["Sammanfattning", "Syfte", "Plattformar", "Krävsenkonsekvensbedömning?", "Samladrestrisk",
                       "Förhandssamrådmed", "Högstarestriskerna", "Åtgärdersomännuinteärgenomförda",
                       "Dataskyddsombudetsråd", "Godkännande", "Nästaöversyn"],
                "en": ["Summary", "Purpose", "Platforms", "IsaDPIArequired?", "Overallresidualrisk",
                       "PriorconsultationwithIMY", "Highestresidualrisks", "Measuresnotyetdone", "TheDPO'sadvice",
                       "Approval", "Nextreview"]}[lang]
            for label in labels:
                assert label in page2, label
            assert squeeze(str(LEVEL_LABELS[conclusion.overall_level])) in page2
            for hit in summary.screening.triggered:
                assert squeeze(hit.criterion.label.get(lang)) in page2, hit.criterion.key
            for outcome in conclusion.transfers:
                assert squeeze(assessment.platform_name(outcome.platform, lang) + ":") in page2
            views = present(assessment, service.risks_of(assessment))
            remaining = [v for v in views if v.risk.active and v.risk.treatment is not None
                         and v.risk.treatment.value != "avoid"]
            highest = max(remaining, key=lambda v: (v.risk.residual_likelihood >= 3 and v.risk.residual_severity >= 3,
                                                    v.risk.residual_likelihood * v.risk.residual_severity))
            assert squeeze(highest.number + highest.title)[:30] in page2, highest.number
            for measure in summary.open_measures:
                assert squeeze(measure.title)[:30] in page2, measure.title
            reviewer = db.session.scalars(db.select(User).where(User.organisation_id == assessment.organisation_id,
                                                                User.role == Role.LEGAL)).first()
            assert squeeze(reviewer.name) in page2
            assert conclusion.review_due.isoformat() in pages[1]
            if conclusion.prior_consultation_required:
                assert ("IMY-2026-11873" in pages[1]) and squeeze({"sv": "Krävs", "en": "Required"}[lang]) in page2
            advice = dpo_advice_of(assessment)
            followed = {"sv": {"yes": "Följs", "partly": "Delvis följt", "no": "Inte följt"},
                        "en": {"yes": "Followed", "partly": "Partly followed", "no": "Not followed"}}[lang]
            assert squeeze(followed[advice.followed]) in page2

        # --- every answer, once: the consultation section is printed from the formal record
        answers = load_answers(assessment)
        catalog = catalog_of(assessment)
        level = screening(assessment, answers).level
        for section in catalog.sections:
            printed = section.key not in RECORDED_SECTIONS
            assert (flat(section.title.get(lang)) in text) == printed or not printed, section.key
            if not printed:
                continue
            for slot in visible_slots(assessment, section, answers, level):
                value = answers.get(slot.key)
                if value in (None, "", []):
                    continue
                for fragment in rendered_answer(slot.question, value, lang):
                    assert squeeze(fragment) in compact, (slot.key, fragment)
        assert squeeze(advice.advice)[:60] in compact
        assert compact.count(squeeze(advice.advice)[:60]) == 1  # printed once

        # --- no raw key, no help text, no word of the other language
        assert not SNAKE_CASE.findall(text.replace(RECORD_FILE, "")), SNAKE_CASE.findall(text)[:10]
        for section in catalog.sections:
            if section.intro:
                assert squeeze(section.intro.get(lang))[:80] not in compact, section.key
        user_text = (DEMO_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        for word in OTHER_LANGUAGE[lang]:
            if word not in user_text:
                assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text), word

        # --- no word broken without a hyphen (pdftotext's lines, checked against the report's own words)
        html = report_html(assessment, answers, record_sha256="0" * 64, signature=None)
        source = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00ad", "").split())
        vocabulary = {w.lower() for w in re.findall(r"[^\W\d_]+", source)}
        lines = pdftotext(pdf, tmp_path).splitlines()
        assert broken_words(lines, vocabulary, source) == []

        # --- archival and accessible, certified, and a record that agrees with the register
        checker = pdf_checker()
        for profile in ("3a", "ua1"):
            report = checker.validate_pdf_bytes(pdf, profile=profile)
            assert [(f.rule_id, f.message) for f in report.failures] == [], profile
        check = verify_pdf(pdf, trusted_seal_certificates())
        assert check.valid and check.certification_level == 1
        assert document_id in check.reason and check.reason.startswith(
            {"sv": "Granskad och godkänd", "en": "Reviewed and approved"}[lang])
        record = json.loads(attached_files(pdf)[RECORD_FILE])
        validate(record)
        assert record["document"] == {"id": document_id, "language": lang}
        with force_locale(lang):
            treatments = {t: str(label) for t, label in TREATMENT_LABELS.items()}
        by_number = {r["number"]: r for r in record["risks"]}
        for view in views:
            risk, item = view.risk, by_number[view.number]
            assert item["active"] == risk.active
            assert (item["inherent"]["likelihood"], item["inherent"]["severity"], item["residual"]["likelihood"],
                    item["residual"]["severity"]) == (risk.inherent_likelihood, risk.inherent_severity,
                                                      risk.residual_likelihood, risk.residual_severity)
            assert (item["treatment"] or {}).get("decision") == (risk.treatment.value if risk.treatment else None)
            if risk.active:  # and the PDF prints the same ratings and treatment in the risk's row
                register = compact[compact.index("#Risk"):]  # the register, after the summary and maps
                start = register.index(squeeze(view.number + view.title)[:30])
                following = [register.find(squeeze(v.number + v.title)[:30], start + 1) for v in views
                             if v.risk.active and v.risk.number > risk.number]
                row = register[start:min([f for f in following if f > 0], default=len(register))]
                assert f"{risk.inherent_likelihood}×{risk.inherent_severity}" in row, view.number
                assert f"{risk.residual_likelihood}×{risk.residual_severity}" in row, view.number
                assert squeeze(treatments[risk.treatment]) in row, view.number
        assert [m["title"] for m in record["measures"]] == [m.title for m in service.measures_of(assessment)]
        assert record["conclusion"]["overall_residual_level"] == conclusion.overall_level
        assert record["conclusion"]["prior_consultation_required"] == conclusion.prior_consultation_required
        assert [t["platform"] for t in record["conclusion"]["transfers"]] == [t.platform for t in conclusion.transfers]
        assert record["consultation"]["dpo_advice"]["advice"] == advice.advice
        assert record["approval"]["signer"]["name"] == reviewer.name
        assert record["approval"]["registration_number"] == "KS 2026/77"
        assert record["approval"]["attestations"] and all(squeeze(a)[:40] in compact
                                                          for a in record["approval"]["attestations"])
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
        html = report_html(assessment, load_answers(assessment), record_sha256="0" * 64, signature=None)
        pdf = render_pdf(html, record_json=b"{}", title=assessment.title, lang="sv")
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
