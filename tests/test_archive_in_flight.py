"""`archive verify` and files that are still being written, or were never finished (README, Operations).

An archive write is: a temporary file ``<shard>/.tmp-*.part``, fsync, a hard link to the final name, then
the approval's rows are committed. With several nodes, `archive verify` from cron can run on one node while
another is anywhere in that sequence, so:

* a temporary file younger than the in-flight period (ARCHIVE_IN_FLIGHT_SECONDS, 5 minutes) is a write in
  progress; an older one is what a crash left (INCOMPLETE, exit 1), and ``--repair`` moves it to
  ``quarantine/`` with a note. The crash here is real: a child process writes half of a report into the
  archive and dies (``os._exit``), as a killed worker or a power cut would leave it;
* a linked file no committed row refers to yet, younger than that period, is an approval still committing
  (IN FLIGHT, exit 0, never repaired). The approval here is real, held open between the link and the commit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assessments import PROJECT_ROOT, signoff, workflow
from assessments.extensions import db
from assessments.models import ArchivedDocument, Status
from tests.factories import KOMMUN, answered_assessment, reload, user

IN_FLIGHT_SECONDS = 5 * 60  # config.py's default
CRASH_EXIT = 17

# The real Archive.store in a child process whose second os.write never happens: the process dies with half
# of the data in the temporary file, before fsync and link.
CRASHING_WRITE = r"""
import os, sys
from pathlib import Path
from assessments.archive import Archive

real_write = os.write
def write_half_then_die(fd, data):
    real_write(fd, bytes(data[: len(data) // 2]))
    os._exit(CRASH_EXIT)

os.write = write_half_then_die
Archive(Path(sys.argv[1])).store(b"%PDF-1.7\n" + b"0" * 100000)
sys.exit(3)
""".replace("CRASH_EXIT", str(CRASH_EXIT))


def age(path: Path, seconds: float) -> None:
    """Make a file look written ``seconds`` ago (its modification time; the inode change time stays now)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def archive_root(app) -> Path:
    app.config["ARCHIVE_IN_FLIGHT_SECONDS"] = IN_FLIGHT_SECONDS  # the default, not the suite's 0 (conftest)
    return Path(app.config["ARCHIVE_DIR"])


def crashed_write(root: Path) -> Path:
    child = subprocess.run([sys.executable, "-c", CRASHING_WRITE, str(root)], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == CRASH_EXIT, child.stderr[-3000:]
    [temporary] = [p for p in root.rglob(".tmp-*") if p.is_file()]
    assert 0 < temporary.stat().st_size < 100000
    return temporary


def test_a_temporary_file_left_by_a_crashed_write_is_reported_then_quarantined(app, runner, demo_orgs,
                                                                                archive_root):
    temporary = crashed_write(archive_root)
    relative = temporary.relative_to(archive_root).as_posix()
    content = temporary.read_bytes()

    # Just written: it may be a write in progress on another node, so it is no problem yet.
    fresh = runner.invoke(args=["archive", "verify"])
    assert fresh.exit_code == 0, fresh.output
    assert "INCOMPLETE" not in fresh.output

    age(temporary, IN_FLIGHT_SECONDS + 60)
    plain = runner.invoke(args=["archive", "verify"])
    assert plain.exit_code == 1, plain.output
    assert f"INCOMPLETE: {relative}: " in plain.output
    assert "FAILED: 1 problem(s)" in plain.output
    assert temporary.read_bytes() == content  # without --repair nothing moves

    repaired = runner.invoke(args=["archive", "verify", "--repair"])
    assert repaired.exit_code == 0, repaired.output
    kept = archive_root / "quarantine" / temporary.name.lstrip(".")
    assert f"QUARANTINED: {relative}: moved to quarantine/{kept.name} " in repaired.output
    assert not temporary.exists() and kept.read_bytes() == content
    note = json.loads((kept.parent / f"{kept.name}.txt").read_text())
    assert note["file"] == relative and "never finished" in note["why"]

    again = runner.invoke(args=["archive", "verify"])
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "OK: 0 archived document(s) verified, no orphaned files"


def test_an_old_unlinked_file_is_still_orphaned(app, runner, demo_orgs, archive_root):
    """The in-flight period only postpones the report: an orphan older than it is reported as before."""
    with app.app_context():
        stray = signoff.archive().store(b"%PDF-1.7\n% not referred to by any record\n")
    path = archive_root / stray.relative_path
    assert runner.invoke(args=["archive", "verify"]).exit_code == 0
    age(path, IN_FLIGHT_SECONDS + 60)
    result = runner.invoke(args=["archive", "verify"])
    assert result.exit_code == 1 and f"ORPHANED: {stray.relative_path}: " in result.output, result.output


def test_archive_verify_while_an_approval_is_between_link_and_commit(app, runner, demo_orgs, archive_root,
                                                                    monkeypatch):
    with app.app_context():
        assessment = answered_assessment()
        workflow.submit_for_review(assessment, user(f"kommunikator@{KOMMUN}"))
        db.session.commit()
        assessment_id, version, reviewer_id = assessment.id, assessment.version, user(f"jurist@{KOMMUN}").id

    linked, release = threading.Event(), threading.Event()
    real_record = signoff.record_approval

    def record_then_hold(*args, **kwargs):
        result = real_record(*args, **kwargs)  # the file is linked, the rows are written, not committed
        linked.set()
        release.wait(timeout=120)
        return result

    monkeypatch.setattr(signoff, "record_approval", record_then_hold)
    failure: list[BaseException] = []

    def approve():
        try:
            with app.app_context():
                from assessments.models import User

                signoff.sign_approval(reload(assessment_id), db.session.get(User, reviewer_id),
                                      expected_version=version)
                db.session.commit()
        except BaseException as exc:  # surfaced below
            failure.append(exc)
            linked.set()

    approval = threading.Thread(target=approve)
    approval.start()
    try:
        assert linked.wait(timeout=180) and not failure, failure
        [relative] = [p.relative_to(archive_root).as_posix() for p in archive_root.rglob("*.pdf")]

        plain = runner.invoke(args=["archive", "verify"])
        assert plain.exit_code == 0, plain.output
        assert "ORPHANED" not in plain.output
        assert f"IN FLIGHT: {relative}: " in plain.output
        # --repair leaves a file in flight alone: not linked by the repair, not quarantined.
        repair = runner.invoke(args=["archive", "verify", "--repair"])
        assert repair.exit_code == 0, repair.output
        assert "REPAIRED" not in repair.output and "QUARANTINED" not in repair.output
        assert (archive_root / relative).is_file() and not (archive_root / "quarantine").exists()
    finally:
        release.set()
        approval.join(timeout=120)
    assert not failure, failure

    done = runner.invoke(args=["archive", "verify"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "OK: 1 archived document(s) verified, no orphaned files"
    with app.app_context():
        assert reload(assessment_id).status is Status.APPROVED
        assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 1
