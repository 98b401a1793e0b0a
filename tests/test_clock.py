"""The installation's day is the day in Sweden, whatever the server's time zone: an hour before midnight UTC
(two in summer) it is already tomorrow, and review dates and the waiting list follow it (assessments/clock.py)."""
from __future__ import annotations

from datetime import date, datetime

from assessments import clock
from assessments.extensions import db
from assessments.models import Status
from tests.factories import KOMMUN
from tests.test_waiting import entries, make, waiting


def test_today_is_the_day_in_sweden_in_winter_and_in_summer(monkeypatch):
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 11, 29, 22, 59))
    assert clock.today() == date(2026, 11, 29)
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 11, 29, 23, 30))  # 00:30 CET
    assert clock.today() == date(2026, 11, 30)
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2026, 6, 30, 22, 30))  # 00:30 CEST
    assert clock.today() == date(2026, 7, 1)


def test_a_review_due_yesterday_in_sweden_is_overdue_although_it_is_still_that_day_in_utc(app, client, auth,
                                                                                          demo_orgs, monkeypatch):
    # Years ahead, so that a server clock read anywhere instead would not find the review due at all.
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2031, 1, 9, 23, 30))
    with app.app_context():
        due = make("exempelkommun", "Förfallen i natt", Status.APPROVED, review_due=date(2031, 1, 9))
        db.session.commit()
    auth.login(f"jurist@{KOMMUN}")
    assert ("Uppföljning", f"/assessments/{due}", "Förfallen i natt",
            "Uppföljningen skulle ha gjorts senast 2031-01-09 (artikel 35.11).") in entries(waiting(client))
