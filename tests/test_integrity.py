"""`flask audit verify` and `flask archive verify`: pass on a fresh demo, name every kind of damage."""
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from assessments.extensions import db
from assessments.models import ArchivedDocument, AuditEvent, Signature
from assessments.signoff import archive
from tests.factories import organisation


@pytest.fixture
def signed_pdf(signed_demo) -> Path:
    """One assessment of Exempelkommun taken to a signed, archived PDF by `flask demo`."""
    assert signed_demo.pdf.is_file()
    return signed_demo.pdf


def kommun_events():
    with_org = organisation("exempelkommun")
    return with_org, db.session.scalars(select(AuditEvent).where(AuditEvent.organisation_id == with_org.id)
                                        .order_by(AuditEvent.seq)).all()


# -- audit verify ----------------------------------------------------------------------------------


def test_audit_verify_passes_on_a_fresh_demo(app, runner, signed_pdf):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        count = len(kommun_events()[1])
    assert f"OK: Exempelkommun: {count} events" in result.output
    assert "OK: Region Exempel:" in result.output and "OK: Exempelbanken:" in result.output
    assert "PROBLEM" not in result.output


def test_audit_verify_names_an_edited_event(app, runner, signed_pdf):
    with app.app_context():
        _org, events = kommun_events()
        seq, event_id = events[2].seq, events[2].id
        db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id)
                           .values(details={**events[2].details, "email": "someone-else@example"}))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert (f"PROBLEM: Exempelkommun (exempelkommun): seq {seq}, event id {event_id}: content was changed"
            in result.output)
    # The other organisations' chains are untouched and still reported as such.
    assert "OK: Exempelbanken:" in result.output
    assert "FAILED: 1 problem(s) in 1 organisation(s)" in result.output


def test_audit_verify_names_a_deleted_event(app, runner, signed_pdf):
    with app.app_context():
        _org, events = kommun_events()
        gone, following = events[3].seq, (events[4].seq, events[4].id)
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == events[3].id))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert f"seq {gone}, no event: event {gone} is missing (next is {following[0]})" in result.output
    assert (f"seq {following[0]}, event id {following[1]}: does not follow the previous event"
            in result.output)


def test_audit_verify_names_reordered_events(app, runner, signed_pdf):
    with app.app_context():
        _org, events = kommun_events()
        (seq_a, id_a), (seq_b, id_b) = (events[1].seq, events[1].id), (events[2].seq, events[2].id)
        # Swap the two rows' places in the chain (through a free value: (organisation, seq) is unique).
        db.session.execute(update(AuditEvent).where(AuditEvent.id == id_a).values(seq=-1))
        db.session.execute(update(AuditEvent).where(AuditEvent.id == id_b).values(seq=seq_a))
        db.session.execute(update(AuditEvent).where(AuditEvent.id == id_a).values(seq=seq_b))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    # Both moved rows are named at their new places.
    assert (f"seq {seq_a}, event id {id_b}: does not follow the previous event (deleted or reordered)"
            in result.output)
    assert f"seq {seq_b}, event id {id_a}: does not follow the previous event" in result.output


