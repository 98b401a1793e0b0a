"""The access matrix: every route × method of the URL map, tried by every kind of caller.

For each rule and method in ``app.url_map`` the table ``MATRIX`` below says who may use it and in which
state of the assessment it is exercised. One test per rule and method builds that world once and tries,
in this order (each refused attempt must change nothing in the database):

* anonymous                                   → 302 to /login (public pages: their normal answer)
* a user of another organisation (right role) → 404 for anything naming this organisation's assessment or user
* the same user with their *own* assessment id and this organisation's comment/risk/measure id → 404,
  and this organisation's right role with its own assessment id and the other organisation's child → 404
* every role of the organisation that may not  → 403
* every role that may                          → a normal answer (never 403, 404 or 500)

A route the table does not describe, or a table entry for a route that no longer exists, fails and names
it: adding an endpoint to the application means adding one line here (GDPR Art. 32(1)(b), Art. 25(2):
access is limited by default, and that is proven for every route, not only for those someone remembered).
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, inspect, select

from assessments import clock, create_app, policy, review, workflow
from assessments.demo import USERS
from assessments.evidence.listing import Target
from assessments.evidence.model import EvidenceFile
from assessments.evidence.service import attach
from assessments.extensions import db
from assessments.models import Assessment, Measure, ReviewComment, Risk, Role, Status
from tests.conftest import DEMO_PASSWORD, extract_csrf

OWN_DOMAIN, OTHER_DOMAIN = "exempelkommun.example", "regionexempel.example"
LOCAL_PART = {role: local for local, role, _name in USERS}

C, L, D, A, V = Role.COMMUNICATOR, Role.LEGAL, Role.DPO, Role.ADMIN, Role.VIEWER
EVERYONE = frozenset(Role)
AUTHORS = frozenset(policy.AUTHOR_ROLES)  # communicator and legal
REVIEWER = frozenset({L})  # legal, never the author (the author is the communicator)
COMMENTERS = frozenset({C, L, D})
ADVISERS = frozenset({D, L})  # the DPO, or legal on the DPO's behalf
ADMINS = frozenset({A})
PORTFOLIO = frozenset({D, L, A})  # every assessment of the organisation at a glance (docs/reassessment.md)
PUBLIC = None  # no login: anonymous and everyone get the page's normal answer

DRAFT, IN_REVIEW, APPROVED = Status.DRAFT, Status.IN_REVIEW, Status.APPROVED

PAGE = frozenset({200})
PAGE_OR_REDIRECT = frozenset({200, 302})
REDIRECT = frozenset({302})
# A POST by a role that may use it: done (302/303), refused as invalid (400/422) or as stale/in the wrong
# state (409, or a redirect with the message) — never 403, 404 or 500.
POST_OK = frozenset({200, 302, 303, 400, 409, 422})


@dataclass(frozen=True)
class Access:
    roles: frozenset[Role] | None  # None: public
    state: Status = DRAFT  # the state of the assessment (and of the other organisation's) when exercised
    ok: frozenset[int] | None = None  # allowed statuses for a right role; default PAGE for GET, POST_OK else
    data: Callable[[World], dict] | dict = field(default_factory=dict)  # form data sent by every caller
    # Form fields naming a child of an assessment; the other organisation's id there must be refused.
    foreign_form: dict[str, str] = field(default_factory=dict)
    logs_out: bool = False  # a right role is sent to the login page on purpose
    # Puts back what an allowed attempt used up (a removed evidence file), before the next allowed role tries.
    restore: Callable[[World], None] | None = None


def version(world: World) -> str:
    return str(world.current_version())


def evidence_upload(_world: World) -> dict:
    return {"file": (io.BytesIO("Minnesanteckning från mötet.".encode()), "anteckning.txt"),
            "target": "q:purposes:", "relationship": "Source", "description": "Mötet 12 oktober"}


EVIDENCE_ROWS: dict[int, dict] = {}  # id → the evidence row _make attached, as it was


def restore_evidence(world: World) -> None:
    with world.app.app_context():
        if db.session.get(EvidenceFile, world.own["evidence"]) is None:
            db.session.add(EvidenceFile(**EVIDENCE_ROWS[world.own["evidence"]]))
            db.session.commit()


# (endpoint, method) → who may use it. Adding a route = adding a line here.
MATRIX: dict[tuple[str, str], Access] = {
    ("static", "GET"): Access(PUBLIC),
    ("general.accessibility", "GET"): Access(PUBLIC),
    ("general.set_language", "GET"): Access(PUBLIC, ok=REDIRECT),
    ("auth.login", "GET"): Access(PUBLIC, ok=PAGE_OR_REDIRECT),
    ("auth.login", "POST"): Access(PUBLIC, ok=frozenset({302, 400})),
    ("auth.logout", "POST"): Access(EVERYONE, ok=REDIRECT, logs_out=True),
    ("account.settings", "GET"): Access(EVERYONE),
    ("account.settings", "POST"): Access(EVERYONE, data={"email_notifications": "no"}),
    ("account.change_password", "GET"): Access(EVERYONE),
    ("account.change_password", "POST"): Access(EVERYONE, data={"current_password": "fel"}),
    ("assessments.dashboard", "GET"): Access(EVERYONE),
    ("assessments.new", "GET"): Access(AUTHORS),
    ("assessments.new", "POST"): Access(AUTHORS, data={"title": "Matris", "platforms": ["facebook"],
                                                       "language": "sv"}),
    ("exports.import_assessment", "GET"): Access(AUTHORS),
    ("exports.import_assessment", "POST"): Access(AUTHORS),
    ("verification.verify", "GET"): Access(EVERYONE),
    ("verification.verify", "POST"): Access(EVERYONE),
    ("admin.platform_facts", "GET"): Access(ADMINS),
    ("portfolio.page", "GET"): Access(PORTFOLIO),
    ("portfolio.csv", "GET"): Access(PORTFOLIO),
    ("admin.security_events", "GET"): Access(ADMINS),
    ("admin_users.list_users", "GET"): Access(ADMINS),
    ("admin_users.new_user", "GET"): Access(ADMINS),
    ("admin_users.new_user", "POST"): Access(ADMINS, data={"email": f"matris.ny@{OWN_DOMAIN}", "name": "Nils Matris",
                                                           "role": "viewer", "language": "sv"}),
    # <user_id>: a user of this organisation (``build_world``); the other organisation's administrator gets 404.
    ("admin_users.user", "GET"): Access(ADMINS),
    ("admin_users.change_role", "POST"): Access(ADMINS, data={"role": "communicator"}),
    ("admin_users.deactivate", "POST"): Access(ADMINS),
    ("admin_users.reactivate", "POST"): Access(ADMINS),
    ("admin_users.unlock", "POST"): Access(ADMINS),
    ("admin_users.reset_password", "POST"): Access(ADMINS),
    ("admin.edit_platform_facts", "GET"): Access(ADMINS),
    ("admin.edit_platform_facts", "POST"): Access(ADMINS, data={
        "eu_entity": "Meta Platforms Ireland Ltd", "transfer_tool": "", "joint_controller_addendum": "yes",
        "source": "Villkorssidan", "verified_on": clock.today().isoformat()}),
    ("assessments.overview", "GET"): Access(EVERYONE),
    ("assessments.step", "GET"): Access(EVERYONE, ok=PAGE_OR_REDIRECT),  # non-authors see the overview
    ("assessments.step", "POST"): Access(AUTHORS, data=lambda w: {"version": version(w), "action": "later"}),
    ("assessments.step_feedback", "POST"): Access(AUTHORS, ok=PAGE),
    ("assessments.submit", "POST"): Access(AUTHORS),
    ("assessments.request_changes", "POST"): Access(REVIEWER, IN_REVIEW,
                                                    data=lambda w: {"reason": "Mer om lagring.",
                                                                    "version": version(w)}),
    ("assessments.approve", "GET"): Access(REVIEWER, IN_REVIEW),
    ("assessments.approve", "POST"): Access(REVIEWER, IN_REVIEW, data={"password": "fel"}),
    ("assessments.start_revision", "POST"): Access(AUTHORS, APPROVED),
    ("assessments.document", "GET"): Access(EVERYONE, APPROVED),
    ("exports.bundle", "GET"): Access(EVERYONE, APPROVED),
    ("exports.export_json", "GET"): Access(EVERYONE),
    ("review.comment", "POST"): Access(COMMENTERS, IN_REVIEW, data={"body": "Varför?"},
                                       foreign_form={"parent": "comment"}),
    ("review.resolve", "POST"): Access(COMMENTERS, IN_REVIEW),
    ("review.verdict", "POST"): Access(REVIEWER, IN_REVIEW, data={"section": "screening",
                                                                 "verdict": "acceptable"}),
    ("review.consultation", "GET"): Access(EVERYONE),
    ("review.dpo_advice", "POST"): Access(ADVISERS, data={"advice": "Stäng av riktad annonsering.",
                                                          "on_behalf": "1"}),
    ("review.advice_response", "POST"): Access(AUTHORS, data={"followed": "yes"}),
    ("review.data_subjects", "POST"): Access(COMMENTERS, data={"sought": "no", "reason_not_sought": "Anonyma."}),
    ("review.changes", "GET"): Access(EVERYONE, IN_REVIEW),
    ("review.trail", "GET"): Access(EVERYONE),
    ("risks.register", "GET"): Access(EVERYONE),
    ("risks.action_plan", "GET"): Access(EVERYONE),
    ("risks.add_risk", "POST"): Access(AUTHORS, data={"title": "Kapade konton", "inherent_likelihood": "2",
                                                      "inherent_severity": "3", "residual_likelihood": "1",
                                                      "residual_severity": "2"}),
    ("risks.change_ratings", "POST"): Access(AUTHORS, data={"residual_likelihood": "1",
                                                            "justification": "Tvåstegsverifiering."}),
    ("risks.save_measure", "POST"): Access(AUTHORS, data={"title": "Tvåstegsverifiering", "owner": "IT",
                                                          "status": "planned"},
                                           foreign_form={"risks": "risk"}),
    ("risks.new_measure", "GET"): Access(AUTHORS),
    ("risks.measure", "GET"): Access(EVERYONE),
    ("risks.accept_residual", "POST"): Access(REVIEWER, IN_REVIEW, data={"reason": "Åtgärderna räcker."}),
    ("risks.set_treatment", "POST"): Access(AUTHORS, data={"treatment": "accept", "reason": "Nyttan väger tyngre."}),
    ("risks.adopt_proposal", "POST"): Access(AUTHORS),
    # The Art. 36 record is kept by legal and the DPO, also after approval (IMY answers later).
    ("risks.record_prior_consultation", "POST"): Access(ADVISERS, APPROVED, data={
        "requested_on": clock.today().isoformat(), "imy_case_number": "IMY-2026-1"}),
    # Evidence: seen and downloaded by everyone of the organisation; attached and removed as the risks are
    # changed (authors in a draft, legal in review; nobody once approved: tests/test_evidence.py).
    ("evidence.page", "GET"): Access(EVERYONE),
    ("evidence.download", "GET"): Access(EVERYONE, APPROVED),
    ("evidence.upload", "POST"): Access(AUTHORS, data=evidence_upload),
    ("evidence.delete", "POST"): Access(AUTHORS, restore=restore_evidence),
}

# URL parameters that are not ids of the organisation's records.
FIXED_PARAMETERS = {"platform": "facebook", "section_key": "screening", "filename": "app.css", "code": "en"}
CHILDREN = {"comment_id": "comment", "risk_id": "risk", "measure_id": "measure", "evidence_id": "evidence"}


# ---------------------------------------------------------------------------------------------------------
# The cases come from the URL map itself.

def _url_map_app():
    return create_app({"TESTING": True, "SECRET_KEY": "collect", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@dataclass(frozen=True)
class Case:
    endpoint: str
    rule: str
    method: str
    arguments: frozenset[str]

    def __str__(self) -> str:
        return f"{self.method} {self.rule} (endpoint {self.endpoint})"


def url_map_cases(app) -> list[Case]:
    # The parameters in the path itself (``rule.arguments`` also lists defaults of a sibling rule).
    return sorted((Case(rule.endpoint, rule.rule, method, frozenset(re.findall(r"<(?:[^:<>]+:)?([^<>]+)>",
                                                                                 rule.rule)))
                   for rule in app.url_map.iter_rules()
                   for method in sorted(rule.methods - {"HEAD", "OPTIONS"})),
                  key=lambda c: (c.rule, c.method))


CASES = url_map_cases(_url_map_app())


def test_the_matrix_names_only_routes_that_exist():
    existing = {(c.endpoint, c.method) for c in CASES}
    stale = sorted(f"{method} {endpoint}" for endpoint, method in MATRIX if (endpoint, method) not in existing)
    assert not stale, f"the access matrix describes routes that no longer exist; remove them: {stale}"


# ---------------------------------------------------------------------------------------------------------
# The world a case runs in: this organisation's assessment (the municipality's demo, written by the
# communicator) with a comment, risks and a measure, and where needed the same in another organisation.

@dataclass
class World:
    app: object
    own: dict[str, int]  # kind → id: assessment, comment, risk, measure
    foreign: dict[str, int]

    def current_version(self) -> int:
        with self.app.app_context():
            return db.session.get(Assessment, self.own["assessment"]).version


def _user(email: str):
    from tests.factories import user

    return user(email)


def _bring_to(assessment: Assessment, state: Status, domain: str, comment) -> None:
    if state is DRAFT:
        return
    workflow.submit_for_review(assessment, _user(f"kommunikator@{domain}"))
    db.session.flush()
    if state is APPROVED:
        from assessments.signoff import sign_approval

        # An open review comment blocks approval: it is answered first.
        review.resolve_comment(assessment, _user(f"jurist@{domain}"), comment)
        sign_approval(assessment, _user(f"jurist@{domain}"), expected_version=assessment.version)


def _make(app, demo: str, domain: str, state: Status) -> dict[str, int]:
    from tests.factories import answered_assessment

    with app.app_context():
        assessment = answered_assessment(demo)
        comment = review.add_comment(assessment, _user(f"kommunikator@{domain}"), "Stämmer lagringstiden?")
        risk = db.session.scalars(select(Risk).where(Risk.assessment_id == assessment.id, Risk.active.is_(True))
                                  .order_by(Risk.id)).first()
        measure = db.session.scalars(select(Measure).where(Measure.assessment_id == assessment.id)
                                     .order_by(Measure.id)).first()
        assert risk is not None and measure is not None, f"the demo {demo} has no risk or no measure"
        evidence = attach(assessment, _user(f"kommunikator@{domain}"), data=b"Beslut om kanalen.",
                          filename="beslut.txt", target=Target(risk_id=risk.id), relationship="Source",
                          description=None)
        EVIDENCE_ROWS[evidence.id] = {c.key: getattr(evidence, c.key) for c in inspect(EvidenceFile).column_attrs}
        _bring_to(assessment, state, domain, comment)
        db.session.commit()
        return {"assessment": assessment.id, "comment": comment.id, "risk": risk.id, "measure": measure.id,
                "evidence": evidence.id}


def _make_user(app, domain: str) -> int:
    """A viewer of the organisation, created by its administrator: the user the user-administration routes
    name (the demo users are the callers, so none of them is changed by a case)."""
    from assessments.users import create_user

    with app.app_context():
        created = create_user(_user(f"admin@{domain}"), email=f"matris.person@{domain}", name="Mia Matrisperson",
                              role=Role.VIEWER, password="blåbär och lingon i skogen 9")
        db.session.commit()
        return created.user.id


def build_world(app, access: Access, case: Case) -> World | None:
    """Only what the case names: no records for a route without an assessment; the other organisation's
    assessment only where its ids are used (child-id and form variants), in the same state as ours, so that
    their own assessment would accept the request but for the foreign child."""
    from tests.answering import latest_demo

    if "user_id" in case.arguments:
        return World(app, {"user": _make_user(app, OWN_DOMAIN)}, {})
    if "assessment_id" not in case.arguments:
        return None
    own = _make(app, latest_demo("exempelkommun"), OWN_DOMAIN, access.state)
    foreign = {}
    if case.arguments & CHILDREN.keys() or access.foreign_form:
        foreign = _make(app, latest_demo("regionexempel"), OTHER_DOMAIN, access.state)
    return World(app, own, foreign)


def fingerprint(app) -> dict:
    """Cheap and broad: the row count of every table, every assessment's status and version, and which
    comments are resolved. A refused request must leave all of it as it was."""
    with app.app_context():
        tables = db.metadata.sorted_tables
        counts = db.session.execute(select(*[select(func.count()).select_from(t).scalar_subquery().label(t.name)
                                             for t in tables])).one()
        states = db.session.execute(select(Assessment.id, Assessment.status, Assessment.version)
                                    .order_by(Assessment.id)).all()
        resolved = db.session.scalars(select(ReviewComment.id).where(ReviewComment.resolved_at.is_not(None))
                                      .order_by(ReviewComment.id)).all()
        return {"counts": dict(counts._mapping), "assessments": [tuple(s) for s in states], "resolved": resolved}


def differences(before: dict, after: dict) -> str:
    changed = {k: (v, after["counts"][k]) for k, v in before["counts"].items() if after["counts"][k] != v}
    parts = [f"rows {changed}"] if changed else []
    if before["assessments"] != after["assessments"]:
        parts.append(f"assessments {before['assessments']} → {after['assessments']}")
    if before["resolved"] != after["resolved"]:
        parts.append(f"resolved comments {before['resolved']} → {after['resolved']}")
    return "; ".join(parts)


def url_for_case(case: Case, ids: dict[str, int], children: dict[str, int] | None = None) -> str:
    """Fill the rule's parameters: ids from ``ids`` (child ids from ``children`` when given)."""
    values = dict(FIXED_PARAMETERS)
    if "user" in ids:
        values["user_id"] = ids["user"]
    if "assessment" in ids:
        values["assessment_id"] = ids["assessment"]
        values.update({name: (children or ids)[kind] for name, kind in CHILDREN.items()})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), case.rule)


