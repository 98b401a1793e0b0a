"""Per platform: may the transfer to a third country take place at all? (GDPR Chapter V; Schrems II)

A transfer without an essentially equivalent level of protection may not take place (Art. 44; C-311/18
Schrems II, paras 134–135). Prior consultation (Art. 36) cannot make such a transfer lawful: under
Art. 36(2) IMY answers an infringing plan with its Art. 58 powers. So a failed check is an outcome of its
own ("stop, pause or use the platform without personal data"), never a risk rating routed to IMY; and an
*unknown* transfer tool is a gap in the documentation that must be closed before approval.

Pure: answers in, outcomes out (docs/risk-method.md explains each branch).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from ..catalog import Catalog
from ..catalog.screening import applies

LAWFUL = "lawful"
NOT_ALLOWED = "not_allowed"
UNKNOWN = "unknown"

# Why, for each outcome. The texts are the conclusion's own words, in the report's language.
REASONS = {
    "dpf": _l("Adequacy decision (Art. 45): the EU–US Data Privacy Framework, Decision (EU) 2023/1795, for a "
              "company on the DPF list. Re-check the list and the pending appeal (C-703/25 P) at every review."),
    "dpf_invalid": _l("The EU–US Data Privacy Framework no longer applies, so the adequacy decision it rested on "
                      "cannot carry the transfer (Art. 45). Until the assessment is redone with another tool, the "
                      "transfer may not take place."),
    "adequacy": _l("Adequacy decision for the destination country (Art. 45)."),
    "law_does_not_impinge": _l("Standard contractual clauses or binding corporate rules (Art. 46), and the "
                               "assessment of the destination country found no law or practice that impinges "
                               "on them (EDPB Recommendations 01/2020, step 3)."),
    "effective_measures": _l("Standard contractual clauses or binding corporate rules (Art. 46) with "
                             "supplementary measures that the organisation has assessed as ensuring an "
                             "essentially equivalent level of protection (EDPB Recommendations 01/2020, step 4)."),
    "derogation": _l("An Art. 49 derogation is for occasional transfers in specific situations, not for an account "
                     "that transfers its visitors' data regularly; several derogations are not available to "
                     "public authorities exercising their public powers (Art. 49(3))."),
    "no_measures": _l("Standard contractual clauses or binding corporate rules without supplementary measures, "
                      "although the platform must read the content in clear (Schrems II; EDPB Recommendations "
                      "01/2020, use cases 6 and 7)."),
    "measures_not_effective": _l("The supplementary measures do not ensure an essentially equivalent level of "
                                 "protection for content the platform must read in clear (EDPB Recommendations "
                                 "01/2020, use cases 6 and 7; IMY's Google Analytics decisions of 30 June 2023)."),
    "tool_unknown": _l("The transfer tool is not known. Find out from the platform's terms which tool applies "
                       "and record it before approval: this is a gap in the documentation, not a risk rating."),
    "law_not_assessed": _l("The assessment of the destination country's law and practice (EDPB step 3) is not "
                           "recorded. Record it before approval."),
    "measures_not_assessed": _l("Whether there are supplementary measures, and whether they are enough, is not "
                                "recorded (EDPB step 4). Record it before approval."),
}
ADEQUACY_TOOLS = {"dpf_adequacy": "dpf", "adequacy_other": "adequacy"}
ARTICLE_46_TOOLS = ("scc", "bcr")


@dataclass(frozen=True)
class TransferOutcome:
    platform: str
    status: str  # LAWFUL | NOT_ALLOWED | UNKNOWN
    tool: str | None  # the answer to ``transfer_tool``
    reason: str  # a key of REASONS

    @property
    def reason_text(self) -> str:
        return str(REASONS[self.reason])


Answers = Mapping[tuple[str, str], Any]


def _answer(catalog: Catalog, answers: Answers, key: str, platform: str) -> Any:
    """The answer if the question exists in this catalogue version and is asked; otherwise None."""
    try:
        question = catalog.question(key)
    except KeyError:
        return None
    slot = (key, platform if question.per_platform else "")
    if not applies(catalog, question, slot[1], answers):
        return None
    value = answers.get(slot)
    return None if value in ("", []) else value


def _has(catalog: Catalog, key: str) -> bool:
    try:
        catalog.question(key)
    except KeyError:
        return False
    return True


def transfer_outcome(catalog: Catalog, answers: Answers, platform: str, *,
                     dpf_invalid: bool = False) -> TransferOutcome:
    """``dpf_invalid``: the EU–US Data Privacy Framework no longer applies (reassessment/legal.py)."""
    tool = _answer(catalog, answers, "transfer_tool", platform)

    def outcome(status: str, reason: str) -> TransferOutcome:
        return TransferOutcome(platform, status, tool, reason)

    if tool is None or tool == "unknown":
        return outcome(UNKNOWN, "tool_unknown")
    if tool == "dpf_adequacy" and dpf_invalid:
        return outcome(NOT_ALLOWED, "dpf_invalid")
    if tool in ADEQUACY_TOOLS:
        return outcome(LAWFUL, ADEQUACY_TOOLS[tool])
    if tool == "derogation":
        return outcome(NOT_ALLOWED, "derogation")
    if tool not in ARTICLE_46_TOOLS:
        return outcome(UNKNOWN, "tool_unknown")
    if _has(catalog, "transfer_law_impinges"):
        # Catalogues from version 3 ask for the conclusions of EDPB steps 3 and 4 as answers.
        law = _answer(catalog, answers, "transfer_law_impinges", platform)
        if law is None:
            return outcome(UNKNOWN, "law_not_assessed")
        if law == "no":
            return outcome(LAWFUL, "law_does_not_impinge")
        # "unknown" counts as impinging: the exporter must be able to show the protection (Art. 5(2)).
        effective = _answer(catalog, answers, "transfer_measures_effective", platform)
        if effective is None:
            return outcome(UNKNOWN, "measures_not_assessed")
        return outcome(LAWFUL, "effective_measures") if effective == "yes" \
            else outcome(NOT_ALLOWED, "measures_not_effective")
    # Version 2 asks which kinds of supplementary measures exist. Contractual and organisational measures
    # alone do not stop a third country's authorities from reading what the platform holds in clear
    # (EDPB Recommendations 01/2020, on contractual and organisational measures), so only technical measures
    # together with a written step-3 assessment can carry the transfer.
    kinds = _answer(catalog, answers, "supplementary_measure_kinds", platform)
    if kinds is None:
        return outcome(UNKNOWN, "measures_not_assessed")
    if "none" in kinds:
        return outcome(NOT_ALLOWED, "no_measures")
    if _answer(catalog, answers, "third_country_law", platform) is None:
        return outcome(UNKNOWN, "law_not_assessed")
    if "technical" in kinds:
        return outcome(LAWFUL, "effective_measures")
    return outcome(NOT_ALLOWED, "measures_not_effective")


def transfer_outcomes(catalog: Catalog, answers: Answers, platforms: Sequence[str], *,
                      dpf_invalid: bool = False) -> tuple[TransferOutcome, ...]:
    """One outcome per platform, or none at all for a catalogue that does not ask about transfers."""
    if not _has(catalog, "transfer_tool"):
        return ()
    return tuple(transfer_outcome(catalog, answers, platform, dpf_invalid=dpf_invalid) for platform in platforms)
