"""A decision that holds up (docs/risk-method.md): residual risk only through decided measures, a treatment
decision for every risk, unlawful transfers stop, the approval gates, four eyes, stable R-numbers, and the
Art. 36 record in the signed PDF. Real database, real services, real HTTP, real signed PDFs."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select

from assessments import clock, review, workflow
from assessments.answers import load_answers
from assessments.approval import approval_blockers, editors_of, independence_problems
from assessments.errors import DomainError
from assessments.extensions import db
from assessments.models import (
    Answer,
    ArchivedDocument,
    Assessment,
    AuditEvent,
    Measure,
    MeasureStatus,
    Risk,
    RiskRatingChange,
    SectionVerdict,
    Signature,
    Status,
    Treatment,
)
from assessments.risk import service
from assessments.risk.matrix import is_high
from assessments.risk.presenter import present
from assessments.signoff import archive, sign_approval
from tests.answering import latest_demo, version_of
from tests.conftest import DEMO_PASSWORD
from tests.factories import KOMMUN, answered_assessment, reload, user

COMMUNICATOR, LEGAL, DPO = (f"{who}@{KOMMUN}" for who in ("kommunikator", "jurist", "dso"))
APPROVE = {"password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y", "attest_measures": "y",
           "attest_commitment": "y"}


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def free_risk(assessment: Assessment, title: str = "Kapade konton via gammal e-postadress") -> Risk:
    return service.add_risk(assessment, user(COMMUNICATOR), title=title, description="Någon tar över sidan.",
                            affected="Följare", source="Obehörig",
                            ratings={"inherent_likelihood": 3, "inherent_severity": 4})


def measure_for(assessment: Assessment, risks: list[Risk], *, title: str = "Tvåstegsverifiering",
                status: str = "planned", due: date | None = date(2027, 1, 31), measure: Measure | None = None):
    return service.save_measure(assessment, user(COMMUNICATOR), measure=measure, title=title,
                                owner="Kommunikationschef", due_date=due, status=status, description="",
                                risk_ids=[r.id for r in risks])


def history(risk: Risk) -> list[RiskRatingChange]:
    return list(db.session.scalars(select(RiskRatingChange).where(RiskRatingChange.risk_id == risk.id)
                                   .order_by(RiskRatingChange.id)))


def ratings(risk: Risk) -> tuple[int, int, int, int]:
    return (risk.inherent_likelihood, risk.inherent_severity, risk.residual_likelihood, risk.residual_severity)


@pytest.fixture
def draft(app, demo_orgs):
    with app.app_context():
        return answered_assessment().id


def submitted(assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    workflow.submit_for_review(assessment, user(COMMUNICATOR))
    db.session.commit()
    return assessment


def nothing_signed(assessment_id: int) -> bool:
    return (reload(assessment_id).status is Status.IN_REVIEW
            and db.session.scalar(select(func.count()).select_from(Signature)) == 0
            and db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0)


# --- Residual risk follows decided measures ---------------------------------------------------------------

def test_a_residual_below_inherent_needs_a_decided_measure(app, draft):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        risk = free_risk(assessment)
        db.session.commit()
        assert ratings(risk) == (3, 4, 3, 4)  # without measures, residual is inherent
        with pytest.raises(DomainError, match="beslutad åtgärd"):
            service.change_ratings(risk, assessment, user(LEGAL), {"residual_likelihood": 1}, "Lösenordsbyte.")
        db.session.rollback()
        risk = db.session.get(Risk, risk.id)
        assert ratings(risk) == (3, 4, 3, 4) and history(risk) == []
        # A measure without a due date is not a decision: refused, and it would not count either.
        with pytest.raises(DomainError, match="datum då den ska vara klar"):
            measure_for(assessment, [risk], due=None)
        db.session.rollback()
        risk = db.session.get(Risk, risk.id)
        measure_for(assessment, [risk])
        service.change_ratings(risk, assessment, user(COMMUNICATOR), {"residual_likelihood": 1},
                               "Tvåstegsverifiering gör kapning svår.")
        assert ratings(risk) == (3, 4, 1, 4)


def test_a_residual_above_inherent_is_refused_and_a_raised_inherent_carries_the_residual(app, draft):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        risk = free_risk(assessment)
        measure_for(assessment, [risk])
        db.session.commit()
        with pytest.raises(DomainError, match="högre än den inneboende"):
            service.change_ratings(risk, assessment, user(COMMUNICATOR), {"residual_likelihood": 4}, "Fel.")
        db.session.rollback()
        risk = db.session.get(Risk, risk.id)
        assert ratings(risk) == (3, 4, 3, 4)
        # Lowering the inherent rating carries a residual that would exceed it down with it.
        service.change_ratings(risk, assessment, user(COMMUNICATOR), {"inherent_severity": 3}, "Mindre allvarligt.")
        assert ratings(risk) == (3, 3, 3, 3)
        other = free_risk(assessment, "Utan åtgärd")
        service.change_ratings(other, assessment, user(COMMUNICATOR), {"inherent_likelihood": 4}, "Fler försök ses.")
        assert ratings(other) == (4, 4, 4, 4)
        assert [(c.field, c.old, c.new) for c in history(other)] == [("inherent_likelihood", 3, 4),
                                                                     ("residual_likelihood", 3, 4)]


@pytest.mark.parametrize("how", ["cancelled", "unlinked"])
def test_losing_the_last_decided_measure_puts_the_residual_back_with_the_reason(app, draft, how):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        risk = free_risk(assessment)
        other = free_risk(assessment, "En annan risk")
        measure = measure_for(assessment, [risk, other])
        service.change_ratings(risk, assessment, user(COMMUNICATOR), {"residual_likelihood": 1,
                                                                      "residual_severity": 3}, "Åtgärden räcker.")
        service.set_treatment(risk, assessment, user(COMMUNICATOR), "reduce", "")
        db.session.commit()
        if how == "cancelled":
            measure_for(assessment, [risk, other], status="cancelled", due=None, measure=measure)
        else:
            measure_for(assessment, [other], measure=measure)
        db.session.commit()
        risk = db.session.get(Risk, risk.id)
        assert ratings(risk) == (3, 4, 3, 4)
        assert risk.treatment is None  # "reduce" without a measure is no decision any more
        back = [c for c in history(risk) if c.new in (3, 4) and c.field.startswith("residual")]
        assert {c.field for c in back} == {"residual_likelihood", "residual_severity"}
        # In the assessment's language (Swedish), naming what happened.
        assert ("avbröts" if how == "cancelled" else "kopplades bort") in back[-1].justification
        assert back[-1].changed_by.email == COMMUNICATOR
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.assessment_id == draft)).all()
        assert "risk_treatment_withdrawn" in actions


def test_a_rules_proposal_is_not_a_rating_until_adopted_with_a_decided_measure(app, draft):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        # A derived risk of the demo without any measure: its residual equals its inherent rating.
        views = present(assessment, service.risks_of(assessment))
        view = next(v for v in views if v.risk.active and v.rule and not v.risk.measures)
        risk = view.risk
        assert (risk.residual_likelihood, risk.residual_severity) == (risk.inherent_likelihood,
                                                                      risk.inherent_severity)
        assert view.proposal == (min(view.rule.residual.likelihood, risk.inherent_likelihood),
                                 min(view.rule.residual.severity, risk.inherent_severity))
        with pytest.raises(DomainError, match="beslutad åtgärd"):
            service.adopt_proposal(risk, assessment, user(COMMUNICATOR))
        db.session.rollback()
        risk = db.session.get(Risk, risk.id)
        measure_for(assessment, [risk], title="Sidstatistik bara sammanställd")
        service.adopt_proposal(risk, assessment, user(COMMUNICATOR))
        assert (risk.residual_likelihood, risk.residual_severity) == view.proposal
        assert all("Sidstatistik bara sammanställd" in c.justification for c in history(risk))


# --- Treatment decisions --------------------------------------------------------------------------------

def test_treatment_decisions_need_their_grounds_and_say_who_accepted(app, draft):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        risk = free_risk(assessment)
        db.session.commit()
        with pytest.raises(DomainError, match="beslutad åtgärd"):
            service.set_treatment(risk, assessment, user(COMMUNICATOR), "reduce", "")
        with pytest.raises(DomainError, match="varför risken godtas"):
            service.set_treatment(risk, assessment, user(LEGAL), "accept", "  ")
        with pytest.raises(DomainError, match="vad som upphör"):
            service.set_treatment(risk, assessment, user(COMMUNICATOR), "avoid", "")
        with pytest.raises(DomainError, match="alternativen"):
            service.set_treatment(risk, assessment, user(COMMUNICATOR), "ignore", "x")
        db.session.rollback()
        risk = db.session.get(Risk, risk.id)
        assert risk.treatment is None
        service.set_treatment(risk, assessment, user(LEGAL), "accept", "Nyttan väger tyngre.")
        assert risk.treatment is Treatment.ACCEPT and risk.treatment_by.email == LEGAL
        assert risk.treatment_reason == "Nyttan väger tyngre." and risk.treatment_at is not None


def test_a_risk_of_a_platform_whose_transfer_may_not_take_place_can_only_be_avoided(app, draft):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        set_transfer(draft, "instagram", transfer_tool="scc", transfer_law_impinges="yes",
                     transfer_measures_effective="no")
        service.sync_risks(assessment, user(COMMUNICATOR))
        assert service.stopped_platforms(assessment) == {"instagram"}
        risk = next(r for r in service.risks_of(assessment) if r.active and r.platform == "instagram")
        with pytest.raises(DomainError, match="kan bara undvikas"):
            service.set_treatment(risk, assessment, user(LEGAL), "accept", "Vi godtar.")
        db.session.rollback()
        risk = db.session.get(Risk, risk.id)
        service.set_treatment(risk, assessment, user(COMMUNICATOR), "avoid", "Instagramkontot pausas.")
        assert risk.treatment is Treatment.AVOID
        # The approval gate says the same of a decision taken before the transfer answer changed.
        other = next(r for r in service.risks_of(assessment) if r.active and r.platform == "instagram"
                     and r.id != risk.id)
        other.treatment = Treatment.ACCEPT
        db.session.commit()
        assert any("kan bara undvikas" in b.message for b in approval_blockers(assessment))


# --- The conclusion for each kind of transfer ----------------------------------------------------------

TRANSFER_QUESTIONS = ["transfer_tool", "dpf_checked_on", "dpf_fallback", "supplementary_measure_kinds",
                      "third_country_law", "transfer_mapping", "transfer_tool_documented", "supplementary_measures",
                      "transfer_procedural_steps", "transfer_reevaluation", "transfer_law_impinges",
                      "transfer_measures_effective"]


def set_transfer(assessment_id: int, platform: str, **answers) -> None:
    """Replace one platform's answers about its transfer."""
    db.session.execute(Answer.__table__.delete().where(
        Answer.assessment_id == assessment_id, Answer.platform == platform,
        Answer.question_key.in_(TRANSFER_QUESTIONS)))
    for key, value in answers.items():
        db.session.add(Answer(assessment_id=assessment_id, question_key=key, platform=platform, value=value))
    db.session.flush()
    service.sync_risks(db.session.get(Assessment, assessment_id), user(COMMUNICATOR))
    db.session.commit()


