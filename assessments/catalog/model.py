"""The catalogue's value objects: immutable, so one cached Catalog can be shared by every request.

Answer values the rest of the application stores and passes to ``ShowIf.is_met``:

* ``text``, ``long_text``, ``single_choice``, ``yes_no`` ("yes"/"no"), ``date`` (ISO ``yyyy-mm-dd``): ``str``
* ``multiple_choice``: ``list[str]`` of option values

A ``per_platform`` question is answered once per chosen platform. When it depends on another
``per_platform`` question, the condition is evaluated with that same platform's answer; when it depends
on a global question, with the single global answer.

Version 2 of the format adds requirements (what a tag means), the WP248 screening criteria, answers that
trigger a criterion (``Question.triggers``), warnings shown next to an answer (``Question.warnings``),
suggestions taken from the platform facts (``Question.suggest``) and a ``show_if`` on the computed
screening outcome (``ShowIf.screening``). See ``screening.py`` for the outcome and ``facts.py`` for the
platform facts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

QUESTION_TYPES = ("text", "long_text", "single_choice", "multiple_choice", "yes_no", "date")
CHOICE_TYPES = ("single_choice", "multiple_choice")
YES_NO_VALUES = ("yes", "no")
# The outcomes of the screening a ``show_if: {screening: [...]}`` may name. A catalogue without a
# screening block gives the outcome "not_assessed", which no condition can name.
SCREENING_LEVELS = ("required", "recommended", "not_required")
# The fields of platform-facts.yaml a per-platform question may ``suggest``.
FACT_FIELDS = ("eu_entity", "transfer_tool", "transfer_basis", "joint_controller_addendum", "addendum_name")


class CatalogError(Exception):
    """A catalogue file cannot be used, or a catalogue/version does not exist.

    ``file``, ``path`` and ``line`` are set when known, so that callers and tests need not parse the
    message (which always names them as well).
    """

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.file = file
        self.path = path
        self.line = line


def _lang_is_en(lang: object) -> bool:
    # Accepts "en", "en_GB", "en-US" and Babel Locale objects (str() gives "en_GB").
    return bool(lang) and str(lang).replace("-", "_").split("_", 1)[0].lower() == "en"


@dataclass(frozen=True)
class Text:
    """A text in both languages of the tool. Swedish is the primary language and the fallback."""

    sv: str
    en: str

    def get(self, lang: str | None) -> str:
        return self.en if _lang_is_en(lang) else self.sv


_YES_NO_LABELS = {"yes": Text(sv="Ja", en="Yes"), "no": Text(sv="Nej", en="No")}


@dataclass(frozen=True)
class Option:
    value: str
    label: Text


def _condition_is_met(equals: str | None, any_of: tuple[str, ...] | None, includes: str | None,
                      value: object) -> bool:
    if value is None:
        return False
    if equals is not None:
        return isinstance(value, str) and value == equals
    if any_of is not None:
        return isinstance(value, str) and value in any_of
    if includes is not None:
        return isinstance(value, (list, tuple, set, frozenset)) and includes in value
    return False


@dataclass(frozen=True)
class Condition:
    """A condition on a question's own answer (``triggers[].when``, ``warnings[].when``).

    Exactly one of ``equals``, ``any_of`` (single-valued answers) and ``includes`` (multiple_choice) is
    set; the loader guarantees it.
    """

    equals: str | None = None
    any_of: tuple[str, ...] | None = None
    includes: str | None = None

    def is_met(self, value: object) -> bool:
        """None (unanswered) never meets a condition."""
        return _condition_is_met(self.equals, self.any_of, self.includes, value)


@dataclass(frozen=True)
class ShowIf:
    """Show a question only when an earlier question has a given answer, or (v2) only for a given
    screening outcome.

    Either ``question`` and exactly one of ``equals``, ``any_of`` (both for single-valued answers) and
    ``includes`` (for a multiple_choice answer) are set, or only ``screening`` (levels out of
    ``SCREENING_LEVELS``); the loader guarantees it.
    """

    question: str | None = None
    equals: str | None = None
    any_of: tuple[str, ...] | None = None
    includes: str | None = None
    screening: tuple[str, ...] | None = None

    @property
    def is_screening(self) -> bool:
        """True for the ``show_if: {screening: [...]}`` form."""
        return self.screening is not None

    def is_met(self, value: object) -> bool:
        """``value`` is the referenced question's answer; None (unanswered) never meets a condition.

        Always False for the screening form: use ``is_met_screening``.
        """
        return _condition_is_met(self.equals, self.any_of, self.includes, value)

    def is_met_screening(self, level: str | None) -> bool:
        """``level`` is the screening outcome (``ScreeningOutcome.level``). Always False for the
        question form, and for "not_assessed" (a catalogue without a screening block)."""
        return self.screening is not None and level in self.screening


@dataclass(frozen=True)
class Requirement:
    """What a tag stands for, e.g. ``art35_7_a``: "Systematic description of the processing"."""

    key: str
    label: Text
    ref: str


@dataclass(frozen=True)
class Criterion:
    """A WP248 rev.01 screening criterion (its key is also a requirement)."""

    key: str
    label: Text


@dataclass(frozen=True)
class Trigger:
    """An answer of the question it belongs to that triggers a screening criterion."""

    criterion: str
    when: Condition


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the format's name; import it as ``catalog.Warning`` where it matters
    """A text shown next to a question when its answer matches ``when``.

    ``public_body``: None shows it to everyone, True only to public bodies, False only to companies.
    ``before_approval``: what it asks for must be done before the assessment can be approved, so while it
    applies it blocks approval (``approval.approval_blockers``).
    """

    when: Condition
    public_body: bool | None
    text: Text
    before_approval: bool = False

    def applies_to(self, value: object, *, public_body: bool | None) -> bool:
        if self.public_body is not None and self.public_body != public_body:
            return False
        return self.when.is_met(value)


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    text: Text
    report_label: Text | None = None  # a shorter wording for the signed report (FORMAT.md)
    help: Text | None = None
    refs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    required: bool = True
    per_platform: bool = False
    options: tuple[Option, ...] = ()
    show_if: ShowIf | None = None
    section_key: str = ""
    triggers: tuple[Trigger, ...] = ()
    warnings: tuple[Warning, ...] = ()
    suggest: str | None = None  # a field of FACT_FIELDS; only on per_platform questions

    def report_text(self, lang: str | None) -> str:
        """How the signed report names the question: its report label, else its text."""
        return (self.report_label or self.text).get(lang)

    @property
    def is_multi(self) -> bool:
        return self.type == "multiple_choice"

    def option_label(self, value: str, lang: str | None) -> str:
        """Label of one answer value; KeyError if the value is not an option of this question."""
        if self.type == "yes_no":
            return _YES_NO_LABELS[value].get(lang)
        for option in self.options:
            if option.value == value:
                return option.label.get(lang)
        raise KeyError(f"question {self.key!r} has no option {value!r}")

    def warnings_for(self, value: object, *, public_body: bool | None) -> list[Text]:
        """The warnings to show for an answer, in catalogue order.

        ``public_body`` is whether the organisation is a public body; None (not known) shows only the
        warnings meant for everyone.
        """
        return [w.text for w in self.warnings if w.applies_to(value, public_body=public_body)]

    def blocking_warnings(self, value: object, *, public_body: bool | None) -> list[Text]:
        """The warnings that apply and must be resolved before approval."""
        return [w.text for w in self.warnings if w.before_approval and w.applies_to(value, public_body=public_body)]

    def choices(self, lang: str | None) -> list[tuple[str, str]]:
        """(value, label) pairs for a form field; empty for free-text and date questions."""
        if self.type == "yes_no":
            return [(v, _YES_NO_LABELS[v].get(lang)) for v in YES_NO_VALUES]
        return [(o.value, o.label.get(lang)) for o in self.options]


@dataclass(frozen=True)
class Section:
    key: str
    title: Text
    intro: Text | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Catalog:
    id: str
    version: int
    title: Text
    sections: tuple[Section, ...]
    source: str  # the file the catalogue was loaded from
    requirements: tuple[Requirement, ...] = ()  # v2; empty when the file declares none
    screening_criteria: tuple[Criterion, ...] = ()  # v2; empty when the file has no screening block
    _sections_by_key: dict[str, int] = field(init=False, repr=False, compare=False)
    _questions_by_key: dict[str, Question] = field(init=False, repr=False, compare=False)
    _requirements_by_key: dict[str, Requirement] = field(init=False, repr=False, compare=False)
    _criteria_by_key: dict[str, Criterion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sections_by_key", {s.key: i for i, s in enumerate(self.sections)})
        object.__setattr__(self, "_questions_by_key", {q.key: q for s in self.sections for q in s.questions})
        object.__setattr__(self, "_requirements_by_key", {r.key: r for r in self.requirements})
        object.__setattr__(self, "_criteria_by_key", {c.key: c for c in self.screening_criteria})

    @property
    def has_screening(self) -> bool:
        """Whether the catalogue declares screening criteria (otherwise the outcome is "not_assessed")."""
        return bool(self.screening_criteria)

    def requirement(self, key: str) -> Requirement:
        """KeyError for a key not declared under ``requirements``."""
        return self._requirements_by_key[key]

    def criterion(self, key: str) -> Criterion:
        """KeyError for a key not declared under ``screening.criteria``."""
        return self._criteria_by_key[key]

    def section(self, key: str) -> Section:
        return self.sections[self._sections_by_key[key]]

    def section_index(self, key: str) -> int:
        return self._sections_by_key[key]

    def question(self, key: str) -> Question:
        return self._questions_by_key[key]

    def questions(self) -> Iterator[Question]:
        for section in self.sections:
            yield from section.questions


# The platforms the tool knows, in the order forms and reports list them.
PLATFORMS: dict[str, Text] = {
    "facebook": Text(sv="Facebook", en="Facebook"),
    "instagram": Text(sv="Instagram", en="Instagram"),
    "linkedin": Text(sv="LinkedIn", en="LinkedIn"),
    "youtube": Text(sv="YouTube", en="YouTube"),
    "tiktok": Text(sv="TikTok", en="TikTok"),
    "x": Text(sv="X", en="X"),
    "other": Text(sv="Annan plattform", en="Other platform"),
}


def platform_label(key: str, lang: str | None) -> str:
    """KeyError for an unknown platform key."""
    return PLATFORMS[key].get(lang)
