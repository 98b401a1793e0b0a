"""Scale benchmark: 10,000 assessments across 100 organisations, pages timed in-process.

The database gets realistic content: every role in every organisation, a mix of statuses, the demo
assessments' answers (full for everything submitted, partial for drafts), the risks and measures the
rules derive from them, comments, verdicts, the consultation record, submissions, signatures and a valid
hash-chained audit trail. The demo content is built once through the real services, then copied in bulk
with SQLAlchemy Core ``insert()`` executemany, so the set-up takes seconds.

Pages are requested with the Flask test client as a logged-in user (legal reviewer) of the biggest
organisation (1,000 assessments); each page's time (median and spread) and number of SQL queries
(``before_cursor_execute``) are recorded. Two "heavy" assessments carry every platform, long answers and
hundreds of comments, risks, measures and audit events; their query counts are compared with those of a
light assessment, and the big organisation's dashboard with a small one's: they must be equal.

SQLite (a temporary file) by default; with ``TEST_DATABASE_URL`` set, that database is used — like the
tests, never the operators' ``DATABASE_URL``: its name must contain "test", and it must be empty or hold only
an earlier run of this benchmark (organisations ``bench-…``), because it is emptied first.

Run alone: ``.venv/bin/python -m benchmarks.scale`` (``BENCH_RUNS`` repeats per page, default 15).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import JSON, Column, Enum, MetaData, Table, create_engine, event, func, insert, inspect, select, text
from sqlalchemy.types import NullType

from assessments import create_app
from assessments.audit import GENESIS, event_hash
from assessments.catalog import PLATFORMS, get_catalog
from assessments.config import normalise_database_url
from assessments.extensions import db
from assessments.models import (
    Answer,
    ArchivedDocument,
    Assessment,
    AuditEvent,
    DataSubjectViews,
    DpoAdvice,
    Measure,
    Organisation,
    ReviewComment,
    Risk,
    RiskRatingChange,
    Role,
    SectionVerdict,
    Signature,
    Status,
    Submission,
    User,
    measure_risks,
)

ORGANISATIONS = 100
ASSESSMENTS = 10_000
BIG = 1_000  # assessments of the organisation the user belongs to
PASSWORD = "bench-password-123"
TARGET_MS = 50
TEMPLATES = ("exempelkommun-2", "regionexempel-2", "exempelbanken-2")
ROLES = (("kommunikator", Role.COMMUNICATOR, "Kim Kommunikatör"), ("kommunikator2", Role.COMMUNICATOR, "Sam Skribent"),
         ("jurist", Role.LEGAL, "Jo Jurist"), ("dso", Role.DPO, "Dana Dataskyddsombud"),
         ("admin", Role.ADMIN, "Alex Administratör"), ("lasare", Role.VIEWER, "Lo Läsare"))
# A realistic mix: most are drafts or approved; a few are with the reviewer or sent back.
STATUS_MIX = ((Status.DRAFT, 35), (Status.IN_REVIEW, 12), (Status.CHANGES_REQUESTED, 8), (Status.APPROVED, 40),
              (Status.SUPERSEDED, 5))
SUBJECTS = ("Facebook och Instagram", "LinkedIn för rekrytering", "YouTube-kanalen", "TikTok för unga",
            "Krisinformation på X", "Bibliotekets Instagram", "Kulturförvaltningens Facebook",
            "Räddningstjänstens kanaler", "Skolornas sociala medier", "Näringslivskontorets LinkedIn")
LONG = (" Bedömningen bygger på intervjuer med förvaltningen, plattformens villkor och kommunens riktlinjer "
        "för sociala medier; den uppdateras när villkoren eller arbetssättet ändras.") * 6


# ---------------------------------------------------------------------------------------------------- set-up

def database_url(tmp: Path) -> tuple[str, str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from tests.conftest import unsafe_database_reason

        url = normalise_database_url(url)
        if problem := unsafe_database_reason(url):
            raise SystemExit(problem)
        return url, "PostgreSQL" if url.startswith("postgres") else url.split(":", 1)[0]
    return f"sqlite:///{tmp / 'scale.sqlite'}", "SQLite"


def reset_schema(url: str) -> None:
    """Empty the database (refusing one that holds anything but an earlier benchmark run)."""
    engine = create_engine(url)
    try:
        if inspect(engine).has_table("organisations"):
            with engine.connect() as conn:
                foreign = conn.scalar(text("SELECT count(*) FROM organisations WHERE slug NOT LIKE 'bench-%'"))
            if foreign:
                raise SystemExit(f"{url} holds organisations that are not the benchmark's; refusing to empty it. "
                                 "Point TEST_DATABASE_URL at an empty database.")
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


class Ids:
    """Explicit primary keys for bulk inserts (the ids of parents are needed for their children)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def start(self, table) -> None:
        self.next[table.name] = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1

    def take(self, table) -> int:
        value = self.next[table.name]
        self.next[table.name] = value + 1
        return value


