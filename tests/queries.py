"""Counting the SQL statements a page costs (the dashboard and page query-count tests)."""
from __future__ import annotations

from sqlalchemy import event

from assessments.extensions import db


def count_queries(app, client, path: str) -> tuple[int, str]:
    """GET ``path`` (it must answer 200): the number of statements sent to the database, and the page."""
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements), response.get_data(as_text=True)
