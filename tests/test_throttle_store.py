"""The shared throttle store (README, Operations: login throttling), against a real Redis.

With several workers or machines the failed-login counters live in Redis. If Redis accepts connections but
never answers (a stopped process: SIGSTOP, a full disk, a network that drops packets), a login must not wait
for it: the application gives the Redis client short timeouts itself, whatever the operator's URI says, so
Flask-Limiter's in-memory fallback takes over within a second and failed attempts are still counted — per
process, until Redis answers again.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from assessments import create_app
from assessments.extensions import db
from tests.conftest import DEMO_PASSWORD, _config
from tests.services import RedisServer
from tests.test_login_throttling import KOMMUNIKATOR, PER_ACCOUNT, post_login

pytestmark = pytest.mark.redis

ANSWER_WITHIN = 2.0  # seconds (a login that waits longer for the throttle store is the failure)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def shared_app(app, demo_orgs, redis_server, migrated, tmp_path, seal_dir):
    """The application as an operator configures it for several nodes: a plain redis:// URI."""
    redis_server.client.flushall()
    shared = create_app(_config(migrated, tmp_path / "shared", seal_dir, RATELIMIT_STORAGE_URI=redis_server.url))
    yield shared
    with shared.app_context():
        db.session.remove()
        db.engine.dispose()


def timed(call):
    """Run ``call`` in a thread; (its result, seconds taken). A call that never returns fails the test
    instead of hanging it (the thread finishes once Redis is resumed, see the test's ``finally``)."""
    result: dict = {}

    def run():
        started = time.monotonic()
        result["value"] = call()
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=ANSWER_WITHIN + 8)
    assert not thread.is_alive(), "the login is still waiting for the throttle store"
    return result["value"], result["seconds"], thread


def test_failed_logins_are_counted_in_redis(shared_app, redis_server, tmp_path):
    client = shared_app.test_client()
    for _ in range(PER_ACCOUNT):
        assert post_login(client, KOMMUNIKATOR).status_code == 400
    assert any(b"failed-password-per-account" in key for key in redis_server.keys())
    # Another process (another worker or node) sees the same counters.
    other = create_app(_config(shared_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "other",
                               Path(shared_app.config["SEAL_DIR"]), RATELIMIT_STORAGE_URI=redis_server.url))
    try:
        assert post_login(other.test_client(), KOMMUNIKATOR, DEMO_PASSWORD).status_code == 429
    finally:
        with other.app_context():
            db.engine.dispose()


def test_a_hung_redis_holds_up_no_login_and_failures_still_count_per_process(shared_app, redis_server):
    client = shared_app.test_client()
    assert post_login(client, KOMMUNIKATOR).status_code == 400  # counted in Redis
    threads = []
    redis_server.pause()
    try:
        answers = []
        for _ in range(PER_ACCOUNT + 1):
            response, seconds, thread = timed(lambda: post_login(client, KOMMUNIKATOR))
            threads.append(thread)
            answers.append((response.status_code, round(seconds, 2)))
        # Counted in this process's memory meanwhile: five failures, then throttled.
        assert [status for status, _ in answers] == [400] * PER_ACCOUNT + [429], answers
        assert all(seconds < ANSWER_WITHIN for _, seconds in answers), answers
        response, seconds, thread = timed(lambda: post_login(client, KOMMUNIKATOR, DEMO_PASSWORD))
        threads.append(thread)
        assert response.status_code == 429 and seconds < ANSWER_WITHIN, seconds
        assert "Retry-After" in response.headers
        # Another account still logs in, as quickly.
        response, seconds, thread = timed(lambda: post_login(client, "jurist@exempelkommun.example",
                                                             DEMO_PASSWORD, address="192.0.2.99"))
        threads.append(thread)
        assert response.status_code == 302 and seconds < ANSWER_WITHIN, seconds
    finally:
        redis_server.resume()
        for thread in threads:
            thread.join(timeout=10)


@pytest.mark.parametrize("query", ["socket_timeout=30", "socket_connect_timeout=10", "socket_timeout=abc"])
def test_a_throttle_store_uri_with_long_timeouts_is_refused_at_start(migrated, tmp_path, seal_dir, query):
    with pytest.raises(ValueError, match="KONSEKVENS_RATELIMIT_STORAGE"):
        create_app(_config(migrated, tmp_path, seal_dir, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:1/0?{query}"))


def test_a_lockout_is_noted_once_per_window_however_often_the_locked_page_is_asked_for(shared_app, app):
    """Redis gives a window's expiry in whole seconds (TTL), so its reset time wobbles by up to a second
    from one request to the next; the once-per-window note of a lockout must not wobble with it."""
    from sqlalchemy import func, select

    from assessments.models import AuditEvent

    client = shared_app.test_client()
    for _ in range(PER_ACCOUNT):
        assert post_login(client, KOMMUNIKATOR).status_code == 400
    started = time.monotonic()
    while time.monotonic() - started < 1.5:  # a second and a half of asking, every few milliseconds
        assert post_login(client, KOMMUNIKATOR).status_code == 429
    with app.app_context():
        noted = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "login_locked"))
    assert noted == 1
