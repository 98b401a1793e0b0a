"""Backup and restore: a consistent, database-independent snapshot of the database and the archive.

``flask --app app backup DIR`` writes::

    DIR/manifest.json            format, time, Alembic revision, tables in insert order with row counts,
                                 and the sha256 of every other file in the backup
    DIR/tables/<table>.jsonl     one JSON object per row, ordered by primary key
    DIR/archive/<ab>/<sha>.pdf   every archived file a row of the snapshot refers to
    DIR/evidence/<ab>/<sha>.<x>  every evidence file a row of the snapshot refers to (evidence/service.py)

Consistency: every table is read inside ONE read-only snapshot transaction (PostgreSQL REPEATABLE READ,
which is snapshot isolation there; SQLite one explicit read transaction), so the rows agree with each
other, e.g. every audit chain is whole. The archive needs no snapshot: its files are write-once and durable
*before* the row that refers to them commits (``archive``, ``signoff``), so every file a snapshot row names
exists and never changes; each one is checked against its recorded sha256 while it is copied.

The backup is written to a temporary directory next to DIR and renamed into place last, so a half-written
backup never looks like one. Values carry their exact type (datetimes in UTC with their offset, dates,
enums as their stored value, bytes as base64), so a backup of SQLite restores into PostgreSQL and back.

``flask --app app restore DIR`` first checks the manifest (every file's hash, nothing missing or added),
then refuses unless the target database is migrated to the same Alembic revision and empty, and the
archive directory has no files. It inserts everything in one transaction in dependency order, copies the
archive files write-once (0444, fsynced) *before* committing, resets PostgreSQL's sequences, and on any
error leaves the database and the archive as they were.
"""
from __future__ import annotations

import base64
import decimal
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import (
    Date,
    DateTime,
    Enum,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
    func,
    inspect,
    select,
    text,
    type_coerce,
)
from sqlalchemy.engine import Connection

from .archive import Archive, ArchiveError, sha256_file
from .evidence.model import EvidenceFile
from .evidence.service import store as evidence_store
from .extensions import db
from .models import ArchivedDocument
from .signoff import archive

FORMAT = "konsekvens.backup/1"
MANIFEST = "manifest.json"
TABLES_DIR = "tables"
ARCHIVE_DIR = "archive"
EVIDENCE_DIR = "evidence"
_BATCH = 500


class BackupError(Exception):
    """A refused or failed backup or restore; the message says why and what to do."""


# -- values ----------------------------------------------------------------------------------------


