"""Hostile content in answers reaches the PDF as literal text: escaped, never fetched (the package's
autouse guard fails the test on any network connection), never read from the file system."""
import io

from pypdf import PdfReader

from assessments.answers import load_answers
from assessments.extensions import db
from assessments.models import Answer
from assessments.report.document import report_html
from assessments.report.pdf import render_pdf
from tests.factories import answered_assessment

HOSTILE = [
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/hostname">',
    "<style>body { background: url(http://169.254.169.254/latest/meta-data/) }</style>",
    '"><script>alert(1)</script>',
    "Åsa 😀 שלום مرحبا",
]


def test_hostile_answers_are_printed_literally_and_nothing_is_fetched(app, demo_orgs):
    with app.app_context(), app.test_request_context():
        assessment = answered_assessment()
        row = db.session.scalars(db.select(Answer).where(Answer.assessment_id == assessment.id,
                                                         Answer.question_key == "purposes")).one()
        row.value = "\n".join(HOSTILE)
        db.session.flush()
        html = report_html(assessment, load_answers(assessment), record_sha256="0" * 64, signature=None)
        rendered = render_pdf(html, record_json=b"{}", title=assessment.title, lang="sv")
        db.session.rollback()
    assert "<img src=\"file:" not in html and "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert rendered.fetcher_refused == ()  # escaped markup is text: nothing was even asked for
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered.data)).pages)
    for fragment in ('<img src="file:///etc/passwd">', "169.254.169.254", "<script>alert(1)</script>", "Åsa"):
        assert fragment in text, fragment
    assert "root:x:0:0" not in text  # /etc/passwd was not read
