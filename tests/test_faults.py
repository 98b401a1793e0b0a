"""Faults: a crash between archiving and committing, a full archive volume, a lost database.

Real parts only: the crash is a child process that runs the real approval and dies (``os._exit``) right
after the real archive write, so the database sees a connection drop in the middle of a transaction; the
full disk is a tiny tmpfs under the archive; the lost database is a port nothing listens on, or a SQLite
file replaced by a directory.
"""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assessments import PROJECT_ROOT, create_app, workflow
from assessments.extensions import db
from assessments.models import ArchivedDocument, AuditEvent, Signature, Status
from assessments.report.identity import sha256_hex
from assessments.signoff import archive, sign_approval
from tests.answering import version_of
from tests.conftest import DEMO_PASSWORD, require
from tests.factories import KOMMUN, answered_assessment, reload, user

APPROVE = {"password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y", "attest_measures": "y",
           "attest_commitment": "y"}
CRASH_EXIT = 17

# Runs in a child process: the real approval, with the process killed the moment the real archive write
# returns (the file is fsynced and linked), before the transaction commits. Nothing else is replaced.
CRASHING_APPROVAL = r"""
import json, os, sys
CRASH_EXIT = """ + str(CRASH_EXIT) + r"""
from assessments import create_app
from assessments import archive as archive_module

app = create_app(json.loads(sys.argv[1]))
real_store = archive_module.Archive.store

def store_then_die(self, data, suffix=".pdf"):
    stored = real_store(self, data, suffix)
    sys.stdout.write(stored.relative_path)
    sys.stdout.flush()
    os._exit(CRASH_EXIT)

archive_module.Archive.store = store_then_die
with app.app_context():
    from assessments.extensions import db
    from assessments.models import Assessment, User
    from assessments.signoff import sign_approval

    assessment = db.session.get(Assessment, int(sys.argv[2]))
    reviewer = db.session.get(User, int(sys.argv[3]))
    sign_approval(assessment, reviewer, expected_version=assessment.version)
    db.session.commit()
sys.exit(3)
"""


@pytest.fixture
def in_review(app, demo_orgs) -> int:
    """The municipality's demo assessment, answered (with the consultation record) and submitted."""
    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        return assessment.id


def crash_after_archiving(app, assessment_id: int) -> str:
    """Approve in a child process that dies right after archiving; the archive-relative path of the file."""
    with app.app_context():
        reviewer_id = user(f"jurist@{KOMMUN}").id
        db.session.remove()
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "ARCHIVE_DIR", "SEAL_DIR",
                                               "SECRET_KEY", "TESTING")}
    child = subprocess.run([sys.executable, "-c", CRASHING_APPROVAL, json.dumps(config), str(assessment_id),
                            str(reviewer_id)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert child.returncode == CRASH_EXIT, child.stderr[-3000:]
    relative = child.stdout.strip().splitlines()[-1]
    assert (Path(app.config["ARCHIVE_DIR"]) / relative).is_file()
    return relative


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(ArchivedDocument)),
            db.session.scalar(select(func.count()).select_from(Signature)))


def assert_untouched_and_in_review(app, assessment_id: int, version: int | None = None) -> None:
    with app.app_context():
        assessment = reload(assessment_id)
        assert assessment.status is Status.IN_REVIEW
        assert assessment.approved_at is None and assessment.review_due is None
        if version is not None:
            assert assessment.version == version
        assert counts() == (0, 0)


# -- 1. crash between archiving the file and committing the row ----------------------------------------


