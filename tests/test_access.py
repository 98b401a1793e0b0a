"""Nobody sees what is not theirs: every lookup is scoped to the organisation, every action to the role."""
import pytest
from sqlalchemy import select

from assessments import workflow
from assessments.extensions import db
from assessments.models import Assessment, Status
from tests.factories import KOMMUN, answered_assessment, user


@pytest.fixture
def kommun_assessment(app, demo_orgs):
    with app.app_context():
        assessment = answered_assessment()
        return assessment.id


@pytest.mark.parametrize("path", ["/assessments/{id}", "/assessments/{id}/steps/screening",
                                  "/assessments/{id}/approve", "/assessments/{id}/document"])
def test_another_organisation_gets_404(client, auth, kommun_assessment, path):
    auth.login("kommunikator@regionexempel.example")
    assert client.get(path.format(id=kommun_assessment)).status_code == 404


@pytest.mark.parametrize("path", ["/assessments/{id}/submit", "/assessments/{id}/steps/screening",
                                  "/assessments/{id}/comments", "/assessments/{id}/request-changes",
                                  "/assessments/{id}/approve"])
def test_another_organisation_cannot_post(app, client, auth, kommun_assessment, path):
    auth.login("jurist@regionexempel.example")
    assert client.post(path.format(id=kommun_assessment), data={"body": "x", "reason": "x"}).status_code == 404
    with app.app_context():
        assert db.session.get(Assessment, kommun_assessment).status is Status.DRAFT


def test_dashboard_lists_only_own_organisation(client, auth, kommun_assessment):
    from assessments.demo import load_demo_assessment
    from tests.answering import latest_demo

    title = load_demo_assessment(latest_demo())["title"]
    auth.login("kommunikator@regionexempel.example")
    assert title not in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(f"lasare@{KOMMUN}")
    assert title in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/assessments/new", "/assessments/1", "/assessments/1/steps/screening"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("local", ["dso", "admin", "lasare"])
def test_roles_that_do_not_author_cannot_create_or_edit(app, client, auth, kommun_assessment, local):
    auth.login(f"{local}@{KOMMUN}")
    assert client.get("/assessments/new").status_code == 403
    assert client.post("/assessments/new", data={"title": "x", "platforms": ["x"], "language": "sv"}
                       ).status_code == 403
    assert client.post(f"/assessments/{kommun_assessment}/steps/screening",
                       data={"large_scale": "yes", "version": "1"}).status_code == 403


def test_viewer_cannot_comment_or_send_back(app, client, auth, kommun_assessment):
    with app.app_context():
        a = db.session.get(Assessment, kommun_assessment)
        workflow.submit_for_review(a, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
    auth.login(f"lasare@{KOMMUN}")
    assert client.post(f"/assessments/{kommun_assessment}/comments", data={"body": "x"}).status_code == 403
    assert client.post(f"/assessments/{kommun_assessment}/request-changes",
                       data={"reason": "x", "version": "2"}).status_code == 403
    with app.app_context():
        assert db.session.get(Assessment, kommun_assessment).status is Status.IN_REVIEW


def test_csrf_is_enforced_on_every_form(app, demo_orgs, kommun_assessment):
    """With CSRF on (as in production), posts without the token are refused before any change."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    from tests.conftest import DEMO_PASSWORD, extract_csrf

    login_page = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"email": f"kommunikator@{KOMMUN}", "password": DEMO_PASSWORD}
                       ).status_code == 400
    token = extract_csrf(login_page)
    assert client.post("/login", data={"email": f"kommunikator@{KOMMUN}", "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    for path in ("/assessments/new", f"/assessments/{kommun_assessment}/steps/screening",
                 f"/assessments/{kommun_assessment}/submit", "/logout"):
        response = client.post(path, data={"title": "x", "large_scale": "yes"})
        assert response.status_code == 400, path
    with app.app_context():
        assert db.session.scalars(select(Assessment)).all().__len__() == 1
        assert db.session.get(Assessment, kommun_assessment).status is Status.DRAFT


def test_login_with_wrong_password_gives_one_message(client, demo_orgs):
    response = client.post("/login", data={"email": f"kommunikator@{KOMMUN}", "password": "nej"})
    assert response.status_code == 400
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "nej"})
    assert unknown.status_code == 400
    text = response.get_data(as_text=True)
    assert "inte korrekt" in text or "not correct" in text


def test_language_switch_keeps_the_page_and_refuses_open_redirect(client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    response = client.get("/language/en?next=/assessments/new")
    assert response.headers["Location"].endswith("/assessments/new")
    assert "New assessment" in client.get("/assessments/new").get_data(as_text=True)
    evil = client.get("/language/sv?next=https://evil.example/")
    assert "evil.example" not in evil.headers["Location"]
    assert "Ny bedömning" in client.get("/assessments/new").get_data(as_text=True)
