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
