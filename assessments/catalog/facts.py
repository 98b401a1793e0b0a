"""Platform facts: who the EU contracting entity is, which transfer tool it relies on, and so on.

Loaded from ``data/platform-facts.yaml`` and validated as strictly as a catalogue (see FORMAT.md). A
per-platform question with ``suggest: <field>`` offers the platform's value as a suggestion the user
confirms or changes. A fact listed under ``unverified`` is shown as "(unverified)"; a fact verified 12
calendar months ago or earlier is shown as stale.

Each fact may name its own primary source and the date it was checked there (``sources``): a fact with
no checked date must be listed under ``unverified`` — a fact is never "verified" because it matches a
summary.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from .loader import DATA_DIR
from .model import FACT_FIELDS, PLATFORMS, Catalog, CatalogError, Question, Text
from .validation import TAG_RE, Validator, kind_of
from .yaml_reader import YamlMapping, read_yaml

__all__ = ["FACT_FIELDS", "FACTS_FILE", "STALE_AFTER_MONTHS", "FactSource", "PlatformFacts",
           "check_platform_facts", "load_platform_facts"]

FACTS_FILE = DATA_DIR / "platform-facts.yaml"
STALE_AFTER_MONTHS = 12

_TOP_KEYS = {"platforms"}
_REQUIRED_FACT_KEYS = ("eu_entity", "transfer_tool", "transfer_basis", "joint_controller_addendum",
                       "addendum_name", "source", "verified_on")
_FACT_KEYS = {*_REQUIRED_FACT_KEYS, "unverified", "sources"}
_SOURCE_KEYS = {"source", "checked_on"}
# "other" stands for a platform the tool does not know: there is nothing to state facts about.
_NO_FACTS_FOR = ("other",)


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later; the 31st becomes the last day of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class FactSource:
    """Where one fact comes from: the primary source by name, and the date it was checked there (None:
    not checked, so the fact is listed under ``unverified``)."""

    field: str
    source: str
    checked_on: dt.date | None


@dataclass(frozen=True)
class PlatformFacts:
    platform: str
    eu_entity: str
    transfer_tool: str | None  # an option value of the catalogue's transfer_tool question; None: unknown
    transfer_basis: Text  # as reported, in words
    joint_controller_addendum: bool | None  # None: unknown
    addendum_name: str | None
    unverified: tuple[str, ...]  # fields of FACT_FIELDS to show as "(unverified)"
    source: str
    verified_on: dt.date
    sources: tuple[FactSource, ...] = ()  # per fact, in FACT_FIELDS order; empty when the file gives none

    def source_of(self, field: str) -> FactSource | None:
        """The primary source of one fact, if the file names one; KeyError for a name not in FACT_FIELDS."""
        if field not in FACT_FIELDS:
            raise KeyError(f"{field!r} is not a platform fact (facts: {', '.join(FACT_FIELDS)})")
        return next((s for s in self.sources if s.field == field), None)

    def stale_on(self) -> dt.date:
        """The first day the facts count as stale: ``verified_on`` plus 12 calendar months."""
        return _add_months(self.verified_on, STALE_AFTER_MONTHS)

    def is_stale(self, today: dt.date) -> bool:
        """True once 12 calendar months have passed since ``verified_on`` (2025-11-21 is stale from
        2026-11-21; 2024-02-29 from 2025-02-28)."""
        return today >= self.stale_on()

    def value(self, field: str) -> str | Text | bool | None:
        """The raw value of a suggest field (``FACT_FIELDS``); KeyError for any other name."""
        if field not in FACT_FIELDS:
            raise KeyError(f"{field!r} is not a platform fact (facts: {', '.join(FACT_FIELDS)})")
        return getattr(self, field)

    def is_unverified(self, field: str) -> bool:
        """Whether the field is marked "(unverified)"; KeyError for a name not in ``FACT_FIELDS``."""
        if field not in FACT_FIELDS:
            raise KeyError(f"{field!r} is not a platform fact (facts: {', '.join(FACT_FIELDS)})")
        return field in self.unverified

    def suggestion(self, question: Question, lang: str | None) -> str | None:
        """The answer value to pre-fill for ``question`` (which ``suggest``s a field), or None when the
        fact is unknown or does not fit the question.

        A boolean fact becomes "yes"/"no", a text the given language's wording, a choice value only when
        it is an option of the question.
        """
        if question.suggest is None:
            return None
        raw = self.value(question.suggest)
        if raw is None:
            return None
        if isinstance(raw, bool):
            answer = "yes" if raw else "no"
        elif isinstance(raw, Text):
            answer = raw.get(lang)
        else:
            answer = raw
        if question.type == "single_choice" and answer not in {o.value for o in question.options}:
            return None
        return answer


class _FactsValidator(Validator):
    def facts(self, data: object) -> dict[str, PlatformFacts]:
        top = self.mapping(data, "", "the file")
        self.keys(top, "", _TOP_KEYS, ("platforms",))
        platforms = self.mapping(top["platforms"], "platforms", "platforms", top)
        found: dict[str, PlatformFacts] = {}
        for platform, raw in platforms.items():
            where = f"platforms.{platform}"
            if platform not in PLATFORMS:
                known = ", ".join(k for k in PLATFORMS if k not in _NO_FACTS_FOR)
                raise self.fail(where, f"unknown platform {platform!r} (known: {known})", platforms)
            if platform in _NO_FACTS_FOR:
                raise self.fail(where, f"{platform!r} stands for a platform the tool does not know; it has "
                                "no facts", platforms)
            found[platform] = self.platform(platform, raw, where, platforms)
        # In the order the tool lists platforms, whatever the order in the file.
        return {key: found[key] for key in PLATFORMS if key in found}

    def platform(self, platform: str, raw: object, where: str, parent: object) -> PlatformFacts:
        mapping = self.mapping(raw, where, "the facts of a platform", parent)
        self.keys(mapping, where, _FACT_KEYS, _REQUIRED_FACT_KEYS)
        eu_entity = self.string(mapping["eu_entity"], where, "eu_entity", mapping).strip()
        transfer_tool = mapping["transfer_tool"]
        if transfer_tool is not None:
            transfer_tool = self.string(transfer_tool, where, "transfer_tool", mapping, TAG_RE, "[a-z0-9_]+")
        transfer_basis = self.text(mapping["transfer_basis"], where, "transfer_basis", mapping)
        addendum = mapping["joint_controller_addendum"]
        if addendum is not None and not isinstance(addendum, bool):
            raise self.fail(where, "joint_controller_addendum must be true, false or null (unknown), got "
                            f"{kind_of(addendum)}", mapping)
        addendum_name = mapping["addendum_name"]
        if addendum_name is not None:
            addendum_name = self.string(addendum_name, where, "addendum_name", mapping).strip()
            if addendum is False:
                raise self.fail(where, f"addendum_name {addendum_name!r} is given, but "
                                "joint_controller_addendum is false", mapping)
        unverified = self.string_list(mapping.get("unverified", []), where, "unverified", mapping)
        for field in unverified:
            if field not in FACT_FIELDS:
                raise self.fail(where, f"unverified lists {field!r}, which is not a platform fact (facts: "
                                f"{', '.join(FACT_FIELDS)})", mapping)
        source = self.string(mapping["source"], where, "source", mapping).strip()
        verified_on = self.date(mapping["verified_on"], where, "verified_on", mapping)
        sources = self.sources(mapping, where, unverified) if "sources" in mapping else ()
        return PlatformFacts(platform=platform, eu_entity=eu_entity, transfer_tool=transfer_tool,
                             transfer_basis=transfer_basis, joint_controller_addendum=addendum,
                             addendum_name=addendum_name, unverified=unverified, source=source,
                             verified_on=verified_on, sources=sources)

    def sources(self, mapping: YamlMapping, where: str, unverified: tuple[str, ...]) -> tuple[FactSource, ...]:
        """``sources: {<fact>: {source: <primary source>, checked_on: <date> | null}}``."""
        raw = self.mapping(mapping["sources"], where, "sources", mapping)
        found: dict[str, FactSource] = {}
        for field, item in raw.items():
            s_where = f"{where}.sources.{field}"
            if field not in FACT_FIELDS:
                raise self.fail(s_where, f"sources names {field!r}, which is not a platform fact (facts: "
                                f"{', '.join(FACT_FIELDS)})", raw)
            entry = self.mapping(item, s_where, "the source of a fact", raw)
            self.keys(entry, s_where, _SOURCE_KEYS, ("source", "checked_on"))
            text = self.string(entry["source"], s_where, "source", entry).strip()
            checked_on = entry["checked_on"]
            if checked_on is not None:
                checked_on = self.date(checked_on, s_where, "checked_on", entry)
            elif field not in unverified:
                raise self.fail(s_where, f"{field} has no checked_on date, so it must be listed under "
                                "unverified (a fact not checked in its primary source is shown as unverified)",
                                entry)
            found[field] = FactSource(field=field, source=text, checked_on=checked_on)
        return tuple(found[f] for f in FACT_FIELDS if f in found)

    def date(self, value: object, where: str, field: str, node: YamlMapping) -> dt.date:
        # YAML reads an unquoted 2026-11-21 as a date; a quoted one stays a string.
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise self.fail(where, f"{field} must be a date (yyyy-mm-dd), got {kind_of(value)}", node)
        return value


@functools.cache
def _cached_default() -> dict[str, PlatformFacts]:
    return _load(FACTS_FILE)


def _load(path: Path) -> dict[str, PlatformFacts]:
    name = path.name
    return _FactsValidator(name).facts(read_yaml(path, name))


def load_platform_facts(path: str | Path | None = None) -> dict[str, PlatformFacts]:
    """Facts by platform key, in ``PLATFORMS`` order; a platform without facts is absent.

    Without ``path``, the shipped ``data/platform-facts.yaml``, read once and cached (each call returns
    a new dict of the same immutable objects). CatalogError names the file, the platform and the field.
    """
    if path is None:
        return dict(_cached_default())
    return _load(Path(path))


load_platform_facts.cache_clear = _cached_default.cache_clear  # type: ignore[attr-defined]


def check_platform_facts(catalog: Catalog, facts: dict[str, PlatformFacts],
                         file: str = FACTS_FILE.name) -> None:
    """Check facts against a catalogue's ``suggest`` questions: a suggested choice must be an option.

    Loading checks each file on its own; this checks that the two fit (a test runs it on the shipped
    files). CatalogError names the facts file, the platform, the field and the question.
    """
    for question in catalog.questions():
        if question.suggest is None or question.type != "single_choice":
            continue
        allowed = tuple(o.value for o in question.options)
        for platform, platform_facts in facts.items():
            raw = platform_facts.value(question.suggest)
            value = ("yes" if raw else "no") if isinstance(raw, bool) else raw
            if value is not None and value not in allowed:
                where = f"platforms.{platform}"
                raise CatalogError(
                    f"{file}: {where}: {question.suggest} {value!r} is not an option of question "
                    f"{question.key!r} in {Path(catalog.source).name} (options: {', '.join(allowed)})",
                    file=file, path=where)