def test_crash_after_archiving_is_reported_then_completed_by_repair(app, runner, in_review):
    with app.app_context():
        version = reload(in_review).version
    relative = crash_after_archiving(app, in_review)
    # The database never saw the transaction: not even the claim (version + 1) survived.
    assert_untouched_and_in_review(app, in_review, version)
    file_sha = sha256_hex((Path(app.config["ARCHIVE_DIR"]) / relative).read_bytes())

    plain = runner.invoke(args=["archive", "verify"])
    assert plain.exit_code == 1, plain.output
    assert f"ORPHANED: {relative}: no archived document record refers to this file" in plain.output
    assert "REPAIRED" not in plain.output
    assert_untouched_and_in_review(app, in_review, version)

    repaired = runner.invoke(args=["archive", "verify", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert f"ORPHANED: {relative}:" in repaired.output
    assert f"REPAIRED: {relative}: completed the approval of assessment {in_review} revision 1" in repaired.output
    assert "OK after repair: 1 archived document(s) verified" in repaired.output

    with app.app_context():
        assessment = reload(in_review)
        assert assessment.status is Status.APPROVED
        assert assessment.approved_at is not None and assessment.review_due is not None
        assert assessment.version > version  # claimed as sign_approval claims: open approval pages are stale
        document = db.session.scalars(select(ArchivedDocument)).one()
        assert (document.path, document.sha256, document.assessment_id) == (relative, file_sha, in_review)
        signature = db.session.scalars(select(Signature)).one()
        assert signature.signer.email == f"jurist@{KOMMUN}" and signature.document_id == document.id
        assert signature.signer_name == "Jo Jurist" and signature.signed_at is not None
        signed = db.session.scalars(select(AuditEvent).where(AuditEvent.assessment_id == in_review,
                                                             AuditEvent.action == "signed")).one()
        assert signed.details["completed_by"] == "archive verify --repair"
        assert signed.details["document_sha256"] == file_sha
        assert signed.actor.email == f"jurist@{KOMMUN}"
        assert db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.assessment_id == in_review).order_by(AuditEvent.seq)).all()[-2:] == ["approve", "signed"]

    again = runner.invoke(args=["archive", "verify", "--repair"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "OK: 1 archived document(s) verified, no orphaned files"
    with app.app_context():
        assert counts() == (1, 1)
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0 and "PROBLEM" not in audit.output, audit.output
    checked = runner.invoke(args=["verify", str(Path(app.config["ARCHIVE_DIR"]) / relative)])
    assert checked.exit_code == 0 and "matches archived document" in checked.output, checked.output


def test_orphan_of_an_assessment_sent_back_meanwhile_is_quarantined(app, runner, in_review):
    relative = crash_after_archiving(app, in_review)
    with app.app_context():
        workflow.request_changes(reload(in_review), user(f"jurist@{KOMMUN}"), "Beskriv gallringen.")
        db.session.commit()

    result = runner.invoke(args=["archive", "verify", "--repair"])
    assert result.exit_code == 0, result.output
    assert (f"QUARANTINED: {relative}: moved to quarantine/{Path(relative).name} (not linked: assessment "
            f"{in_review} revision 1 is no longer in review (it is changes_requested))") in result.output
    root = Path(app.config["ARCHIVE_DIR"])
    assert not (root / relative).exists()
    kept = root / "quarantine" / Path(relative).name
    assert kept.is_file() and sha256_hex(kept.read_bytes()) == Path(relative).stem  # never deleted
    note = json.loads((root / "quarantine" / f"{Path(relative).name}.txt").read_text())
    assert note["file"] == relative and "no longer in review" in note["why"] and note["assessment_id"] == in_review
    with app.app_context():
        assert reload(in_review).status is Status.CHANGES_REQUESTED
        assert counts() == (0, 0)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "archive_file_quarantined")).one()
        assert event.assessment_id == in_review and event.details["file"] == relative

    again = runner.invoke(args=["archive", "verify", "--repair"])
    assert again.exit_code == 0 and again.output.startswith("OK: 0 archived document(s)"), again.output
    assert kept.is_file()
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0, audit.output


def test_tampered_orphan_is_quarantined_not_linked_and_the_assessment_can_be_approved_again(app, runner,
                                                                                          in_review):
    relative = crash_after_archiving(app, in_review)
    root = Path(app.config["ARCHIVE_DIR"])
    original = root / relative
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01
    with app.app_context():
        # Stored under its own (new) hash: the name is consistent, only the seal can tell.
        tampered = archive().store(bytes(data))
    os.chmod(original, stat.S_IRUSR | stat.S_IWUSR)
    original.unlink()

    result = runner.invoke(args=["archive", "verify", "--repair"])
    assert result.exit_code == 0, result.output
    assert f"QUARANTINED: {tampered.relative_path}: moved to quarantine/" in result.output
    assert "the signature is not valid" in result.output and "REPAIRED" not in result.output
    assert not (root / tampered.relative_path).exists()
    assert (root / "quarantine" / Path(tampered.relative_path).name).is_file()
    assert_untouched_and_in_review(app, in_review)
    with app.app_context():
        # An unproven file names nobody: nothing is written to any organisation's trail.
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "archive_file_quarantined")).all() == []
        assessment = reload(in_review)
        sign_approval(assessment, user(f"jurist@{KOMMUN}"), expected_version=assessment.version)
        db.session.commit()
        assert reload(in_review).status is Status.APPROVED
    ok = runner.invoke(args=["archive", "verify"])
    assert ok.exit_code == 0, ok.output


# -- 2. full disk while archiving, end to end through the web ------------------------------------------


ARCHIVE_FULL = "Det signerade dokumentet kunde inte arkiveras (lagringsutrymmet är fullt eller skrivskyddat)."


