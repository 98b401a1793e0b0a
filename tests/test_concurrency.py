"""Races, proved on PostgreSQL with real concurrent HTTP requests against a live threaded server.

SQLite serialises writers, so these tests only mean something on PostgreSQL (docs/stack-notes.md): without
TEST_DATABASE_URL pointing at PostgreSQL they are skipped; with it, an unreachable server fails them in CI.

* Two legal reviewers approve the same assessment at the same moment, and a double click posts the
  approval twice: exactly one signature, one archived document, one file; the other request gets a
  clear message (never a 500), and never renders, seals or archives anything — it blocks on the
  assessment's row lock (``signoff.claim_for_approval``) until the winner commits, then finds the row changed.
* Two saves of the same wizard step from pages with the same version: one is stored, the other is
  refused with 409 and the stale-page message, and the stored answers are exactly the winner's.
"""
from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from assessments import signoff, workflow
from assessments.errors import DomainError
from assessments.extensions import db
from assessments.models import Answer, ArchivedDocument, Assessment, AuditEvent, Role, Signature, Status, User
from tests.answering import latest_demo, step_data, version_of
from tests.conftest import DEMO_PASSWORD, external_test_database, require
from tests.factories import KOMMUN, answered_assessment, organisation, user

pytestmark = pytest.mark.postgres

HTTP_TIMEOUT = 120  # seconds; sealing takes a few, a hung request must still end the test
APPROVED = "Approved and signed. The signed PDF is archived."
ALREADY = "This assessment has already been approved and signed."
STALE = "Someone else saved this assessment after you opened the page."


@pytest.fixture(scope="session", autouse=True)
def postgresql():
    """Skip unless TEST_DATABASE_URL is PostgreSQL; when it is, the server must answer (a failure in CI)."""
    url = external_test_database() or ""
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL via TEST_DATABASE_URL (SQLite serialises writers, so no race can show)")
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        reachable, detail = True, ""
    except OperationalError as exc:
        reachable, detail = False, str(exc.orig).strip()
    finally:
        engine.dispose()
    require(reachable, f"PostgreSQL at TEST_DATABASE_URL is not reachable: {detail}")


# -- a live server and browsers that talk to it over real sockets ---------------------------------------

@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@dataclass
class Response:
    status: int
    location: str
    body: str
    flashes: list[tuple[str, str]]


class Browser:
    """One browser: its own cookie (session), one connection per request, English pages."""

    def __init__(self, app, host: str) -> None:
        self.app, self.host = app, host
        self.cookie: str | None = None
        self.lock = threading.Lock()

    def request(self, method: str, path: str, data: dict | None = None) -> Response:
        connection = http.client.HTTPConnection(self.host, timeout=HTTP_TIMEOUT)
        headers = {}
        with self.lock:
            if self.cookie:
                headers["Cookie"] = f"session={self.cookie}"
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            content = raw.read().decode("utf-8", "replace")
            set_cookies = raw.headers.get_all("Set-Cookie") or []
        finally:
            connection.close()
        flashes = []
        for header in set_cookies:
            morsel = SimpleCookie(header).get("session")
            if morsel is None:
                continue
            with self.lock:
                self.cookie = morsel.value
            flashes = self.session_flashes(morsel.value)
        return Response(raw.status, raw.headers.get("Location", ""), content, flashes)

    def session_flashes(self, cookie: str) -> list[tuple[str, str]]:
        """The flashed messages this very response set (a shared cookie may later be overwritten)."""
        if not cookie:
            return []
        serializer = self.app.session_interface.get_signing_serializer(self.app)
        return [tuple(item) for item in serializer.loads(cookie).get("_flashes", [])]

    def login(self, email: str) -> Browser:
        self.request("GET", "/language/en")
        response = self.request("POST", "/login", {"email": email, "password": DEMO_PASSWORD})
        assert response.status == 302, f"login failed for {email}: {response.status}"
        return self