NOT_ALLOWED_TEXT = ["Instagram: överföringen får inte ske (art. 44; C-311/18 Schrems II)",
                    "Avsluta eller pausa användningen av Instagram",
                    "Förhandssamråd med IMY kan inte göra överföringen laglig"]


@pytest.mark.parametrize("version, answers, expected, absent", [
    (3, {"transfer_tool": "dpf_adequacy", "dpf_checked_on": "2026-11-03"},
     ["Instagram: överföringen får ske.", "DPF-listan"], ["överföringen får inte ske"]),
    (3, {"transfer_tool": "scc", "transfer_law_impinges": "no"},
     ["Instagram: överföringen får ske.", "fann ingen lag eller praxis som inkräktar"], ["överföringen får inte ske"]),
    (3, {"transfer_tool": "scc", "transfer_law_impinges": "yes", "transfer_measures_effective": "yes"},
     ["Instagram: överföringen får ske.", "i huvudsak likvärdig skyddsnivå"], ["överföringen får inte ske"]),
    (3, {"transfer_tool": "scc", "transfer_law_impinges": "yes", "transfer_measures_effective": "no"},
     NOT_ALLOWED_TEXT + ["ger inte en i huvudsak likvärdig skyddsnivå"], ["Instagram: överföringen får ske."]),
    (3, {"transfer_tool": "unknown"},
     ["Instagram: inte känt: en brist i dokumentationen", "inte en riskbedömning"], ["överföringen får inte ske"]),
    (2, {"transfer_tool": "scc", "supplementary_measure_kinds": ["technical"], "third_country_law": "Bedömd."},
     ["Instagram: överföringen får ske.", "i huvudsak likvärdig skyddsnivå"], ["överföringen får inte ske"]),
    (2, {"transfer_tool": "scc", "supplementary_measure_kinds": ["none"], "third_country_law": "Bedömd."},
     NOT_ALLOWED_TEXT, ["Instagram: överföringen får ske."]),
    (2, {"transfer_tool": "scc", "supplementary_measure_kinds": ["contractual", "organisational"],
         "third_country_law": "Bedömd."},
     NOT_ALLOWED_TEXT + ["ger inte en i huvudsak likvärdig skyddsnivå"], []),
], ids=["v3-dpf-listed", "v3-sccs-law-does-not-impinge", "v3-sccs-with-effective-measures",
        "v3-sccs-without-effective-measures", "v3-unknown-tool", "v2-sccs-with-technical-measures",
        "v2-sccs-without-measures", "v2-sccs-with-contractual-measures-only"])
