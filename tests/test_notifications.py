"""E-mail notifications against a real SMTP server in the test process (aiosmtpd): who receives what, in
which language, with which link; the opt-out; a server that is down, refuses or hangs leaves the message
pending with its error while the action succeeds; retries; reminders queued once; nothing crosses
organisations; without SMTP nothing is queued and nothing fails (docs/notifications.md)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select, update

from assessments import clock, create_app, mail
from assessments.extensions import db
from assessments.models import Assessment, AuditEvent, DpoAdvice, Status
from assessments.outbox import Notification, NotificationStatus
from tests.conftest import _config
from tests.factories import BANK, KOMMUN, REGION, answered_assessment, organisation, reload, user
from tests.mailserver import SilentServer, SmtpServer
from tests.services import free_port

BASE = "https://konsekvens.example/app"
SENDER = "konsekvens@kommun.example"


def configure(app, url: str | None, base: str | None = BASE) -> None:
    app.config.update(SMTP_URL=url, MAIL_FROM=SENDER, BASE_URL=base)


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        configure(app, server.url())
        yield server


def draft(app, *, advice: bool = True, language: dict[str, str] | None = None) -> int:
    with app.app_context():
        assessment = answered_assessment()
        if not advice:
            db.session.execute(delete(DpoAdvice).where(DpoAdvice.assessment_id == assessment.id))
        for email, lang in (language or {}).items():
            user(email).language = lang
        db.session.commit()
        return assessment.id


def post(client, url: str, **data):
    response = client.post(url, data=data)
    response.close()  # the response has gone out: what it queued is sent now
    return response


def submit(client, auth, assessment_id: int):
    auth.login(f"kommunikator@{KOMMUN}")
    response = post(client, f"/assessments/{assessment_id}/submit")
    auth.logout()
    return response


def rows(app) -> list[Notification]:
    with app.app_context():
        result = list(db.session.scalars(select(Notification).order_by(Notification.id)))
        db.session.expunge_all()
        return result


def by_recipient(server) -> dict[str, object]:
    return {message.to[0]: message for message in server.received}


def test_submission_tells_legal_and_asks_the_dpo_each_in_their_language_with_the_link(app, client, auth,
                                                                                        demo_orgs, smtp):
    assessment_id = draft(app, advice=False, language={f"jurist@{KOMMUN}": "en"})
    assert submit(client, auth, assessment_id).status_code == 302
    got = by_recipient(smtp)
    assert set(got) == {f"jurist@{KOMMUN}", f"dso@{KOMMUN}"}  # not the author, no one of another organisation
    legal, dpo = got[f"jurist@{KOMMUN}"], got[f"dso@{KOMMUN}"]
    with app.app_context():
        title = reload(assessment_id).title
    assert legal.mail_from == SENDER and legal.message["From"] == SENDER
    assert legal.subject == f"To review: {title}" and legal.message["Content-Language"] == "en"
    assert "Hello Jo Jurist," in legal.body and "Kim Kommunikatör submitted the impact assessment" in legal.body
    assert f"{BASE}/assessments/{assessment_id}\n" in legal.body
    assert f"{BASE}/account\n" in legal.body  # where to turn it off
    # The DPO's advice is missing: the DPO is asked for it, in Swedish, with the consultation page's link.
    assert dpo.subject == f"Dataskyddsombudets råd begärs: {title}" and dpo.message["Content-Language"] == "sv"
    assert "Hej Dana Dataskyddsombud!" in dpo.body and "artikel 35.2" in dpo.body
    assert f"{BASE}/assessments/{assessment_id}/consultation\n" in dpo.body
    sent = rows(app)
    assert [(n.kind, n.status) for n in sent] == [("submitted", NotificationStatus.SENT),
                                                  ("dpo_advice_requested", NotificationStatus.SENT)]
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("notification_%"))
                                    .order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["notification_queued"] * 2 + ["notification_sent"] * 2
        # On the trail: which message, what kind, to whom; never its text.
        assert all(set(e.details) == {"notification", "kind", "to"} for e in events)
        assert all(e.assessment_id == assessment_id for e in events)


def test_a_dpo_whose_advice_is_recorded_is_told_of_the_submission(app, client, auth, demo_orgs, smtp):
    assessment_id = draft(app)
    submit(client, auth, assessment_id)
    with app.app_context():
        title = reload(assessment_id).title
    assert by_recipient(smtp)[f"dso@{KOMMUN}"].subject == f"Att granska: {title}"


def test_without_a_base_url_the_link_comes_from_the_request(app, client, auth, demo_orgs, smtp):
    app.config["BASE_URL"] = None
    assessment_id = draft(app)
    submit(client, auth, assessment_id)
    assert f"http://localhost/assessments/{assessment_id}\n" in by_recipient(smtp)[f"jurist@{KOMMUN}"].body


def test_a_command_without_base_url_queues_nothing_and_the_action_is_done(app, demo_orgs, smtp):
    from assessments import workflow

    app.config["BASE_URL"] = None
    assessment_id = draft(app)
    with app.app_context():  # as `flask demo` submits: no request to take an address from
        workflow.submit_for_review(reload(assessment_id), user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        assert reload(assessment_id).status is Status.IN_REVIEW
    assert rows(app) == []


def test_changes_requested_tells_the_author_with_the_reason(app, client, auth, demo_orgs, smtp):
    assessment_id = draft(app)
    submit(client, auth, assessment_id)
    smtp.received.clear()
    auth.login(f"jurist@{KOMMUN}")
    with app.app_context():
        version = reload(assessment_id).version
    response = post(client, f"/assessments/{assessment_id}/request-changes", reason="Lagringstiden saknas.",
                    version=str(version))
    assert response.status_code == 302
    assert [m.to for m in smtp.received] == [[f"kommunikator@{KOMMUN}"]]
    message = smtp.received[0]
    assert message.subject.startswith("Ändringar begärs: ")
    assert "Jo Jurist skickade" in message.body and "Lagringstiden saknas." in message.body
    assert f"{BASE}/assessments/{assessment_id}\n" in message.body


def test_approval_tells_the_author_and_the_dpo_and_send_pending_sends_what_a_command_queued(app, runner,
                                                                                             demo_orgs, smtp):
    from assessments import workflow
    from assessments.signoff import sign_approval

    assessment_id = draft(app)
    with app.app_context():
        assessment = reload(assessment_id)
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.flush()
        sign_approval(assessment, user(f"jurist@{KOMMUN}"), expected_version=assessment.version)
        db.session.commit()
    assert smtp.received == []  # no request: nothing is sent until the queue is worked off
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and "4 sent" in result.output, result.output
    approved = {m.to[0] for m in smtp.received if m.subject.startswith("Godkänd: ")}
    assert approved == {f"kommunikator@{KOMMUN}", f"dso@{KOMMUN}"}  # not the approver
    assert "godkände och signerade" in next(m for m in smtp.received if m.to[0] == f"dso@{KOMMUN}"
                                             and m.subject.startswith("Godkänd")).body
    assert runner.invoke(args=["mail", "send-pending"]).output.startswith("0 sent")  # nothing twice


def test_a_user_who_turned_email_off_gets_none_and_still_sees_it_waiting(app, client, auth, demo_orgs, smtp):
    auth.login(f"dso@{KOMMUN}")
    assert "Skicka e-post till mig" in client.get("/account").get_data(as_text=True)
    assert post(client, "/account", email_notifications="no").status_code == 302
    auth.logout()
    assessment_id = draft(app, advice=False)
    submit(client, auth, assessment_id)
    assert set(by_recipient(smtp)) == {f"jurist@{KOMMUN}"}
    assert {n.email for n in rows(app)} == {f"jurist@{KOMMUN}"}
    auth.login(f"dso@{KOMMUN}")
    waiting = client.get("/").get_data(as_text=True).split('id="my-actions-title"')[1].split("</section>")[0]
    assert f"/assessments/{assessment_id}/consultation" in waiting
    with app.app_context():
        assert db.session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "email_notifications_changed")).all() == [{"enabled": False}]


def test_an_unreachable_server_leaves_the_message_pending_with_its_error_and_the_action_done(app, client, auth,
                                                                                             demo_orgs, runner):
    port = free_port()  # nothing listens here
    configure(app, f"smtp://127.0.0.1:{port}?timeout=2")
    assessment_id = draft(app)
    assert submit(client, auth, assessment_id).status_code == 302
    with app.app_context():
        assert reload(assessment_id).status is Status.IN_REVIEW
    queued = rows(app)
    assert len(queued) == 2 and all(n.status is NotificationStatus.PENDING and n.attempts == 1 for n in queued)
    assert all("ConnectionRefusedError" in n.last_error for n in queued)
    with SmtpServer(port=port) as server:
        # Not yet due: the next attempt waits (mail.RETRY_DELAYS_MINUTES).
        assert runner.invoke(args=["mail", "send-pending"]).output.startswith("0 sent")
        with app.app_context():
            db.session.execute(update(Notification).values(next_attempt_at=Notification.created_at))
            db.session.commit()
        result = runner.invoke(args=["mail", "send-pending"])
        assert result.output.startswith("2 sent"), result.output
        assert {m.to[0] for m in server.received} == {f"jurist@{KOMMUN}", f"dso@{KOMMUN}"}
    assert all(n.status is NotificationStatus.SENT and n.attempts == 2 and n.last_error is None for n in rows(app))


def test_a_refusing_server_records_the_refusal(app, client, auth, demo_orgs):
    with SmtpServer(refuse=True) as server:
        configure(app, server.url())
        assessment_id = draft(app)
        assert submit(client, auth, assessment_id).status_code == 302
        assert server.received == []
    queued = rows(app)
    assert queued and all(n.status is NotificationStatus.PENDING for n in queued)
    assert all("SMTPRecipientsRefused" in n.last_error and "Mailbox unavailable" in n.last_error for n in queued)


def test_a_hanging_server_times_out_and_the_action_is_done(app, client, auth, demo_orgs):
    with SilentServer() as server:
        configure(app, server.url("timeout=1"))
        assessment_id = draft(app)
        assert submit(client, auth, assessment_id).status_code == 302
    with app.app_context():
        assert reload(assessment_id).status is Status.IN_REVIEW
    queued = rows(app)
    assert queued and all(n.status is NotificationStatus.PENDING and "timed out" in n.last_error for n in queued)


def test_a_message_is_given_up_after_the_last_attempt(app, client, auth, demo_orgs, runner):
    configure(app, f"smtp://127.0.0.1:{free_port()}?timeout=2")
    assessment_id = draft(app)
    submit(client, auth, assessment_id)
    for _ in range(mail.MAX_ATTEMPTS - 1):
        with app.app_context():
            db.session.execute(update(Notification).values(next_attempt_at=Notification.created_at))
            db.session.commit()
        runner.invoke(args=["mail", "send-pending"])
    assert all(n.status is NotificationStatus.FAILED and n.attempts == mail.MAX_ATTEMPTS for n in rows(app))
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "notification_given_up"))


def test_without_smtp_nothing_is_queued_and_nothing_fails(app, client, auth, demo_orgs, runner):
    assert app.config["SMTP_URL"] is None
    assessment_id = draft(app, advice=False)
    assert submit(client, auth, assessment_id).status_code == 302
    assert rows(app) == []
    with app.app_context():
        assert reload(assessment_id).status is Status.IN_REVIEW
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action.like("notification_%"))) is None
    assert "nothing is queued" in runner.invoke(args=["mail", "send-due-reminders"]).output
    auth.login(f"dso@{KOMMUN}")  # the waiting list is the notice
    assert f"/assessments/{assessment_id}/consultation" in client.get("/").get_data(as_text=True)


def approved(slug: str, title: str, review_due: date) -> int:
    a = Assessment(organisation_id=organisation(slug).id, title=title, language="sv", catalog_id="social-media",
                   catalog_version=2, platforms=["facebook"], status=Status.APPROVED, review_due=review_due,
                   author_id=user(f"kommunikator@{ {'exempelkommun': KOMMUN, 'regionexempel': REGION}[slug] }").id)
    db.session.add(a)
    db.session.flush()
    return a.id


def test_review_reminders_go_once_per_window_to_author_legal_and_dpo_of_the_organisation(app, runner, demo_orgs,
                                                                                          smtp):
    today = clock.today()
    with app.app_context():
        overdue = approved("exempelkommun", "Försenad", today - timedelta(days=2))
        soon = approved("exempelkommun", "Snart", today + timedelta(days=30))
        approved("exempelkommun", "Senare", today + timedelta(days=31))
        region = approved("regionexempel", "Regionens", today)
        db.session.commit()
    result = runner.invoke(args=["mail", "send-due-reminders"])
    assert result.exit_code == 0 and "9 reminder(s) queued" in result.output, result.output
    for _ in range(2):  # cron every hour: nothing again
        again = runner.invoke(args=["mail", "send-due-reminders"])
        assert "0 reminder(s) queued" in again.output and again.output.rstrip().endswith("0 sent, 0 not sent "
                                                                                         "(0 given up)")
    got = {(m.to[0], m.subject) for m in smtp.received}
    people = ("kommunikator", "jurist", "dso")
    assert got == ({(f"{p}@{KOMMUN}", "Uppföljningen är försenad: Försenad") for p in people}
                   | {(f"{p}@{KOMMUN}", f"Ska följas upp senast {(today + timedelta(days=30)).isoformat()}: Snart")
                      for p in people}
                   | {(f"{p}@{REGION}", "Uppföljningen är försenad: Regionens") for p in people})
    assert not any(m.to[0].endswith(BANK) or "admin@" in m.to[0] for m in smtp.received)
    soon_body = next(m.body for m in smtp.received if m.subject.endswith(": Snart"))
    assert "om 30 dagar" in soon_body and f"{BASE}/assessments/{soon}\n" in soon_body
    keys = {n.key for n in rows(app)}
    assert f"review_overdue:{overdue}:{(today - timedelta(days=2)).isoformat()}:" in " ".join(keys)
    assert all(n.email.endswith(REGION) == (n.assessment_id == region) for n in rows(app))
    # When the near date passes, the overdue reminder follows once.
    with app.app_context():
        db.session.execute(update(Assessment).where(Assessment.id == soon).values(review_due=today))
        db.session.commit()
    assert "3 reminder(s) queued" in runner.invoke(args=["mail", "send-due-reminders"]).output


def test_reminders_need_the_base_url(app, runner, demo_orgs, smtp):
    app.config["BASE_URL"] = None
    result = runner.invoke(args=["mail", "send-due-reminders"])
    assert result.exit_code == 1 and "KONSEKVENS_BASE_URL" in result.output


def test_starttls_and_login(app, client, auth, demo_orgs, tmp_path, monkeypatch):
    """The production form of the URL: smtp://user:password@host:587?starttls=1, with the server's
    certificate checked (trusted here through SSL_CERT_FILE, as a system's CA bundle would)."""
    import ssl

    from aiosmtpd.smtp import AuthResult

    from tests.services import self_signed_certificate

    certificate, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"konsekvens" and auth_data.password == b"hemligt losenord")

    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    with SmtpServer(tls_context=context, require_starttls=True, authenticator=authenticator,
                    server_hostname="localhost") as server:
        configure(app, f"smtp://konsekvens:hemligt%20losenord@localhost:{server.port}?starttls=1")
        assessment_id = draft(app)
        submit(client, auth, assessment_id)
        assert logins == [(b"konsekvens", b"hemligt losenord")]
        assert {m.to[0] for m in server.received} == {f"jurist@{KOMMUN}", f"dso@{KOMMUN}"}


