"""What leaves and enters the tool as files: the inquiry bundle, and the JSON export and import.

No Flask request code here: the views in ``views/exports.py`` parse the request and call these services.
Services flush and audit, never commit (the request boundary does).

Inquiry bundle (``inquiry_bundle``)
===================================

What an organisation hands to IMY: one ZIP (ZIP_DEFLATED), always with these entries in this order:

``signed.pdf``
    the archived bytes exactly, read back with the SHA-256 recorded in ``ArchivedDocument``;
``record.json``
    the record embedded in that PDF, extracted byte for byte (docs/record-format.md); its SHA-256 must equal
    ``ArchivedDocument.answers_sha256``. A document sealed before the record format embeds ``answers.json``
    instead, and its bundle carries that file under that name;
``audit-trail.json``
    ``{"format": "konsekvens.audit-trail/1", "organisation": {"id", "name"}, "assessment_id", "revision",
    "events": [{"seq", "time", "action", "actor", "actor_id", "details", "prev_hash", "hash"}]}`` — this
    assessment's audit events in ``seq`` order. ``time`` is the UTC ISO time with microseconds, exactly as
    hashed, so each ``hash`` can be recomputed with ``audit.event_hash`` from the event, the organisation
    id and the assessment id; ``actor`` is the actor's e-mail address (null for the system);
``audit-trail.csv``
    the same events (``details`` as compact JSON), semicolon-separated UTF-8 with BOM, as Swedish
    spreadsheets expect (like the action plan), formulas neutralised (``csvfile``);
``verification.txt``
    plain text in the assessment's language: who, what, both checksums, the signature, and how to check
    everything with ``pdfsig``, ``sha256sum``, ``pdfdetach`` and the hash chain.

The "bundle_downloaded" event is recorded *before* the trail is written, so the bundle documents its own
production. Only approved (or superseded) revisions have a bundle; anything inconsistent (missing or
damaged archive file, attachment not matching the record) raises ``BundleError`` instead of handing over
bytes that cannot be vouched for.

Export and import format ``konsekvens.assessment/1``
====================================================

::

    {
      "format": "konsekvens.assessment/1",
      "exported_at": "2026-05-04T09:30:00+00:00",          # informational; optional on import
      "assessment": {
        "title": "…", "language": "sv" | "en",
        "platforms": ["facebook", …],                      # keys of catalog.PLATFORMS
        "other_platform_name": "…" | null,                 # only (and then required) with "other"
        "catalogue": {"id": "social-media", "version": 2}
      },
      "answers": [
        {"question": "<question key>", "platform": "<platform>" | null, "value": …}
      ],
      "risks": [
        {"ref": "R1",                                      # unique in the file; measures refer to it
         "rule": "<risk rule key>" | null,                 # null: a free-form risk
         "platform": "<platform>" | null,                  # derived risks of per-platform rules only
         "title": "…" | null, "description": "…" | null, "affected": "…" | null, "source": "…" | null,
         "active": true | false,                           # informational; optional on import
         "ratings": {"inherent_likelihood": 1-4, "inherent_severity": 1-4,
                     "residual_likelihood": 1-4, "residual_severity": 1-4}}
      ],
      "measures": [
        {"title": "…", "description": "…" | null, "owner": "…", "due_date": "YYYY-MM-DD" | null,
         "status": "planned" | "in_progress" | "done" | "cancelled", "risks": ["R1", …]}
      ]
    }

Answers: every stored, non-empty answer, in catalogue order (global questions of a section first, then
each platform's repetition). ``platform`` is null exactly for questions not asked per platform; values
have the catalogue's types (text, an option value, a list of option values, an ISO date). On import a
null, empty text or empty list means "not answered" and stores nothing.

Risks: in register order; ``ref`` is the register number (R1, R2 …, as in the register and the PDF), which
an import keeps. Treatment decisions are not exported: a new draft is decided anew. A residual rating lower
than the inherent one is imported only where the file links a decided measure (not cancelled, with an owner
and a due date) to the risk; otherwise it is set to the inherent rating, as in the register.
A *free-form* risk (``rule`` null) carries its own title (required), description, affected and source.
A *derived* risk names the rule that proposed it; its texts are exported in the assessment's language for
the reader but ignored on import (the rule supplies them), and only the ratings are taken: the import
creates the derived risk with those ratings and then re-derives (``sync_risks``), so a derived risk is
active exactly when its rule holds for the imported answers, and rules that hold but are not in the file
are proposed with the rule's default ratings. ``active`` is likewise recomputed.

Measures: in action-plan order; ``risks`` lists the ``ref`` of the risks a measure addresses.

Import is all or nothing: the whole file is checked first (unknown fields are errors, so a misspelt field
name is never silently dropped) and any problem rejects it with the list of problems, each naming its
item as a JSON path (``answers[3].value``, 0-based as in jq). Only then is a new *draft* created in the
importing user's organisation, authored by them: ids, status, authors and signatures never come from a
file (the format has no place for them).
"""
from __future__ import annotations