def test_each_transfer_case_gives_its_conclusion(app, client, auth, demo_orgs, version, answers, expected, absent):
    with app.app_context():
        assessment_id = answered_assessment(f"exempelkommun-{version}").id
        set_transfer(assessment_id, "instagram", **answers)
    auth.login(LEGAL)
    page = client.get(f"/assessments/{assessment_id}/risks").get_data(as_text=True)
    conclusion = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="conclusion"'):]).split())
    conclusion = conclusion.replace(" :", ":").replace(" .", ".")
    for text in expected:
        assert text in conclusion, text
    for text in absent:
        assert text not in conclusion, text
    # Never routed to prior consultation: the conclusion does not say it is required.
    assert "Krävs: 1 restrisk" not in conclusion and "restrisker i behandlingen förblir höga" not in conclusion
    assert "Krävs inte" in conclusion
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        messages = [b.message for b in approval_blockers(assessment)]
        if NOT_ALLOWED_TEXT[0] in expected:
            # The platform's transfer risk stays high, and still no prior consultation: it is to be stopped.
            assert any(r.active and r.platform == "instagram" and r.rule_key == "third_country_authority_access"
                       and is_high(r.residual_likelihood, r.residual_severity) for r in service.risks_of(assessment))
    gap = any(m.startswith("Instagram: ") and "Överföringsverktyget är inte känt" in m for m in messages)
    assert gap is (answers["transfer_tool"] == "unknown")