@pytest.mark.parametrize("settings, problem", [
    ({"SMTP_URL": "http://mail.example"}, "smtp://"),
    ({"SMTP_URL": "smtp://mail.example?starttls=yes"}, "starttls must be 0 or 1"),
    ({"SMTP_URL": "smtp://mail.example?timeout=600"}, "timeout"),
    ({"SMTP_URL": "smtp://mail.example"}, "KONSEKVENS_MAIL_FROM"),
    ({"SMTP_URL": "smtp://u:l%C3%B6senord@mail.example", "MAIL_FROM": SENDER}, "ASCII"),
    ({"BASE_URL": "konsekvens.example"}, "KONSEKVENS_BASE_URL"),
])
def test_mail_settings_are_checked_at_start(tmp_path, seal_dir, settings, problem):
    with pytest.raises(ValueError, match=problem):
        create_app(_config("sqlite://", tmp_path, seal_dir, **settings))


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KONSEKVENS_SMTP_URL", "smtp://u:p@mail.example:587?starttls=1")
    monkeypatch.setenv("KONSEKVENS_MAIL_FROM", SENDER)
    monkeypatch.setenv("KONSEKVENS_BASE_URL", BASE)
    monkeypatch.setenv("SECRET_KEY", "x")
    app = create_app(instance_path=tmp_path)
    assert (app.config["SMTP_URL"], app.config["MAIL_FROM"], app.config["BASE_URL"]) == (
        "smtp://u:p@mail.example:587?starttls=1", SENDER, BASE)
