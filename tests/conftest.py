"""Shared fixtures: a real database (a SQLite file, or PostgreSQL when TEST_DATABASE_URL is set), migrated
once per session and emptied between tests; demo organisations; a logged-in client helper.

The suite drops every table of the database it runs on, so it reads TEST_DATABASE_URL, never the
operators' DATABASE_URL (which it removes from its own environment at start, so neither a test nor a
process it starts can reach the database that variable names), and it refuses a database whose name does
not contain "test" (README, Tests).

In CI (KONSEKVENS_REQUIRE_ALL=1) a test that needs Chromium, PostgreSQL or poppler fails instead of
skipping, so a green run never hides a missing part.
"""
from __future__ import annotations

import gc
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

from assessments import create_app
from assessments.config import normalise_database_url
from assessments.extensions import db

REQUIRE_ALL = os.environ.get("KONSEKVENS_REQUIRE_ALL") == "1"
DEMO_PASSWORD = "korrekt-häst-batteri-42"
T = TypeVar("T")


def pytest_collection_modifyitems(config, items) -> None:
    """Every test under tests/browser drives the system Chromium: marked so ``make test-fast`` can leave
    them out (``-m "not browser"``)."""
    for item in items:
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)


def pytest_collection_finish(session) -> None:
    """What exists once the tests are collected (the imported modules, the collected items) lives until the
    end: frozen out of the garbage collector's view, and the young generation collected less often, every
    pass of the collector is cheaper and the suite runs about a sixth faster (docs/benchmarks.md, "The
    suite's own time"). Cycles made by the tests are still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000, 50, 100)


def require(condition: bool, reason: str) -> None:
    """Skip locally with a clear reason; fail in CI, where everything must be present."""
    if condition:
        return
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (apt-get install poppler-utils)")
    return path


def pdf_checker():
    """The independent PDF/A and PDF/UA checker (``page-validation`` from PyPI, a port of veraPDF's rules)."""
    try:
        import page
    except ImportError:
        page = None
    require(page is not None, "page-validation is not installed (pip install -e '.[test]')")
    return page


def pytest_configure(config) -> None:
    # The operators' variable: nothing in the test session may connect to what it names.
    os.environ.pop("DATABASE_URL", None)
    external_test_database()  # refuse before any test runs, not only when a test first needs the database


def unsafe_database_reason(url: str) -> str | None:
    """Why the suite must not run against ``url``, or None: its database name must contain "test"."""
    try:
        name = make_url(url).database or ""
    except Exception as exc:  # noqa: BLE001 - any unparsable URL is refused with its reason
        return f"TEST_DATABASE_URL cannot be parsed: {exc}"
    if "test" not in Path(name).name.lower():
        return (f"refusing to run the tests against the database {name!r}: the tests drop every table, so its "
                "name must contain 'test' (e.g. konsekvens_test)")
    return None


def external_test_database() -> str | None:
    """TEST_DATABASE_URL, normalised and checked (the session stops if the name does not say "test")."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    url = normalise_database_url(url)
    if problem := unsafe_database_reason(url):
        raise pytest.UsageError(problem)
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """The session's database: a SQLite file of its own, or TEST_DATABASE_URL. Under pytest-xdist each
    worker gets a PostgreSQL database of its own next to it (``<name>_gw0`` …), made and dropped here."""
    url = external_test_database()
    if url is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'konsekvens-test.sqlite'}"
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def seal_dir(tmp_path_factory) -> Path:
    """Seals are expensive to generate (RSA 3072): one set per session."""
    from assessments.demo import ORGANISATIONS
    from assessments.report.seal import create_self_signed_seal

    directory = tmp_path_factory.mktemp("seals")
    for slug, name, _domain, _public in ORGANISATIONS:
        create_self_signed_seal(directory / f"{slug}.p12", organisation_name=name)
    return directory


def _config(database_url: str, tmp_path: Path, seal_dir: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ARCHIVE_DIR": str(tmp_path / "archive"),
        "SEAL_DIR": str(seal_dir),
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Tests that leave an orphan check it at once; tests/test_archive_in_flight.py uses the default.
        "ARCHIVE_IN_FLIGHT_SECONDS": 0,
        **extra,
    }


@pytest.fixture(scope="session")
def migrated(database_url, tmp_path_factory, seal_dir) -> str:
    """Apply the real Alembic migrations to an empty database once per session."""
    from flask_migrate import upgrade

    engine = create_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    app = create_app(_config(database_url, tmp_path_factory.mktemp("m"), seal_dir))
    with app.app_context():
        upgrade()
        db.engine.dispose()  # no pooled connection may outlive its app (ResourceWarning under psycopg)
    return database_url


def _empty_tables() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(migrated, tmp_path, seal_dir):
    app = create_app(_config(migrated, tmp_path, seal_dir))
    with app.app_context():
        _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo_orgs(app):
    from assessments.demo import create_demo_organisations

    with app.app_context():
        create_demo_organisations(Path(app.config["SEAL_DIR"]), DEMO_PASSWORD)
        db.session.commit()


@dataclass(frozen=True)
class SignedDemo:
    assessment_id: int
    pdf: Path  # the archived, sealed PDF in this test's archive


def make_sealed_backup(migrated: str, directory: Path, seal_dir: Path, build: Callable[[Flask], T]) -> T:
    """Run ``build`` once on the session's database, with the demo organisations, and keep what it leaves
    (rows and archived, sealed documents) as a backup in ``directory / "backup"`` (assessments/backup.py):
    rendering and sealing cost seconds, restoring the backup (:func:`restore_sealed_backup`) a fraction.
    Returns what ``build`` returns; the database is left empty."""
    from assessments.backup import create_backup
    from assessments.demo import create_demo_organisations

    app = create_app(_config(migrated, directory, seal_dir))
    try:
        with app.app_context():
            _empty_tables()
            create_demo_organisations(seal_dir, DEMO_PASSWORD)
            db.session.commit()
            value = build(app)
            create_backup(directory / "backup")
            _empty_tables()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return value


def restore_sealed_backup(app: Flask, backup: Path) -> None:
    """This test's database and archive as the backup's ``build`` left them (the backup brings the
    organisations and users itself, so ``demo_orgs`` is not needed, and is harmless before or after)."""
    from assessments.backup import restore_backup

    with app.app_context():
        _empty_tables()
        restore_backup(backup)


@pytest.fixture(scope="session")
def signed_demo_backup(migrated, tmp_path_factory, seal_dir) -> tuple[Path, int]:
    """The municipality's demo taken once per session to a signed, archived PDF by ``flask demo``."""
    from tests.answering import latest_demo

    def build(app: Flask) -> int:
        result = app.test_cli_runner().invoke(args=["demo", "--name", latest_demo()])
        assert result.exit_code == 0, result.output
        return int(re.search(r"approved: assessment (\d+)", result.output).group(1))

    directory = tmp_path_factory.mktemp("signed-demo")
    return directory / "backup", make_sealed_backup(migrated, directory, seal_dir, build)


@pytest.fixture
def signed_demo(app, signed_demo_backup) -> SignedDemo:
    """This test's database and archive as ``flask demo`` leaves them: the demo organisations and users
    and one approved, sealed assessment."""
    from sqlalchemy import select

    from assessments.models import ArchivedDocument
    from assessments.signoff import archive

    backup, assessment_id = signed_demo_backup
    restore_sealed_backup(app, backup)
    with app.app_context():
        row = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.assessment_id == assessment_id)).one()
        return SignedDemo(assessment_id, archive().path_for(row.path))


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = DEMO_PASSWORD):
        response = self.client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, f"login failed for {email}"
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)