def spread_time(rng: random.Random, days: int = 730) -> datetime:
    return datetime.now(UTC) - timedelta(days=rng.uniform(0, days))


def create_organisations(password_hash: str) -> list[dict]:
    """Organisation 0 is the big one; each has every role (two communicators)."""
    org_rows, user_rows = [], []
    for n in range(ORGANISATIONS):
        org_rows.append({"id": n + 1, "slug": f"bench-{n:03d}", "name": f"Benchmarkkommun {n:03d}",
                         "is_public_body": n % 5 != 4, "created_at": datetime.now(UTC)})
        for i, (local, role, person) in enumerate(ROLES):
            user_rows.append({"id": n * len(ROLES) + i + 1, "email": f"{local}@bench-{n:03d}.example",
                              "name": f"{person} {n:03d}", "password_hash": password_hash, "organisation_id": n + 1,
                              "role": role.value, "language": "sv", "active": True,
                              "created_at": datetime.now(UTC)})
    db.session.execute(insert(Organisation.__table__), org_rows)
    db.session.execute(insert(User.__table__), user_rows)
    return org_rows


def users_of(org_id: int) -> dict[str, User]:
    return {u.email.split("@")[0]: u for u in db.session.scalars(select(User).where(User.organisation_id == org_id))}


def build_from_demo(name: str, org_id: int, *, platforms: list[str] | None = None, long_answers: bool = False,
                    title: str | None = None) -> Assessment:
    """One assessment through the real services (answers, derived risks, demo measures, consultation)."""
    from assessments.demo import add_demo_measures, load_demo_assessment, record_consultation
    from assessments.risk.service import sync_risks

    spec = load_demo_assessment(name)
    people = users_of(org_id)
    author = people["kommunikator"]
    platforms = platforms or list(spec["platforms"])
    assessment = Assessment(organisation_id=org_id, title=title or spec["title"], language=spec["language"],
                            catalog_id=spec["catalogue"]["id"], catalog_version=spec["catalogue"]["version"],
                            platforms=platforms, other_platform_name="Mastodon" if "other" in platforms else None,
                            author_id=author.id, status=Status.DRAFT)
    db.session.add(assessment)
    db.session.flush()
    long_text = {q.key for q in get_catalog(assessment.catalog_id, assessment.catalog_version).questions()
                 if q.type == "long_text"} if long_answers else set()
    for key, value in spec["answers"].items():
        if isinstance(value, dict):  # per platform: the demo's first platform's answer for any other platform
            first = next(iter(value.values()))
            for platform in platforms:
                item = value.get(platform, first)
                db.session.add(Answer(assessment_id=assessment.id, question_key=key, platform=platform,
                                      value=item + LONG if key in long_text else item,
                                      updated_by_id=author.id))
        else:
            db.session.add(Answer(assessment_id=assessment.id, question_key=key, platform="",
                                  value=value + LONG if key in long_text else value,
                                  updated_by_id=author.id))
    db.session.flush()
    sync_risks(assessment, author)
    add_demo_measures(assessment, author, spec)
    record_consultation(assessment, spec)
    db.session.flush()
    return assessment


