"""Failed logins are throttled (NIST SP 800-63B §5.2.2): per account and per client address, only failures
count, a throttled attempt is refused before the password is checked, and the page says how long to wait."""
from __future__ import annotations

from assessments import create_app
from assessments.extensions import db
from tests.conftest import DEMO_PASSWORD, _config

KOMMUNIKATOR = "kommunikator@exempelkommun.example"
JURIST = "jurist@exempelkommun.example"
PER_ACCOUNT = 5  # config.py: LOGIN_LIMIT_PER_EMAIL
PER_ADDRESS = 30  # config.py: LOGIN_LIMIT_PER_ADDRESS


def post_login(client, email, password="fel-lösenord-helt-fel", address="192.0.2.10"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def fail(client, email, times, address="192.0.2.10"):
    for attempt in range(times):
        response = post_login(client, email, address=address)
        assert response.status_code == 400, f"attempt {attempt + 1} was not an ordinary failure"


def logged_in(client) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def test_throttled_after_five_failures_with_retry_after_and_a_swedish_message(client, demo_orgs):
    fail(client, KOMMUNIKATOR, PER_ACCOUNT)
    response = post_login(client, KOMMUNIKATOR)
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    page = response.get_data(as_text=True)
    assert "För många misslyckade försök" in page and "försöka igen om 15 minuter" in page
    assert 'role="alert"' in page and KOMMUNIKATOR in page  # the address stays filled in


def test_the_message_is_in_english_for_an_english_user(client, demo_orgs):
    client.get("/language/en")
    fail(client, KOMMUNIKATOR, PER_ACCOUNT)
    page = post_login(client, KOMMUNIKATOR).get_data(as_text=True)
    assert "Too many failed attempts" in page and "try again in 15 minutes" in page


def test_the_right_password_is_not_accepted_while_throttled(client, demo_orgs):
    fail(client, KOMMUNIKATOR, PER_ACCOUNT)
    response = post_login(client, KOMMUNIKATOR, DEMO_PASSWORD)
    assert response.status_code == 429 and not logged_in(client)


def test_another_account_is_not_affected_by_one_accounts_lockout(client, demo_orgs):
    fail(client, KOMMUNIKATOR, PER_ACCOUNT)
    assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 429
    assert post_login(client, JURIST, DEMO_PASSWORD).status_code == 302 and logged_in(client)


def test_the_account_limit_holds_across_addresses_and_letter_case(client, demo_orgs):
    for n in range(PER_ACCOUNT):
        email = KOMMUNIKATOR.upper() if n % 2 else KOMMUNIKATOR
        assert post_login(client, email, address=f"198.51.100.{n + 1}").status_code == 400
    response = post_login(client, KOMMUNIKATOR, DEMO_PASSWORD, address="203.0.113.99")
    assert response.status_code == 429 and not logged_in(client)


def test_one_address_cannot_spray_many_accounts(client, demo_orgs):
    for n in range(PER_ADDRESS):
        assert post_login(client, f"gissning{n}@exempelkommun.example").status_code == 400
    # A real user with the right password from that address is refused too ...
    assert post_login(client, JURIST, DEMO_PASSWORD).status_code == 429
    # ... but not from elsewhere.
    assert post_login(client, JURIST, DEMO_PASSWORD, address="203.0.113.7").status_code == 302


def test_successful_logins_do_not_count(client, demo_orgs):
    fail(client, KOMMUNIKATOR, PER_ACCOUNT - 1)
    for _ in range(3):
        assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 302
        client.post("/logout")
        client.delete_cookie("konsekvens_device")  # stay an unknown device (test_lockout.py: known devices)
    assert post_login(client, KOMMUNIKATOR).status_code == 400  # the fifth failure, still an ordinary one
    assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 429


def test_an_empty_form_is_not_a_failed_attempt(client, demo_orgs):
    for _ in range(PER_ACCOUNT + 2):
        response = client.post("/login", data={"email": KOMMUNIKATOR, "password": ""})
        assert response.status_code == 400
    assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 302


def test_a_wrong_current_password_on_the_change_page_counts_for_the_account(client, auth, demo_orgs):
    auth.login(KOMMUNIKATOR)
    for _ in range(PER_ACCOUNT):
        response = client.post("/account/password", data={
            "current_password": "inte-mitt-lösenord", "new_password": "en helt ny fras 2026",
            "repeat_password": "en helt ny fras 2026"})
        assert response.status_code == 400
    response = client.post("/account/password", data={
        "current_password": DEMO_PASSWORD, "new_password": "en helt ny fras 2026",
        "repeat_password": "en helt ny fras 2026"})
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "För många misslyckade försök" in response.get_data(as_text=True)
    # A stolen session gets no more guesses than the login page would give: the login is throttled too.
    client.post("/logout")
    assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 429
    with client.application.app_context():
        from tests.factories import user

        assert user(KOMMUNIKATOR).check_password(DEMO_PASSWORD)  # nothing was changed


def test_counters_belong_to_their_app(app, client, demo_orgs, migrated, tmp_path, seal_dir):
    """One module-level limiter, but each app (each test's) counts on its own."""
    fail(client, KOMMUNIKATOR, PER_ACCOUNT)
    other = create_app(_config(migrated, tmp_path / "other", seal_dir))
    try:
        assert post_login(other.test_client(), KOMMUNIKATOR, DEMO_PASSWORD).status_code == 302
        # Creating the second app did not reset or take over the first app's counters.
        assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 429
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_switching_throttling_off_for_one_app_does_not_carry_over(client, demo_orgs, migrated, tmp_path, seal_dir):
    apps = [create_app(_config(migrated, tmp_path / "off", seal_dir, RATELIMIT_ENABLED=False))]
    try:
        off = apps[0].test_client()
        fail(off, KOMMUNIKATOR, PER_ACCOUNT + 2)
        assert post_login(off, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 302
        # This test's own app, created before, and an app created after keep throttling.
        fail(client, KOMMUNIKATOR, PER_ACCOUNT)
        assert post_login(client, KOMMUNIKATOR, DEMO_PASSWORD).status_code == 429
        apps.append(create_app(_config(migrated, tmp_path / "later", seal_dir)))
        later = apps[1].test_client()
        fail(later, JURIST, PER_ACCOUNT)
        assert post_login(later, JURIST, DEMO_PASSWORD).status_code == 429
    finally:
        for each in apps:
            with each.app_context():
                db.session.remove()
                db.engine.dispose()


def test_the_storage_comes_from_the_environment(monkeypatch, tmp_path):
    """KONSEKVENS_RATELIMIT_STORAGE: shared storage for several workers (redis needs its client library)."""
    from limits.errors import ConfigurationError

    from assessments.extensions import limiter

    monkeypatch.setenv("KONSEKVENS_RATELIMIT_STORAGE", "redis://127.0.0.1:1")
    try:
        app = create_app(instance_path=tmp_path)
    except ConfigurationError as exc:  # the redis client is not installed: the URI was read and used
        assert "redis" in str(exc).lower()
        return
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1"
    with app.app_context():
        assert type(limiter.storage).__name__ == "RedisStorage"


def test_wrong_passwords_when_approving_count_like_failed_logins(app, client, auth, demo_orgs):
    """A stolen reviewer session must not become an unthrottled password oracle on the approve page."""
    from assessments import workflow
    from assessments.models import Assessment, Status
    from tests.answering import version_of
    from tests.factories import answered_assessment, user

    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(KOMMUNIKATOR))
        db.session.commit()
        assessment_id = assessment.id
    auth.login(JURIST)
    url = f"/assessments/{assessment_id}/approve"
    attest = {"attest_context": "y", "attest_risks": "y", "attest_measures": "y", "attest_commitment": "y"}
    for attempt in range(PER_ACCOUNT):
        version = version_of(client.get(url).get_data(as_text=True))
        response = client.post(url, data={**attest, "password": "fel-lösenord-helt-fel", "version": version})
        assert response.status_code == 400, f"attempt {attempt + 1} was not an ordinary failure"
    version = version_of(client.get(url).get_data(as_text=True))
    response = client.post(url, data={**attest, "password": DEMO_PASSWORD, "version": version})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "För många misslyckade försök" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status is Status.IN_REVIEW
    # The same bucket as the login page: the account cannot log in again with a guess either.
    auth.logout()
    assert post_login(client, JURIST, DEMO_PASSWORD).status_code == 429