# --- Approval gates -------------------------------------------------------------------------------------

def break_with_warning(assessment):
    db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id,
                                            Answer.question_key == "two_factor")).one().value = "no"
    return "Slå på tvåstegsverifiering"


def break_with_undecided_risk(assessment):
    risk = next(r for r in service.risks_of(assessment) if r.active)
    risk.treatment = None
    return "besluta hur risken hanteras"


def break_with_unknown_transfer(assessment):
    db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id,
                                            Answer.question_key == "transfer_tool",
                                            Answer.platform == "facebook")).one().value = "unknown"
    return "Överföringsverktyget är inte känt"


def break_with_to_correct(assessment):
    review.set_verdict(assessment, user(LEGAL), "security", "to_correct", "Saknar rutin.")
    return "markerat ”ska rättas”"


def break_with_stale_to_correct(assessment):
    from datetime import timedelta

    review.set_verdict(assessment, user(LEGAL), "security", "to_correct", "Saknar rutin.")
    verdict = db.session.scalars(select(SectionVerdict).where(SectionVerdict.assessment_id == assessment.id)).one()
    verdict.created_at = verdict.created_at - timedelta(days=1)  # given before the answer below changed
    answer = db.session.scalars(select(Answer).where(Answer.assessment_id == assessment.id,
                                                     Answer.question_key == "offboarding")).one()
    answer.value = answer.value + " Rutinen är nu skriftlig."
    answer.updated_at = verdict.created_at + timedelta(hours=1)
    return "innan avsnittet senast ändrades"