def test_audit_verify_for_one_organisation(app, runner, signed_pdf):
    result = runner.invoke(args=["audit", "verify", "--organisation", "exempelbanken"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: Exempelbanken:") and "Exempelkommun" not in result.output
    unknown = runner.invoke(args=["audit", "verify", "--organisation", "nowhere"])
    assert unknown.exit_code == 2 and "nowhere" in unknown.output


# -- archive verify --------------------------------------------------------------------------------


def test_archive_verify_passes_after_demo(app, runner, signed_pdf):
    result = runner.invoke(args=["archive", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 1 archived document(s) verified, no orphaned files" in result.output


def test_archive_verify_detects_a_changed_byte(app, runner, signed_pdf):
    os.chmod(signed_pdf, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(signed_pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    signed_pdf.write_bytes(bytes(data))
    result = runner.invoke(args=["archive", "verify"])
    assert result.exit_code == 1, result.output
    relative = f"{signed_pdf.parent.name}/{signed_pdf.name}"
    assert f"CHANGED: {relative}: " in result.output
    assert f"BAD SIGNATURE: {relative}: " in result.output
    assert "FAILED:" in result.output


def test_archive_verify_detects_a_missing_file(app, runner, signed_pdf):
    signed_pdf.unlink()
    result = runner.invoke(args=["archive", "verify"])
    assert result.exit_code == 1, result.output
    assert f"MISSING: {signed_pdf.parent.name}/{signed_pdf.name}: " in result.output
    assert "ORPHANED" not in result.output


def test_archive_verify_lists_an_orphaned_file(app, runner, signed_pdf):
    with app.app_context():
        stray = archive().store(b"%PDF-1.7\n% not referred to by any record\n")
    result = runner.invoke(args=["archive", "verify"])
    assert result.exit_code == 1, result.output
    assert f"ORPHANED: {stray.relative_path}: " in result.output
    # The recorded document is still fine, and without --repair nothing is moved.
    assert signed_pdf.name not in result.output
    assert "QUARANTINED" not in result.output
    assert (Path(app.config["ARCHIVE_DIR"]) / stray.relative_path).is_file()

    with_repair = runner.invoke(args=["archive", "verify", "--repair"])
    assert with_repair.exit_code == 0, with_repair.output
    assert (f"QUARANTINED: {stray.relative_path}: moved to quarantine/{stray.sha256}.pdf (not linked: the "
            f"signature is not valid: ") in with_repair.output
    kept = Path(app.config["ARCHIVE_DIR"]) / "quarantine" / f"{stray.sha256}.pdf"
    assert kept.read_bytes() == b"%PDF-1.7\n% not referred to by any record\n"
    assert (kept.parent / f"{kept.name}.txt").is_file()
    assert runner.invoke(args=["archive", "verify"]).exit_code == 0


def test_archive_verify_repair_quarantines_a_sealed_report_whose_assessment_is_no_longer_in_review(
        app, runner, signed_pdf):
    """The records of an approved assessment were lost: its file proves no *pending* approval (the
    assessment is not in review), so it is set aside with the reason, never linked or deleted."""
    with app.app_context():
        row = db.session.scalars(select(ArchivedDocument)).one()
        assessment_id, revision, relative = row.assessment_id, row.revision, row.path
        db.session.execute(delete(Signature).where(Signature.document_id == row.id))
        db.session.execute(delete(ArchivedDocument).where(ArchivedDocument.id == row.id))
        db.session.commit()
    before = signed_pdf.read_bytes()

    plain = runner.invoke(args=["archive", "verify"])
    assert plain.exit_code == 1
    assert f"ORPHANED: {relative}:" in plain.output and "QUARANTINED" not in plain.output
    assert signed_pdf.read_bytes() == before  # without --repair nothing moves

    result = runner.invoke(args=["archive", "verify", "--repair"])
    assert result.exit_code == 0, result.output
    assert (f"QUARANTINED: {relative}: moved to quarantine/{signed_pdf.name} (not linked: assessment "
            f"{assessment_id} revision {revision} is no longer in review (it is approved))") in result.output
    assert not signed_pdf.exists()
    assert (signed_pdf.parent.parent / "quarantine" / signed_pdf.name).read_bytes() == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ArchivedDocument)) == 0
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0, audit.output


def test_archive_verify_repair_leaves_missing_and_changed_files_reported(app, runner, signed_pdf):
    signed_pdf.unlink()
    result = runner.invoke(args=["archive", "verify", "--repair"])
    assert result.exit_code == 1, result.output
    assert f"MISSING: {signed_pdf.parent.name}/{signed_pdf.name}: " in result.output
    assert "FAILED: 1 problem(s)" in result.output


def test_archive_verify_help_describes_the_repair(runner):
    result = runner.invoke(args=["archive", "verify", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--repair" in text and "quarantine/" in text and "never deleted" in text
    assert "Without --repair it changes nothing" in text
