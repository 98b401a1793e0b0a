"""``flask --app app …`` commands: init, demo, verify, user."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import audit, integrity, mail, notifications
from .demo import create_demo_organisations, demo_names, scenes
from .errors import DomainError
from .extensions import db
from .models import ArchivedDocument, Organisation, Role, User
from .passwords import policy_problem
from .reassessment import commands as reassessment_commands
from .report.embedded import check_evidence
from .report.identity import sha256_hex
from .report.record import check_embedded, embedded_record
from .report.verification import attached_files, embedded_files, verify_pdf
from .signoff import trusted_seal_certificates


def register(app: Flask) -> None:
    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(verify_command)
    app.cli.add_command(user_group)
    app.cli.add_command(mail_group)

    integrity.register(app)
    reassessment_commands.register(app)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Apply migrations and create the demo organisations, users and seals (safe to run twice)."""
    upgrade()
    try:
        with force_locale("en"):
            logins = create_demo_organisations(Path(current_app.config["SEAL_DIR"]),
                                               current_app.config.get("DEMO_PASSWORD"))
    except ValueError as exc:  # a KONSEKVENS_DEMO_PASSWORD the password policy refuses
        db.session.rollback()
        click.echo(str(exc), err=True)
        sys.exit(1)
    db.session.commit()
    new = [login for login in logins if login.password]
    if not new:
        click.echo("Demo data already present; passwords were printed when it was created "
                   "(or set KONSEKVENS_DEMO_PASSWORD before the first start).")
        return
    click.echo("Demo logins (shown once):")
    for login in new:
        click.echo(f"  {login.email:<36} {login.role.value:<13} {login.password}")


@click.command("demo")
@with_appcontext
@click.option("--name", "names", multiple=True,
              help="Demo assessment file (e.g. exempelkommun-3): only its approved and signed assessment; "
                   "default: every demo of the latest catalogue in every state.")
def demo_command(names: tuple[str, ...]) -> None:
    """Give every role something to see: per demo organisation an approved and signed assessment, one in
    review, one sent back and a draft (assessments/demo/scenes.py). Safe to run twice: what exists is kept.
    Prints who should look at what, and the signed PDFs' paths."""
    if db.session.scalar(select(func.count()).select_from(Organisation)) == 0:
        click.echo("No organisations yet: run `flask --app app init` first.", err=True)
        sys.exit(1)
    made: list[scenes.Scene] = []
    try:
        with force_locale("en"):
            if names:
                made = [scenes.ensure_scene(name, scenes.APPROVED) for name in names]
            else:
                made = scenes.ensure_all(demo_names())
    except DomainError as exc:
        click.echo(f"Could not create the demo: {exc.message}", err=True)
        sys.exit(1)
    for scene in made:
        state = "created" if scene.created else "already there"
        click.echo(f"{scene.demo} {scene.kind}: assessment {scene.assessment.id} {state}")
        if scene.document_path:
            click.echo(scene.document_path)
    if not names:
        click.echo("Who should look at what (log in with the demo logins):")
        for line in scenes.guide(made):
            click.echo(f"  {line}")


@click.command("verify")
@with_appcontext
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(pdf: Path) -> None:
    """Check a PDF's signature, its embedded record and evidence files, and whether it matches an archived
    record. Exits 1 when anything does not hold."""
    data = pdf.read_bytes()
    report = verify_pdf(data, trusted_seal_certificates())
    files = embedded_files(data)
    embedded = embedded_record(attached_files(data))
    digest = sha256_hex(data)
    record = db.session.scalars(select(ArchivedDocument).where(ArchivedDocument.sha256 == digest)).first()
    click.echo(f"File:       {pdf}")
    click.echo(f"SHA-256:    {digest}")
    click.echo(f"Signature:  {'valid' if report.valid else 'NOT valid'}"
               f" ({report.subfilter or 'no signature'})")
    if report.signer_subject:
        click.echo(f"Sealed by:  {report.signer_subject}")
    if report.signing_time:
        click.echo(f"Signed at:  {report.signing_time.isoformat()}")
    if report.reason:
        click.echo(f"Reason:     {report.reason}")
    if report.certification_level is not None:
        click.echo(f"Certified:  DocMDP level {report.certification_level}"
                   f"{' (no changes permitted)' if report.certification_level == 1 else ''}")
    record_problem = None
    if embedded is None:
        click.echo("Record:     none embedded")
    else:
        name, content = embedded
        record_problem = check_embedded(name, content)
        shape = "follows docs/record.schema.json" if name == "record.json" else "sealed before record.json"
        click.echo(f"Record:     {name}, SHA-256 {sha256_hex(content)}, "
                   f"{'NOT valid: ' + record_problem if record_problem else shape}")
    evidence = check_evidence(files)
    if embedded is not None:
        click.echo(f"Evidence:   {evidence.listed} file(s) listed in the record"
                   f"{', each embedded as listed' if evidence.ok else ''}")
    for problem in evidence.problems:
        click.echo(f"Problem:    {problem}")
    for problem in report.problems:
        click.echo(f"Problem:    {problem}")
    if record is not None:
        click.echo(f"Archive:    matches archived document {record.id} of assessment {record.assessment_id} "
                   f"({record.path})")
    else:
        click.echo("Archive:    matches NO archived document")
    sys.exit(0 if report.valid and record is not None and embedded is not None and record_problem is None
             and evidence.ok else 1)


