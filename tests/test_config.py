"""Configuration order and the generated secret key."""
from pathlib import Path

from assessments import create_app
from assessments.config import normalise_database_url


def test_secret_key_is_generated_once_and_reused(tmp_path, monkeypatch):
    from assessments import config

    key_file = tmp_path / "secret_key"
    first = config._instance_secret(key_file)
    second = config._instance_secret(key_file)
    assert first == second and len(first) == 64
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_environment_overrides_instance_config(monkeypatch, tmp_path):
    (tmp_path / "config.py").write_text('SECRET_KEY = "from-file"\nTRUSTED_PROXIES = 2\n')
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app(instance_path=tmp_path)
    assert app.config["TRUSTED_PROXIES"] == 2  # the instance file was read…
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["SECRET_KEY"] == "from-env"


def test_default_database_is_sqlite_in_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    app = create_app(instance_path=instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'konsekvens.sqlite'}"
    # Generated here, not in the checkout's instance/ (which may be a real installation's).
    assert (instance / "secret_key").read_text() == app.config["SECRET_KEY"]


def test_the_suite_refuses_a_database_not_named_for_tests():
    from tests.conftest import unsafe_database_reason

    assert "must contain 'test'" in unsafe_database_reason("postgresql+psycopg://u@h/konsekvens")
    assert "must contain 'test'" in unsafe_database_reason("sqlite:////srv/konsekvens/instance/konsekvens.sqlite")
    assert unsafe_database_reason("postgresql+psycopg:///konsekvens_ci_test") is None
    assert unsafe_database_reason("sqlite:////tmp/x/konsekvens-test.sqlite") is None


def test_the_operators_database_url_is_not_in_the_test_environment():
    import os

    assert "DATABASE_URL" not in os.environ


def test_normalise_keeps_explicit_drivers():
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_database_url("postgresql+psycopg:///k") == "postgresql+psycopg:///k"
    assert normalise_database_url("postgresql:///k") == "postgresql+psycopg:///k"


def _production_database(path: Path) -> str:
    """A stand-in for an operator's database: one table with one row that the tests must not drop."""
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE organisations (slug TEXT)")
        connection.execute("INSERT INTO organisations VALUES ('produktion')")
    return f"sqlite:///{path}"


def _still_there(path: Path) -> bool:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT slug FROM organisations").fetchall() == [("produktion",)]


def _pytest(env: dict, *args: str):
    import os
    import subprocess
    import sys

    from assessments import PROJECT_ROOT

    # A fresh session: neither database variable, nor this xdist worker's identity (conftest.database_url).
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "TEST_DATABASE_URL") and not k.startswith("PYTEST_XDIST")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=PROJECT_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_make_test_in_a_production_shell_leaves_its_database_alone(tmp_path):
    """The README tells operators to set DATABASE_URL; a test run in that shell must not empty it."""
    database = tmp_path / "konsekvens.sqlite"
    url = _production_database(database)
    run = _pytest({"DATABASE_URL": url}, "tests/test_migrations.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert _still_there(database)


def test_a_test_database_url_naming_a_real_database_is_refused(tmp_path):
    database = tmp_path / "konsekvens.sqlite"
    url = _production_database(database)
    run = _pytest({"TEST_DATABASE_URL": url}, "tests/test_migrations.py")
    assert run.returncode != 0
    assert "must contain 'test'" in run.stdout + run.stderr
    assert _still_there(database)
