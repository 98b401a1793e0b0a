"""The dashboard: what needs my action first, filters, search, pagination, overall residual risk, and a
query count that does not grow with the number of assessments."""
from __future__ import annotations

from assessments import clock, workflow
from assessments.extensions import db
from assessments.models import Assessment, Status
from tests.factories import KOMMUN, answered_assessment, organisation, user
from tests.queries import count_queries


def make(title, platforms=("facebook",), status=Status.DRAFT, author="kommunikator"):
    org = organisation("exempelkommun")
    a = Assessment(organisation_id=org.id, title=title, language="sv", catalog_id="social-media",
                   catalog_version=2, platforms=list(platforms), status=status,
                   author_id=user(f"{author}@{KOMMUN}").id)
    db.session.add(a)
    return a


def test_filters_by_status_platform_and_title_search(app, client, auth, demo_orgs):
    with app.app_context():
        make("Facebook-sidan", ["facebook"])
        make("TikTok-kontot", ["tiktok"], Status.IN_REVIEW)
        make("100% LinkedIn", ["linkedin"])
        db.session.commit()
    auth.login(f"lasare@{KOMMUN}")
    by_status = client.get("/?status=in_review").get_data(as_text=True)
    assert "TikTok-kontot" in by_status and "Facebook-sidan" not in by_status
    by_platform = client.get("/?platform=tiktok").get_data(as_text=True)
    assert "TikTok-kontot" in by_platform and "Facebook-sidan" not in by_platform
    search = client.get("/?q=100%25").get_data(as_text=True)  # a literal % is not a wildcard
    assert "100% LinkedIn" in search and "Facebook-sidan" not in search
    assert client.get("/?status=nonsense&platform=myspace").status_code == 200


def test_pagination(app, client, auth, demo_orgs):
    with app.app_context():
        for n in range(25):
            make(f"Bedömning {n:02d}")
        db.session.commit()
    auth.login(f"lasare@{KOMMUN}")
    first = client.get("/").get_data(as_text=True)
    second = client.get("/?page=2").get_data(as_text=True)
    assert "sida 1 av 2" in first and "Bedömning 24" in first and "Bedömning 00" not in first
    assert "Bedömning 00" in second and "Bedömning 24" not in second


def test_needs_my_action_lists_reviews_fixes_and_overdue(app, client, auth, demo_orgs):
    from datetime import timedelta

    with app.app_context():
        review = answered_assessment()
        workflow.submit_for_review(review, user(f"kommunikator@{KOMMUN}"))
        make("Att rätta", status=Status.CHANGES_REQUESTED)
        overdue = make("Gammal bedömning", status=Status.APPROVED)
        overdue.review_due = clock.today() - timedelta(days=3)
        db.session.commit()
        review_title = review.title
    auth.login(f"jurist@{KOMMUN}")
    legal = client.get("/").get_data(as_text=True)
    mine = legal.split('id="my-actions-title"')[1].split("</section>")[0]
    assert "Att granska" in mine and review_title in mine and "Gammal bedömning" in mine
    assert "Att rätta" not in mine
    auth.logout()
    auth.login(f"kommunikator@{KOMMUN}")
    author = client.get("/").get_data(as_text=True).split('id="my-actions-title"')[1].split("</section>")[0]
    assert "Att rätta" in author and review_title not in author


def test_overall_residual_risk_is_shown(app, client, auth, demo_orgs):
    with app.app_context():
        answered_assessment()  # the municipality's demo has medium residual risks at most
    auth.login(f"lasare@{KOMMUN}")
    page = client.get("/").get_data(as_text=True)
    assert 'class="level level-medium"' in page or 'class="level level-high"' in page


def test_dashboard_query_count_does_not_grow_with_the_number_of_assessments(app, client, auth, demo_orgs):
    with app.app_context():
        for _n in range(3):
            answered_assessment()
    auth.login(f"lasare@{KOMMUN}")
    few, _page = count_queries(app, client, "/")
    with app.app_context():
        for _n in range(12):
            answered_assessment()
    many, _page = count_queries(app, client, "/")
    assert many == few, (few, many)