def break_with_open_comment(assessment):
    review.add_comment(assessment, user(LEGAL), "Gäller det även tjänstetelefonen?", question="two_factor")
    return "öppen granskningskommentar"


@pytest.mark.parametrize("breaks", [break_with_warning, break_with_undecided_risk, break_with_unknown_transfer,
                                    break_with_to_correct, break_with_stale_to_correct, break_with_open_comment],
                         ids=lambda f: f.__name__.removeprefix("break_with_"))
def test_each_gate_refuses_approval_with_its_message_and_changes_nothing(app, client, auth, draft, breaks):
    with app.app_context():
        assessment = submitted(draft)
        assert approval_blockers(assessment) == []
        message = breaks(assessment)
        db.session.commit()
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        version = reload(draft).version
    auth.login(LEGAL)
    page = client.get(f"/assessments/{draft}/approve").get_data(as_text=True)
    assert "Godkännande är inte möjligt än" in page and message in page
    # Each item links to where it is fixed.
    blockers = page[page.index('id="blockers-title"'):page.index("</ul>", page.index('id="blockers-title"'))]
    assert re.search(rf'<a href="/assessments/{draft}(/risks)?#[\w-]+">[^<]*{re.escape(message)}', blockers)
    response = client.post(f"/assessments/{draft}/approve", data={**APPROVE, "confirm_conclusion": "y",
                                                                  "version": version_of(page)},
                           follow_redirects=True)
    assert "Godkännande är inte möjligt än" in response.get_data(as_text=True)
    with app.app_context():
        assert nothing_signed(draft)
        assert reload(draft).version == version
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_stale_verdict_given_again_no_longer_blocks(app, draft):
    with app.app_context():
        assessment = submitted(draft)
        break_with_stale_to_correct(assessment)
        db.session.commit()
        assert any("innan avsnittet senast ändrades" in b.message for b in approval_blockers(assessment))
        review.set_verdict(assessment, user(LEGAL), "security", "acceptable", "Rutinen finns nu.")
        db.session.commit()
        assert approval_blockers(assessment) == []


# --- Four eyes ------------------------------------------------------------------------------------------

def legal_edits_answer(assessment):
    from assessments.answers import catalog_of
    from assessments.wizard import save_step

    workflow.request_changes(assessment, user(LEGAL), "Komplettera.")  # back to editable, then legal edits
    answers = load_answers(assessment)
    section = catalog_of(assessment).section("security")
    save_step(assessment, section, {("offboarding", ""): answers[("offboarding", "")] + " Skriftlig rutin."},
              user(LEGAL), assessment.version, answers=answers)
    workflow.submit_for_review(assessment, user(COMMUNICATOR))