@pytest.fixture
def tiny_archive_volume(app):
    """ARCHIVE_DIR on a 64 KiB tmpfs: a real volume a sealed report (hundreds of KiB) does not fit on."""
    mountpoint = Path(app.config["ARCHIVE_DIR"])
    mountpoint.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    require(mounted.returncode == 0, f"cannot mount a tmpfs to fill up (needs CAP_SYS_ADMIN): "
                                     f"{mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def post_approval(client, auth, assessment_id: int):
    auth.login(f"jurist@{KOMMUN}")
    page = client.get(f"/assessments/{assessment_id}/approve")
    assert page.status_code == 200
    return client.post(f"/assessments/{assessment_id}/approve",
                       data={**APPROVE, "version": version_of(page.get_data(as_text=True))},
                       follow_redirects=True)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_dir()]


def test_full_archive_volume_on_approval_shows_the_message_and_keeps_the_assessment_in_review(
        app, client, auth, in_review, tiny_archive_volume, caplog):
    response = post_approval(client, auth, in_review)
    # The archive is unavailable: a 503 page that says so, says when to try again and leads back.
    assert response.status_code == 503 and response.headers["Retry-After"]
    body = response.get_data(as_text=True)
    assert ARCHIVE_FULL in body and "Traceback" not in body
    assert f'href="/assessments/{in_review}"' in body
    assert_untouched_and_in_review(app, in_review)
    assert files_under(tiny_archive_volume) == []  # the partial temporary file was removed
    # The real ENOSPC from os.write reached the log as such, not as a generic I/O error.
    assert f"archiving failed for assessment {in_review}: No space left on the archive volume" in caplog.text
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(["approve", "signed"]))).all() == []


def test_unwritable_archive_on_approval_shows_the_message_and_keeps_the_assessment_in_review(
        app, client, auth, in_review, tmp_path):
    # Root ignores permission bits, so the archive is made unwritable the way root is stopped too: its
    # parent is a regular file (mkdir fails with ENOTDIR).
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the archive's parent directory should be\n")
    app.config["ARCHIVE_DIR"] = str(blocker / "archive")
    response = post_approval(client, auth, in_review)
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert ARCHIVE_FULL in body and "Traceback" not in body
    assert_untouched_and_in_review(app, in_review)
    assert blocker.read_text().startswith("a file where")


# -- 3. the database is lost: a 503 page, never a traceback --------------------------------------------


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_503_page(response) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "30"
    assert "Tillfälligt otillgänglig" in body and "Tjänsten kan inte nå sin databas just nu" in body
    assert '<html lang="sv"' in body
    assert "Traceback" not in body and "OperationalError" not in body and "sqlalchemy" not in body.lower()


def log_in_without_the_database(client) -> None:
    """A session cookie of a user who logged in before the database went away."""
    with client.session_transaction() as session:
        session["_user_id"] = "1:a-session-token"  # models.User.get_id: "<id>:<session token>"
        session["_fresh"] = True


@pytest.fixture
def lost_postgresql_app(tmp_path, seal_dir):
    from tests.conftest import _config

    url = f"postgresql+psycopg://konsekvens@127.0.0.1:{unused_port()}/konsekvens"
    app = create_app(_config(url, tmp_path, seal_dir,
                             SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 3}}))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_unreachable_postgresql_gives_the_503_page(lost_postgresql_app):
    client = lost_postgresql_app.test_client()
    # Pages that do not need the database still work (the login form)…
    assert client.get("/login").status_code == 200
    # …and everything that does gets the 503 page: logging in, and every page of a logged-in user (the user
    # is loaded from the database on each request).
    assert_503_page(client.post("/login", data={"email": f"jurist@{KOMMUN}", "password": "x"}))
    log_in_without_the_database(client)
    assert_503_page(client.get("/"))
    assert_503_page(client.get("/login"))
    assert_503_page(client.get("/assessments/1"))


def test_sqlite_file_replaced_by_a_directory_gives_the_503_page(tmp_path, seal_dir):
    from sqlalchemy import text

    from tests.conftest import _config

    database = tmp_path / "lost.sqlite"
    app = create_app(_config(f"sqlite:///{database}", tmp_path, seal_dir))
    with app.app_context():
        db.session.execute(text("CREATE TABLE probe (id INTEGER)"))
        db.session.commit()
    assert database.is_file()
    client = app.test_client()
    assert client.get("/login").status_code == 200
    database.unlink()
    database.mkdir()
    with app.app_context():
        # An open connection keeps the deleted file's inode; the next connection (a new worker, a recycled
        # pool) finds a directory.
        db.engine.dispose()
    try:
        assert_503_page(client.post("/login", data={"email": f"jurist@{KOMMUN}", "password": "x"}))
        log_in_without_the_database(client)
        assert_503_page(client.get("/"))
        assert_503_page(client.get("/login"))
    finally:
        with app.app_context():
            db.engine.dispose()
