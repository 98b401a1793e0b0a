"""The evidence forms: attaching a file to a question, a risk or a measure, and removing one. The messages
are the service's own (evidence/service.py), so a refusal reads the same whichever caught it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..evidence.model import Relationship
from ..evidence.service import DESCRIPTION_TOO_LONG, WHICH_RELATIONSHIP, WHICH_TARGET
from ..limits import EVIDENCE_DESCRIPTION_MAX
from .common import Form, as_choices, known_choices, no_control_characters

RELATIONSHIPS = as_choices([
    (Relationship.SOURCE.value, _l("Source: the document the answer rests on (an agreement, a decision, a memo, "
                                   "minutes)")),
    (Relationship.SUPPLEMENT.value, _l("Supplementary material: shows it another way (a screenshot, a "
                                       "photograph)")),
])


class EvidenceForm(Form):
    file = FileField(_l("File (PDF, PNG, JPEG or plain text)"),
                     validators=[FileRequired(_l("Choose the file to attach."))])
    # q:<question>:<platform>, r:<risk id> or m:<measure id>; the service checks it names this assessment's.
    target = StringField(_l("What the file supports"), validators=[DataRequired(WHICH_TARGET)])
    relationship = RadioField(_l("What kind of evidence it is"), choices=RELATIONSHIPS,
                              default=Relationship.SOURCE.value, validate_choice=False,
                              validators=[DataRequired(WHICH_RELATIONSHIP), known_choices])
    description = StringField(_l("Description (optional)"), validators=[
        Optional(strip_whitespace=False), no_control_characters,
        Length(max=EVIDENCE_DESCRIPTION_MAX, message=DESCRIPTION_TOO_LONG)])


class RemoveEvidenceForm(Form):
    """Only the CSRF token: what is removed is in the URL."""
