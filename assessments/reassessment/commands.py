"""The operator commands of re-assessment (docs/reassessment.md): ``flask facts dpf-invalid --date`` and
``flask catalogue flag-changes``. Each commits once, then sends what it queued (with e-mail configured)."""
from __future__ import annotations

import sys
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import force_locale

from .. import mail
from ..errors import DomainError
from ..extensions import db
from .triggers import Applied, apply_dpf_invalid, flag_catalogue_changes

facts_group = AppGroup("facts", help="Facts that apply to every organisation of the installation.")
catalogue_group = AppGroup("catalogue", help="The question catalogue's versions.")


def register(app: Flask) -> None:
    app.cli.add_command(facts_group)
    app.cli.add_command(catalogue_group)


def _finish(results: list[Applied]) -> None:
    db.session.commit()
    for applied in results:
        click.echo(f"{applied.organisation.slug}: {len(applied.flagged)} assessment(s) flagged"
                   + (f" ({', '.join(str(i) for i in applied.flagged)})" if applied.flagged else ""))
    if mail.configured():
        result = mail.send_pending()
        click.echo(f"e-mail: {result.sent} sent, {result.failed} not sent")


@facts_group.command("dpf-invalid")
@click.option("--date", "effective_on", required=True, metavar="YYYY-MM-DD",
              type=click.DateTime(formats=["%Y-%m-%d"]), help="The day from which the framework no longer applies.")
def dpf_invalid_command(effective_on) -> None:
    """The EU–US Data Privacy Framework no longer applies from DATE: in every organisation, flag each approved
    assessment whose transfer relies on it; from DATE its transfer outcome is "may not take place" until a new
    revision is approved. Audited per organisation; running it again with the same date changes nothing."""
    day: date = effective_on.date()
    try:
        with force_locale("en"):
            results = apply_dpf_invalid(day)
    except DomainError as exc:
        db.session.rollback()
        with force_locale("en"):
            click.echo(str(exc.message), err=True)
        sys.exit(1)
    click.echo(f"The EU–US Data Privacy Framework no longer applies from {day.isoformat()}.")
    _finish(results)


@catalogue_group.command("flag-changes")
def flag_changes_command() -> None:
    """After a new catalogue version is installed: flag each approved assessment on an older version whose
    answered questions the new version asks differently or no longer asks. Safe to run again."""
    with force_locale("en"):
        results = flag_catalogue_changes()
    _finish(results)