def run_together(*jobs):
    """Run the callables in threads released at the same instant; return their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def runner(index, job):
        barrier.wait(timeout=30)
        try:
            results[index] = job()
        except BaseException as exc:  # surfaced in the main thread below
            results[index] = exc

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HTTP_TIMEOUT + 30)
        assert not thread.is_alive(), "a request never finished"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


class LockWatch:
    """Polls pg_stat_activity: did a backend of this database wait on a lock while the requests ran?"""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.max_waiting = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def poll(self) -> None:
        with self.engine.connect() as connection:
            while not self.stop.is_set():
                waiting = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar_one()
                connection.rollback()
                self.max_waiting = max(self.max_waiting, waiting)
                time.sleep(0.02)

    def __enter__(self) -> LockWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.engine.dispose()


@pytest.fixture
def calls(monkeypatch):
    """Records what each approval request did: its claim's outcome, PDFs sealed, archive writes."""
    counted = {"claims": [], "sign_pdf": 0, "store": 0}
    guard = threading.Lock()
    real_claim, real_sign, real_archive = signoff.claim_for_approval, signoff.sign_pdf, signoff.archive

    def claim(assessment, expected_version):
        try:
            real_claim(assessment, expected_version)
        except DomainError as exc:
            with guard:
                counted["claims"].append(str(exc.message))
            raise
        with guard:
            counted["claims"].append("claimed")

    def sign_pdf(*args, **kwargs):
        with guard:
            counted["sign_pdf"] += 1
        return real_sign(*args, **kwargs)

    class CountingArchive:
        def __init__(self, inner):
            self.inner = inner

        def store(self, *args, **kwargs):
            with guard:
                counted["store"] += 1
            return self.inner.store(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(signoff, "claim_for_approval", claim)
    monkeypatch.setattr(signoff, "sign_pdf", sign_pdf)
    monkeypatch.setattr(signoff, "archive", lambda: CountingArchive(real_archive()))
    return counted


# -- setup ----------------------------------------------------------------------------------------------

def in_review_assessment(app) -> tuple[int, int]:
    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        return assessment.id, assessment.version


def second_legal_reviewer(app) -> str:
    email = f"jurist2@{KOMMUN}"
    with app.app_context():
        reviewer = User(email=email, name="Kim Kollega", organisation_id=organisation("exempelkommun").id,
                        role=Role.LEGAL, language="sv")
        reviewer.set_password(DEMO_PASSWORD)
        db.session.add(reviewer)
        db.session.commit()
    return email


def approve_form(page: Response) -> dict:
    return {"version": version_of(page.body), "password": DEMO_PASSWORD, "attest_context": "y",
            "attest_risks": "y", "attest_measures": "y", "attest_commitment": "y"}


def archive_entries(app) -> list[Path]:
    """Every file under the archive root, temporary ones included: an orphan of any kind counts."""
    root = Path(app.config["ARCHIVE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_signed_exactly_once(app, assessment_id: int, responses: list[Response], calls: dict) -> None:
    assert [r.status for r in responses] == [302, 302], [(r.status, r.body[:500]) for r in responses]
    messages = sorted(message for r in responses for _category, message in r.flashes)
    assert messages == sorted([APPROVED, ALREADY]), messages
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.APPROVED
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
        assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 1
        document = db.session.scalars(select(ArchivedDocument)).one()
        signed_events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                          .where(AuditEvent.action == "signed"))
    assert signed_events == 1
    files = archive_entries(app)
    assert [f.relative_to(app.config["ARCHIVE_DIR"]).as_posix() for f in files] == [document.path]
    # The loser never got past the claim: one PDF sealed, one archive write.
    assert calls["sign_pdf"] == 1 and calls["store"] == 1, calls


# -- approval races -------------------------------------------------------------------------------------

def test_two_reviewers_approving_at_once_sign_exactly_once(app, demo_orgs, live_server, calls, migrated):
    assessment_id, _version = in_review_assessment(app)
    other = second_legal_reviewer(app)
    first = Browser(app, live_server).login(f"jurist@{KOMMUN}")
    second = Browser(app, live_server).login(other)
    url = f"/assessments/{assessment_id}/approve"
    forms = [approve_form(b.request("GET", url)) for b in (first, second)]
    assert forms[0]["version"] == forms[1]["version"]

    with LockWatch(migrated) as watch:
        responses = run_together(lambda: first.request("POST", url, forms[0]),
                                 lambda: second.request("POST", url, forms[1]))
    assert_signed_exactly_once(app, assessment_id, responses, calls)
    # Proof that the requests really overlapped: the loser reached the claim while the winner held the
    # row, waited on that lock, then found the row changed (0 rows updated) and was told it is signed.
    assert watch.max_waiting >= 1
    assert sorted(calls["claims"]) == sorted(["claimed", ALREADY]), calls
    with app.app_context():
        signer = db.session.scalars(select(Signature)).one().signer.email
    winner = next(i for i, r in enumerate(responses) if ("success", APPROVED) in r.flashes)
    assert signer == (f"jurist@{KOMMUN}", other)[winner]


def test_double_click_signs_exactly_once(app, demo_orgs, live_server, calls, migrated):
    assessment_id, _version = in_review_assessment(app)
    browser = Browser(app, live_server).login(f"jurist@{KOMMUN}")
    url = f"/assessments/{assessment_id}/approve"
    form = approve_form(browser.request("GET", url))

    with LockWatch(migrated) as watch:
        responses = run_together(lambda: browser.request("POST", url, form),
                                 lambda: browser.request("POST", url, form))
    assert_signed_exactly_once(app, assessment_id, responses, calls)
    assert watch.max_waiting >= 1
    assert sorted(calls["claims"]) == sorted(["claimed", ALREADY]), calls


# -- stale edit -----------------------------------------------------------------------------------------

def draft_with_answers(app) -> int:
    with app.app_context():
        return answered_assessment().id


def fresh_draft(app, browser: Browser) -> int:
    response = browser.request("POST", "/assessments/new", {
        "title": "Facebook och Instagram", "platforms": ["facebook", "instagram"], "language": "sv"})
    assert response.status == 302, response.body[:2000]
    return int(response.location.split("/assessments/")[1].split("/")[0])


# "first answers" found a real race (two first saves of a step collided on the answers' unique index and
# gave a 500); save_step now locks the assessment row and re-checks the version before writing.
@pytest.mark.parametrize("start", ["changing saved answers", "first answers"])
def test_concurrent_saves_of_a_step_keep_exactly_the_winners_answers(app, demo_orgs, live_server, migrated,
                                                                    start):
    first = Browser(app, live_server).login(f"kommunikator@{KOMMUN}")
    second = Browser(app, live_server).login(f"kommunikator@{KOMMUN}")  # the same author in a second tab
    assessment_id = draft_with_answers(app) if start == "changing saved answers" else fresh_draft(app, first)
    with app.app_context():
        platforms = db.session.get(Assessment, assessment_id).platforms
    url = f"/assessments/{assessment_id}/steps/description"
    pages = [b.request("GET", url) for b in (first, second)]
    assert version_of(pages[0].body) == version_of(pages[1].body)
    base = step_data(latest_demo(), "description", platforms)
    submitted = [{**base, "purposes": f"Syftet enligt flik {n}: information till invånarna."}
                 for n in (1, 2)]
    forms = [{**data, "version": version_of(page.body), "action": "later"}
             for data, page in zip(submitted, pages, strict=True)]

    responses = run_together(lambda: first.request("POST", url, forms[0]),
                             lambda: second.request("POST", url, forms[1]))

    statuses = sorted(r.status for r in responses)
    assert statuses == [302, 409], [(r.status, r.body[:800]) for r in responses]
    winner = 0 if responses[0].status == 302 else 1
    loser = responses[1 - winner]
    assert STALE in loser.body
    with app.app_context():
        stored = {(a.question_key, a.platform): a.value for a in db.session.scalars(
            select(Answer).where(Answer.assessment_id == assessment_id))}
    assert stored[("purposes", "")] == submitted[winner]["purposes"]
    for field, value in submitted[winner].items():
        key, _sep, platform = field.partition("__")
        assert stored.get((key, platform)) == value, field
