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
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["SECRET_KEY"] == "from-env"


def test_default_database_is_sqlite_in_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert Path(app.instance_path).name == "instance"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/konsekvens.sqlite")


def test_normalise_keeps_explicit_drivers():
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_database_url("postgresql+psycopg:///k") == "postgresql+psycopg:///k"
    assert normalise_database_url("postgresql:///k") == "postgresql+psycopg:///k"