def _encode(column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        # SQLite hands timestamps back naive; they are stored in UTC (extensions.Base).
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat(timespec="microseconds")
    if isinstance(kind, (Date, Time)):
        return value.isoformat()
    if isinstance(kind, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(kind, Numeric) and isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(kind, Interval):
        return value.total_seconds()
    return value  # int, str, bool, JSON documents (enums are read as their stored string)


def _decode(column, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        moment = datetime.fromisoformat(value)
        return moment if kind.timezone else moment.astimezone(UTC).replace(tzinfo=None)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, Time):
        return time.fromisoformat(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value, validate=True)
    if isinstance(kind, Numeric) and kind.asdecimal:
        return decimal.Decimal(value)
    if isinstance(kind, Interval):
        return timedelta(seconds=value)
    return value


def _readable(column):
    # Enums are read as the string the database stores, so restoring does not depend on the Python enum's
    # names, and JSON documents as Python values.
    if isinstance(column.type, Enum):
        return type_coerce(column, String()).label(column.name)
    return column


def _tables() -> list[Table]:
    """Every table of the models, parents before children (foreign keys)."""
    return list(db.metadata.sorted_tables)


def _order(table: Table):
    return list(table.primary_key.columns) or list(table.columns)


# -- snapshot --------------------------------------------------------------------------------------


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """One read-only transaction in which every SELECT sees the same committed state."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn
        return
    if engine.dialect.name == "sqlite":
        # pysqlite opens transactions only for writes; take the driver out of that mode and open one read
        # transaction explicitly (its snapshot starts at the first SELECT and holds until the end).
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
        return
    raise BackupError(f"backups of {engine.dialect.name} databases are not supported")


def _alembic_revision(conn: Connection) -> str | None:
    """The schema revision Flask-Migrate recorded, or None for a database that was never migrated."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# -- files -----------------------------------------------------------------------------------------


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


# -- backup ----------------------------------------------------------------------------------------


@dataclass
class Summary:
    directory: Path
    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)
    archive_files: int = 0
    evidence_files: int = 0


def _copy_checked(store: Archive, relative: str, sha: str, destination: Path) -> None:
    """One stored file into the backup, checked against its recorded hash while it is copied."""
    try:
        data = store.read(relative, sha)
    except ArchiveError as exc:
        raise BackupError(f"stored file {relative} cannot be backed up: {exc} Run "
                          f"`flask --app app archive verify` first.") from exc
    destination.parent.mkdir(parents=True, exist_ok=True)
    with open(destination, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def create_backup(target: Path) -> Summary:
    """Write a backup of the database and the archive to ``target`` (which must not exist or be empty)."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} already exists and is not an empty directory; choose a new directory "
                          f"(a backup never overwrites another)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        (work / TABLES_DIR).mkdir()
        store = archive()
        summary = Summary(target, None)
        files: dict[str, str] = {}
        with _snapshot() as conn:
            summary.revision = _alembic_revision(conn)
            if summary.revision is None:
                raise BackupError("the database has no schema revision: run `flask --app app db upgrade` first")
            for table in _tables():
                name = f"{TABLES_DIR}/{table.name}.jsonl"
                count = 0
                with open(work / name, "w", encoding="utf-8", newline="\n") as out:
                    result = conn.execute(select(*[_readable(c) for c in table.columns]).order_by(*_order(table)))
                    for row in result.mappings():
                        record = {c.name: _encode(c, row[c.name]) for c in table.columns}
                        out.write(json.dumps(record, ensure_ascii=False,
                                             separators=(",", ":")) + "\n")
                        count += 1
                    out.flush()
                    os.fsync(out.fileno())
                summary.rows[table.name] = count
            documents = conn.execute(select(ArchivedDocument.path, ArchivedDocument.sha256)
                                     .order_by(ArchivedDocument.id)).all()
            evidence = conn.execute(select(EvidenceFile.path, EvidenceFile.sha256).distinct()
                                    .order_by(EvidenceFile.path)).all()
        for relative, sha in documents:
            _copy_checked(store, relative, sha, work / ARCHIVE_DIR / relative)
            summary.archive_files += 1
        for relative, sha in evidence:
            _copy_checked(evidence_store(), relative, sha, work / EVIDENCE_DIR / relative)
            summary.evidence_files += 1
        for relative in _all_files(work):
            files[relative] = sha256_file(work / relative)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": db.engine.dialect.name,
            "alembic_revision": summary.revision,
            "tables": [{"name": t, "rows": n, "file": f"{TABLES_DIR}/{t}.jsonl"} for t, n in summary.rows.items()],
            "archive_files": summary.archive_files,
            "evidence_files": summary.evidence_files,
            "files": files,
        }
        with open(work / MANIFEST, "w", encoding="utf-8") as out:
            json.dump(manifest, out, ensure_ascii=False, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        for directory in sorted({(work / r).parent for r in files} | {work}, key=lambda p: -len(p.parts)):
            _fsync(directory)
        # Last: the complete backup appears under its name at once (rename replaces an empty directory).
        os.rename(work, target)
        _fsync(target.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return summary


# -- restore ---------------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    """The manifest, after checking every file of the backup against it: nothing missing, added or changed."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source} is not a backup: it has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST} is not a {FORMAT} manifest")
    listed = manifest.get("files")
    if not isinstance(listed, dict):
        raise BackupError(f"{source / MANIFEST} lists no files")
    present = set(_all_files(source)) - {MANIFEST}
    problems = []
    for relative in sorted(set(listed) - present):
        problems.append(f"{relative} is missing")
    for relative in sorted(present - set(listed)):
        problems.append(f"{relative} is not part of the backup")
    for relative in sorted(set(listed) & present):
        path = source / relative
        if path.is_symlink() or sha256_file(path) != listed[relative]:
            problems.append(f"{relative} does not match its sha256 in the manifest")
    if problems:
        raise BackupError("the backup is damaged, nothing was restored: " + "; ".join(problems))
    return manifest


def _rows(source: Path, table: Table, entry: dict) -> list[dict]:
    columns = {c.name: c for c in table.columns}
    rows = []
    with open(source / entry["file"], encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            record = json.loads(line)
            if set(record) != set(columns):
                raise BackupError(f"{entry['file']} line {number}: the columns do not match the table "
                                  f"{table.name} of this version")
            rows.append({name: _decode(columns[name], value) for name, value in record.items()})
    if len(rows) != entry["rows"]:
        raise BackupError(f"{entry['file']} has {len(rows)} rows, the manifest says {entry['rows']}")
    return rows


def _insert(conn: Connection, table: Table, rows: list[dict]) -> None:
    # A row may refer to a later row of its own table (a comment's parent, an earlier revision): insert
    # those references as NULL first, then set them once every row of the table exists.
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table and fk.parent.nullable]
    first = [{**row, **{name: None for name in own}} for row in rows] if own else rows
    for start in range(0, len(first), _BATCH):
        conn.execute(table.insert(), first[start:start + _BATCH])
    if own:
        keys = [c.name for c in table.primary_key.columns]
        for row in rows:
            values = {name: row[name] for name in own if row[name] is not None}
            if values:
                where = [table.c[k] == row[k] for k in keys]
                conn.execute(table.update().where(*where).values(**values))


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: the next id after the restored rows (explicit ids do not advance a sequence)."""
    if conn.dialect.name != "postgresql":
        return
    for table in _tables():
        for column in table.primary_key.columns:
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column.name}).scalar()
            if sequence:
                top = conn.execute(select(func.max(column))).scalar()
                conn.execute(text("SELECT setval(:s, :v, :called)"),
                             {"s": sequence, "v": top or 1, "called": top is not None})


def restore_backup(source: Path) -> Summary:
    """Restore ``source`` into the configured (migrated, empty) database and (empty) archive directory."""
    source = Path(source)
    manifest = read_manifest(source)
    tables = {t.name: t for t in _tables()}
    entries = {entry.get("name"): entry for entry in manifest.get("tables", [])}
    if set(entries) != set(tables):
        raise BackupError("the backup's tables are not this version's: "
                          f"{sorted(set(entries) ^ set(tables))}")
    store: Archive = archive()
    written: list[Path] = []
    engine = db.engine
    with engine.connect() as conn:
        revision = _alembic_revision(conn)
        conn.rollback()
        if revision is None:
            raise BackupError("the target database has no schema: run `flask --app app db upgrade` first")
        if revision != manifest["alembic_revision"]:
            raise BackupError(f"the target database is at schema revision {revision}, the backup at "
                              f"{manifest['alembic_revision']}: migrate one of them to the other first")
        busy = [name for name, table in tables.items()
                if conn.execute(select(func.count()).select_from(table)).scalar()]
        conn.rollback()
        if busy:
            raise BackupError("the target database is not empty (rows in " + ", ".join(sorted(busy))
                              + "); restore only into a new, migrated database")
        if store.root.exists() and _all_files(store.root):
            raise BackupError(f"the archive directory {store.root} is not empty; restore only into an empty "
                              f"archive directory")
        summary = Summary(source, revision)
        try:
            with conn.begin():
                for table in _tables():
                    rows = _rows(source, table, entries[table.name])
                    _insert(conn, table, rows)
                    summary.rows[table.name] = len(rows)
                _reset_sequences(conn)
                # The archive's rule holds on restore too: every file is durable before its row commits.
                for relative, sha in conn.execute(select(ArchivedDocument.path, ArchivedDocument.sha256)):
                    data = (source / ARCHIVE_DIR / relative).read_bytes()
                    suffix = "." + relative.rsplit(".", 1)[-1] if "." in relative.rsplit("/", 1)[-1] else ".pdf"
                    stored = store.store(data, suffix=suffix)
                    written.append(store.path_for(stored.relative_path))
                    if (stored.relative_path, stored.sha256) != (relative, sha):
                        raise BackupError(f"archive file {relative} does not match its record")
                    summary.archive_files += 1
                for relative, sha in conn.execute(select(EvidenceFile.path, EvidenceFile.sha256).distinct()):
                    data = (source / EVIDENCE_DIR / relative).read_bytes()
                    stored = evidence_store().store(data, suffix="." + relative.rsplit(".", 1)[-1])
                    written.append(evidence_store().path_for(stored.relative_path))
                    if (stored.relative_path, stored.sha256) != (relative, sha):
                        raise BackupError(f"evidence file {relative} does not match its record")
                    summary.evidence_files += 1
        except BaseException as exc:
            for path in written:  # the archive was empty: take back exactly what this restore wrote
                try:
                    os.chmod(path, 0o600)
                    path.unlink()
                except OSError:
                    pass
            if isinstance(exc, (ArchiveError, OSError, ValueError, KeyError)) and not isinstance(exc, BackupError):
                raise BackupError(f"the restore failed and was undone: {exc}") from exc
            raise
    return summary


# -- commands --------------------------------------------------------------------------------------


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Write a consistent backup of the database and the archive to DIRECTORY (new or empty).

    All tables are read in one snapshot; the archived files they refer to are copied and checked; a
    manifest records the schema revision, row counts and every file's sha256. Exits 1 if refused.
    """
    try:
        summary = create_backup(directory)
    except BackupError as exc:
        click.echo(f"Backup refused: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Backup written to {summary.directory}: schema {summary.revision}, "
               f"{sum(summary.rows.values())} rows in {len(summary.rows)} tables, "
               f"{summary.archive_files} archived file(s), {summary.evidence_files} evidence file(s)")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(directory: Path) -> None:
    """Restore a backup from DIRECTORY into an empty, migrated database and an empty archive directory.

    Checks every file of the backup against its manifest first; refuses (exit 1, nothing written) when the
    backup is damaged, the database is not empty or at another schema revision, or the archive has files.
    Stop the application while restoring.
    """
    try:
        summary = restore_backup(directory)
    except BackupError as exc:
        click.echo(f"Restore refused: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Restored {sum(summary.rows.values())} rows in {len(summary.rows)} tables, "
               f"{summary.archive_files} archived file(s) and {summary.evidence_files} evidence file(s) from "
               f"{directory} (schema {summary.revision})")
