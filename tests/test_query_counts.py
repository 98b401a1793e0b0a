"""The assessment's pages make the same number of SQL queries with little and with much content.

A query per comment, risk, measure, rating change or verdict (an N+1) is invisible with the demo data and
slow with a real review. Each page is counted with the demo assessment (one of each thing, a single comment),
then again after the same assessment has every platform and many answers, comments and replies by several
people, risks, measures, rating changes, verdicts and submissions: the counts must be equal.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from assessments import clock, workflow
from assessments.catalog import PLATFORMS
from assessments.extensions import db
from assessments.models import (
    Answer,
    Assessment,
    Measure,
    ReviewComment,
    Risk,
    RiskRatingChange,
    Role,
    SectionVerdict,
    Status,
    Submission,
    User,
    Verdict,
)
from assessments.risk.service import risks_of, sync_risks
from tests.factories import KOMMUN, answered_assessment, organisation, user
from tests.queries import count_queries

PEOPLE = ("kommunikator", "jurist", "dso", "admin", "lasare", "jurist2")


def second_legal_reviewer() -> User:
    """A second lawyer, so verdicts and rating changes come from more than one person."""
    other = User(email=f"jurist2@{KOMMUN}", name="Jamie Jurist", organisation_id=organisation("exempelkommun").id,
                 role=Role.LEGAL)
    other.set_password("korrekt-häst-batteri-42")
    db.session.add(other)
    db.session.flush()
    return other


def a_little(assessment: Assessment) -> None:
    """One of each: a comment (by someone other than the reader), a verdict, a rating change."""
    dpo, legal = user(f"dso@{KOMMUN}"), user(f"jurist2@{KOMMUN}")
    db.session.add(ReviewComment(assessment_id=assessment.id, question_key="accounts", platform="",
                                 author_id=dpo.id, body="Vem har inloggningen?"))
    db.session.add(SectionVerdict(assessment_id=assessment.id, section_key="description",
                                  verdict=Verdict.IMPROVABLE, reviewer_id=legal.id))
    risk = risks_of(assessment)[0]
    db.session.add(RiskRatingChange(risk_id=risk.id, field="residual_likelihood", old=2, new=1,
                                    justification="Tvåstegsverifiering.", changed_by_id=legal.id))
    db.session.commit()


def a_lot(assessment_id: int) -> None:
    """Every platform with its answers, and many comments, risks, measures, changes, verdicts, submissions."""
    assessment = db.session.get(Assessment, assessment_id)
    people = [user(f"{local}@{KOMMUN}") for local in PEOPLE]
    first = {}
    for answer in db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id,
                                                          Answer.platform != "")):
        first.setdefault(answer.question_key, answer.value)
    added = [p for p in PLATFORMS if p not in assessment.platforms]
    for platform in added:
        for key, value in first.items():
            db.session.add(Answer(assessment_id=assessment.id, question_key=key, platform=platform, value=value))
    assessment.platforms, assessment.other_platform_name = list(PLATFORMS), "Mastodon"
    db.session.flush()
    sync_risks(assessment)
    for n in range(40):
        person = people[n % len(people)]
        thread = ReviewComment(assessment_id=assessment.id, question_key=None if n % 8 == 0 else "platform_features",
                               platform="" if n % 8 == 0 else added[n % len(added)], author_id=person.id,
                               body=f"Tråd nummer {n}")
        db.session.add(thread)
        db.session.flush()
        for m in range(2):
            db.session.add(ReviewComment(assessment_id=assessment.id, question_key=thread.question_key,
                                         platform=thread.platform, parent_id=thread.id,
                                         author_id=people[(n + m + 1) % len(people)].id, body=f"Svar {n}.{m}"))
    for n in range(15):
        db.session.add(Risk(assessment_id=assessment.id, number=100 + n, title=f"Egen risk {n}", platform="", active=n % 5 != 0,
                            triggered_by=[], created_by_id=people[n % len(people)].id, inherent_likelihood=3,
                            inherent_severity=3, residual_likelihood=2, residual_severity=2))
    db.session.flush()
    risks = risks_of(assessment)
    for n in range(20):
        db.session.add(Measure(assessment_id=assessment.id, title=f"Åtgärd {n}", owner=people[n % 6].name,
                               due_date=clock.today() + timedelta(days=n), risks=risks[n % 5:n % 5 + 3]))
        db.session.add(RiskRatingChange(risk_id=risks[n].id, field="inherent_severity", old=3, new=2,
                                        justification=f"Skäl {n}", changed_by_id=people[n % len(people)].id))
    for section in ("screening", "description", "platform", "images", "comments", "necessity"):
        for reviewer in (people[1], people[5]):
            db.session.add(SectionVerdict(assessment_id=assessment.id, section_key=section,
                                          verdict=Verdict.ACCEPTABLE, reviewer_id=reviewer.id))
    number = max(db.session.scalars(select(Submission.number).where(Submission.assessment_id == assessment.id)),
                 default=0)
    for n in (1, 2):
        db.session.add(Submission(assessment_id=assessment.id, number=number + n, answers=[["accounts", "", "x"]],
                                  submitted_by_id=people[0].id))
    db.session.commit()


@pytest.fixture
def reviewed(app, demo_orgs):
    """The municipality's demo, submitted for review, with a little review content."""
    with app.app_context():
        second_legal_reviewer()
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        a_little(assessment)
        return assessment.id


