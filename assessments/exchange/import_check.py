"""Checking an imported file before anything is written: every problem, each named by its JSON path, or a
plan of what to create (docs/exchange-format.md, "Import")."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from flask_babel import lazy_gettext as _l

from ..answers import answer_key, is_answered
from ..catalog import PLATFORMS, Catalog, CatalogError, Question, get_catalog
from ..i18n import LANGUAGES
from ..limits import (
    AFFECTED_MAX,
    ASSESSMENT_TITLE_MAX,
    MEASURE_DESCRIPTION_MAX,
    MEASURE_TITLE_MAX,
    OTHER_PLATFORM_NAME_MAX,
    OWNER_MAX,
    RISK_DESCRIPTION_MAX,
    RISK_TITLE_MAX,
    SOURCE_MAX,
)
from ..limits import LONG_ANSWER_MAX as LONG_TEXT_MAX
from ..limits import SHORT_ANSWER_MAX as TEXT_MAX
from ..models import (
    MeasureStatus,
)
from ..plaintext import CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE
from ..risk.matrix import SCALE
from ..risk.rules import RiskRule, load_risk_rules
from ..risk.service import RATING_FIELDS
from .export import FORMAT

REF_MAX = 64  # a risk's reference in the file ("R12")
MAX_PROBLEMS = 25  # listed on the page; the rest are counted

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
    title = checker.text(head.get("title"), "assessment.title", ASSESSMENT_TITLE_MAX) if "title" in head else None
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
                         OTHER_PLATFORM_NAME_MAX, nullable=True, required=False)
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
                            ("affected", AFFECTED_MAX), ("source", SOURCE_MAX)):
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
        owner = checker.text(measure.get("owner"), _path(item, "owner"), OWNER_MAX)
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
