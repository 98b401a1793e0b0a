"""The catalogue's value objects: immutable, so one cached Catalog can be shared by every request.

Answer values the rest of the application stores and passes to ``ShowIf.is_met``:

* ``text``, ``long_text``, ``single_choice``, ``yes_no`` ("yes"/"no"), ``date`` (ISO ``yyyy-mm-dd``): ``str``
* ``multiple_choice``: ``list[str]`` of option values

A ``per_platform`` question is answered once per chosen platform. When it depends on another
``per_platform`` question, the condition is evaluated with that same platform's answer; when it depends
on a global question, with the single global answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

QUESTION_TYPES = ("text", "long_text", "single_choice", "multiple_choice", "yes_no", "date")
CHOICE_TYPES = ("single_choice", "multiple_choice")
YES_NO_VALUES = ("yes", "no")


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


@dataclass(frozen=True)
class ShowIf:
    """Show a question only when an earlier question has a given answer.

    Exactly one of ``equals``, ``any_of`` (both for single-valued answers) and ``includes`` (for a
    multiple_choice answer) is set; the loader guarantees it.
    """

    question: str
    equals: str | None = None
    any_of: tuple[str, ...] | None = None
    includes: str | None = None

    def is_met(self, value: object) -> bool:
        """``value`` is the referenced question's answer; None (unanswered) never meets a condition."""
        if value is None:
            return False
        if self.equals is not None:
            return isinstance(value, str) and value == self.equals
        if self.any_of is not None:
            return isinstance(value, str) and value in self.any_of
        if self.includes is not None:
            return isinstance(value, (list, tuple, set, frozenset)) and self.includes in value
        return False


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    text: Text
    help: Text | None = None
    refs: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    required: bool = True
    per_platform: bool = False
    options: tuple[Option, ...] = ()
    show_if: ShowIf | None = None
    section_key: str = ""

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
    _sections_by_key: dict[str, int] = field(init=False, repr=False, compare=False)
    _questions_by_key: dict[str, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sections_by_key", {s.key: i for i, s in enumerate(self.sections)})
        object.__setattr__(self, "_questions_by_key", {q.key: q for s in self.sections for q in s.questions})

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
}


def platform_label(key: str, lang: str | None) -> str:
    """KeyError for an unknown platform key."""
    return PLATFORMS[key].get(lang)
