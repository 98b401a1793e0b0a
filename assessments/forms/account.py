"""The user's own account: whether e-mail notifications are sent (the password form is the account view's)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.validators import InputRequired

from .common import Form, as_choices


class NotificationSettingsForm(Form):
    email_notifications = RadioField(
        _l("E-mail me when something waits for me"), validators=[InputRequired(_l("Choose one of the alternatives."))],
        choices=as_choices([("yes", _l("Yes")), ("no", _l("No, the list on my start page is enough"))]))
