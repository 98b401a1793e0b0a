"""Schema changes only through migrations: the migrated database matches the models exactly."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assessments.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `flask db migrate`: {diff}"


def test_risk_numbers_and_unsupported_residuals_are_set_by_the_migration(tmp_path, seal_dir):
    """Upgrading an installation that already holds risks: R-numbers in the order the register showed them
    (active first, then by id), and in open assessments a residual below the inherent rating without a
    decided measure set back to the inherent one, with the reason in the rating history. Approved
    assessments keep their ratings as signed."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from assessments import create_app
    from tests.conftest import _config

    app = create_app(_config(f"sqlite:///{tmp_path / 'old.sqlite'}", tmp_path, seal_dir))
    with app.app_context():
        upgrade(revision="0f9dfc74b204")
        run = lambda sql, **values: db.session.execute(text(sql), values)  # noqa: E731
        run("INSERT INTO organisations (id, slug, name, is_public_body, created_at) "
            "VALUES (1, 'k', 'Kommunen', 1, '2026-11-01 10:00:00')")
        run("INSERT INTO users (id, email, name, password_hash, organisation_id, role, language, active, "
            "session_token, created_at) VALUES (1, 'k@k.example', 'K', 'x', 1, 'communicator', 'sv', 1, 't', "
            "'2026-11-01 10:00:00')")
        for aid, status in ((1, "draft"), (2, "approved")):
            run("INSERT INTO assessments (id, organisation_id, title, language, catalog_id, catalog_version, "
                "platforms, status, author_id, version, revision, created_at, updated_at) VALUES (:id, 1, 'T', "
                "'sv', 'social-media', 2, '[]', :status, 1, 1, 1, '2026-11-01 10:00:00', '2026-11-01 10:00:00')",
                id=aid, status=status)
        # risk id, assessment, active, inherent (l, s), residual (l, s)
        risks = [(10, 1, False, 3, 3, 1, 3), (11, 1, True, 3, 3, 1, 3), (12, 1, True, 2, 2, 1, 1),
                 (13, 1, True, 4, 2, 2, 2), (20, 2, True, 3, 3, 1, 3)]
        for rid, aid, active, il, isev, rl, rs in risks:
            run("INSERT INTO risks (id, assessment_id, rule_key, platform, title, active, triggered_by, "
                "inherent_likelihood, inherent_severity, residual_likelihood, residual_severity, created_at) "
                "VALUES (:id, :aid, NULL, '', 'R', :active, '[]', :il, :isev, :rl, :rs, '2026-11-01 10:00:00')",
                id=rid, aid=aid, active=active, il=il, isev=isev, rl=rl, rs=rs)
        # Risk 13 has a decided measure; risk 12 only one without a due date (not a decision).
        run("INSERT INTO measures (id, assessment_id, title, owner, due_date, status, created_at) VALUES "
            "(1, 1, 'Beslutad', 'Chef', '2027-01-31', 'planned', '2026-11-01 10:00:00'), "
            "(2, 1, 'Utan datum', 'Chef', NULL, 'planned', '2026-11-01 10:00:00')")
        run("INSERT INTO measure_risks (measure_id, risk_id) VALUES (1, 13), (2, 12)")
        db.session.commit()
        upgrade()
        rows = {r.id: r for r in db.session.execute(text(
            "SELECT id, number, residual_likelihood, residual_severity FROM risks"))}
        assert {i: rows[i].number for i in rows} == {11: 1, 12: 2, 13: 3, 10: 4, 20: 1}
        assert (rows[11].residual_likelihood, rows[11].residual_severity) == (3, 3)  # no measure: set back
        assert (rows[12].residual_likelihood, rows[12].residual_severity) == (2, 2)  # measure without date
        assert (rows[13].residual_likelihood, rows[13].residual_severity) == (2, 2)  # decided measure: kept
        assert (rows[10].residual_likelihood, rows[10].residual_severity) == (3, 3)  # inactive, open: set back
        assert (rows[20].residual_likelihood, rows[20].residual_severity) == (1, 3)  # approved: as signed
        changes = db.session.execute(text("SELECT risk_id, field, old, new, justification, changed_by_id "
                                          "FROM risk_rating_changes ORDER BY risk_id, field")).all()
        assert [(c.risk_id, c.field, c.old, c.new) for c in changes] == [
            (10, "residual_likelihood", 1, 3), (11, "residual_likelihood", 1, 3),
            (12, "residual_likelihood", 1, 2), (12, "residual_severity", 1, 2)]
        assert all(c.changed_by_id is None and "ingen beslutad åtgärd" in c.justification for c in changes)
        db.session.remove()
        db.engine.dispose()


def test_existing_users_keep_their_passwords_and_start_without_unlocks(tmp_path, seal_dir):
    """The user-administration columns on an installation that has users: nobody is asked to change their
    password, nobody has been unlocked; and the migration can be undone."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    from assessments import create_app
    from tests.conftest import _config

    app = create_app(_config(f"sqlite:///{tmp_path / 'old.sqlite'}", tmp_path, seal_dir))
    with app.app_context():
        upgrade(revision="7c41d2e9a0b5")
        db.session.execute(text("INSERT INTO organisations (id, slug, name, is_public_body, created_at) "
                                "VALUES (1, 'k', 'Kommunen', 1, '2026-11-01 10:00:00')"))
        db.session.execute(text(
            "INSERT INTO users (id, email, name, password_hash, organisation_id, role, language, active, "
            "session_token, created_at) VALUES (1, 'k@k.example', 'K', 'hash', 1, 'admin', 'sv', 1, 't', "
            "'2026-11-01 10:00:00')"))
        db.session.commit()
        upgrade(revision="627b50e0277a")
        row = db.session.execute(text("SELECT password_hash, must_change_password, unlock_count FROM users")).one()
        assert (row.password_hash, bool(row.must_change_password), row.unlock_count) == ("hash", False, 0)
        db.session.commit()
        downgrade(revision="7c41d2e9a0b5")
        columns = {c["name"] for c in inspect(db.engine).get_columns("users")}
        assert "must_change_password" not in columns and "unlock_count" not in columns
        assert db.session.execute(text("SELECT email FROM users")).scalar_one() == "k@k.example"
        db.session.remove()
        db.engine.dispose()
