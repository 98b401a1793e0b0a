"""Human-readable labels for roles and statuses, in Swedish and English."""
from flask_babel import lazy_gettext as _l

from .models import Role, Status

ROLE_LABELS = {
    Role.COMMUNICATOR: _l("Communicator"),
    Role.LEGAL: _l("Legal reviewer"),
    Role.DPO: _l("Data protection officer"),
    Role.ADMIN: _l("Administrator"),
    Role.VIEWER: _l("Viewer"),
}

STATUS_LABELS = {
    Status.DRAFT: _l("Draft"),
    Status.IN_REVIEW: _l("In review"),
    Status.CHANGES_REQUESTED: _l("Changes requested"),
    Status.APPROVED: _l("Approved"),
    Status.SUPERSEDED: _l("Superseded"),
}


def role_label(role: Role) -> str:
    return str(ROLE_LABELS[role])


def status_label(status: Status) -> str:
    return str(STATUS_LABELS[status])