class Actors:
    """One logged-in test client per caller, made when first needed."""

    def __init__(self, app):
        self.app = app
        self.clients: dict[str, object] = {}

    def client(self, email: str | None):
        key = email or "anonymous"
        if key not in self.clients:
            client = self.app.test_client()
            if email:
                response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
                assert response.status_code == 302, f"login failed for {email}"
            self.clients[key] = client
        return self.clients[key]


def first_allowed(access: Access) -> Role:
    return next(role for role in Role if role in access.roles)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers.get("Location", "")).path == "/login"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_access_matrix(app, demo_orgs, case: Case):
    access = MATRIX.get((case.endpoint, case.method))
    if access is None:
        pytest.fail(f"{case} is not described: add it to the access matrix (MATRIX in {__name__}) "
                    "with the roles that may use it")
    world = build_world(app, access, case)
    actors = Actors(app)
    problems: list[str] = []
    ok = access.ok or (PAGE if case.method == "GET" else POST_OK)
    scoped = bool(case.arguments & {"assessment_id", "user_id"})
    child_kinds = [kind for name, kind in CHILDREN.items() if name in case.arguments]

    def form_data() -> dict:
        return access.data(world) if callable(access.data) else dict(access.data)

    def attempt(email: str | None, url: str, data: dict | None = None):
        client = actors.client(email)  # logged in before the fingerprint: only the request itself counts
        before = fingerprint(app)
        kwargs = {"data": form_data() if data is None else data} if case.method == "POST" else {}
        response = client.open(url, method=case.method, **kwargs)
        response.close()  # a static file's handle, for one
        return response, before, fingerprint(app)

    def refused(who: str, email: str | None, url: str, expected: str, check, data: dict | None = None):
        response, before, after = attempt(email, url, data)
        if not check(response):
            problems.append(f"{who}: {case.method} {url} gave {response.status_code} "
                            f"{response.headers.get('Location', '')}, expected {expected}")
        if changed := differences(before, after):
            problems.append(f"{who}: {case.method} {url} was refused but changed the database: {changed}")

    own_url = url_for_case(case, world.own if world else {})

    # Anonymous.
    if access.roles is PUBLIC:
        response = actors.client(None).open(own_url, method=case.method,
                                            **({"data": form_data()} if case.method == "POST" else {}))
        response.close()
        if response.status_code not in ok or is_login_redirect(response):
            problems.append(f"anonymous: public {case.method} {own_url} gave {response.status_code} "
                            f"{response.headers.get('Location', '')}, expected one of {sorted(ok)}")
    else:
        refused("anonymous", None, own_url, "302 to /login", is_login_redirect)

    if access.roles is not PUBLIC and scoped:
        role = first_allowed(access)
        outsider = f"{LOCAL_PART[role]}@{OTHER_DOMAIN}"

        def is_404(response) -> bool:
            return response.status_code == 404

        refused(f"{role.value} of another organisation", outsider, own_url, "404", is_404)
        insider = f"{LOCAL_PART[role]}@{OWN_DOMAIN}"
        if child_kinds:
            refused(f"{role.value} of another organisation, own assessment, this organisation's "
                    f"{'/'.join(child_kinds)}", outsider, url_for_case(case, world.foreign, world.own), "404", is_404)
            refused(f"{role.value}, own assessment, another organisation's {'/'.join(child_kinds)}", insider,
                    url_for_case(case, world.own, world.foreign), "404", is_404)
        for name, kind in access.foreign_form.items():
            refused(f"{role.value}, another organisation's {kind} in the form field {name!r}", insider, own_url,
                    "a refusal", lambda r: r.status_code in (302, 400, 404),
                    data={**form_data(), name: str(world.foreign[kind])})

    if access.roles is not PUBLIC:
        for role in Role:
            if role not in access.roles:
                refused(f"{role.value} (not allowed)", f"{LOCAL_PART[role]}@{OWN_DOMAIN}", own_url, "403",
                        lambda r: r.status_code == 403)

    for role in (Role if access.roles is PUBLIC else [r for r in Role if r in access.roles]):
        email = f"{LOCAL_PART[role]}@{OWN_DOMAIN}"
        if access.restore:
            access.restore(world)
        response, _before, _after = attempt(email, own_url)
        if response.status_code not in ok or (is_login_redirect(response) and not access.logs_out):
            problems.append(f"{role.value} (allowed): {case.method} {own_url} gave {response.status_code} "
                            f"{response.headers.get('Location', '')}, expected one of {sorted(ok)}")

    assert not problems, f"{case}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------------------------------------------------
# With CSRF on, as in production, a POST without the token is refused before the view runs.

def test_every_post_without_csrf_token_is_refused_and_changes_nothing(app, demo_orgs):
    """tests/test_access.py checks a few forms; this covers every state-changing route in the URL map."""
    from tests.answering import latest_demo

    own = _make(app, latest_demo("exempelkommun"), OWN_DOMAIN, IN_REVIEW)
    own["user"] = _make_user(app, OWN_DOMAIN)
    world = World(app, own, {})
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = extract_csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": f"jurist@{OWN_DOMAIN}", "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302
    problems = []
    for case in (c for c in CASES if c.method == "POST"):
        access = MATRIX.get((case.endpoint, case.method))
        data = (access.data(world) if callable(access.data) else dict(access.data)) if access else {}
        url = url_for_case(case, own)
        before = fingerprint(app)
        response = client.post(url, data=data)
        if response.status_code != 400:
            problems.append(f"{case}: {response.status_code} without a CSRF token, expected 400")
        if changed := differences(before, fingerprint(app)):
            problems.append(f"{case}: changed the database without a CSRF token: {changed}")
    assert not problems, "\n".join(problems)
    assert client.get("/").status_code == 200, "the refused posts must not have ended the session"
