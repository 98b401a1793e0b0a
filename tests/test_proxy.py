"""Behind a reverse proxy (README, Operations): X-Forwarded-* are honoured only when KONSEKVENS_TRUSTED_PROXIES
says how many proxies set them; otherwise a client could claim HTTPS or another address."""
import pytest

from assessments import create_app
from assessments.extensions import db
from tests.conftest import _config

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "dpia.example"}


@pytest.mark.parametrize("proxies, behind_https", [(0, False), (1, True)])
def test_forwarded_headers_only_from_trusted_proxies(migrated, tmp_path, seal_dir, proxies, behind_https):
    app = create_app(_config(migrated, tmp_path, seal_dir, TRUSTED_PROXIES=proxies))
    seen = {}

    @app.get("/_probe")
    def probe():
        from flask import request

        seen.update(addr=request.remote_addr, secure=request.is_secure, host=request.host)
        return "ok"

    try:
        response = app.test_client().get("/_probe", headers=FORWARDED)
        assert response.status_code == 200
        assert ("Strict-Transport-Security" in response.headers) is behind_https
        assert seen["secure"] is behind_https
        assert (seen["addr"] == "203.0.113.7") is behind_https
        assert (seen["host"] == "dpia.example") is behind_https
    finally:
        with app.app_context():
            db.engine.dispose()

