"""Crafted input gives a clean 400 (or a safe redirect) with nothing stored, never a 500 (penetration test:
CR/LF in next=, a comment on an invented platform, a catalogue version of thousands of digits)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from assessments.extensions import db
from assessments.models import Assessment, AuditEvent, ReviewComment
from tests.test_exports import KOMMUN, draft_id, upload  # noqa: F401 (draft_id is a fixture)
from tests.test_review import in_review  # noqa: F401 (a fixture)

HEADER_SPLITTING = ["/assessments\r\nSet-Cookie: x=1", "/\nLocation: https://evil.example", "/a\rb",
                    "/%0d%0aSet-Cookie:x=1", "/\x00", "/\u2028x", "/\u0085x"]


@pytest.mark.parametrize("target", HEADER_SPLITTING)
def test_language_switch_with_control_characters_in_next_redirects_safely(client, target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "Set-Cookie: x" not in location
    assert location in ("/", "/%0d%0aSet-Cookie:x=1")  # the dashboard, or the escaped text as a path


@pytest.mark.parametrize("target", HEADER_SPLITTING)
def test_login_with_control_characters_in_next_redirects_safely(client, demo_orgs, target):
    from tests.conftest import DEMO_PASSWORD

    response = client.post("/login", query_string={"next": target},
                           data={"email": f"kommunikator@{KOMMUN}", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]


def comment_count(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(ReviewComment)),
                db.session.scalar(select(func.count()).select_from(AuditEvent)))


@pytest.mark.parametrize("question", [
    "platform_features__myspace",         # a per-platform question on a platform the assessment has not
    "platform_features__" + "x" * 500,    # …longer than the column
    "platform_features__facebook\r\nSet-Cookie: x=1",
    "platform_features__",                # a per-platform question without its platform
    "monitoring_profiling__facebook",     # a question asked once, not per platform
    "no_such_question__facebook",
])
def test_comment_on_an_invented_platform_is_refused_and_nothing_stored(app, client, auth, in_review, question):
    auth.login(f"jurist@{KOMMUN}")
    before = comment_count(app)
    response = client.post(f"/assessments/{in_review}/comments", data={"question": question, "body": "Hmm?"})
    assert response.status_code == 400
    assert "Kommentaren gäller en fråga som inte finns i den här bedömningen." in response.get_data(as_text=True)
    assert comment_count(app) == before
    # The assessment's pages still work.
    assert client.get(f"/assessments/{in_review}").status_code == 200


def test_comment_on_a_real_platform_question_is_stored(app, client, auth, in_review):
    auth.login(f"jurist@{KOMMUN}")
    with app.app_context():
        platform = db.session.get(Assessment, in_review).platforms[0]
    response = client.post(f"/assessments/{in_review}/comments",
                           data={"question": f"platform_features__{platform}", "body": "Hmm?"})
    assert response.status_code == 302
    with app.app_context():
        comment = db.session.scalars(select(ReviewComment)).one()
        assert (comment.question_key, comment.platform) == ("platform_features", platform)


@pytest.mark.parametrize("version", [int("9" * 4000), 10 ** 300, 2 ** 63, "2", 2.0],
                         ids=["4000-digits", "301-digits", "2**63", "text", "float"])
def test_import_with_an_absurd_catalogue_version_is_refused(app, client, auth, draft_id, version):
    auth.login(f"kommunikator@{KOMMUN}")
    document = json.loads(client.get(f"/assessments/{draft_id}/export.json").data)
    document["assessment"]["catalogue"]["version"] = version
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Assessment))
    response = upload(client, json.dumps(document).encode())
    assert response.status_code == 400
    assert "Frågekatalogen ”social-media” version" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == before
