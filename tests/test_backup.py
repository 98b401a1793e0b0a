"""`flask backup DIR` / `flask restore DIR`: a round trip into a fresh, migrated database and an
empty archive gives back every row and every signed document; a damaged backup, a non-empty target or an
existing backup directory is refused with nothing written.

The target is a second SQLite file, or on PostgreSQL a second database created and dropped here.
"""
from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from assessments import create_app
from assessments.extensions import db
from assessments.models import ArchivedDocument, Assessment, Status
from tests.conftest import DEMO_PASSWORD, _config
from tests.factories import KOMMUN, user


def snapshot_of_tables() -> dict[str, list[dict]]:
    """Every row of every table, by primary key, as the application reads it."""
    tables = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        tables[table.name] = [dict(row) for row in db.session.execute(select(table).order_by(*order)).mappings()]
    return tables


@pytest.fixture
def demo_data(app, runner, demo_orgs) -> dict:
    """All demo assessments signed and archived, plus a new revision (a row referring to its own table)."""
    from assessments.revisions import new_revision

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        author = user(f"kommunikator@{KOMMUN}")
        approved = db.session.scalars(select(Assessment).where(
            Assessment.status == Status.APPROVED, Assessment.organisation_id == author.organisation_id)).one()
        new_revision(approved, author, to_latest_catalog=False)
        db.session.commit()
        assert db.session.scalar(select(func.count()).where(Assessment.previous_revision_id.is_not(None))) == 1
        return snapshot_of_tables()


