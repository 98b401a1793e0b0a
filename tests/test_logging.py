"""One logging configuration: a request id on every line and in the response, JSON lines when asked for,
and one line for each refused action and failed login (never a password)."""
from __future__ import annotations

import json
import logging

from assessments import create_app
from assessments.extensions import db
from assessments.logs import JsonLines, RequestContext
from tests.conftest import _config


def test_every_response_names_its_request_and_the_log_lines_carry_it(app, client, demo_orgs, caplog):
    caplog.set_level(logging.INFO, logger="assessments")
    response = client.post("/login", data={"email": "kommunikator@exempelkommun.example", "password": "fel fel fel"})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 16 and client.get("/login").headers["X-Request-ID"] != request_id
    failed = [r for r in caplog.records if "login failed" in r.getMessage()]
    assert failed and all(getattr(r, "request_id", None) == request_id for r in failed)
    assert all("fel fel fel" not in r.getMessage() for r in caplog.records)


def test_a_refused_action_is_one_line_with_who_and_why(app, client, auth, demo_orgs, caplog):
    from tests.factories import answered_assessment

    with app.app_context():
        assessment_id = answered_assessment().id
    auth.login("lasare@exempelkommun.example")
    caplog.set_level(logging.INFO, logger="assessments")
    client.post(f"/assessments/{assessment_id}/submit")
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert refusals == ["refused 403 Forbidden for lasare@exempelkommun.example: You may not submit this "
                        "assessment."]


def test_json_lines_hold_the_request_and_the_message():
    record = logging.LogRecord("assessments.views.auth", logging.WARNING, __file__, 1, "login failed: %s", ("x",),
                               None)
    RequestContext().filter(record)
    entry = json.loads(JsonLines().format(record))
    assert entry["level"] == "WARNING" and entry["message"] == "login failed: x"
    assert entry["request_id"] == "-" and entry["logger"] == "assessments.views.auth" and entry["time"]


def test_a_trusted_proxys_request_id_is_kept_and_a_strangers_is_not(migrated, tmp_path, seal_dir):
    for proxies, expected in ((1, "edge-4f2a9c1d"), (0, None)):
        app = create_app(_config(migrated, tmp_path, seal_dir, TRUSTED_PROXIES=proxies))
        try:
            answer = app.test_client().get("/login", headers={"X-Request-ID": "edge-4f2a9c1d"})
            assert (answer.headers["X-Request-ID"] == "edge-4f2a9c1d") is (expected is not None)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def test_https_can_be_set_in_the_instance_configuration(migrated, tmp_path, seal_dir, monkeypatch):
    monkeypatch.delenv("KONSEKVENS_HTTPS", raising=False)
    app = create_app(_config(migrated, tmp_path, seal_dir, HTTPS=True))
    try:
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
