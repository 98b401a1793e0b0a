"""What names a signed document: its id, the hash of its bytes, and the time zone its times are printed in.

The id ``KB-<organisation>-<assessment>-r<revision>`` is printed on every page, in the seal's stamp and in
the signature's reason (signoff.approval_reason), so a printed page, the PDF and the archive row can be
matched to each other (docs/record-format.md)."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..models import Assessment

LOCAL_TIME = ZoneInfo("Europe/Stockholm")


def document_id(assessment: Assessment) -> str:
    return f"KB-{assessment.organisation_id}-{assessment.id}-r{assessment.revision}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def local_time(moment: datetime) -> datetime:
    """Swedish time (CET/CEST). A naive moment is UTC, as the database stores it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TIME)