def template_of(assessment: Assessment) -> dict:
    """What a demo assessment holds, as plain rows to copy."""
    from assessments.answers import load_answers
    from assessments.risk.service import measures_of, risks_of

    risks = risks_of(assessment)
    columns = [c.name for c in Risk.__table__.columns if c.name not in ("id", "assessment_id", "created_at")]
    # JSON columns are serialised once here and copied as text (see ``plain``).
    answers = sorted(load_answers(assessment).items())
    return {
        "title": assessment.title, "platforms": json.dumps(assessment.platforms), "language": assessment.language,
        "answers": [(key, platform, json.dumps(value)) for (key, platform), value in answers],
        "snapshot": json.dumps([[key, platform, value] for (key, platform), value in answers]),
        "risks": [{c: getattr(r, c) for c in columns} | {"old_id": r.id, "triggered_by": json.dumps(r.triggered_by)}
                  for r in risks],
        "measures": [{"title": m.title, "description": m.description, "owner": m.owner, "due_date": m.due_date,
                      "status": m.status.value, "risks": [r.id for r in m.risks]} for m in measures_of(assessment)],
        "advice": db.session.scalars(select(DpoAdvice).where(DpoAdvice.assessment_id == assessment.id)).first(),
        "views": db.session.scalars(select(DataSubjectViews)
                                    .where(DataSubjectViews.assessment_id == assessment.id)).first(),
        "sections": [s.key for s in get_catalog(assessment.catalog_id, assessment.catalog_version).sections],
    }


class Chains:
    """Each organisation's audit chain, continued from what the services already wrote."""

    def __init__(self) -> None:
        self.last: dict[int, tuple[int, str]] = {}
        for org_id, seq, hash_ in db.session.execute(
                select(AuditEvent.organisation_id, AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq)):
            self.last[org_id] = (seq, hash_)

    def event(self, ids: Ids, org_id: int, assessment_id: int | None, actor_id: int | None, action: str,
              details: dict, at: datetime) -> dict:
        seq, prev = self.last.get(org_id, (0, GENESIS))
        seq += 1
        digest = event_hash(prev_hash=prev, organisation_id=org_id, seq=seq, assessment_id=assessment_id,
                            actor_id=actor_id, action=action, details=details, created_at=at)
        self.last[org_id] = (seq, digest)
        return {"id": ids.take(AuditEvent.__table__), "organisation_id": org_id, "seq": seq,
                "assessment_id": assessment_id, "actor_id": actor_id, "action": action,
                "details": json.dumps(details), "created_at": at, "prev_hash": prev, "hash": digest}


_PLAIN = MetaData()


def plain(table: Table) -> Table:
    """The table with JSON and enum columns untyped: the bulk rows carry JSON serialised once per template
    (not once per row) and enum values as stored, passed through as they are (PostgreSQL casts the untyped
    text to the column's type), so executemany spends its time in the database."""
    if table.name not in _PLAIN.tables:
        Table(table.name, _PLAIN, *[Column(c.name, NullType() if isinstance(c.type, (JSON, Enum)) else c.type)
                                    for c in table.columns])
    return _PLAIN.tables[table.name]


def bulk_insert(table: Table, batch: list[dict]) -> None:
    """Core ``insert()`` executemany; on PostgreSQL, COPY: psycopg's executemany is a statement per row there
    (50,000 answers: 3.4 s executemany, 15.9 s multi-row VALUES, 0.7 s COPY on the benchmark machine)."""
    if not batch:
        return
    if db.engine.dialect.name == "postgresql":
        columns = list(batch[0])
        raw = db.session.connection().connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row([row[c] for c in columns])
        return
    for start in range(0, len(batch), 5000):
        db.session.execute(insert(plain(table)), batch[start:start + 5000])


