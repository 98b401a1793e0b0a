"""Demo organisations, users, seals and assessments (a new user can start and try the journey).

``flask --app app init`` calls ``create_demo_organisations``: safe to run twice, it only adds what is
missing. Passwords come from KONSEKVENS_DEMO_PASSWORD, otherwise they are generated and printed once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from .. import audit
from ..answers import RECORDED_SECTIONS
from ..catalog import get_catalog, latest_catalog
from ..extensions import db
from ..models import Answer, Assessment, Organisation, Role, Status, Treatment, User
from ..passwords import policy_problem
from ..prior_consultation import record_prior_consultation
from ..report.seal import create_self_signed_seal
from ..review import record_data_subject_views, record_dpo_advice, respond_to_dpo_advice
from ..risk.service import (
    adopt_proposal,
    decided_measures,
    proposal_of,
    risks_of,
    rule_of,
    save_measure,
    set_treatment,
    sync_risks,
)

DEMO_DIR = Path(__file__).parent

ORGANISATIONS = (
    # slug, name, mail domain, public body?
    ("exempelkommun", "Exempelkommun", "exempelkommun.example", True),
    ("regionexempel", "Region Exempel", "regionexempel.example", True),
    ("exempelbanken", "Exempelbanken", "exempelbanken.example", False),
)

USERS = (
    # local part, role, name
    ("kommunikator", Role.COMMUNICATOR, "Kim Kommunikatör"),
    ("jurist", Role.LEGAL, "Jo Jurist"),
    ("dso", Role.DPO, "Dana Dataskyddsombud"),
    ("admin", Role.ADMIN, "Alex Administratör"),
    ("lasare", Role.VIEWER, "Lo Läsare"),
)


@dataclass(frozen=True)
class CreatedLogin:
    email: str
    role: Role
    password: str | None  # None when the user already existed (its password is not known)


def create_demo_organisations(seal_dir: Path, password: str | None = None) -> list[CreatedLogin]:
    shared = password or None
    created: list[CreatedLogin] = []
    for slug, name, domain, public in ORGANISATIONS:
        org = db.session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
        if org is None:
            org = Organisation(slug=slug, name=name, is_public_body=public)
            db.session.add(org)
            db.session.flush()
            audit.record(org.id, "organisation_created", name=name)
        for local, role, person in USERS:
            email = f"{local}@{domain}"
            if db.session.scalars(select(User).where(User.email == email)).first() is not None:
                created.append(CreatedLogin(email, role, None))
                continue
            user_password = shared or generated_password(email, person, name)
            problem = policy_problem(user_password, email=email, name=person, extra=[name])
            if problem is not None:  # only a chosen KONSEKVENS_DEMO_PASSWORD can fail
                raise ValueError(f"KONSEKVENS_DEMO_PASSWORD cannot be used for {email}: {problem}")
            user = User(email=email, name=person, organisation_id=org.id, role=role)
            user.set_password(user_password)
            db.session.add(user)
            db.session.flush()
            audit.record(org.id, "user_created", email=email, role=role.value)
            created.append(CreatedLogin(email, role, user_password))
        seal = seal_dir / f"{slug}.p12"
        if not seal.exists():
            create_self_signed_seal(seal, organisation_name=name)
    db.session.flush()
    return created


def demo_user(organisation_id: int, role: Role) -> User:
    """The organisation's first user with this role (the demo creates one of each)."""
    user = db.session.scalars(select(User).where(User.organisation_id == organisation_id, User.role == role)
                              .order_by(User.id)).first()
    if user is None:
        raise ValueError(f"organisation {organisation_id} has no {role.value}: run `flask --app app init` first")
    return user


def generated_password(email: str, name: str, organisation: str) -> str:
    """16 random characters that pass the policy (a random string can, rarely, contain "dana" or "alex")."""
    while True:
        candidate = secrets.token_urlsafe(12)
        if policy_problem(candidate, email=email, name=name, extra=[organisation]) is None:
            return candidate


def demo_names(catalog_version: int | None = None) -> list[str]:
    """Demo files are ``<organisation>-<catalogue version>.yaml``; by default those of the latest version."""
    version = catalog_version or latest_catalog().version
    return sorted(p.stem for p in DEMO_DIR.glob(f"*-{version}.yaml"))


