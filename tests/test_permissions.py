"""Files readable by others (penetration test): everything the application creates under instance/ is for
the service user only; archived files are 0440 in 0750 directories; a seal's passphrase comes from the
environment or from a file only the owner can read."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from assessments import create_app, signoff
from assessments.extensions import db
from assessments.report.seal import SealError, create_self_signed_seal
from tests.conftest import DEMO_PASSWORD
from tests.factories import organisation
from tests.test_journey import KOMMUN, in_review  # noqa: F401 (a fixture)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_its_wal_and_the_secret_key_are_owner_only(tmp_path, monkeypatch):
    for variable in ("DATABASE_URL", "SECRET_KEY", "KONSEKVENS_ARCHIVE_DIR", "KONSEKVENS_SEAL_DIR"):
        monkeypatch.delenv(variable, raising=False)
    os.umask(0o022)  # a usual login shell's umask: what the operator starts the service with
    instance = tmp_path / "instance"
    app = create_app(instance_path=instance)  # the defaults: everything in the instance folder
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:  # an open connection keeps -wal and -shm in place
                connection.execute(text("CREATE TABLE t (x INTEGER)"))
                connection.commit()
                database = instance / "konsekvens.sqlite"
                files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), instance / "secret_key"]
                assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
            assert mode(instance) == 0o700
    finally:
        with app.app_context():
            db.engine.dispose()


def test_archived_files_are_0440_in_0750_directories(app):
    from assessments.archive import Archive

    store = Archive(Path(app.config["ARCHIVE_DIR"]))
    stored = store.store(b"%PDF-1.7 test")
    path = store.path_for(stored.relative_path)
    assert mode(path) == 0o440
    assert mode(path.parent) == mode(store.root) == 0o750
    quarantined = store.path_for(store.quarantine(stored.relative_path, "test"))
    assert mode(quarantined) == mode(Path(f"{quarantined}.txt")) == 0o440 and mode(quarantined.parent) == 0o750


@pytest.fixture
def protected_seal(app, demo_orgs, tmp_path) -> Path:
    """Exempelkommun's seal replaced by one with a passphrase, in a seal folder of the test's own."""
    seals = tmp_path / "seals"
    shutil.copytree(app.config["SEAL_DIR"], seals)
    (seals / "exempelkommun.p12").unlink()
    create_self_signed_seal(seals / "exempelkommun.p12", organisation_name="Exempelkommun", passphrase=b"hemligt")
    app.config["SEAL_DIR"] = str(seals)
    return seals


def installed_slugs(app) -> set[str]:
    with app.app_context():
        return {seal.organisation.slug for seal in signoff.installed_seals()}


def test_the_passphrase_comes_from_the_environment(app, protected_seal, monkeypatch):
    assert "exempelkommun" not in installed_slugs(app)  # no passphrase: the seal cannot be opened
    monkeypatch.setenv("KONSEKVENS_SEAL_PASSPHRASE_EXEMPELKOMMUN", "hemligt")
    assert "exempelkommun" in installed_slugs(app)


def test_a_passphrase_file_others_can_read_is_refused(app, client, auth, in_review, protected_seal):
    passfile = protected_seal / "exempelkommun.pass"
    passfile.write_text("hemligt\n")
    passfile.chmod(0o600)
    assert "exempelkommun" in installed_slugs(app)
    passfile.chmod(0o644)
    with app.app_context(), pytest.raises(SealError) as refused:
        signoff.seal_passphrase(organisation("exempelkommun"))
    assert refused.value.code == "passphrase_readable"
    assert "exempelkommun" not in installed_slugs(app)

    assessment_id, version = in_review
    auth.login(f"jurist@{KOMMUN}")
    response = client.post(f"/assessments/{assessment_id}/approve", data={
        "version": version, "password": DEMO_PASSWORD, "attest_context": "y", "attest_risks": "y",
        "attest_measures": "y", "attest_commitment": "y"}, follow_redirects=True)
    assert "Lösenordsfilen till organisationens signeringscertifikat kan läsas av andra" in \
        response.get_data(as_text=True)