# --- User administration --------------------------------------------------------------------------------

user_group = AppGroup("user", help="Create users, set a password, deactivate (the password policy applies).")


def find_user(email: str) -> User:
    user = db.session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user with the email address {email}.")
    return user


def prompt_new_password(user: User) -> str:
    """Asked twice, never taken from the command line (it would stay in the shell's history)."""
    password = click.prompt("New password", hide_input=True, confirmation_prompt="Repeat the new password")

    with force_locale("en"):
        problem = policy_problem(password, email=user.email, name=user.name,
                                 extra=[user.organisation.name] if user.organisation else [])
        if problem is not None:
            raise click.ClickException(str(problem))
    return password


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--organisation", "slug", required=True, help="The organisation's slug, e.g. exempelkommun.")
@click.option("--language", default="sv", type=click.Choice(["sv", "en"]), show_default=True)
def create_user_command(email: str, name: str, role: str, slug: str, language: str) -> None:
    """Create a user in an organisation; the password is asked for twice."""
    email = email.strip()
    org = db.session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        raise click.ClickException(f"No organisation with the slug {slug}.")
    if "@" not in email or db.session.scalars(
            select(User).where(func.lower(User.email) == email.lower())).first() is not None:
        raise click.ClickException(f"{email} is not a valid address or is already used.")
    user = User(email=email, name=name.strip(), organisation=org, role=Role(role), language=language)
    user.set_password(prompt_new_password(user))
    db.session.add(user)
    db.session.flush()
    audit.record(org.id, "user_created", email=email, role=role)
    db.session.commit()
    click.echo(f"Created {email} ({role}) in {org.name}.")


@user_group.command("set-password")
@click.argument("email")
def set_password_command(email: str) -> None:
    """Set a user's password (asked twice) and end all of their sessions."""
    user = find_user(email)
    user.set_password(prompt_new_password(user))
    audit.record(user.organisation_id, "password_set", email=user.email)
    db.session.commit()
    click.echo(f"Password set for {user.email}; their sessions have ended.")


@user_group.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Stop a user from logging in and end all of their sessions (nothing they wrote is removed)."""
    user = find_user(email)
    user.deactivate()
    audit.record(user.organisation_id, "user_deactivated", email=user.email)
    db.session.commit()
    click.echo(f"{user.email} is deactivated; their sessions have ended.")


mail_group = AppGroup("mail", help="E-mail notifications (docs/notifications.md).")


def _report(result: mail.SendResult) -> None:
    click.echo(f"{result.sent} sent, {result.failed} not sent ({result.given_up} given up)")


@mail_group.command("send-pending")
def send_pending_command() -> None:
    """Send the queued messages that are due (new ones, and failed ones whose next attempt has come)."""
    if not mail.configured():
        click.echo("No SMTP server configured (KONSEKVENS_SMTP_URL): nothing is queued or sent.")
        return
    _report(mail.send_pending())


@mail_group.command("send-due-reminders")
def send_due_reminders_command() -> None:
    """Queue the review-date reminders that are due (once each, however often this runs), then send
    everything pending. For cron, e.g. hourly."""
    if not mail.configured():
        click.echo("No SMTP server configured (KONSEKVENS_SMTP_URL): nothing is queued or sent.")
        return
    if not current_app.config.get("BASE_URL"):
        click.echo("Set KONSEKVENS_BASE_URL (the address users reach the application at): the reminders link "
                   "to it.", err=True)
        sys.exit(1)
    for attempt in (1, 2):
        try:
            queued = notifications.queue_review_reminders()
            db.session.commit()
            break
        except IntegrityError:  # another run queued the same reminders at the same moment: look again
            db.session.rollback()
            if attempt == 2:
                raise
    click.echo(f"{queued} reminder(s) queued")
    _report(mail.send_pending())