def legal_changes_a_rating(assessment):
    risk = next(r for r in service.risks_of(assessment) if r.active and service.decided_measures(r))
    service.change_ratings(risk, assessment, user(LEGAL), {"inherent_severity": 4}, "Allvarligare än förslaget.")


def legal_saves_a_measure(assessment):
    measure = service.measures_of(assessment)[0]
    service.save_measure(assessment, user(LEGAL), measure=measure, title=measure.title + " (preciserad)",
                         owner=measure.owner, due_date=measure.due_date, status=measure.status.value,
                         description="", risk_ids=[r.id for r in measure.risks])


def legal_records_the_dpos_advice(assessment):
    review.record_dpo_advice(assessment, user(LEGAL), advice="Gör så.", on_behalf=True)


@pytest.mark.parametrize("edit, reason", [
    (legal_edits_answer, "Du har ändrat svar, risker, bedömningar eller åtgärder"),
    (legal_changes_a_rating, "Du har ändrat svar, risker, bedömningar eller åtgärder"),
    (legal_saves_a_measure, "Du har ändrat svar, risker, bedömningar eller åtgärder"),
    (legal_records_the_dpos_advice, "för dataskyddsombudets räkning"),
], ids=["answer", "rating", "measure", "legal-as-dpo"])
def test_four_eyes_the_approver_did_not_change_what_is_approved(app, client, auth, draft, edit, reason):
    with app.app_context():
        assessment = submitted(draft)
        edit(assessment)
        db.session.commit()
        assert independence_problems(assessment, user(LEGAL))
        assert user(LEGAL).id in editors_of(assessment) or edit is legal_records_the_dpos_advice
        version = reload(draft).version
    auth.login(LEGAL)
    page = client.get(f"/assessments/{draft}/approve")
    assert page.status_code == 403 and reason in page.get_data(as_text=True)
    assert "En annan jurist måste godkänna" in page.get_data(as_text=True)
    assert 'name="password"' not in page.get_data(as_text=True)
    posted = client.post(f"/assessments/{draft}/approve", data={**APPROVE, "version": str(version)})
    assert posted.status_code == 403
    with app.app_context():
        assert nothing_signed(draft) and reload(draft).version == version
        # The service refuses too, whoever calls it.
        with pytest.raises(DomainError, match="Du får inte godkänna"):
            sign_approval(reload(draft), user(LEGAL), expected_version=version)


def test_four_eyes_the_author_may_not_approve(app, demo_orgs):
    with app.app_context():
        assessment = answered_assessment()
        assessment.author_id = user(LEGAL).id
        db.session.commit()
        with force_locale("en"):
            assert independence_problems(assessment, user(LEGAL)) == ["You are the author of this assessment."]


def test_an_independent_legal_reviewer_may_approve_what_a_colleague_edited(app, client, auth, draft):
    from assessments.models import Role, User

    with app.app_context():
        assessment = submitted(draft)
        legal_changes_a_rating(assessment)
        second = User(email=f"jurist2@{KOMMUN}", name="Sam Jurist", organisation_id=assessment.organisation_id,
                      role=Role.LEGAL)
        second.set_password(DEMO_PASSWORD)
        db.session.add(second)
        db.session.commit()
        assert independence_problems(assessment, second) == []
    auth.login(f"jurist2@{KOMMUN}")
    page = client.get(f"/assessments/{draft}/approve").get_data(as_text=True)
    response = client.post(f"/assessments/{draft}/approve", data={**APPROVE, "version": version_of(page)})
    assert response.status_code == 302
    with app.app_context():
        assert reload(draft).status is Status.APPROVED


# --- Stable R-numbers -----------------------------------------------------------------------------------