def bulk_assessments(templates: list[dict], plan: list[tuple[int, int]], rng: random.Random) -> dict[str, int]:
    """Copy the templates into ``plan`` [(organisation id, how many)], in bulk. Returns row counts."""
    tables = [Assessment.__table__, Answer.__table__, Risk.__table__, Measure.__table__, ReviewComment.__table__,
              AuditEvent.__table__, Submission.__table__, DpoAdvice.__table__, DataSubjectViews.__table__,
              SectionVerdict.__table__, ArchivedDocument.__table__, Signature.__table__]
    ids = Ids()
    for table in tables:
        ids.start(table)
    chains = Chains()
    rows: dict[str, list[dict]] = {t.name: [] for t in tables} | {"measure_risks": []}
    statuses = [s for s, weight in STATUS_MIX for _ in range(weight)]
    counter = 0
    for org_id, how_many in plan:
        people = users_of(org_id)
        author_ids = [people["kommunikator"].id, people["kommunikator2"].id]
        legal, dpo = people["jurist"].id, people["dso"].id
        for _ in range(how_many):
            counter += 1
            template = templates[counter % len(templates)]
            status = rng.choice(statuses)
            created = spread_time(rng)
            updated = created + timedelta(days=rng.uniform(0, 60))
            author = rng.choice(author_ids)
            aid = ids.take(Assessment.__table__)
            submitted = status is not Status.DRAFT
            approved = status in (Status.APPROVED, Status.SUPERSEDED)
            rows["assessments"].append({
                "id": aid, "organisation_id": org_id, "title": f"{rng.choice(SUBJECTS)} {counter:05d}",
                "language": template["language"], "catalog_id": "social-media", "catalog_version": 2,
                "platforms": template["platforms"], "other_platform_name": None, "status": status.value,
                "author_id": author, "last_step": rng.choice(template["sections"]), "version": rng.randint(2, 40),
                "revision": 2 if status is Status.APPROVED and counter % 7 == 0 else 1,
                "previous_revision_id": None, "created_at": created, "updated_at": updated,
                "submitted_at": updated if submitted else None, "approved_at": updated if approved else None,
                "review_due": (updated + timedelta(days=365)).date() if approved else None,
                "residual_accepted_reason": "Kvarvarande risk godtas med åtgärdsplanen." if approved else None,
                "residual_accepted_by_id": legal if approved else None,
                "residual_accepted_at": updated if approved else None})
            # Drafts have answered the first part of the wizard; everything submitted is fully answered.
            answers = template["answers"] if submitted else template["answers"][:rng.randint(5, 30)]
            for key, platform, value in answers:
                rows["answers"].append({"id": ids.take(Answer.__table__), "assessment_id": aid, "question_key": key,
                                        "platform": platform, "value": value, "updated_at": updated,
                                        "updated_by_id": author})
            events = [("created", {"title": "…"}, author)]
            events += [("answer_changed", {"question": k, "platform": p, "old": None, "new": "…"}, author)
                       for k, p, _v in answers[:8]]
            if submitted:
                risk_ids = {}
                for risk in template["risks"]:
                    rid = ids.take(Risk.__table__)
                    risk_ids[risk["old_id"]] = rid
                    rows["risks"].append({k: v for k, v in risk.items() if k != "old_id"}
                                         | {"id": rid, "assessment_id": aid, "created_at": created})
                for measure in template["measures"]:
                    mid = ids.take(Measure.__table__)
                    rows["measures"].append({k: v for k, v in measure.items() if k != "risks"}
                                            | {"id": mid, "assessment_id": aid, "created_at": created})
                    rows["measure_risks"] += [{"measure_id": mid, "risk_id": risk_ids[r]} for r in measure["risks"]]
                advice, views = template["advice"], template["views"]
                rows["dpo_advice"].append({"id": ids.take(DpoAdvice.__table__), "assessment_id": aid,
                                           "advice": advice.advice, "followed": advice.followed,
                                           "overruled_reason": advice.overruled_reason, "recorded_by_id": dpo,
                                           "on_behalf_of_dpo": False, "recorded_at": updated})
                rows["data_subject_views"].append({"id": ids.take(DataSubjectViews.__table__), "assessment_id": aid,
                                                   "sought": views.sought, "whose": views.whose,
                                                   "summary": views.summary, "reason_not_sought": views.reason_not_sought,
                                                   "recorded_by_id": author, "recorded_at": updated})
                rows["submissions"].append({"id": ids.take(Submission.__table__), "assessment_id": aid, "number": 1,
                                            "answers": template["snapshot"], "submitted_at": updated,
                                            "submitted_by_id": author})
                events.append(("submitted", {"to": "in_review"}, author))
                for n in range(rng.randint(0, 4)):
                    cid = ids.take(ReviewComment.__table__)
                    key, platform, _v = rng.choice(answers)
                    rows["review_comments"].append({
                        "id": cid, "assessment_id": aid, "question_key": key, "platform": platform, "parent_id": None,
                        "author_id": legal, "body": f"Kommentar {n}: förtydliga svaret.", "created_at": updated,
                        "resolved_at": updated if approved else None, "resolved_by_id": author if approved else None})
                    events.append(("comment_added", {"comment": cid, "body": "…"}, legal))
                for section in template["sections"][: rng.randint(0, 3)]:
                    rows["section_verdicts"].append({"id": ids.take(SectionVerdict.__table__), "assessment_id": aid,
                                                     "section_key": section, "verdict": "acceptable", "note": None,
                                                     "reviewer_id": legal, "created_at": updated})
            if approved:
                digest = hashlib.sha256(f"bench-{aid}".encode()).hexdigest()
                did = ids.take(ArchivedDocument.__table__)
                rows["archived_documents"].append({"id": did, "organisation_id": org_id, "assessment_id": aid,
                                                   "sha256": digest, "revision": 1, "size": 400_000,
                                                   "path": f"{digest[:2]}/{digest}.pdf", "answers_sha256": digest,
                                                   "created_at": updated})
                rows["signatures"].append({"id": ids.take(Signature.__table__), "assessment_id": aid, "revision": 1,
                                           "signer_id": legal, "signer_name": "Jo Jurist", "signer_role": "legal",
                                           "meaning": "approved", "signed_at": updated,
                                           "certificate_subject": "CN=Benchmark", "document_id": did})
                events.append(("approved", {"sha256": digest}, legal))
            for action, details, actor in events:
                rows["audit_events"].append(chains.event(ids, org_id, aid, actor, action, details, updated))
    for table in tables + [measure_risks]:
        bulk_insert(table, rows[table.name])
    return {name: len(batch) for name, batch in rows.items()}