import io
import json
import re
import textwrap
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from . import audit, csvfile, policy
from .answers import answer_key, catalog_of, is_answered, load_answers, slots
from .archive import ArchiveError
from .catalog import PLATFORMS, Catalog, CatalogError, Question, get_catalog
from .errors import Conflict, Forbidden
from .extensions import db
from .limits import LONG_ANSWER_MAX as LONG_TEXT_MAX
from .limits import SHORT_ANSWER_MAX as TEXT_MAX
from .models import (
    Answer,
    ArchivedDocument,
    Assessment,
    AuditEvent,
    Measure,
    MeasureStatus,
    Risk,
    Role,
    Signature,
    Status,
    User,
    utcnow,
)
from .plaintext import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE
from .report.identity import local_time, sha256_hex
from .report.record import embedded_record
from .report.verification import attached_files
from .risk.matrix import SCALE
from .risk.rules import RiskRule, load_risk_rules
from .risk.service import RATING_FIELDS, enforce_decided_measures, measures_of, risks_of, sync_risks
from .roles import ROLE_LABELS

FORMAT = "konsekvens.assessment/1"
AUDIT_FORMAT = "konsekvens.audit-trail/1"
# The second entry is the embedded record: record.json, or answers.json for documents sealed before it.
BUNDLE_FILES = ("signed.pdf", "record.json", "audit-trail.json", "audit-trail.csv", "verification.txt")
BUNDLE_STATUSES = frozenset({Status.APPROVED, Status.SUPERSEDED})
AUDIT_COLUMNS = ("seq", "time", "action", "actor", "actor_id", "details", "prev_hash", "hash")

# The limits of the forms that write the same columns (forms.py, views/risks.py, the models).
TITLE_MAX = 200
OTHER_PLATFORM_MAX = 100
RISK_TITLE_MAX = 300
RISK_DESCRIPTION_MAX = 20_000
RISK_AFFECTED_MAX = 2_000
RISK_SOURCE_MAX = 2_000
MEASURE_TITLE_MAX = 300
MEASURE_OWNER_MAX = 200
MEASURE_DESCRIPTION_MAX = 5_000
REF_MAX = 64
LANGUAGES = ("sv", "en")
MAX_PROBLEMS = 25  # listed on the page; the rest are counted


# --- the inquiry bundle -------------------------------------------------------------------------------

class BundleError(Exception):
    """The bundle cannot be made without handing over bytes the archive cannot vouch for."""


@dataclass(frozen=True)
class Bundle:
    filename: str
    data: bytes
    document_sha256: str
    answers_sha256: str


def signed_document(assessment: Assessment) -> tuple[Signature, ArchivedDocument] | None:
    """The signature of the assessment's current revision and the archived PDF it produced."""
    row = db.session.execute(
        select(Signature, ArchivedDocument).join(ArchivedDocument, Signature.document_id == ArchivedDocument.id)
        .where(Signature.assessment_id == assessment.id, Signature.revision == assessment.revision,
               ArchivedDocument.organisation_id == assessment.organisation_id)).first()
    return (row[0], row[1]) if row else None


def inquiry_bundle(assessment: Assessment, actor: User) -> Bundle:
    """The ZIP an organisation hands to IMY (see the module docstring). Records "bundle_downloaded"."""
    if not policy.can_view(actor, assessment):
        raise Forbidden(_l("You may not see this assessment."))
    signed = signed_document(assessment) if assessment.status in BUNDLE_STATUSES else None
    if signed is None:
        raise Conflict(_l("Only an approved and signed assessment has an inquiry bundle."))
    signature, document = signed
    from .signoff import archive

    try:
        pdf = archive().read(document.path, expected_sha256=document.sha256)
    except ArchiveError as exc:
        raise BundleError(f"archived document {document.sha256}: {exc}") from exc
    embedded = embedded_record(attached_files(pdf))
    if embedded is None:
        raise BundleError(f"archived document {document.sha256} has no record.json or answers.json attachment")
    record_name, answers_json = embedded
    answers_sha = sha256_hex(answers_json)
    if answers_sha != document.answers_sha256:
        raise BundleError(f"{record_name} in {document.sha256} does not match the recorded answers_sha256")

    made_at = utcnow()
    audit.record(assessment.organisation_id, "bundle_downloaded", actor=actor, assessment_id=assessment.id,
                 revision=assessment.revision, document_sha256=document.sha256, answers_sha256=answers_sha)
    events = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.organisation_id == assessment.organisation_id,
                                 AuditEvent.assessment_id == assessment.id)
        .options(selectinload(AuditEvent.actor)).order_by(AuditEvent.seq)))
    trail = [audit_row(event) for event in events]
    contents = {
        "signed.pdf": pdf,
        record_name: answers_json,
        "audit-trail.json": audit_trail_json(assessment, trail),
        "audit-trail.csv": audit_trail_csv(trail),
        "verification.txt": verification_text(assessment, signature, document, answers_sha, actor,
                                              made_at, record_name).encode("utf-8"),
    }
    return Bundle(filename=f"konsekvensbedomning-{assessment.id}-r{assessment.revision}-underlag.zip",
                  data=zip_files(contents, made_at), document_sha256=document.sha256,
                  answers_sha256=answers_sha)


