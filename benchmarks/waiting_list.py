"""The waiting list and e-mail sending, measured with the test suite's fixtures (a real SQLite file, the demo
organisations, a real SMTP server in the process).

1. The dashboard of a legal reviewer with 0 … 12 assessments in review that they have given verdicts on and
   that nothing blocks ("to sign"): the gates are worked out for at most ten of them (assessments/waiting.py),
   so the page's queries grow with them up to that bound and no further.
2. Submitting for review (two recipients) with no SMTP server, with aiosmtpd, and with a server that accepts
   the connection and never answers (timeout 2 s): the response's time, and the sending after it.

Not part of ``make bench``; its figures are copied by hand into docs/benchmarks.md ("Waiting list and
e-mail"). Run: ``.venv/bin/pytest -p tests.conftest -p no:cacheprovider -s -q benchmarks/waiting_list.py``
"""

from __future__ import annotations

import statistics
import time

from assessments import review, workflow
from assessments.answers import catalog_of
from assessments.extensions import db
from tests.factories import KOMMUN, answered_assessment, user
from tests.mailserver import SilentServer, SmtpServer
from tests.queries import count_queries


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def test_dashboard_of_a_reviewer(app, client, auth, demo_orgs):
    auth.login(f"jurist@{KOMMUN}")
    made = 0
    for wanted in (0, 1, 5, 10, 12):
        with app.app_context():
            while made < wanted:
                assessment = answered_assessment()
                workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
                for section in catalog_of(assessment).sections:
                    review.set_verdict(assessment, user(f"jurist@{KOMMUN}"), section.key, "acceptable", "")
                db.session.commit()
                made += 1
        queries, page = count_queries(app, client, "/")
        times = []
        for _ in range(5):
            start = time.perf_counter()
            client.get("/")
            times.append(time.perf_counter() - start)
        print(f"\n{wanted} to sign: {queries} queries, median {ms(statistics.median(times))} "
              f"({ms(min(times))}–{ms(max(times))}), listed {page.count('Att godkänna')}")


def test_submitting_with_and_without_a_mail_server(app, client, auth, demo_orgs):
    for label, server_class, query in (("none", None, ""), ("aiosmtpd", SmtpServer, ""),
                                       ("hanging", SilentServer, "timeout=2")):
        with app.app_context():
            ids = [answered_assessment().id for _ in range(5)]
        server = server_class() if server_class else None
        if server:
            server.__enter__()
        app.config.update(SMTP_URL=server.url(query) if server else None, MAIL_FROM="k@k.example",
                          BASE_URL="https://k.example")
        auth.login(f"kommunikator@{KOMMUN}")
        answered, after = [], []
        for assessment_id in ids:
            start = time.perf_counter()
            response = client.post(f"/assessments/{assessment_id}/submit")
            responded = time.perf_counter()
            response.close()  # the response has gone out: the queued messages are sent now
            after.append(time.perf_counter() - responded)
            answered.append(responded - start)
            assert response.status_code == 302
        auth.logout()
        if server:
            server.__exit__()
        print(f"\nSMTP {label}: response median {ms(statistics.median(answered))}, sending after it median "
              f"{ms(statistics.median(after))}")
