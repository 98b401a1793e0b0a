"""Security headers on every page: a CSP without inline script, frame denial, referrer policy, sniffing off;
session cookies HttpOnly and SameSite."""
import pytest


@pytest.mark.parametrize("path", ["/login", "/accessibility", "/static/app.css"])
def test_headers_on_public_pages(client, path):
    response = client.get(path)
    response.close()  # static files are streamed
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(client, demo_orgs):
    from tests.conftest import DEMO_PASSWORD

    response = client.post("/login", data={"email": "kommunikator@exempelkommun.example", "password": DEMO_PASSWORD})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_behind_https(demo_orgs, migrated, tmp_path, seal_dir, monkeypatch):
    from assessments import create_app
    from assessments.extensions import db
    from tests.conftest import DEMO_PASSWORD, _config

    monkeypatch.setenv("KONSEKVENS_HTTPS", "1")
    app = create_app(_config(migrated, tmp_path, seal_dir))
    try:
        assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]
        assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
        response = app.test_client().post("/login", data={"email": "kommunikator@exempelkommun.example",
                                                          "password": DEMO_PASSWORD}, base_url="https://localhost")
        assert response.status_code == 302
        cookies = response.headers.getlist("Set-Cookie")  # the session and the device cookie (views/auth.py)
        assert sorted(c.split("=", 1)[0] for c in cookies) == ["konsekvens_device", "session"]
        assert all("Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in cookies)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_without_https_the_cookie_is_not_marked_secure_and_there_is_no_remember_me_cookie(client, demo_orgs):
    from tests.conftest import DEMO_PASSWORD

    response = client.post("/login", data={"email": "kommunikator@exempelkommun.example", "password": DEMO_PASSWORD})
    cookies = response.headers.getlist("Set-Cookie")
    assert sorted(c.split("=", 1)[0] for c in cookies) == ["konsekvens_device", "session"]
    assert not any("Secure" in c for c in cookies)
    # No "remember me": the login lasts as long as the browser session (remember_token is never set).
    assert not any(c.startswith("remember_token=") for c in cookies)
