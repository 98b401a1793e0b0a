"""User enumeration by timing (OWASP Authentication Cheat Sheet): a wrong password for an existing account,
an unknown address and a deactivated account take the same time, because all three check a hash."""
from __future__ import annotations

import statistics
import time

from assessments import create_app
from assessments.extensions import db
from tests.conftest import _config
from tests.factories import user

# A real work factor, so that the hash (not the request's other work) dominates, as scrypt does in production;
# cheaper than scrypt's default to keep the test short.
METHOD = "pbkdf2:sha256:150000"
ROUNDS = 9


def test_unknown_and_inactive_accounts_cost_as_much_as_a_wrong_password(migrated, tmp_path, seal_dir, demo_orgs):
    app = create_app(_config(migrated, tmp_path, seal_dir, PASSWORD_HASH_METHOD=METHOD, RATELIMIT_ENABLED=False))
    try:
        with app.app_context():
            known, inactive = user("jurist@exempelkommun.example"), user("lasare@exempelkommun.example")
            known.set_password("ett-riktigt-lösenord-1")  # stored with METHOD, as every hash would be
            inactive.set_password("ett-riktigt-lösenord-2")
            inactive.deactivate()
            db.session.commit()
        client = app.test_client()
        emails = {"existing": "jurist@exempelkommun.example", "unknown": "ingen-sadan@exempelkommun.example",
                  "inactive": "lasare@exempelkommun.example"}
        times: dict[str, list[float]] = {kind: [] for kind in emails}
        for _ in range(ROUNDS):  # interleaved, so a slow moment of the machine hits every kind alike
            for kind, email in emails.items():
                started = time.perf_counter()
                response = client.post("/login", data={"email": email, "password": "fel-lösenord-123"})
                times[kind].append(time.perf_counter() - started)
                assert response.status_code == 400
                assert "E-postadressen eller lösenordet är inte korrekt." in response.get_data(as_text=True)
        median = {kind: statistics.median(values) for kind, values in times.items()}
        for kind in ("unknown", "inactive"):
            ratio = median[kind] / median["existing"]
            assert 0.5 <= ratio <= 2, f"{kind}: {median[kind] * 1000:.1f} ms against {median['existing'] * 1000:.1f} ms"
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