def compare(app, client, paths: dict[str, str | None], assessment_id: int) -> None:
    """``paths``: each page, and a text the page shows only once the content is added (None: no check)."""
    few = {path: count_queries(app, client, path)[0] for path in paths}
    with app.app_context():
        a_lot(assessment_id)
    many = {}
    for path, shows in paths.items():
        many[path], page = count_queries(app, client, path)
        assert shows is None or shows in page, f"{path} does not show the added content"
    assert many == few, {path: (few[path], many[path]) for path in paths}


def test_review_pages_query_count_does_not_grow_with_content(app, client, auth, reviewed):
    auth.login(f"jurist@{KOMMUN}")
    base = f"/assessments/{reviewed}"
    overview = count_queries(app, client, base)[1]
    assert "Vem har inloggningen?" in overview  # the one comment is on the page being counted
    compare(app, client, {base: "Tråd nummer 39", f"{base}/risks": "Egen risk 14", f"{base}/consultation": None,
                          f"{base}/changes": None, f"{base}/trail": None}, reviewed)


def test_risk_register_shows_every_added_risk_and_measure_with_the_same_query_count(app, client, auth, reviewed):
    auth.login(f"jurist@{KOMMUN}")
    path = f"/assessments/{reviewed}/risks"
    few = count_queries(app, client, path)[0]
    with app.app_context():
        a_lot(reviewed)
    many, page = count_queries(app, client, path)
    assert "Egen risk 14" in page and "Åtgärd 19" in page and "Skäl 19" in page
    assert many == few, (few, many)


def test_wizard_step_query_count_does_not_grow_with_content(app, client, auth, reviewed):
    with app.app_context():
        assessment = db.session.get(Assessment, reviewed)
        workflow.request_changes(assessment, user(f"jurist@{KOMMUN}"), "Förtydliga kontona.")
        db.session.commit()
    auth.login(f"kommunikator@{KOMMUN}")
    base = f"/assessments/{reviewed}/steps"
    compare(app, client, {f"{base}/description": None, f"{base}/platform": "Svar 39.1"}, reviewed)


def waiting(title: str, status: Status, **fields) -> None:
    db.session.add(Assessment(organisation_id=organisation("exempelkommun").id, title=title, language="sv",
                              catalog_id="social-media", catalog_version=2, platforms=["facebook"], status=status,
                              author_id=user(f"kommunikator@{KOMMUN}").id, **fields))


def test_needs_your_action_shows_ten_of_each_kind_oldest_first_and_links_to_the_rest(app, client, auth, demo_orgs):
    now = datetime.now(UTC)
    with app.app_context():
        for n in range(2):
            waiting(f"Granskas {n:02d}", Status.IN_REVIEW, submitted_at=now - timedelta(hours=100 - n))
        db.session.commit()
    auth.login(f"jurist@{KOMMUN}")
    few = count_queries(app, client, "/")[0]
    with app.app_context():
        for n in range(2, 13):
            waiting(f"Granskas {n:02d}", Status.IN_REVIEW, submitted_at=now - timedelta(hours=100 - n))
        for n in range(3):
            waiting(f"Försenad {n}", Status.APPROVED, review_due=clock.today() - timedelta(days=n + 1))
        waiting("Snart", Status.APPROVED, review_due=clock.today() + timedelta(days=30))  # within 30 days: listed
        waiting("Aktuell", Status.APPROVED, review_due=clock.today() + timedelta(days=31))
        db.session.commit()
    many, page = count_queries(app, client, "/")
    assert many == few, (few, many)
    mine = page.split('id="my-actions-title"')[1].split("</section>")[0]
    assert mine.count("Granskas") == 10 and "Granskas 00" in mine and "Granskas 12" not in mine
    assert "och 3 till" in mine and 'href="/?status=in_review"' in mine
    assert all(f"Försenad {n}" in mine for n in range(3)) and "Snart" in mine and "Aktuell" not in mine
    overdue = client.get("/?overdue=1").get_data(as_text=True).split('class="filters"')[1].split("</form>", 1)[1]
    assert all(f"Försenad {n}" in overdue for n in range(3)) and "Aktuell" not in overdue
    assert "Granskas" not in overdue
