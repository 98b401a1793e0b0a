"""How long each kind of text may be: one place, used by the forms, the services and the import alike.

Generous but finite: a long answer is a few pages of text, never a file. A service checks the same limits
as the form in front of it, so a request that skips the form (or an import) is held to them too.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .errors import Invalid

ASSESSMENT_TITLE_MAX = 200
OTHER_PLATFORM_NAME_MAX = 100
SHORT_ANSWER_MAX = 500  # a one-line answer in the wizard
LONG_ANSWER_MAX = 20_000  # a free-text answer in the wizard
RISK_TITLE_MAX = 300
RISK_DESCRIPTION_MAX = 20_000
AFFECTED_MAX = 2_000
SOURCE_MAX = 2_000
MEASURE_TITLE_MAX = 300
MEASURE_DESCRIPTION_MAX = 5_000
OWNER_MAX = 200
COMMENT_MAX = 5_000
NOTE_MAX = 5_000  # a verdict's note
REASON_MAX = 5_000  # a rating's justification, a treatment's reason, why changes are requested
RECORD_MAX = 20_000  # the DPO's advice, the data subjects' views, IMY's advice, acceptance of residual risk
CASE_NUMBER_MAX = 64  # IMY's case number
REGISTRATION_NUMBER_MAX = 64  # the organisation's diarienummer
EMAIL_MAX = 254  # RFC 5321 §4.5.3.1.3
PERSON_NAME_MAX = 200  # a user's name
EVIDENCE_DESCRIPTION_MAX = 300  # what an evidence file is, in a line

# Evidence files (docs/evidence.md): the sizes are settings (config.py, EVIDENCE_MAX_FILE_BYTES and
# EVIDENCE_MAX_TOTAL_BYTES); what a file may hold is bounded here.
EVIDENCE_MAX_FILES = 50  # per assessment revision
EVIDENCE_MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is refused, a 4K screenshot (8.3 MP) is not
EVIDENCE_MAX_PAGES = 500
EVIDENCE_MAX_PDF_OBJECTS = 200_000  # reachable objects of a PDF; a 500-page scanned agreement has a few thousand


def require_within(text: str | None, maximum: int, message) -> None:
    """Refuse ``text`` longer than ``maximum`` characters with ``message`` (nothing is truncated)."""
    if text is not None and len(text) > maximum:
        raise Invalid(message)


TOO_LONG = _l("The text is too long. Nothing was saved.")