def test_r_numbers_are_never_reused_and_survive_inactivity_and_revisions(app, client, auth, signed_demo):
    from assessments.revisions import new_revision

    with app.app_context():
        first = db.session.scalars(select(Assessment)).one()
        numbers = {(r.rule_key, r.platform): r.number for r in service.risks_of(first)}
        assert sorted(numbers.values()) == list(range(1, len(numbers) + 1))
        revision = new_revision(first, user(COMMUNICATOR), to_latest_catalog=False).assessment
        db.session.commit()
        copied = {(r.rule_key, r.platform): r.number for r in service.risks_of(revision)}
        assert copied == numbers
        # A risk stops applying: it keeps its number, and a new risk takes the next free one.
        target = next(r for r in service.risks_of(revision) if r.rule_key == "former_staff_access")
        answers = {a.question_key: a for a in db.session.scalars(select(Answer).where(
            Answer.assessment_id == revision.id, Answer.question_key.in_(["access_list"])))}
        answers["access_list"].value = "yes"
        db.session.flush()
        service.sync_risks(revision, user(COMMUNICATOR))
        assert not db.session.get(Risk, target.id).active and db.session.get(Risk, target.id).number == \
            numbers[("former_staff_access", "")]
        added = free_risk(revision, "Ny risk i revisionen")
        assert added.number == max(numbers.values()) + 1
        db.session.commit()
        views = {v.risk.id: v.number for v in present(revision, service.risks_of(revision))}
        assert views[target.id] == f"R{numbers[('former_staff_access', '')]}"
        assert views[added.id] == f"R{max(numbers.values()) + 1}"


# --- The demos tell the truth --------------------------------------------------------------------------

def test_no_demo_lowers_a_residual_without_a_decided_measure(app, demo_orgs):
    from assessments.demo import demo_names

    with app.app_context():
        for name in demo_names():
            assessment = answered_assessment(name)
            changes = service.rating_history(service.risks_of(assessment))
            for risk in service.risks_of(assessment):
                if not risk.active:
                    continue
                assert risk.treatment is not None, (name, risk.rule_key)
                if service.lowered(risk):
                    decided = service.decided_measures(risk)
                    assert decided, (name, risk.rule_key, "residual lowered without a decided measure")
                    # The rating history names the measures that justify it.
                    lowered = [c for c in changes[risk.id] if c.field.startswith("residual")]
                    assert lowered and all(any(m.title in c.justification for m in decided) for c in lowered)
            assert approval_blockers(assessment) == [], name