def zip_files(contents: dict[str, bytes], moment: datetime) -> bytes:
    stamp = audit.as_utc(moment).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive_zip:
        for name in contents:  # in the order of BUNDLE_FILES
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive_zip.writestr(info, contents[name])
    return out.getvalue()


def audit_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "time": audit.as_utc(event.created_at).isoformat(timespec="microseconds"),
        "action": event.action,
        "actor": event.actor.email if event.actor else None,
        "actor_id": event.actor_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def audit_trail_json(assessment: Assessment, trail: list[dict[str, Any]]) -> bytes:
    document = {
        "format": AUDIT_FORMAT,
        "organisation": {"id": assessment.organisation_id, "name": assessment.organisation.name},
        "assessment_id": assessment.id,
        "revision": assessment.revision,
        "events": trail,
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def audit_trail_csv(trail: list[dict[str, Any]]) -> bytes:
    return csvfile.write_rows([AUDIT_COLUMNS] + [
        [row["seq"], row["time"], row["action"], row["actor"] or "",
         "" if row["actor_id"] is None else row["actor_id"],
         json.dumps(row["details"], ensure_ascii=False, sort_keys=True, separators=(",", ":")),
         row["prev_hash"], row["hash"]]
        for row in trail]).encode("utf-8")


def _paragraph(text: str, indent: str = "") -> str:
    return textwrap.fill(text, width=78, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _utc(moment: datetime) -> str:
    return audit.as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def verification_text(assessment: Assessment, signature: Signature, document: ArchivedDocument,
                      answers_sha: str, actor: User, made_at: datetime, record_name: str = "record.json") -> str:
    """verification.txt, in the assessment's language; ``record_name`` is the embedded record's file name."""
    try:
        role = ROLE_LABELS[Role(signature.signer_role)]
    except (ValueError, KeyError):
        role = signature.signer_role
    signed_at = audit.as_utc(signature.signed_at)
    with force_locale(assessment.language):
        heading = gettext("Inquiry bundle: data protection impact assessment")
        lines = [heading, "=" * len(heading), ""]
        facts = [
            (gettext("Organisation"), assessment.organisation.name),
            (gettext("Assessment"), assessment.title),
            (gettext("Assessment id"), str(assessment.id)),
            (gettext("Revision"), str(assessment.revision)),
            (gettext("Signed by"), f"{signature.signer_name} ({role}): {signature.meaning}"),
            (gettext("Signed at"), gettext("%(utc)s (UTC); %(local)s Swedish time", utc=_utc(signed_at),
                                           local=local_time(signed_at).strftime("%Y-%m-%d %H:%M %Z"))),
            (gettext("Sealed with"), signature.certificate_subject),
            (gettext("Bundle made"), gettext("%(time)s (UTC) by %(email)s", time=_utc(made_at),
                                             email=actor.email)),
        ]
        width = max(len(label) for label, _value in facts) + 2
        lines += [f"{label + ':':<{width}}{value}" for label, value in facts]
        if assessment.status is Status.SUPERSEDED:
            lines += ["", _paragraph(gettext(
                "A later revision of this assessment has since been approved. This bundle is for revision "
                "%(revision)s, as it was approved and signed.", revision=assessment.revision))]
        lines += ["", gettext("Files and their SHA-256 checksums"), "",
                  f"  {document.sha256}  signed.pdf", f"  {answers_sha}  {record_name}", ""]
        if record_name == "record.json":
            described = gettext(
                "signed.pdf is the approved report exactly as it was signed and stored in the organisation's "
                "write-once archive. record.json is the machine-readable record of the whole assessment "
                "(answers, risks, measures, conclusion and approval), embedded in signed.pdf; its format is "
                "described by a published JSON Schema. audit-trail.json and audit-trail.csv hold this "
                "assessment's events from the organisation's audit trail.")
        else:
            described = gettext(
                "signed.pdf is the approved report exactly as it was signed and stored in the organisation's "
                "write-once archive. answers.json is the machine-readable record of the answers, embedded in "
                "signed.pdf. audit-trail.json and audit-trail.csv hold this assessment's events from the "
                "organisation's audit trail.")
        lines += [_paragraph(described), ""]
        check = gettext("How to check")
        lines += [check, "-" * len(check), ""]
        steps = [
            (gettext("The signature. Run:"), "pdfsig signed.pdf", gettext(
                "The signature must be reported as valid and must cover the whole document. It is made with "
                "the organisation's electronic seal (%(subject)s). Adobe Acrobat Reader or pyHanko show the "
                "same.", subject=signature.certificate_subject)),
            (gettext("The checksums. Run:"), f"sha256sum signed.pdf {record_name}", gettext(
                "Both must equal the checksums above. The checksum of signed.pdf is the one recorded in the "
                "organisation's archive and in the audit event \u201csigned\u201d (document_sha256); the "
                "checksum of %(file)s is written into the signature's reason, printed in the report "
                "and recorded in the same event (answers_sha256).", file=record_name)),
            (gettext("The embedded record. Run:"),
             f"pdfdetach -savefile {record_name} -o embedded.json signed.pdf\n"
             f"cmp embedded.json {record_name}", gettext(
                 "The two files must be identical: %(file)s is the record that was signed.", file=record_name)),
            (gettext("The audit trail."), None, gettext(
                "Each event's hash is the SHA-256 of a JSON object with the keys prev (prev_hash), org "
                "(organisation id), seq, assessment (assessment id), actor (actor_id), action, details and "
                "at (time), with sorted keys, no spaces and UTF-8 text. Each event's prev_hash is the hash "
                "of the event before it in the organisation's chain. The bundle holds only this "
                "assessment's events, so gaps in seq are expected (they are events about other "
                "assessments or users); wherever two events have consecutive seq numbers, the later "
                "one's prev_hash equals the earlier one's hash.")),
        ]
        for number, (intro, commands, explanation) in enumerate(steps, start=1):
            lines.append(_paragraph(f"{number}. {intro}"))
            if commands:
                lines += ["", *(f"       {command}" for command in commands.splitlines()), ""]
            lines += [_paragraph(explanation, "   "), ""]
    return "\n".join(lines)


# --- export -------------------------------------------------------------------------------------------

def export_document(assessment: Assessment) -> dict[str, Any]:
    """The assessment as a ``konsekvens.assessment/1`` document (see the module docstring)."""
    from .risk.presenter import present

    catalog = catalog_of(assessment)
    lang = assessment.language
    stored = load_answers(assessment)
    answers = []
    for section in catalog.sections:
        for slot in slots(section, list(assessment.platforms)):
            value = stored.get(slot.key)
            if is_answered(value):
                answers.append({"question": slot.question.key, "platform": slot.platform or None,
                                "value": value})
    views = present(assessment, risks_of(assessment))
    ref_of = {view.risk.id: view.number for view in views}
    risks = []
    for view in views:
        risk, rule = view.risk, view.rule
        risks.append({
            "ref": view.number,
            "rule": risk.rule_key,
            "platform": risk.platform or None,
            "title": rule.title.get(lang) if rule else risk.title,
            "description": rule.description.get(lang) if rule else risk.description,
            "affected": rule.affected.get(lang) if rule else risk.affected,
            "source": rule.source.get(lang) if rule else risk.source,
            "active": risk.active,
            "ratings": {name: getattr(risk, name) for name in RATING_FIELDS},
        })
    measures = [{
        "title": measure.title,
        "description": measure.description,
        "owner": measure.owner,
        "due_date": measure.due_date.isoformat() if measure.due_date else None,
        "status": measure.status.value,
        "risks": [ref_of[r.id] for r in sorted(measure.risks, key=lambda r: r.id) if r.id in ref_of],
    } for measure in measures_of(assessment)]
    return {
        "format": FORMAT,
        "exported_at": audit.as_utc(utcnow()).isoformat(timespec="seconds"),
        "assessment": {
            "title": assessment.title,
            "language": assessment.language,
            "platforms": list(assessment.platforms),
            "other_platform_name": assessment.other_platform_name,
            "catalogue": {"id": catalog.id, "version": catalog.version},
        },
        "answers": answers,
        "risks": risks,
        "measures": measures,
    }


def export_json(assessment: Assessment, actor: User) -> bytes:
    """The export as UTF-8 JSON; records "exported" (data leaving the tool is traceable)."""
    if not policy.can_view(actor, assessment):
        raise Forbidden(_l("You may not see this assessment."))
    document = export_document(assessment)
    data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    audit.record(assessment.organisation_id, "exported", actor=actor, assessment_id=assessment.id,
                 format=FORMAT, sha256=sha256_hex(data))
    return data


# --- import: checking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One problem in an imported file: the JSON path of the item (None for the whole file) and what is
    wrong, as a lazy string rendered in the user's language."""

    item: str | None
    message: Any

    def __str__(self) -> str:
        return f"{self.item}: {self.message}" if self.item else str(self.message)


class ImportRejected(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems[:5]))
        self.problems = problems


@dataclass
class RiskSpec:
    ref: str
    rule: str | None
    platform: str
    title: str | None
    description: str | None
    affected: str | None
    source: str | None
    ratings: dict[str, int]


@dataclass
class MeasureSpec:
    title: str
    description: str | None
    owner: str
    due_date: date | None
    status: MeasureStatus
    risks: list[str]


@dataclass
class ImportPlan:
    """A checked file, ready to be written."""

    title: str
    language: str
    platforms: list[str]
    other_platform_name: str | None
    catalog: Catalog
    answers: list[tuple[str, str, Any]] = field(default_factory=list)  # (question, platform or '', value)
    risks: list[RiskSpec] = field(default_factory=list)
    measures: list[MeasureSpec] = field(default_factory=list)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _show(value: Any) -> str:
    """A value as it can be named in a message, shortened."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = CONTROL_CHARACTERS.sub("\ufffd", text)  # a message is shown on a page: nothing invisible in it
    return text if len(text) <= 60 else text[:57] + "..."


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _iso_date(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class _Checker:
    """Collects every problem of a parsed document; nothing here touches the database."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, item: str | None, message: Any) -> None:
        self.problems.append(Problem(item, message))

    def obj(self, value: Any, item: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict | None:
        """An object with exactly the known keys; None (and a problem) if it is not an object."""
        if not isinstance(value, dict):
            self.add(item or None, _l("Must be an object."))
            return None
        for key in value:
            if key not in required and key not in optional:
                self.add(_path(item, key), _l("Unknown field."))
        for key in required:
            if key not in value:
                self.add(_path(item, key), _l("This field is missing."))
        return value

    def text(self, value: Any, item: str, max_length: int, *, nullable: bool = False,
             required: bool = True) -> str | None:
        """A string (stripped) of at most ``max_length`` characters; None when null is allowed."""
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.add(item, _l("Must be text."))
            return None
        if CONTROL_CHARACTERS.search(value):  # as in the forms: PostgreSQL cannot store NUL in text
            self.add(item, CONTROL_CHARACTERS_MESSAGE)
            return None
        value = value.strip()
        if required and not value:
            self.add(item, _l("Must not be empty."))
            return None
        if len(value) > max_length:
            self.add(item, _l("Too long: at most %(max)s characters.", max=max_length))
            return None
        return value or None

    def rating(self, value: Any, item: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
            self.add(item, _l("A rating is a level from 1 to 4 (found %(value)s).", value=_show(value)))
            return None
        return value

    def platform_of(self, value: Any, item: str, per_platform: bool, platforms: list[str]) -> str | None:
        """The platform of a per-platform item ('' for a global one); None (and a problem) if wrong."""
        if not per_platform:
            if value is not None:
                self.add(item, _l("Must be null: this is not asked per platform."))
                return None
            return ""
        if not isinstance(value, str) or value not in platforms:
            self.add(item, _l("Give one of the assessment's platforms (%(platforms)s): this is asked once "
                              "for each platform.", platforms=", ".join(platforms)))
            return None
        return value


def _check_assessment(checker: _Checker, raw: Any) -> tuple[dict | None, Catalog | None, list[str]]:
    head = checker.obj(raw, "assessment", ("title", "language", "platforms", "catalogue"),
                       ("other_platform_name",))
    if head is None:
        return None, None, []
    title = checker.text(head.get("title"), "assessment.title", TITLE_MAX) if "title" in head else None
    language = head.get("language")
    if "language" in head and language not in LANGUAGES:
        checker.add("assessment.language", _l("Unknown language \u201c%(value)s\u201d: use \u201csv\u201d or "
                                              "\u201cen\u201d.", value=_show(language)))
    platforms: list[str] = []
    raw_platforms = head.get("platforms")
    if "platforms" in head:
        if not isinstance(raw_platforms, list):
            checker.add("assessment.platforms", _l("Must be a list."))
        elif not raw_platforms:
            checker.add("assessment.platforms", _l("Choose at least one platform."))
        else:
            for index, key in enumerate(raw_platforms):
                item = _path("assessment.platforms", index)
                if not isinstance(key, str) or key not in PLATFORMS:
                    checker.add(item, _l("Unknown platform \u201c%(value)s\u201d (known: %(known)s).",
                                         value=_show(key), known=", ".join(PLATFORMS)))
                elif key in platforms:
                    checker.add(item, _l("\u201c%(value)s\u201d is listed twice.", value=key))
                else:
                    platforms.append(key)
    other = checker.text(head.get("other_platform_name"), "assessment.other_platform_name",
                         OTHER_PLATFORM_MAX, nullable=True, required=False)
    if "other" in platforms and not other:
        checker.add("assessment.other_platform_name", _l("Name the other platform."))
    elif "other" not in platforms and other:
        checker.add("assessment.other_platform_name",
                    _l("Only used when the platforms include \u201cother\u201d."))
    catalog = None
    raw_catalogue = head.get("catalogue")
    if "catalogue" in head:
        catalogue = checker.obj(raw_catalogue, "assessment.catalogue", ("id", "version"))
        if catalogue is not None and {"id", "version"} <= set(catalogue):
            try:
                catalog = get_catalog(catalogue["id"], catalogue["version"])
            except CatalogError:
                checker.add("assessment.catalogue", _l("Catalogue \u201c%(id)s\u201d version %(version)s does "
                                                       "not exist.", id=_show(catalogue["id"]),
                                                       version=_show(catalogue["version"])))
    ordered = [key for key in PLATFORMS if key in platforms]  # the order forms and reports use
    return {"title": title, "language": language, "other": other}, catalog, ordered


def _check_value(checker: _Checker, question: Question, value: Any, item: str) -> bool:
    """Whether ``value`` is a valid (non-empty) answer to ``question``; adds the problems."""
    kind = question.type
    if kind in ("text", "long_text"):
        limit = TEXT_MAX if kind == "text" else LONG_TEXT_MAX
        if not isinstance(value, str):
            checker.add(item, _l("Must be text."))
            return False
        if len(value) > limit:
            checker.add(item, _l("Too long: at most %(max)s characters.", max=limit))
            return False
        if CONTROL_CHARACTERS.search(value):  # what the wizard refuses, an import must not bring in
            checker.add(item, CONTROL_CHARACTERS_MESSAGE)
            return False
        return True
    if kind == "date":
        if _iso_date(value) is None:
            checker.add(item, _l("Write the date as YYYY-MM-DD."))
            return False
        return True
    allowed = [option for option, _label in question.choices("sv")]

    def not_an_alternative(found: Any, where: str) -> None:
        checker.add(where, _l("\u201c%(value)s\u201d is not one of the alternatives of question "
                              "\u201c%(question)s\u201d (%(allowed)s).", value=_show(found),
                              question=question.key, allowed=", ".join(allowed)))

    if kind == "multiple_choice":
        if not isinstance(value, list):
            checker.add(item, _l("Must be a list of alternatives: question \u201c%(question)s\u201d is "
                                 "multiple choice.", question=question.key))
            return False
        ok = True
        seen: set[str] = set()
        for index, choice in enumerate(value):
            if not isinstance(choice, str) or choice not in allowed:
                not_an_alternative(choice, _path(item, index))
                ok = False
            elif choice in seen:
                checker.add(_path(item, index), _l("\u201c%(value)s\u201d is listed twice.", value=choice))
                ok = False
            else:
                seen.add(choice)
        return ok
    if not isinstance(value, str) or value not in allowed:
        not_an_alternative(value, item)
        return False
    return True


def _check_answers(checker: _Checker, raw: Any, catalog: Catalog | None, platforms: list[str]) -> list:
    if not isinstance(raw, list):
        checker.add("answers", _l("Must be a list."))
        return []
    answers = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(raw):
        item = _path("answers", index)
        answer = checker.obj(entry, item, ("question", "value"), ("platform",))
        if answer is None or "question" not in answer or catalog is None:
            continue
        key = answer["question"]
        try:
            question = catalog.question(key) if isinstance(key, str) else None
        except KeyError:
            question = None
        if question is None:
            checker.add(item, _l("Unknown question \u201c%(question)s\u201d.", question=_show(key)))
            continue
        platform = checker.platform_of(answer.get("platform"), _path(item, "platform"), question.per_platform,
                                       platforms)
        if platform is None:
            continue
        slot = answer_key(question, platform)
        if slot in seen:
            checker.add(item, _l("Question \u201c%(question)s\u201d is answered more than once for the same "
                                 "platform.", question=key))
            continue
        seen.add(slot)
        value = answer.get("value")
        if not is_answered(value):
            continue  # null, "" or []: not answered, nothing is stored
        if _check_value(checker, question, value, _path(item, "value")):
            answers.append((slot[0], slot[1], value))
    return answers


def _check_risks(checker: _Checker, raw: Any, catalog: Catalog | None,
                 platforms: list[str]) -> tuple[list[RiskSpec], set[str]]:
    """The valid risks, and every reference the file declares (so that a measure pointing to a risk with
    a problem of its own is not reported a second time)."""
    if not isinstance(raw, list):
        checker.add("risks", _l("Must be a list."))
        return [], set()
    rules: dict[str, RiskRule] = {}
    if catalog is not None:
        rules = {rule.key: rule for rule in load_risk_rules(catalog.id, catalog.version)}
    risks: list[RiskSpec] = []
    refs: set[str] = set()
    derived: set[tuple[str, str]] = set()
    for index, entry in enumerate(raw):
        item = _path("risks", index)
        before = len(checker.problems)
        risk = checker.obj(entry, item, ("ref", "ratings"),
                           ("rule", "platform", "title", "description", "affected", "source", "active"))
        if risk is None:
            continue
        ref = checker.text(risk.get("ref"), _path(item, "ref"), REF_MAX) if "ref" in risk else None
        if ref is not None:
            if ref in refs:
                checker.add(_path(item, "ref"), _l("The reference \u201c%(ref)s\u201d is used by more than "
                                                   "one risk.", ref=ref))
            refs.add(ref)
        if "active" in risk and not isinstance(risk["active"], bool):
            checker.add(_path(item, "active"), _l("Must be true or false."))
        rule_key = risk.get("rule")
        free_form = rule_key is None
        texts: dict[str, str | None] = {}
        for name, limit in (("title", RISK_TITLE_MAX), ("description", RISK_DESCRIPTION_MAX),
                            ("affected", RISK_AFFECTED_MAX), ("source", RISK_SOURCE_MAX)):
            if name == "title" and free_form and risk.get("title") is None:
                checker.add(_path(item, "title"), _l("A free-form risk needs a title."))
                continue
            # A derived risk's texts are the rule's (informational in the file), but still checked.
            texts[name] = checker.text(risk.get(name), _path(item, name), limit, nullable=True,
                                       required=name == "title" and free_form)
        platform: str | None = ""
        if free_form:
            if risk.get("platform") is not None:
                checker.add(_path(item, "platform"), _l("Must be null: this is not asked per platform."))
        elif not isinstance(rule_key, str) or rule_key not in rules:
            if catalog is not None:  # otherwise the catalogue's own problem says it all
                checker.add(_path(item, "rule"), _l("Unknown risk rule \u201c%(rule)s\u201d for this "
                                                    "catalogue version.", rule=_show(rule_key)))
        else:
            platform = checker.platform_of(risk.get("platform"), _path(item, "platform"),
                                           rules[rule_key].per_platform, platforms)
            if platform is not None:
                if (rule_key, platform) in derived:
                    checker.add(item, _l("The same risk rule and platform appear more than once."))
                derived.add((rule_key, platform))
        ratings: dict[str, int] = {}
        if "ratings" in risk:
            given = checker.obj(risk["ratings"], _path(item, "ratings"), RATING_FIELDS) or {}
            for name in RATING_FIELDS:
                if name in given:
                    value = checker.rating(given[name], _path(_path(item, "ratings"), name))
                    if value is not None:
                        ratings[name] = value
        if len(checker.problems) == before and catalog is not None:
            risks.append(RiskSpec(ref=cast(str, ref), rule=rule_key, platform=platform or "", ratings=ratings,
                                  title=texts.get("title"), description=texts.get("description"),
                                  affected=texts.get("affected"), source=texts.get("source")))
    return risks, refs


def _check_measures(checker: _Checker, raw: Any, refs: set[str]) -> list[MeasureSpec]:
    if not isinstance(raw, list):
        checker.add("measures", _l("Must be a list."))
        return []
    measures = []
    statuses = [status.value for status in MeasureStatus]
    for index, entry in enumerate(raw):
        item = _path("measures", index)
        measure = checker.obj(entry, item, ("title", "owner"), ("description", "due_date", "status", "risks"))
        if measure is None:
            continue
        before = len(checker.problems)
        title = checker.text(measure.get("title"), _path(item, "title"), MEASURE_TITLE_MAX)
        owner = checker.text(measure.get("owner"), _path(item, "owner"), MEASURE_OWNER_MAX)
        description = checker.text(measure.get("description"), _path(item, "description"),
                                   MEASURE_DESCRIPTION_MAX, nullable=True, required=False)
        due = None
        if measure.get("due_date") is not None:
            due = _iso_date(measure["due_date"])
            if due is None:
                checker.add(_path(item, "due_date"), _l("Write the due date as YYYY-MM-DD."))
        status = measure.get("status", "planned")
        if status not in statuses:
            checker.add(_path(item, "status"), _l("Unknown status \u201c%(value)s\u201d (use %(allowed)s).",
                                                  value=_show(status), allowed=", ".join(statuses)))
        targets: list[str] = []
        raw_risks = measure.get("risks", [])
        if not isinstance(raw_risks, list):
            checker.add(_path(item, "risks"), _l("Must be a list."))
        else:
            for position, ref in enumerate(raw_risks):
                where = _path(_path(item, "risks"), position)
                if not isinstance(ref, str) or ref.strip() not in refs:
                    checker.add(where, _l("No risk in the file has the reference \u201c%(ref)s\u201d.",
                                          ref=_show(ref)))
                elif ref.strip() in targets:
                    checker.add(where, _l("\u201c%(value)s\u201d is listed twice.", value=ref.strip()))
                else:
                    targets.append(ref.strip())
        if len(checker.problems) == before:
            measures.append(MeasureSpec(title=cast(str, title), description=description, owner=cast(str, owner),
                                        due_date=due,
                                        status=MeasureStatus(status), risks=targets))
    return measures


def parse_import(data: bytes) -> ImportPlan:
    """Check a whole file; ImportRejected lists every problem found (nothing is written here)."""
    checker = _Checker()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([Problem(None, _l("The file is not UTF-8 text, so it is not a JSON export."))]) \
            from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise ImportRejected([Problem(None, _l("The field \u201c%(key)s\u201d appears twice in the same "
                                               "object.", key=_show(exc.key)))]) from None
    except json.JSONDecodeError as exc:
        raise ImportRejected([Problem(None, _l("The file is not valid JSON: the error is at line %(line)s, "
                                               "column %(column)s.", line=exc.lineno, column=exc.colno))]) \
            from None
    except (ValueError, RecursionError):
        raise ImportRejected([Problem(None, _l("The file is not valid JSON."))]) from None
    try:
        # JSON can escape a lone surrogate ("\ud800"), which is not a character: it cannot be encoded as
        # UTF-8, so storing, auditing or showing it would end in a 500 (tests/test_input_properties.py).
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ImportRejected([Problem(None, _l("The file contains an escaped lone surrogate (\\ud800 to "
                                               "\\udfff), which is not a character, so it is not imported."))]) \
            from None
    if not isinstance(document, dict):
        raise ImportRejected([Problem(None, _l("The file must contain one JSON object."))])
    if document.get("format") != FORMAT:
        found = _show(document["format"]) if "format" in document else "–"
        raise ImportRejected([Problem("format", _l("Expected \u201c%(expected)s\u201d, found \u201c%(found)s\u201d: "
                                                   "this is not an assessment exported from Konsekvens in a "
                                                   "format this version reads.", expected=FORMAT,
                                                   found=found))])
    checker.obj(document, "", ("format", "assessment", "answers"), ("exported_at", "risks", "measures"))
    if "exported_at" in document and not isinstance(document["exported_at"], str):
        checker.add("exported_at", _l("Must be text."))
    head, catalog, platforms = (_check_assessment(checker, document["assessment"])
                                if "assessment" in document else (None, None, []))
    answers = _check_answers(checker, document.get("answers", []), catalog, platforms)
    risks, refs = _check_risks(checker, document.get("risks", []), catalog, platforms)
    measures = _check_measures(checker, document.get("measures", []), refs)
    if checker.problems or head is None or catalog is None:
        raise ImportRejected(checker.problems or [Problem("assessment", _l("Must be an object."))])
    return ImportPlan(title=head["title"], language=head["language"], platforms=platforms,
                      other_platform_name=head["other"], catalog=catalog, answers=answers, risks=risks,
                      measures=measures)


# --- import: writing ----------------------------------------------------------------------------------

def import_assessment(data: bytes, actor: User, *, filename: str | None = None) -> Assessment:
    """A new draft in the actor's organisation from an exported file; ImportRejected writes nothing."""
    if not policy.can_create(actor):
        raise Forbidden(_l("Your role does not allow creating assessments."))
    plan = parse_import(data)
    catalog = plan.catalog
    assessment = Assessment(
        organisation_id=actor.organisation_id, title=plan.title, language=plan.language,
        catalog_id=catalog.id, catalog_version=catalog.version, platforms=plan.platforms,
        other_platform_name=plan.other_platform_name, author_id=actor.id, status=Status.DRAFT)
    db.session.add(assessment)
    db.session.flush()
    for key, platform, value in plan.answers:
        db.session.add(Answer(assessment_id=assessment.id, question_key=key, platform=platform, value=value,
                              updated_by_id=actor.id))
    by_ref: dict[str, Risk] = {}
    numbers = _risk_numbers([spec.ref for spec in plan.risks])
    for spec, number in zip(plan.risks, numbers, strict=True):
        derived = spec.rule is not None
        risk = Risk(assessment_id=assessment.id, number=number, rule_key=spec.rule, platform=spec.platform,
                    title=None if derived else spec.title,
                    description=None if derived else spec.description,
                    affected=None if derived else spec.affected,
                    source=None if derived else spec.source,
                    active=True, triggered_by=[], created_by_id=actor.id, **spec.ratings)
        db.session.add(risk)
        by_ref[spec.ref] = risk
    db.session.flush()
    for measure_spec in plan.measures:
        db.session.add(Measure(assessment_id=assessment.id, title=measure_spec.title,
                               description=measure_spec.description, owner=measure_spec.owner,
                               due_date=measure_spec.due_date, status=measure_spec.status,
                               risks=[by_ref[ref] for ref in measure_spec.risks]))
    db.session.flush()
    audit.record(assessment.organisation_id, "imported", actor=actor, assessment_id=assessment.id,
                 title=assessment.title, platforms=assessment.platforms,
                 catalogue=f"{catalog.id}-{catalog.version}", format=FORMAT, sha256=sha256_hex(data),
                 filename=(filename or "")[:200] or None, answers=len(plan.answers), risks=len(plan.risks),
                 measures=len(plan.measures))
    # Free-form risks follow the file; derived ones follow the imported answers (Art. 35(7)(c)); a residual
    # rating below the inherent one stays only where the file links a decided measure to the risk.
    sync_risks(assessment, actor)
    enforce_decided_measures(assessment, actor)
    return assessment


def _risk_numbers(refs: list[str]) -> list[int]:
    """Keep the file's R-numbers ("R12" stays R12, so references in the text still hold); any other
    reference gets the next free number after them."""
    wanted = [int(ref[1:]) if re.fullmatch(r"R[1-9][0-9]{0,5}", ref) else None for ref in refs]
    taken = {n for n in wanted if n is not None}
    if len(taken) != sum(n is not None for n in wanted):
        wanted, taken = [None] * len(refs), set()
    following = max(taken, default=0)
    numbers = []
    for number in wanted:
        if number is None:
            following += 1
            number = following
        numbers.append(number)
    return numbers