def make_heavy(template_name: str, org_id: int, status: Status, rng: random.Random) -> Assessment:
    """Every platform, long answers, and hundreds of comments, risks, measures and audit events."""
    from assessments.answers import load_answers
    from assessments.risk.service import risks_of

    assessment = build_from_demo(template_name, org_id, platforms=list(PLATFORMS), long_answers=True,
                                 title=f"Alla plattformar ({status.value})")
    people = users_of(org_id)
    names = list(people.values())
    answers = sorted(load_answers(assessment))
    now = datetime.now(UTC)
    comments = []
    for n in range(150):  # 150 threads with two replies each, by different people
        key, platform = rng.choice(answers)
        comments.append(ReviewComment(assessment_id=assessment.id, question_key=key if n % 10 else None,
                                      platform=platform if n % 10 else "", author_id=rng.choice(names).id,
                                      body=f"Tråd {n}: {LONG[:300]}", created_at=now,
                                      resolved_at=now if n % 3 == 0 else None))
    db.session.add_all(comments)
    db.session.flush()
    db.session.add_all(ReviewComment(assessment_id=assessment.id, question_key=c.question_key, platform=c.platform,
                                     parent_id=c.id, author_id=rng.choice(names).id, body=f"Svar {i}", created_at=now)
                       for c in comments for i in range(2))
    for n in range(40):  # free-form risks
        db.session.add(Risk(assessment_id=assessment.id, number=100 + n, rule_key=None, platform="", title=f"Egen risk {n}",
                            description=LONG, affected="Följare", source="Intervju", active=True, triggered_by=[],
                            inherent_likelihood=rng.randint(1, 4), inherent_severity=rng.randint(1, 4),
                            residual_likelihood=rng.randint(1, 4), residual_severity=rng.randint(1, 4)))
    db.session.flush()
    risks = risks_of(assessment)
    for n in range(60):
        db.session.add(Measure(assessment_id=assessment.id, title=f"Åtgärd {n}", description=LONG[:400],
                               owner=rng.choice(names).name, due_date=date.today() + timedelta(days=n),
                               risks=rng.sample(risks, 3)))
        risk = rng.choice(risks)
        db.session.add(RiskRatingChange(risk_id=risk.id, field="residual_likelihood", old=2, new=1,
                                        justification="Åtgärden minskar sannolikheten.",
                                        changed_by_id=rng.choice(names).id, changed_at=now))
    for section in get_catalog(assessment.catalog_id, assessment.catalog_version).sections:
        for verdict in ("to_correct", "acceptable"):
            db.session.add(SectionVerdict(assessment_id=assessment.id, section_key=section.key, verdict=verdict,
                                          note=LONG[:200], reviewer_id=people["jurist"].id, created_at=now))
    snapshot = [[k, p, v] for (k, p), v in sorted(load_answers(assessment).items())]
    for number in (1, 2):
        db.session.add(Submission(assessment_id=assessment.id, number=number, answers=snapshot,
                                  submitted_by_id=assessment.author_id))
    assessment.status = status
    assessment.submitted_at = now
    db.session.flush()
    return assessment


