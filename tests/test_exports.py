"""The inquiry bundle, the JSON export and the import, through HTTP with real signed PDFs (``flask demo``).

The bundle must verify on its own: the signature with the seal certificate alone, the checksums against
the archive record, answers.json against the PDF's attachment, and the audit trail's hashes.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import os
import re
import stat
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from assessments import exchange
from assessments.answers import is_answered, load_answers
from assessments.archive import Archive
from assessments.audit import event_hash
from assessments.catalog import get_catalog
from assessments.extensions import db
from assessments.models import Answer, ArchivedDocument, Assessment, AuditEvent, Measure, Risk, Signature, Status
from assessments.report.seal import load_certificate
from assessments.report.verification import attached_files, verify_pdf
from assessments.risk import service as risk_service
from tests.factories import KOMMUN, REGION, answered_assessment, user

RATINGS = {"inherent_likelihood": 3, "inherent_severity": 4, "residual_likelihood": 2, "residual_severity": 3}


@pytest.fixture
def signed_id(signed_demo) -> int:
    """An approved assessment with a real PAdES-sealed PDF in the archive, made by ``flask demo``."""
    return signed_demo.assessment_id


@pytest.fixture
def draft_id(app, demo_orgs) -> int:
    """A fully answered draft (demo answers and action plan) with a free-form risk and a re-rated derived one."""
    with app.app_context():
        assessment = answered_assessment()
        author = user(f"kommunikator@{KOMMUN}")
        free = risk_service.add_risk(assessment, author, title="Konto kapas via gammal e-postadress",
                                     description="Någon tar över sidan.", affected="Följare",
                                     source="Obehörig", ratings=RATINGS)
        derived = next(r for r in risk_service.risks_of(assessment) if r.rule_key)
        # A lower residual rating rests on a decided measure: the measure first, then the ratings.
        risk_service.save_measure(assessment, author, measure=None, title="Utbilda kommunikatörerna",
                                  owner="Kommunikationschef", due_date=date(2027, 3, 31), status="planned",
                                  description="Två timmar per termin.", risk_ids=[free.id, derived.id])
        risk_service.change_ratings(free, assessment, author, {"residual_likelihood": 2, "residual_severity": 3},
                                    "Utbildningen gör en kapning svårare och mindre skadlig.")
        risk_service.change_ratings(derived, assessment, author, {"residual_likelihood": 1},
                                    "Tvåstegsverifiering är införd.")
        db.session.commit()
        return assessment.id


def open_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(response.data))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- the inquiry bundle -------------------------------------------------------------------------------

def test_bundle_verifies_on_its_own(app, client, auth, signed_id):
    auth.login(f"lasare@{KOMMUN}")  # any role of the organisation may download it
    response = client.get(f"/assessments/{signed_id}/bundle.zip")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    bundle = open_zip(response)
    assert bundle.namelist() == list(exchange.BUNDLE_FILES)
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in bundle.infolist())
    assert bundle.testzip() is None
    pdf, answers = bundle.read("signed.pdf"), bundle.read("record.json")

    with app.app_context():
        row = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.assessment_id == signed_id)).one()
        signature = db.session.scalars(select(Signature).where(Signature.assessment_id == signed_id)).one()
        document_sha, answers_sha, signer = row.sha256, row.answers_sha256, signature.signer_name
        organisation = db.session.get(Assessment, signed_id).organisation
        org_id, org_name = organisation.id, organisation.name
    # The PDF is the archived one, and its seal verifies with nothing but the seal certificate.
    assert sha256(pdf) == document_sha
    certificate = load_certificate(Path(app.config["SEAL_DIR"]) / "exempelkommun.p12")
    report = verify_pdf(pdf, [certificate])
    assert report.valid, report.problems
    # record.json is byte for byte the record embedded in (and signed with) the PDF, and follows the schema.
    assert attached_files(pdf)["record.json"] == answers
    assert sha256(answers) == answers_sha
    assert json.loads(answers)["assessment"]["id"] == signed_id
    from assessments.report.record import validate

    validate(json.loads(answers))

    trail = json.loads(bundle.read("audit-trail.json"))
    assert trail["format"] == "konsekvens.audit-trail/1"
    assert trail["assessment_id"] == signed_id and trail["organisation"]["id"] == org_id
    events = trail["events"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    consecutive = 0
    for before, after in itertools.pairwise(events):
        if after["seq"] == before["seq"] + 1:
            assert after["prev_hash"] == before["hash"], after
            consecutive += 1
    assert consecutive >= 3  # the check above is not vacuous
    for event in events:
        assert event["time"].endswith("+00:00")
        assert event_hash(prev_hash=event["prev_hash"], organisation_id=org_id, seq=event["seq"],
                          assessment_id=signed_id, actor_id=event["actor_id"], action=event["action"],
                          details=event["details"], created_at=datetime.fromisoformat(event["time"])) \
            == event["hash"], event
    actions = [e["action"] for e in events]
    assert actions[0] == "created" and "submit_for_review" in actions and "approve" in actions
    signed_event = next(e for e in events if e["action"] == "signed")
    assert signed_event["details"]["document_sha256"] == document_sha
    assert signed_event["details"]["answers_sha256"] == answers_sha
    # The bundle documents its own production.
    assert events[-1]["action"] == "bundle_downloaded" and events[-1]["actor"] == f"lasare@{KOMMUN}"

    rows = list(csv.reader(io.StringIO(bundle.read("audit-trail.csv").decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(exchange.AUDIT_COLUMNS)
    assert [(int(r[0]), r[2], r[6], r[7]) for r in rows[1:]] == [
        (e["seq"], e["action"], e["prev_hash"], e["hash"]) for e in events]
    assert [json.loads(r[5]) for r in rows[1:]] == [e["details"] for e in events]

    text = bundle.read("verification.txt").decode("utf-8")
    assert f"{document_sha}  signed.pdf" in text and f"{answers_sha}  record.json" in text
    assert "pdfsig signed.pdf" in text and "sha256sum signed.pdf record.json" in text
    assert org_name in text and str(signed_id) in text and signer in text
    assert "prev_hash" in text
    with app.app_context():
        recorded = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bundle_downloaded")).one()
        assert recorded.assessment_id == signed_id and recorded.details["document_sha256"] == document_sha


def test_bundle_of_another_organisation_is_not_found(client, auth, signed_id):
    auth.login(f"jurist@{REGION}")
    assert client.get(f"/assessments/{signed_id}/bundle.zip").status_code == 404


def test_draft_has_no_bundle(app, client, auth, draft_id):
    auth.login(f"jurist@{KOMMUN}")
    response = client.get(f"/assessments/{draft_id}/bundle.zip")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/assessments/{draft_id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in page
    assert count(app, AuditEvent, AuditEvent.action == "bundle_downloaded") == 0


def test_bundle_of_a_superseded_revision_is_still_available(app, client, auth, signed_id):
    with app.app_context():
        assessment = db.session.get(Assessment, signed_id)
        assessment.status = Status.SUPERSEDED
        db.session.commit()
    auth.login(f"dso@{KOMMUN}")
    response = client.get(f"/assessments/{signed_id}/bundle.zip")
    assert response.status_code == 200
    text = " ".join(open_zip(response).read("verification.txt").decode("utf-8").split())
    with app.test_request_context(), force_locale("sv"):
        note = gettext("A later revision of this assessment has since been approved. This bundle is for "
                       "revision %(revision)s, as it was approved and signed.", revision=1)
    assert note in text


def test_damaged_archive_file_gives_no_bundle(app, client, auth, signed_id):
    with app.app_context():
        row = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.assessment_id == signed_id)).one()
        path = Archive(Path(app.config["ARCHIVE_DIR"])).path_for(row.path)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    auth.login(f"lasare@{KOMMUN}")
    response = client.get(f"/assessments/{signed_id}/bundle.zip")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert count(app, AuditEvent, AuditEvent.action == "bundle_downloaded") == 0


# --- export ---------------------------------------------------------------------------------------------

def test_export_has_the_documented_shape(app, client, auth, draft_id):
    auth.login(f"lasare@{KOMMUN}")
    response = client.get(f"/assessments/{draft_id}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.data)
    assert document["format"] == "konsekvens.assessment/1"
    assert list(document) == ["format", "exported_at", "assessment", "answers", "risks", "measures"]
    assert set(document["assessment"]) == {"title", "language", "platforms", "other_platform_name", "catalogue"}
    with app.app_context():
        assessment = db.session.get(Assessment, draft_id)
        stored = {k: v for k, v in load_answers(assessment).items() if is_answered(v)}
        catalog = get_catalog(assessment.catalog_id, assessment.catalog_version)
    assert document["assessment"]["catalogue"] == {"id": catalog.id, "version": catalog.version}
    assert {(a["question"], a["platform"] or ""): a["value"] for a in document["answers"]} == stored
    for answer in document["answers"]:
        assert (answer["platform"] is None) == (not catalog.question(answer["question"]).per_platform)
    free = [r for r in document["risks"] if r["rule"] is None]
    assert [r["title"] for r in free] == ["Konto kapas via gammal e-postadress"]
    assert free[0]["ratings"] == RATINGS
    refs = {r["ref"] for r in document["risks"]}
    assert all(set(m["risks"]) <= refs for m in document["measures"])
    trained = next(m for m in document["measures"] if m["title"] == "Utbilda kommunikatörerna")
    assert free[0]["ref"] in trained["risks"] and len(trained["risks"]) == 2
    assert count(app, AuditEvent, AuditEvent.action == "exported") == 1


def test_export_of_another_organisation_is_not_found(client, auth, draft_id):
    auth.login(f"jurist@{REGION}")
    assert client.get(f"/assessments/{draft_id}/export.json").status_code == 404


# --- import ---------------------------------------------------------------------------------------------

def upload(client, data: bytes | dict, name: str = "bedomning.json"):
    if isinstance(data, dict):
        data = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return client.post("/assessments/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def exported(client, assessment_id: int) -> dict:
    response = client.get(f"/assessments/{assessment_id}/export.json")
    assert response.status_code == 200
    return json.loads(response.data)


def comparable(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "exported_at"}


def snapshot(assessment_id: int) -> dict:
    db.session.expire_all()
    assessment = db.session.get(Assessment, assessment_id)
    risks = risk_service.risks_of(assessment)

    def key(risk: Risk):
        return (risk.rule_key, risk.platform) if risk.rule_key else ("free", risk.title)

    return {
        "answers": {k: v for k, v in load_answers(assessment).items() if is_answered(v)},
        "risks": sorted((key(r), r.description, r.affected, r.source, r.active,
                         tuple(getattr(r, f) for f in risk_service.RATING_FIELDS)) for r in risks),
        "measures": sorted((m.title, m.description, m.owner, m.due_date, m.status.value,
                            tuple(sorted(key(r) for r in m.risks))) for m in risk_service.measures_of(assessment)),
    }


def test_export_import_round_trip_makes_an_equal_new_draft(app, client, auth, draft_id):
    auth.login(f"jurist@{KOMMUN}")
    document = exported(client, draft_id)
    response = upload(client, document)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    new_id = int(re.search(r"/assessments/(\d+)$", response.headers["Location"]).group(1))
    assert new_id != draft_id
    assert "flash-success" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        new = db.session.get(Assessment, new_id)
        importer = user(f"jurist@{KOMMUN}")
        assert new.status is Status.DRAFT and new.author_id == importer.id
        assert new.organisation_id == importer.organisation_id and new.revision == 1
        assert new.previous_revision_id is None and new.approved_at is None
        assert db.session.scalars(select(Signature).where(Signature.assessment_id == new_id)).all() == []
        assert snapshot(new_id) == snapshot(draft_id)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "imported")).one()
        assert event.assessment_id == new_id and event.actor_id == importer.id
        assert event.details["sha256"] == sha256(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    # Exporting the copy gives the same document again.
    assert comparable(exported(client, new_id)) == comparable(document)


def test_import_of_a_signed_assessment_goes_to_the_importers_organisation(app, client, auth, signed_id):
    auth.login(f"kommunikator@{KOMMUN}")
    document = exported(client, signed_id)
    auth.logout()
    auth.login(f"kommunikator@{REGION}")
    response = upload(client, document)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        new = db.session.scalars(select(Assessment).order_by(Assessment.id.desc())).first()
        assert new.id != signed_id and new.status is Status.DRAFT
        assert new.organisation_id == user(f"kommunikator@{REGION}").organisation_id
        assert snapshot(new.id)["answers"] == snapshot(signed_id)["answers"]


def first_index(document: dict, predicate) -> int:
    return next(i for i, a in enumerate(document["answers"]) if predicate(a))


def question_of(document: dict, answer: dict):
    catalogue = document["assessment"]["catalogue"]
    return get_catalog(catalogue["id"], catalogue["version"]).question(answer["question"])


def break_question(document: dict) -> list[str]:
    document["answers"][3]["question"] = "no_such_question"
    return ["answers[3]", "no_such_question"]


def break_choice(document: dict) -> list[str]:
    i = first_index(document, lambda a: question_of(document, a).type == "single_choice")
    document["answers"][i]["value"] = "perhaps_later"
    return [f"answers[{i}].value", "perhaps_later"]


def break_multiple_choice(document: dict) -> list[str]:
    i = first_index(document, lambda a: question_of(document, a).type == "multiple_choice")
    document["answers"][i]["value"] = document["answers"][i]["value"][0]
    return [f"answers[{i}].value", document["answers"][i]["question"]]


def break_per_platform(document: dict) -> list[str]:
    i = first_index(document, lambda a: a["platform"] is not None)
    document["answers"][i]["platform"] = None
    return [f"answers[{i}].platform"]


def break_global(document: dict) -> list[str]:
    i = first_index(document, lambda a: a["platform"] is None)
    document["answers"][i]["platform"] = "facebook"
    return [f"answers[{i}].platform"]


def break_platform(document: dict) -> list[str]:
    document["assessment"]["platforms"].append("myspace")
    return ["assessment.platforms[2]", "myspace"]


def break_rating(document: dict) -> list[str]:
    document["risks"][0]["ratings"]["inherent_likelihood"] = 7
    return ["risks[0].ratings.inherent_likelihood", "7"]


def break_format(document: dict) -> list[str]:
    document["format"] = "konsekvens.assessment/2"
    return ["format", "konsekvens.assessment/1", "konsekvens.assessment/2"]


def break_catalogue(document: dict) -> list[str]:
    document["assessment"]["catalogue"]["version"] = 99
    return ["assessment.catalogue", "99"]


def break_date(document: dict) -> list[str]:
    document["measures"][0]["due_date"] = "31/12/2026"
    return ["measures[0].due_date"]


def break_length(document: dict) -> list[str]:
    i = first_index(document, lambda a: question_of(document, a).type == "text")
    document["answers"][i]["value"] = "x" * 501
    return [f"answers[{i}].value", "500"]


def break_field_name(document: dict) -> list[str]:
    document["measures"][0]["ownr"] = document["measures"][0].pop("owner")
    return ["measures[0].ownr", "measures[0].owner"]


def break_measure_ref(document: dict) -> list[str]:
    document["measures"][0]["risks"] = ["R999"]
    return ["measures[0].risks[0]", "R999"]


def break_duplicate_answer(document: dict) -> list[str]:
    document["answers"].append(copy.deepcopy(document["answers"][0]))
    return [f"answers[{len(document['answers']) - 1}]", document["answers"][0]["question"]]


def break_free_risk_title(document: dict) -> list[str]:
    i = next(i for i, r in enumerate(document["risks"]) if r["rule"] is None)
    document["risks"][i]["title"] = None
    return [f"risks[{i}].title"]


def break_several(document: dict) -> list[str]:
    return break_question(document) + break_rating(document) + break_platform(document)


BREAKERS = [break_question, break_choice, break_multiple_choice, break_per_platform, break_global,
            break_platform, break_rating, break_format, break_catalogue, break_date, break_length,
            break_field_name, break_measure_ref, break_duplicate_answer, break_free_risk_title, break_several]


@pytest.mark.parametrize("breaker", BREAKERS, ids=[b.__name__ for b in BREAKERS])
def test_malformed_import_is_refused_with_the_problem_named(app, client, auth, draft_id, breaker):
    auth.login(f"kommunikator@{KOMMUN}")
    document = exported(client, draft_id)
    expected = breaker(document)
    before = (count(app, Assessment), count(app, Answer), count(app, Risk), count(app, Measure))
    response = upload(client, document)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'class="error-summary"' in page
    for fragment in expected:
        assert fragment in page, (fragment, re.findall(r"<li>.*?</li>", page, re.S))
    assert (count(app, Assessment), count(app, Answer), count(app, Risk), count(app, Measure)) == before
    assert count(app, AuditEvent, AuditEvent.action == "imported") == 0


def test_a_risk_with_a_problem_is_not_reported_again_by_its_measures(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    document = exported(client, draft_id)
    ref = document["measures"][0]["risks"][0]
    risk = next(r for r in document["risks"] if r["ref"] == ref)
    risk["ratings"]["residual_severity"] = 0
    page = upload(client, document).get_data(as_text=True)
    assert "ratings.residual_severity" in page
    assert "measures[0]" not in page


@pytest.mark.parametrize("raw, expected", [
    (b"{\"format\": \"konsekvens.assessment/1\",\n  \"answers\": [", "JSON"),
    (b"\xff\xfe not text", "UTF-8"),
    (b"[1, 2, 3]", "JSON"),
    (b"{\"format\": \"konsekvens.assessment/1\", \"format\": \"x\"}", "format"),
    (b"", "JSON"),
])
def test_a_file_that_is_not_an_export_is_refused(app, client, auth, demo_orgs, raw, expected):
    auth.login(f"kommunikator@{KOMMUN}")
    response = upload(client, raw)
    assert response.status_code == 400
    assert expected in response.get_data(as_text=True)
    assert count(app, Assessment) == 0


def test_import_lists_at_most_a_screenful_of_problems(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    document = exported(client, draft_id)
    for answer in document["answers"]:
        answer["question"] = "nope"
    response = upload(client, document)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count("answers[") == exchange.MAX_PROBLEMS
    assert f"{len(document['answers']) - exchange.MAX_PROBLEMS}" in page


def test_import_without_a_file_asks_for_one(client, auth, demo_orgs):
    auth.login(f"kommunikator@{KOMMUN}")
    page = client.get("/assessments/import")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(as_text=True)
    response = client.post("/assessments/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and 'class="error-summary"' in response.get_data(as_text=True)


@pytest.mark.parametrize("local", ["lasare", "dso", "admin"])
def test_roles_that_cannot_create_cannot_import(app, client, auth, draft_id, local):
    auth.login(f"kommunikator@{KOMMUN}")
    document = exported(client, draft_id)
    auth.logout()
    auth.login(f"{local}@{KOMMUN}")
    assert client.get("/assessments/import").status_code == 403
    before = count(app, Assessment)
    assert upload(client, document).status_code == 403
    assert count(app, Assessment) == before


def test_import_larger_than_the_request_limit_is_refused(app, client, auth, draft_id):
    auth.login(f"kommunikator@{KOMMUN}")
    document = exported(client, draft_id)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    before = count(app, Assessment)
    assert upload(client, document).status_code == 413
    assert count(app, Assessment) == before


def test_parse_import_accepts_a_minimal_file_and_normalises_it(app, demo_orgs):
    with app.app_context():
        catalog = get_catalog("social-media", 2)
        plan = exchange.parse_import(json.dumps({
            "format": "konsekvens.assessment/1",
            "assessment": {"title": "  Vår närvaro  ", "language": "en", "platforms": ["instagram", "facebook"],
                           "catalogue": {"id": catalog.id, "version": catalog.version}},
            "answers": [{"question": "sensitive_data", "value": "yes"},
                        {"question": "accounts", "platform": None, "value": ""}],
        }).encode())
    assert plan.title == "Vår närvaro" and plan.platforms == ["facebook", "instagram"]
    assert plan.answers == [("sensitive_data", "", "yes")]  # an empty answer is no answer
    assert plan.risks == [] and plan.measures == []