def test_the_bank_demo_is_an_honest_prior_consultation_and_its_pdf_agrees_with_the_register(app, client, auth,
                                                                                             demo_orgs):
    """Signed through the sign page: the extra confirmation is needed; the PDF carries the Art. 36 record,
    the conditional meaning of the signature, and each risk with its number, ratings and treatment."""
    bank = "exempelbanken.example"
    with app.app_context():
        assessment = answered_assessment(latest_demo("exempelbanken"))
        workflow.submit_for_review(assessment, assessment.author)
        db.session.commit()
        assessment_id = assessment.id
        assert service.conclusion(assessment).prior_consultation_required
    auth.login(f"jurist@{bank}")
    page = client.get(f"/assessments/{assessment_id}/approve").get_data(as_text=True)
    assert "Det här skriver du under" in page and "IMY-2026-11873" in page
    assert "Jag godkänner trots att 1 restrisk förblir hög" in page
    refused = client.post(f"/assessments/{assessment_id}/approve", data={**APPROVE, "version": version_of(page)})
    assert refused.status_code == 400 and "Du måste bekräfta detta för att kunna signera" in refused.get_data(as_text=True)
    with app.app_context():
        assert nothing_signed(assessment_id)
    signed = client.post(f"/assessments/{assessment_id}/approve", data={
        **APPROVE, "confirm_conclusion": "y", "version": version_of(page)})
    assert signed.status_code == 302
    with app.app_context():
        assessment = reload(assessment_id)
        assert assessment.status is Status.APPROVED
        document = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.assessment_id ==
                                                                     assessment_id)).one()
        text = pdf_text(archive().read(document.path))
        views = present(assessment, service.risks_of(assessment))
        conclusion = service.conclusion(assessment)
    assert "Granskad och godkänd under förutsättning av förhandssamråd med IMY (art. 36)" in text
    assert "Begäran skickades till IMY den 2026-11-24, IMY:s diarienummer IMY-2026-11873" in text
    assert "IMY har ännu inte svarat." in text
    assert "får inte påbörjas eller fortsätta förrän IMY har svarat" in text
    compact = text.replace(" ", "")
    for view in views:
        if view.risk.active:
            r = view.risk
            assert f"{r.inherent_likelihood}×{r.inherent_severity}" in compact
            assert f"{r.residual_likelihood}×{r.residual_severity}" in compact
            assert view.title.replace(" ", "")[:30] in compact, view.number
    assert len(conclusion.high_risks) == 1
    # IMY answers after approval: the record is completed on the register; the signed file is unchanged.
    auth.logout()
    auth.login(f"dso@{bank}")
    response = client.post(f"/assessments/{assessment_id}/conclusion/prior-consultation", data={
        "requested_on": "2026-11-24", "imy_case_number": "IMY-2026-11873", "answered_on": clock.today().isoformat(),
        "imy_advice": "IMY har inga invändningar under förutsättning att kundtjänsten flyttas till appen."})
    assert response.status_code == 302
    register = client.get(f"/assessments/{assessment_id}/risks").get_data(as_text=True)
    assert "IMY har inga invändningar" in register
    with app.app_context():
        assert db.session.scalars(select(ArchivedDocument)).one().sha256 == document.sha256


def test_the_prior_consultation_record_refuses_what_cannot_be(app, client, auth, demo_orgs):
    with app.app_context():
        assessment_id = answered_assessment(latest_demo("exempelbanken")).id
    auth.login("jurist@exempelbanken.example")
    for data, message in (
            ({"imy_case_number": "IMY-1"}, "Ange först datumet"),
            ({"requested_on": "2026-11-24", "answered_on": "2026-11-01", "imy_advice": "Ok."}, "innan begäran"),
            ({"requested_on": "2026-11-24", "answered_on": "2026-12-01"}, "Skriv in IMY:s skriftliga råd"),
            ({"requested_on": "2999-01-01"}, "i framtiden"),
            ({"requested_on": "24/11"}, "ÅÅÅÅ-MM-DD")):
        response = client.post(f"/assessments/{assessment_id}/conclusion/prior-consultation", data=data,
                               follow_redirects=True)
        assert message in response.get_data(as_text=True), data
    with app.app_context():
        from assessments.prior_consultation import prior_consultation_of

        record = prior_consultation_of(db.session.get(Assessment, assessment_id))
        assert (record.requested_on, record.imy_case_number, record.answered_on) == (
            date(2026, 11, 24), "IMY-2026-11873", None)
    auth.logout()
    auth.login(COMMUNICATOR.replace(KOMMUN, "exempelbanken.example"))
    assert client.post(f"/assessments/{assessment_id}/conclusion/prior-consultation",
                       data={"requested_on": "2026-11-24"}).status_code == 403


def test_cancelled_measures_stay_in_the_plan_but_lower_nothing(app, draft):
    with app.app_context():
        assessment = db.session.get(Assessment, draft)
        risk = free_risk(assessment)
        measure = measure_for(assessment, [risk], status="cancelled", due=None)
        assert measure.status is MeasureStatus.CANCELLED and not service.is_decided(measure)
        with pytest.raises(DomainError, match="beslutad åtgärd"):
            service.change_ratings(risk, assessment, user(COMMUNICATOR), {"residual_likelihood": 2}, "Åtgärd.")

