"""The installation's day. Every date a user reads or decides by (review dates and whether they are overdue,
"verified on", "requested on", the waiting list, the file name of a CSV) is a day in Sweden
(report/identity.LOCAL_TIME), whatever time zone the server runs in: between midnight in Sweden and
midnight UTC the two disagree about what today is."""
from __future__ import annotations

from datetime import date

from .models import utcnow
from .report.identity import local_time


def today() -> date:
    """Today in Sweden."""
    return local_time(utcnow()).date()