@pytest.fixture
def target_url(migrated, tmp_path):
    """A fresh, empty database of the same kind as the test database, migrated to the latest revision."""
    url = make_url(migrated)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(migrated, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def target(target_url, tmp_path, seal_dir):
    """An app on the fresh database, with its own (empty) archive directory."""
    from flask_migrate import upgrade

    (tmp_path / "restored").mkdir()
    app = create_app(_config(target_url, tmp_path / "restored", seal_dir))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def backup(app, directory: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", str(directory)])
    assert result.exit_code == 0, result.output
    assert f"Backup written to {directory}" in result.output
    return directory


def assert_restored_equal(target, expected: dict) -> None:
    with target.app_context():
        restored = snapshot_of_tables()
    assert restored.keys() == expected.keys()
    for table, rows in expected.items():
        assert restored[table] == rows, f"table {table} differs after the restore"


def test_round_trip_gives_back_every_row_and_every_signed_document(app, demo_data, target, tmp_path):
    directory = backup(app, tmp_path / "backup")
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["archive_files"] == 3 and len([f for f in manifest["files"] if f.startswith("archive/")]) == 3
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["assessments"] == len(demo_data["assessments"])
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # the work directory became the backup

    runner = target.test_cli_runner()
    result = runner.invoke(args=["restore", str(directory)])
    assert result.exit_code == 0, result.output
    assert "3 archived file(s)" in result.output
    assert_restored_equal(target, demo_data)

    archive_dir = Path(target.config["ARCHIVE_DIR"])
    verified = runner.invoke(args=["archive", "verify"])
    assert verified.exit_code == 0 and "OK: 3 archived document(s) verified" in verified.output, verified.output
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0 and "PROBLEM" not in audit.output, audit.output
    with target.app_context():
        paths = db.session.scalars(select(ArchivedDocument.path)).all()
    for relative in paths:
        restored_file = archive_dir / relative
        assert stat.S_IMODE(restored_file.stat().st_mode) == 0o440
        checked = runner.invoke(args=["verify", str(restored_file)])
        assert checked.exit_code == 0 and "Signature:  valid" in checked.output, checked.output

    # The application serves the restored data, and new rows get new ids (sequences were reset).
    client = target.test_client()
    assert client.post("/login", data={"email": f"jurist@{KOMMUN}", "password": DEMO_PASSWORD}).status_code == 302
    with target.app_context():
        signed = db.session.scalars(select(ArchivedDocument).where(
            ArchivedDocument.organisation_id == user(f"jurist@{KOMMUN}").organisation_id)).one()
        title = db.session.get(Assessment, signed.assessment_id).title
    overview = client.get(f"/assessments/{signed.assessment_id}")
    assert overview.status_code == 200 and title in overview.get_data(as_text=True)
    created = client.post("/assessments/new", data={"title": "Efter återläsningen", "platforms": ["facebook"],
                                                     "language": "sv"})
    assert created.status_code == 302, created.get_data(as_text=True)
    with target.app_context():
        newest = db.session.scalars(select(Assessment).order_by(Assessment.id.desc())).first()
        assert newest.title == "Efter återläsningen"
        assert newest.id > max(row["id"] for row in demo_data["assessments"])


def test_backup_of_sqlite_restores_into_postgresql(app, migrated, tmp_path, seal_dir):
    """Database-independent: a SQLite installation moves to PostgreSQL (the test database is the target)."""
    from flask_migrate import upgrade

    if make_url(migrated).get_backend_name() != "postgresql":
        # Not a missing part: the PostgreSQL pass of the suite (.ci/run runs both) is where this one runs.
        pytest.skip("needs the suite to run on PostgreSQL via TEST_DATABASE_URL (the SQLite source is made here)")
    from assessments.demo import create_demo_organisations
    from tests.answering import latest_demo

    (tmp_path / "source").mkdir()
    source = create_app(_config(f"sqlite:///{tmp_path / 'source.sqlite'}", tmp_path / "source", seal_dir))
    with source.app_context():
        upgrade()
        create_demo_organisations(Path(source.config["SEAL_DIR"]), DEMO_PASSWORD)
        db.session.commit()
    signed = source.test_cli_runner().invoke(args=["demo", "--name", latest_demo()])
    assert signed.exit_code == 0, signed.output
    with source.app_context():
        expected = snapshot_of_tables()
        db.engine.dispose()
    directory = backup(source, tmp_path / "from-sqlite")

    result = app.test_cli_runner().invoke(args=["restore", str(directory)])  # app: the PostgreSQL database
    assert result.exit_code == 0, result.output
    with app.app_context():
        restored = snapshot_of_tables()
    for table, rows in expected.items():
        # SQLite hands timestamps back without their zone (they are UTC); PostgreSQL keeps it.
        normalised = [{k: (v.replace(tzinfo=None) if hasattr(v, "tzinfo") and getattr(v, "tzinfo", None) else v)
                       for k, v in row.items()} for row in restored[table]]
        assert normalised == rows, f"table {table} differs after moving to PostgreSQL"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["archive", "verify"]).exit_code == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


@pytest.fixture
def one_signed(signed_demo):
    """The demo organisations and one approved, sealed assessment, as ``flask demo --name`` leaves them
    (restored from the session's sealed demo: tests/conftest.py)."""
    return signed_demo


def assert_nothing_restored(target) -> None:
    with target.app_context():
        assert all(db.session.scalar(select(func.count()).select_from(table)) == 0
                   for table in db.metadata.sorted_tables)
    archive_dir = Path(target.config["ARCHIVE_DIR"])
    assert not archive_dir.exists() or not [p for p in archive_dir.rglob("*") if p.is_file()]


@pytest.mark.parametrize("damage", ["table row", "archive file", "extra file", "missing file"])
def test_a_damaged_backup_is_refused_and_nothing_is_written(app, one_signed, target, tmp_path, damage):
    directory = backup(app, tmp_path / "backup")
    table = directory / "tables" / "assessments.jsonl"
    pdf = next((directory / "archive").rglob("*.pdf"))
    if damage == "table row":
        table.write_text(table.read_text().replace('"status":"approved"', '"status":"draft"', 1))
    elif damage == "archive file":
        data = bytearray(pdf.read_bytes())
        data[len(data) // 2] ^= 0x01
        pdf.write_bytes(bytes(data))
    elif damage == "extra file":
        (directory / "tables" / "extra.jsonl").write_text("{}\n")
    else:
        os.remove(pdf)
    result = target.test_cli_runner().invoke(args=["restore", str(directory)])
    assert result.exit_code == 1, result.output
    assert "Restore refused: the backup is damaged, nothing was restored" in result.output
    assert_nothing_restored(target)


def test_restore_refuses_a_database_or_archive_that_is_not_empty(app, one_signed, target, tmp_path):
    directory = backup(app, tmp_path / "backup")
    into_itself = app.test_cli_runner().invoke(args=["restore", str(directory)])
    assert into_itself.exit_code == 1
    assert "Restore refused: the target database is not empty" in into_itself.output

    stray = Path(target.config["ARCHIVE_DIR"]) / "ab" / "stray.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"%PDF-1.7\n")
    refused = target.test_cli_runner().invoke(args=["restore", str(directory)])
    assert refused.exit_code == 1 and "is not empty; restore only into an empty archive" in refused.output
    stray.unlink()

    with target.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
        db.session.commit()
    other_schema = target.test_cli_runner().invoke(args=["restore", str(directory)])
    assert other_schema.exit_code == 1
    assert "the target database is at schema revision ffffffffffff" in other_schema.output
    assert_nothing_restored(target)


def test_backup_refuses_an_existing_non_empty_directory(app, one_signed, tmp_path):
    existing = tmp_path / "backup"
    existing.mkdir()
    (existing / "keep.txt").write_text("someone else's file\n")
    result = app.test_cli_runner().invoke(args=["backup", str(existing)])
    assert result.exit_code == 1
    assert "Backup refused:" in result.output and "already exists and is not an empty directory" in result.output
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    # An empty directory is fine (e.g. a freshly mounted backup volume).
    empty = tmp_path / "empty"
    empty.mkdir()
    backup(app, empty)
    assert (empty / "manifest.json").is_file()