def fix_sequences() -> None:
    """PostgreSQL: explicit ids do not move the id sequences; later inserts must not collide."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.name != "measure_risks":
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                    f"coalesce((SELECT max(id) FROM {table.name}), 1))"))


def populate(app) -> dict:
    """The whole data set. Returns what the measurements need and how long it took."""
    from flask_migrate import upgrade
    from werkzeug.security import generate_password_hash

    rng = random.Random(9)
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = time.perf_counter() - started - sum(phases.values())

    upgrade()
    phase("migrations")
    create_organisations(generate_password_hash(PASSWORD, method=app.config["PASSWORD_HASH_METHOD"]))
    db.session.commit()
    phase("organisations and users")
    big, small = 1, ORGANISATIONS  # organisation ids
    templates = [template_of(build_from_demo(name, big)) for name in TEMPLATES]
    heavy = make_heavy("exempelkommun-2", big, Status.IN_REVIEW, rng).id
    editable = make_heavy("exempelkommun-2", big, Status.CHANGES_REQUESTED, rng).id
    # Two of the demo copies, with one comment each, are the same pages with little content.
    light, light_editable = db.session.scalars(select(Assessment.id).where(Assessment.organisation_id == big)
                                               .order_by(Assessment.id).limit(2)).all()
    for assessment_id, status in ((light, Status.IN_REVIEW), (light_editable, Status.CHANGES_REQUESTED)):
        db.session.add(ReviewComment(assessment_id=assessment_id, question_key=None, platform="",
                                     body="En kommentar", author_id=users_of(big)["dso"].id))
        db.session.execute(Assessment.__table__.update().where(Assessment.id == assessment_id)
                           .values(status=status.value))
    db.session.commit()
    phase("demo and heavy assessments through the services")
    built = len(TEMPLATES) + 2
    others = ORGANISATIONS - 1
    share, extra = divmod(ASSESSMENTS - BIG, others)
    plan = [(big, BIG - built)] + [(org + 2, share + (1 if org < extra else 0)) for org in range(others)]
    counts = bulk_assessments(templates, plan, rng)
    fix_sequences()
    db.session.commit()
    phase("bulk copies")
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))  # as autovacuum would have by now
        db.session.commit()
    totals = {t: db.session.scalar(select(func.count()).select_from(db.metadata.tables[t]))
              for t in ("organisations", "users", "assessments", "answers", "risks", "measures", "measure_risks",
                        "review_comments", "audit_events", "submissions")}
    phase("analyse and count")
    return {"seconds": time.perf_counter() - started, "phases": phases, "rows": totals, "heavy": heavy, "editable": editable,
            "light": light, "light_editable": light_editable, "bulk": counts, "small": small}


# ----------------------------------------------------------------------------------------------- measuring

class QueryCounter:
    def __init__(self, engine) -> None:
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args) -> None:
        self.count += 1


def time_page(client, engine, path: str, runs: int) -> dict:
    response = client.get(path)  # warm-up: templates compiled, catalogue cached
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    times, cpu, queries = [], [], set()
    for _ in range(runs):
        with QueryCounter(engine) as counter:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries.add(counter.count)
    return {"path": path, "times": times, "cpu": cpu, "queries": sorted(queries), "bytes": len(response.data)}


def login(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"login as {email} failed ({response.status_code})")
    return client


def measure(runs: int = 15) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        url, backend = database_url(tmp_path)
        reset_schema(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "SEAL_DIR": str(tmp_path / "seals"), "ARCHIVE_DIR": str(tmp_path / "archive"),
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "RATELIMIT_ENABLED": False})
        with app.app_context():
            data = populate(app)
            engine = db.engine
            db.session.remove()
        try:
            legal = login(app, "jurist@bench-000.example")
            small_legal = login(app, f"jurist@bench-{ORGANISATIONS - 1:03d}.example")
            heavy, editable, light = data["heavy"], data["editable"], data["light"]
            light_editable = data["light_editable"]
            pages = [
                ("dashboard, 1,000 assessments", "/", legal, ("dashboard, 91 assessments", "/", small_legal)),
                ("dashboard, status filter", "/?status=in_review", legal, None),
                ("dashboard, title search", "/?q=instagram", legal, None),
                ("dashboard, page 40 of 50", "/?page=40", legal, None),
                ("overview, heavy assessment", f"/assessments/{heavy}", legal,
                 ("overview, light", f"/assessments/{light}", legal)),
                ("wizard step (7 platforms)", f"/assessments/{editable}/steps/platform", legal,
                 ("wizard step, light", f"/assessments/{light_editable}/steps/platform", legal)),
                ("risk register, heavy", f"/assessments/{heavy}/risks", legal,
                 ("risk register, light", f"/assessments/{light}/risks", legal)),
                ("consultation, heavy", f"/assessments/{heavy}/consultation", legal,
                 ("consultation, light", f"/assessments/{light}/consultation", legal)),
                ("portfolio, 1,000 assessments", "/portfolio", legal,
                 ("portfolio, 91 assessments", "/portfolio", small_legal)),
                ("portfolio CSV, 1,000 assessments", "/portfolio.csv", legal,
                 ("portfolio CSV, 91 assessments", "/portfolio.csv", small_legal)),
            ]
            results = []
            for label, path, client, reference in pages:
                row = time_page(client, engine, path, runs) | {"label": label}
                if reference:
                    ref = time_page(reference[2], engine, reference[1], 5)
                    row["reference"] = {"label": reference[0], "queries": ref["queries"],
                                        "median": statistics.median(ref["times"])}
                results.append(row)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return {"backend": backend, "runs": runs, "setup_seconds": data["seconds"], "rows": data["rows"],
            "pages": results}


def summary(result: dict) -> list[str]:
    rows = result["rows"]
    lines = [
        f"Database: {result['backend']}, {rows['organisations']} organisations, {rows['users']} users, "
        f"{rows['assessments']:,} assessments, {rows['answers']:,} answers, {rows['risks']:,} risks, "
        f"{rows['measures']:,} measures, {rows['review_comments']:,} comments, {rows['audit_events']:,} audit "
        f"events, {rows['submissions']:,} submissions; built in {result['setup_seconds']:.0f} s. "
        f"{result['runs']} requests per page, logged in as legal of the organisation with 1,000 assessments.",
        "",
        "| page | median (ms) | spread (min–max) | CPU, median (ms) | SQL queries | same page with little content: "
        "queries (median) |",
        "|---|---|---|---|---|---|",
    ]
    worst, growing = 0.0, []
    for page in result["pages"]:
        median = statistics.median(page["times"])
        worst = max(worst, median)
        queries = "/".join(str(q) for q in page["queries"])
        ref = page.get("reference")
        ref_text = "–"
        if ref:
            ref_text = f"{'/'.join(str(q) for q in ref['queries'])} ({ref['label']}, {ref['median']:.1f} ms)"
            if ref["queries"] != page["queries"]:
                growing.append(page["label"])
        lines.append(f"| {page['label']} | {median:.1f} | {min(page['times']):.1f}–{max(page['times']):.1f} "
                     f"| {statistics.median(page['cpu']):.1f} | {queries} | {ref_text} |")
    lines += ["", f"Targets: every page ≤ {TARGET_MS} ms median — **{'met' if worst <= TARGET_MS else 'NOT met'}** "
              f"(slowest {worst:.1f} ms); query count independent of the amount of content — "
              f"**{'met' if not growing else 'NOT met: ' + ', '.join(growing)}**. The CPU column is this "
              "process's CPU time (with SQLite, the queries' too): less disturbed than the wall clock on a busy machine."]
    return lines


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "15"))
    started = time.perf_counter()
    result = measure(runs)
    sys.stdout.write("\n".join(summary(result)) + f"\n\n(total {time.perf_counter() - started:.0f} s)\n")


if __name__ == "__main__":
    main()
