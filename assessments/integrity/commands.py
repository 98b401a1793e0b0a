"""The commands ``flask audit verify`` and ``flask archive verify``."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..audit import verify_chain
from ..backup import backup_command, restore_command
from ..extensions import db
from ..models import AuditEvent, Organisation
from .archive_check import check_archive
from .findings import ChainReport


def check_audit_trails(organisation_slug: str | None = None) -> list[ChainReport]:
    query = select(Organisation).order_by(Organisation.id)
    if organisation_slug is not None:
        query = query.where(Organisation.slug == organisation_slug)
    reports = []
    for organisation in db.session.scalars(query).all():
        count = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.organisation_id == organisation.id))
        reports.append(ChainReport(organisation, count or 0, verify_chain(organisation.id)))
    return reports


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@click.option("--organisation", "slug", metavar="SLUG", help="Check only this organisation (its slug).")
@with_appcontext
def audit_verify_command(slug: str | None) -> None:
    """Re-compute every organisation's audit hash chain; name each edited, deleted or reordered event.

    Exits 1 when any problem is found. Changes nothing.
    """
    reports = check_audit_trails(slug)
    if slug is not None and not reports:
        raise click.BadParameter(f"no organisation with the slug {slug!r}", param_hint="--organisation")
    problems = 0
    for report in reports:
        name = report.organisation.name
        if not report.problems:
            click.echo(f"OK: {name}: {report.events} events")
            continue
        for problem in report.problems:
            problems += 1
            event = f"event id {problem.event_id}" if problem.event_id is not None else "no event"
            click.echo(f"PROBLEM: {name} ({report.organisation.slug}): seq {problem.seq}, {event}: "
                       f"{problem.problem}")
    if problems:
        broken = sum(1 for report in reports if report.problems)
        click.echo(f"FAILED: {problems} problem(s) in {broken} organisation(s)")
        sys.exit(1)


@click.group("archive")
def archive_group() -> None:
    """The write-once archive of sealed reports."""


@archive_group.command("verify")
@click.option("--repair", is_flag=True,
              help="Also repair each orphaned file: complete the approval it proves (a validly sealed report "
                   "of an assessment revision still in review, unchanged since, whose approval was "
                   "interrupted before it was recorded), or else move it to the archive's quarantine/ "
                   "folder with a note (never deleted); move each incomplete write there too. Missing or "
                   "changed files are only reported.")
@with_appcontext
def archive_verify_command(repair: bool) -> None:
    """Check every archived document: the file exists, its sha256 matches the record, its seal is valid
    and its attached record.json (answers.json in older documents) matches the record and its schema; list
    files no record refers to (ORPHANED) and temporary files of writes that never finished (INCOMPLETE).
    Files written in the last ARCHIVE_IN_FLIGHT_SECONDS (5 minutes) are in flight (an approval under way),
    not a problem.

    Exits 1 when anything is (still) wrong. Without --repair it changes nothing.
    """
    report = check_archive(repair=repair)
    for finding in report.findings:
        click.echo(f"{finding.kind}: {finding.path}: {finding.detail}")
    if report.ok:
        repaired = " after repair" if len(report.findings) > len(report.in_flight) else ""
        in_flight = f"; {len(report.in_flight)} file(s) in flight" if report.in_flight else ""
        click.echo(f"OK{repaired}: {report.documents} archived document(s) verified, no orphaned files"
                   f"{in_flight}")
        return
    click.echo(f"FAILED: {len(report.problems)} problem(s) in {report.documents} archived document(s) and "
               f"{report.files} file(s)")
    sys.exit(1)


def register(app: Flask) -> None:
    """Add the integrity commands to ``flask``, and backup/restore (which rely on the same guarantees)."""
    app.cli.add_command(audit_group)
    app.cli.add_command(archive_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