def load_demo_assessment(name: str) -> dict[str, Any]:
    with open(DEMO_DIR / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def create_demo_assessment(name: str, *, title: str | None = None, sections: int | None = None,
                           dpo_advice: bool = True) -> Assessment:
    """A fully answered draft from ``assessments/demo/<name>.yaml``, authored by the communicator; with
    ``sections``, only the first that many steps are answered (a draft under way: no risks decided, no
    consultation); without ``dpo_advice`` the DPO has not advised yet.

    The demo files are checked against the catalogue by tests/test_demo_data.py, so answers are stored
    as they are rather than through the form validation."""
    spec = load_demo_assessment(name)
    org = db.session.scalars(select(Organisation).where(Organisation.slug == spec["organisation"])).one()
    author = demo_user(org.id, Role.COMMUNICATOR)
    assessment = Assessment(organisation_id=org.id, title=title or spec["title"], language=spec["language"],
                            catalog_id=spec["catalogue"]["id"], catalog_version=spec["catalogue"]["version"],
                            platforms=list(spec["platforms"]), other_platform_name=spec.get("other_platform_name"),
                            author_id=author.id, status=Status.DRAFT)
    db.session.add(assessment)
    db.session.flush()
    audit.record(org.id, "created", actor=author, assessment_id=assessment.id, title=assessment.title,
                 platforms=assessment.platforms, demo=name)
    catalog = get_catalog(assessment.catalog_id, assessment.catalog_version)
    recorded = {q.key for s in catalog.sections if s.key in RECORDED_SECTIONS for q in s.questions}
    answered = catalog.sections[:sections] if sections is not None else catalog.sections
    wanted = {q.key for s in answered for q in s.questions}
    if sections is not None and sections < len(catalog.sections):
        assessment.last_step = catalog.sections[sections].key  # where "continue" takes the author
    for key, value in spec["answers"].items():
        if key in recorded or key not in wanted:  # the consultation record (record_consultation), not answers
            continue
        per_platform = isinstance(value, dict)
        for platform, item in (value.items() if per_platform else [("", value)]):
            db.session.add(Answer(assessment_id=assessment.id, question_key=key, platform=platform,
                                  value=item, updated_by_id=author.id))
    db.session.flush()

    sync_risks(assessment, author)
    if sections is not None:
        return assessment
    add_demo_measures(assessment, author, spec)
    decide_demo_treatments(assessment, author, spec, name)
    record_consultation(assessment, spec, dpo_advice=dpo_advice)
    return assessment


def _risks_named(assessment: Assessment, names: list[str]) -> list:
    """The risks a demo file names: ``rule`` (every platform's risk of that rule) or ``rule/platform``."""
    wanted = set(names)
    return [r for r in assessment_risks(assessment)
            if r.rule_key in wanted or f"{r.rule_key}/{r.platform}" in wanted]


def add_demo_measures(assessment: Assessment, author: User, spec: dict) -> None:
    """The demo's measures (optional in the file): each names the risks it addresses (see ``_risks_named``)."""
    for measure in spec.get("measures", []):
        save_measure(assessment, author, measure=None, title=measure["title"], owner=measure["owner"],
                     due_date=measure.get("due"), status=measure.get("status", "planned"),
                     description=measure.get("description", ""),
                     risk_ids=[r.id for r in _risks_named(assessment, measure.get("risks", []))])


def decide_demo_treatments(assessment: Assessment, author: User, spec: dict, name: str) -> None:
    """Each active risk's treatment, as the organisation decided it. A risk with decided measures is reduced
    and takes the rule's proposed residual rating (adopted by the author with those measures) unless the
    file says otherwise under ``treatments`` (``adopt: false`` keeps the residual rating where it is); a risk
    without measures must be listed there, to be avoided or accepted (acceptance by the legal reviewer)."""
    legal = demo_user(assessment.organisation_id, Role.LEGAL)
    decisions = spec.get("treatments", {})
    for risk in assessment_risks(assessment):
        if not risk.active:
            continue
        decision = decisions.get(f"{risk.rule_key}/{risk.platform}") or decisions.get(risk.rule_key) or {}
        measures = decided_measures(risk)
        if measures and decision.get("adopt", True) and proposal_of(risk, rule_of(risk, assessment)):
            adopt_proposal(risk, assessment, author)
        treatment = Treatment(decision.get("decision", "reduce" if measures else "")) \
            if decision.get("decision") or measures else None
        if treatment is None:
            raise ValueError(f"demo {name}: risk {risk.rule_key}/{risk.platform} has no decided measure and no "
                             f"treatment in the file")
        set_treatment(risk, assessment, legal if treatment is Treatment.ACCEPT else author, treatment.value,
                      decision.get("reason", ""))


FOLLOWED = {"followed": "yes", "partly": "partly", "not_followed": "no"}


def record_consultation(assessment: Assessment, spec: dict[str, Any], *, dpo_advice: bool = True) -> None:
    """The formal record of the DPO's advice and the data subjects' views, from the demo's answers to the
    consultation questions (catalogue v2), as the DPO and the author would record them."""
    answers = spec["answers"]
    if "dpo_advice" in answers and dpo_advice:
        dpo = demo_user(assessment.organisation_id, Role.DPO)
        record_dpo_advice(assessment, dpo, advice=answers["dpo_advice"], on_behalf=False)
        respond_to_dpo_advice(assessment, demo_user(assessment.organisation_id, Role.LEGAL),
                              followed=FOLLOWED[answers.get("dpo_advice_followed", "followed")],
                              reason=answers.get("dpo_advice_not_followed_reason", ""))
    if "prior_consultation" in spec:
        legal = demo_user(assessment.organisation_id, Role.LEGAL)
        record = spec["prior_consultation"]
        record_prior_consultation(assessment, legal, requested_on=record.get("requested_on"),
                                  case_number=record.get("imy_case_number", ""), answered_on=None, advice="")
    if "data_subject_views_sought" in answers:
        sought = answers["data_subject_views_sought"] == "yes"
        record_data_subject_views(assessment, assessment.author, sought=sought,
                                  whose=spec.get("data_subject_views_whose", ""),
                                  summary=answers.get("data_subject_views", ""),
                                  reason_not_sought=answers.get("data_subject_views_not_sought_reason", ""))


def assessment_risks(assessment: Assessment):
    return risks_of(assessment)
