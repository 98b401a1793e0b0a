"""Text a user writes is stored exactly as written, except that control characters are refused.

PostgreSQL cannot store NUL in a text column (a title with NUL was a 500 there; answers, kept as JSON, took
it on into the export and the PDF), XML 1.0 forbids the C0 controls in the PDF/A's XMP metadata, and all are
invisible to a reviewer, so they could hide content in a signed record (tests/test_input_properties.py). Tab,
newline and carriage return are ordinary text. Lone surrogates cannot come from a form (Werkzeug keeps bytes
that are not UTF-8 as their literal %XX escapes) but can from a JSON import ("\\ud800"), and cannot be encoded
as UTF-8. Text is otherwise not normalised to NFC: it is the author's record, and its answers.json checksum is
signed (tests/test_unicode.py).
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from .errors import Invalid

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_CHARACTERS_MESSAGE = _l("This text contains invisible control characters, which cannot be saved. They "
                                "often come with text pasted from another program: remove them (for example by "
                                "typing the text again) and save again.")


def has_control_characters(value: object) -> bool:
    return isinstance(value, str) and CONTROL_CHARACTERS.search(value) is not None


def require_plain_text(*values: object) -> None:
    """For the services that take text outside WTForms (comments, risks, measures, the consultation record):
    refuse before anything is written, with the same message as the forms."""
    if any(has_control_characters(value) for value in values):
        raise Invalid(CONTROL_CHARACTERS_MESSAGE)
