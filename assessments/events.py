"""The audit trail as people read it: each event kind and each detail named in the reader's language, values
shown as words ("–" for nothing, yes/no, a status's label), in the trail page and in the report alike.

The trail itself keeps the stable English keys (they are hashed, docs/record-format.md); only what is shown
is translated, here and nowhere else.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l

from .models import MeasureStatus, Treatment, Verdict
from .roles import ROLE_LABELS, STATUS_LABELS

NOTHING = "–"

EVENT_LABELS = {
    "created": _l("Assessment created"), "imported": _l("Imported from a file"),
    "revision_created": _l("New revision started"), "answer_changed": _l("Answer changed"),
    "submit_for_review": _l("Submitted for review"), "request_changes": _l("Sent back for changes"),
    "approve": _l("Approved"), "signed": _l("Signed and archived"), "superseded": _l("Superseded"),
    "risk_derived": _l("Risk proposed from the answers"), "risk_added": _l("Risk added"),
    "risk_no_longer_applies": _l("Risk no longer applies"), "risk_reactivated": _l("Risk applies again"),
    "risk_rating_changed": _l("Risk rating changed"), "risk_treatment_decided": _l("Treatment decided"),
    "risk_treatment_withdrawn": _l("Treatment withdrawn"), "measure_saved": _l("Measure saved"),
    "residual_risk_accepted": _l("Residual risk accepted"), "comment_added": _l("Review comment"),
    "comment_resolved": _l("Review comment resolved"), "comment_reopened": _l("Review comment reopened"),
    "verdict_given": _l("Section verdict given"),
    "dpo_advice_recorded": _l("DPO's advice recorded"),
    "dpo_advice_response_recorded": _l("Response to the DPO's advice recorded"),
    "data_subject_views_recorded": _l("Data subjects' views recorded"),
    "prior_consultation_recorded": _l("Prior consultation recorded"), "exported": _l("Exported"),
    "document_downloaded": _l("Signed document downloaded"), "bundle_downloaded": _l("Inquiry bundle downloaded"),
    "document_verified": _l("Document verified"), "archive_file_quarantined": _l("Archive file quarantined"),
    "evidence_attached": _l("Evidence file attached"), "evidence_removed": _l("Evidence file removed"),
    "evidence_downloaded": _l("Evidence file downloaded"),
    "notification_queued": _l("E-mail notification queued"), "notification_sent": _l("E-mail notification sent"),
    "notification_given_up": _l("E-mail notification given up"),
    "email_notifications_changed": _l("E-mail notifications turned on or off"),
    "organisation_created": _l("Organisation created"), "platform_facts_updated": _l("Platform facts updated"),
    "user_created": _l("User created"), "role_changed": _l("Role changed"),
    "user_deactivated": _l("User deactivated"), "user_reactivated": _l("User reactivated"),
    "password_changed": _l("Password changed"), "password_set": _l("Password set by an administrator"),
    "reassessment_flagged": _l("Re-assessment needed"), "reassessment_resolved": _l("Re-assessment done"),
    "catalogue_changes_flagged": _l("Assessments flagged after a new catalogue version"),
    "dpf_invalid_applied": _l("The EU–US Data Privacy Framework no longer applies"),
    "login_failed": _l("Failed login"), "login_locked": _l("Login locked"), "login_unlocked": _l("Login unlocked"),
}

DETAIL_LABELS = {
    "account": _l("account"), "address": _l("address"), "advice": _l("advice"), "answered_on": _l("answered on"),
    "answers": _l("answers"), "answers_sha256": _l("SHA-256 of the answers"),
    "archived_document_id": _l("archived document"), "attempts": _l("attempts"), "before": _l("before"),
    "body": _l("text"), "by": _l("by"), "catalogue": _l("catalogue"), "catalogue_from": _l("catalogue before"),
    "catalogue_to": _l("catalogue after"), "catalogues": _l("catalogues"), "changes": _l("what changed"),
    "effective_on": _l("from"), "flag": _l("flag"), "flagged": _l("assessments flagged"), "flags": _l("flags"),
    "trigger": _l("trigger"), "comment": _l("comment"), "demo": _l("demo data"),
    "document_sha256": _l("SHA-256 of the document"), "due": _l("due date"), "email": _l("e-mail address"),
    "enabled": _l("turned on"), "evidence_carried": _l("evidence files carried over"),
    "evidence_id": _l("evidence file"),
    "field": _l("rating"), "file": _l("file"), "filename": _l("file name"), "followed": _l("followed"),
    "format": _l("format"), "from": _l("from"), "imy_advice": _l("IMY's advice"),
    "imy_case_number": _l("IMY's case number"), "justification": _l("justification"), "kind": _l("kind"),
    "known_device": _l("known browser"), "matched": _l("matched"), "measure": _l("measure"),
    "measures": _l("measures"), "mime_type": _l("file type"), "name": _l("name"), "new": _l("new"),
    "not_carried": _l("not carried over"), "note": _l("note"), "notification": _l("notification"),
    "number": _l("number"), "old": _l("old"), "on_behalf_of_dpo": _l("on the DPO's behalf"),
    "outcome": _l("outcome"), "overruled_reason": _l("reason for not following"), "own_seal": _l("own seal"),
    "owner": _l("owner"), "platform": _l("platform"), "platforms": _l("platforms"), "previous": _l("previous"),
    "problems": _l("problems"), "question": _l("question"), "reason": _l("reason"),
    "reason_not_sought": _l("why not sought"), "registration_number": _l("registration number"),
    "relationship": _l("relationship"), "reply_to": _l("reply to"), "requested_on": _l("requested on"),
    "response_cleared": _l("response cleared"), "revision": _l("revision"), "risk": _l("risk"),
    "risks": _l("risks"), "role": _l("role"), "rule": _l("rule"), "section": _l("section"),
    "sha256": _l("SHA-256"), "size": _l("size"), "sought": _l("sought"), "source": _l("source"),
    "status": _l("status"), "summary": _l("summary"), "supports": _l("supports"), "title": _l("title"),
    "to": _l("to"), "treatment": _l("treatment"), "until": _l("until"), "user_id": _l("user"),
    "verdict": _l("verdict"), "verified_on": _l("verified on"), "whose": _l("whose views"),
}

# Stored values that are themselves keys: statuses, treatments, verdicts, ratings, roles.
VALUE_LABELS: dict[str, Any] = {
    **{s.value: label for s, label in STATUS_LABELS.items()},
    **{r.value: label for r, label in ROLE_LABELS.items()},
    MeasureStatus.PLANNED.value: _l("Planned"), MeasureStatus.IN_PROGRESS.value: _l("In progress"),
    MeasureStatus.DONE.value: _l("Done"), MeasureStatus.CANCELLED.value: _l("Cancelled"),
    Treatment.REDUCE.value: _l("Reduce with measures"), Treatment.AVOID.value: _l("Avoid"),
    Treatment.ACCEPT.value: _l("Accept"),
    Verdict.ACCEPTABLE.value: _l("Acceptable"), Verdict.IMPROVABLE.value: _l("Improvable"),
    Verdict.TO_CORRECT.value: _l("To correct"),
    "inherent_likelihood": _l("inherent likelihood"), "inherent_severity": _l("inherent severity"),
    "residual_likelihood": _l("residual likelihood"), "residual_severity": _l("residual severity"),
}
# Details whose values are such keys (other values are shown as they were written).
KEYED_DETAILS = frozenset({"from", "to", "status", "treatment", "verdict", "field", "role", "old", "new"})


def event_label(action: str) -> str:
    """The event kind in the reader's language; an unknown kind (a newer version's) as "Other event"."""
    label = EVENT_LABELS.get(action)
    return str(label) if label is not None else str(_l("Other event"))


def detail_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def detail_value(key: str, value: Any) -> str:
    """A detail's value as words: "–" for nothing, yes or no, a status's label, lists joined."""
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if isinstance(value, list):
        return ", ".join(detail_value(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{detail_label(k)}: {detail_value(k, v)}" for k, v in value.items())
    if key in KEYED_DETAILS and isinstance(value, str) and value in VALUE_LABELS:
        return str(VALUE_LABELS[value])
    return str(value)


CHOICE_TYPES = frozenset({"single_choice", "yes_no", "multiple_choice"})


def details_of(details: dict[str, Any], catalog=None, lang: str = "sv",
               platform_name: Callable[[str, str], str] | None = None) -> list[tuple[str, str]]:
    """An event's details as (label, value) pairs, in the order they were recorded. With the assessment's
    catalogue, a question is shown by its text and a changed answer by its options' labels; with
    ``platform_name``, a platform by its name."""
    details = details or {}
    question = None
    if catalog is not None and isinstance(details.get("question"), str):
        try:
            question = catalog.question(details["question"])
        except KeyError:
            question = None
    pairs = []
    for key, value in details.items():
        if key == "question" and question is not None:
            shown = question.text.get(lang)
        elif key in ("old", "new") and question is not None and question.type in CHOICE_TYPES and value:
            shown = "; ".join(question.option_label(v, lang) for v in (value if isinstance(value, list) else [value]))
        elif key == "platform" and platform_name is not None and isinstance(value, str) and value:
            shown = platform_name(value, lang)
        else:
            shown = detail_value(key, value)
        pairs.append((detail_label(key), shown))
    return pairs
