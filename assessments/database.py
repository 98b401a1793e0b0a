"""Database connection settings. PostgreSQL needs none; SQLite (the default, one machine) gets two.

Write-ahead logging (``journal_mode=WAL``): readers no longer wait for a writer, so with several gunicorn
workers a page view does not queue behind a save, and a commit needs one fsync of the log instead of the
rollback journal's several (write the journal, sync, write the database, sync, delete the journal).
``synchronous=FULL`` keeps every committed answer and audit event durable across a power loss (NORMAL
would be faster but may lose the last commits, and the audit trail is a legal record). The journal mode is
stored in the database file; a copy of a live database must therefore go through SQLite's backup
(``sqlite3 konsekvens.sqlite ".backup copy.sqlite"``), never a plain file copy without its ``-wal`` file.
"""
from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _sqlite_pragmas(dbapi_connection, _connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


def configure_sqlite() -> None:
    """Once per process, for every engine (the app's, the tests' and the migrations')."""
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
