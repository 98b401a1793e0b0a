"""The first run (`make run` = `flask init` + `flask demo`): every role of every demo organisation has
something to see and to do, and running it again adds nothing."""
import re

from sqlalchemy import func, select

from assessments.extensions import db
from assessments.models import ArchivedDocument, Assessment, Organisation, ReviewComment, Status
from tests.conftest import DEMO_PASSWORD

DOMAIN = "exempelkommun.example"


def _states(page: str) -> list[str]:
    return re.findall(r'<span class="status status-(\w+)">', page)


def test_demo_gives_every_role_something_and_does_not_duplicate(app, runner, client, auth, demo_orgs):
    """One run of ``flask demo`` (three sealed reports) serves every check of the first run."""
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Assessment))
        documents = db.session.scalar(select(func.count()).select_from(ArchivedDocument))
        organisations = db.session.scalars(select(Organisation)).all()
        assert count == 4 * len(organisations) and documents == len(organisations)
        for organisation in organisations:
            statuses = sorted(a.status.value for a in db.session.scalars(
                select(Assessment).where(Assessment.organisation_id == organisation.id)))
            assert statuses == ["approved", "changes_requested", "draft", "in_review"], organisation.slug
    # Who should look at what, with the titles the users will see.
    assert "Who should look at what" in first.output
    assert "kommunikator@  fix \u201cRekryteringens konton på Facebook och Instagram\u201d" in first.output
    assert "dso@           give advice on \u201cÄldreomsorgens sidor på Facebook och Instagram\u201d" in first.output

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "created" not in second.output.replace("already there", "")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assessment)) == count
        assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == documents

    # Each role of Exempelkommun sees at least three assessments in at least three states, and has its
    # waiting list (the viewer and the administrator only read).
    waiting = {"kommunikator": ["Att rätta", "Utkast"], "jurist": ["Att granska"],
               "dso": ["Dataskyddsombudets råd begärs"], "admin": [], "lasare": []}
    for local, kinds in waiting.items():
        auth.login(f"{local}@{DOMAIN}", DEMO_PASSWORD)
        page = client.get("/").get_data(as_text=True)
        states = _states(page)
        assert len(states) >= 3 and len(set(states)) >= 3, (local, states)
        for kind in kinds:
            assert kind in page, (local, kind)
        auth.logout()

    _the_sent_back_demo_shows_the_reason_and_the_comment_to_its_author(app, client, auth)


def _the_sent_back_demo_shows_the_reason_and_the_comment_to_its_author(app, client, auth):
    with app.app_context():
        sent_back = db.session.scalars(select(Assessment).where(
            Assessment.title == "Rekryteringens konton på Facebook och Instagram")).one()
        assert sent_back.status is Status.CHANGES_REQUESTED
        comment = db.session.scalars(select(ReviewComment).where(
            ReviewComment.assessment_id == sent_back.id)).one()
        assert comment.question_key == "two_factor_method"
        in_review = db.session.scalars(select(Assessment).where(
            Assessment.title == "Äldreomsorgens sidor på Facebook och Instagram")).one()
        draft = db.session.scalars(select(Assessment).where(
            Assessment.title == "Kulturskolans konton på Facebook och Instagram")).one()
        assert in_review.status is Status.IN_REVIEW and draft.status is Status.DRAFT
        assert draft.last_step == "platform"
    auth.login(f"kommunikator@{DOMAIN}", DEMO_PASSWORD)
    overview = client.get(f"/assessments/{sent_back.id}").get_data(as_text=True)
    assert "Se kommentaren om tvåstegsverifiering" in overview
    assert "Varför används inte säkerhetsnycklar" in overview
    # The draft continues where it stopped: the third step is open, the first two are answered.
    step = client.get(f"/assessments/{draft.id}/steps/platform")
    assert step.status_code == 200
