"""Validating a catalogue: every rule of the format (FORMAT.md) is checked here, once, at load time, so the
rest of the application can trust a Catalog completely. Each error names the file, the place
(``sections[2].questions[3] (key 'transfer_tool')``) and, where known, the line."""
from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from .model import (
    CHOICE_TYPES,
    FACT_FIELDS,
    QUESTION_TYPES,
    SCREENING_LEVELS,
    YES_NO_VALUES,
    Catalog,
    CatalogError,
    Condition,
    Criterion,
    Option,
    Question,
    Requirement,
    Section,
    ShowIf,
    Text,
    Trigger,
    Warning,
)
from .yaml_reader import YamlMapping

ID_RE = re.compile(r"[a-z][a-z0-9-]*\Z")
_KEY_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
_VALUE_RE = re.compile(r"[a-z0-9_]+\Z")
TAG_RE = re.compile(r"[a-z0-9_]+\Z")

_CATALOG_KEYS = {"id", "version", "title", "requirements", "screening", "sections"}
_REQUIREMENT_KEYS = {"key", "label", "ref"}
_SCREENING_KEYS = {"criteria"}
_CRITERION_KEYS = {"key", "label"}
_SECTION_KEYS = {"key", "title", "intro", "questions"}
_QUESTION_KEYS = {"key", "type", "text", "report_label", "help", "refs", "tags", "required", "per_platform",
                  "options", "show_if", "triggers", "warnings", "suggest"}
_OPTION_KEYS = {"value", "label"}
_CONDITION_KEYS = ("equals", "any_of", "includes")
_SHOW_IF_KEYS = {"question", *_CONDITION_KEYS}
_SCREENING_SHOW_IF_KEYS = {"screening"}
_TRIGGER_KEYS = {"criterion", "when"}
_WARNING_KEYS = {"when", "public_body", "text", "before_approval"}
_TEXT_KEYS = {"sv", "en"}
# Which question types can take a suggestion from each platform fact (see ``facts.py``).
_SUGGEST_TYPES = {
    "eu_entity": ("text", "long_text"),
    "transfer_tool": ("single_choice",),  # the fact is an option value of the question
    "transfer_basis": ("text", "long_text"),
    "joint_controller_addendum": ("yes_no", "single_choice"),  # a single_choice needs 'yes' and 'no'
    "addendum_name": ("text", "long_text"),
}


class Validator:
    def __init__(self, name: str):
        self.name = name
        self.all_question_keys: set[object] = set()
        self.requirements: dict[str, Requirement] | None = None  # None: the file declares none
        self.criteria: dict[str, Criterion] = {}  # empty: the file has no screening block
        # Questions shown only for a screening outcome, directly or through their show_if chain.
        self.screening_dependent: set[str] = set()

    def fail(self, where: str, message: str, node: object = None) -> CatalogError:
        line = getattr(node, "line", None)
        prefix = f"{self.name}: {where}: " if where else f"{self.name}: "
        suffix = f" (line {line})" if line else ""
        return CatalogError(prefix + message + suffix, file=self.name, path=where or None, line=line)

    # generic helpers

    def mapping(self, value: object, where: str, what: str, parent: object = None) -> YamlMapping:
        if not isinstance(value, dict):
            raise self.fail(where, f"{what} must be a mapping, got {kind_of(value)}", parent)
        return value  # type: ignore[return-value]

    def keys(self, mapping: YamlMapping, where: str, allowed: Collection[str], required: tuple[str, ...]) -> None:
        unknown = [k for k in mapping if k not in allowed]
        if unknown:
            raise self.fail(where, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})",
                            mapping)
        for key in required:
            if key not in mapping:
                raise self.fail(where, f"missing required key {key!r}", mapping)

    def string(self, value: object, where: str, field: str, node: object, pattern: re.Pattern | None = None,
               pattern_text: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{field} must be a non-empty string, got {kind_of(value)}", node)
        if pattern is not None and not pattern.match(value):
            raise self.fail(where, f"{field} {value!r} must match {pattern_text}", node)
        return value

    def boolean(self, mapping: YamlMapping, key: str, default: bool, where: str) -> bool:
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(where, f"{key} must be true or false, got {kind_of(value)}", mapping)
        return value

    def string_list(self, value: object, where: str, field: str, node: object,
                    pattern: re.Pattern | None = None, pattern_text: str = "") -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"{field} must be a list, got {kind_of(value)}", node)
        items = tuple(self.string(item, where, f"{field}[{i}]", node, pattern, pattern_text)
                      for i, item in enumerate(value))
        seen: set[str] = set()
        for item in items:
            if item in seen:
                raise self.fail(where, f"{field} lists {item!r} twice", node)
            seen.add(item)
        return items

    def text(self, value: object, where: str, field: str, parent: object) -> Text:
        # Every text needs both languages: the English UI must never fall back to Swedish silently.
        mapping = self.mapping(value, where, f"{field} (a text with 'sv' and 'en')", parent)
        unknown = [k for k in mapping if k not in _TEXT_KEYS]
        if unknown:
            raise self.fail(where, f"{field}: unknown language {unknown[0]!r} (allowed: en, sv)", mapping)
        parts = {}
        for lang in ("sv", "en"):
            part = mapping.get(lang)
            if not isinstance(part, str) or not part.strip():
                state = "missing" if lang not in mapping else f"empty or not a string ({kind_of(part)})"
                raise self.fail(where, f"{field}: {lang!r} text is {state}", mapping)
            parts[lang] = part.strip()
        return Text(**parts)

    # the format

    def catalog(self, data: object, path: Path) -> Catalog:
        top = self.mapping(data, "", "the file")
        self.keys(top, "", _CATALOG_KEYS, ("id", "version", "title", "sections"))
        catalog_id = self.string(top["id"], "id", "id", top, ID_RE, "[a-z][a-z0-9-]*")
        version = top["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.fail("version", f"version must be a positive integer, got {version!r}", top)
        expected = f"{catalog_id}-{version}.yaml"
        if path.name != expected:
            raise self.fail("", f"file name must be {expected!r} for id {catalog_id!r} and version "
                            f"{version} (file name and contents disagree)", top)
        title = self.text(top["title"], "title", "title", top)
        if "requirements" in top:
            self.requirements = self.requirements_block(top["requirements"], top)
        if "screening" in top:
            self.criteria = self.screening_block(top["screening"], top)
        raw_sections = top["sections"]
        if not isinstance(raw_sections, list) or not raw_sections:
            raise self.fail("sections", "sections must be a non-empty list", top)

        # All keys in the file, only to tell "comes later" from "does not exist" in show_if errors.
        self.all_question_keys = {
            q.get("key") for s in raw_sections if isinstance(s, dict) and isinstance(s.get("questions"), list)
            for q in s["questions"] if isinstance(q, dict)}
        sections: list[Section] = []
        section_keys: set[str] = set()
        questions: dict[str, Question] = {}  # in catalogue order, for show_if checks
        for s_index, raw_section in enumerate(raw_sections):
            section = self.section(raw_section, s_index, section_keys, questions, top)
            sections.append(section)
        return Catalog(id=catalog_id, version=version, title=title, sections=tuple(sections),
                       source=str(path), requirements=tuple((self.requirements or {}).values()),
                       screening_criteria=tuple(self.criteria.values()))

    def keyed_items(self, raw: object, path: str, noun: str, allowed: frozenset[str] | set[str],
                    required: tuple[str, ...], parent: object):
        """Each mapping of a non-empty list whose items carry a unique ``key``: yields (where, key, item)
        with ``where`` naming the item for error messages; shared by requirements and screening criteria."""
        if not isinstance(raw, list) or not raw:
            raise self.fail(path.split(".")[0], f"{path} must be a non-empty list", parent)
        seen: set[str] = set()
        for index, raw_item in enumerate(raw):
            where = f"{path}[{index}]"
            item = self.mapping(raw_item, where, f"a {noun}", parent)
            key = item.get("key")
            if isinstance(key, str):
                where = f"{where} (key {key!r})"
            self.keys(item, where, allowed, required)
            key = self.string(key, where, "key", item, TAG_RE, "[a-z0-9_]+")
            if key in seen:
                raise self.fail(where, f"duplicate {noun} key {key!r}", item)
            seen.add(key)
            yield where, key, item

    def requirements_block(self, raw: object, parent: object) -> dict[str, Requirement]:
        return {key: Requirement(key=key, label=self.text(item["label"], where, "label", item),
                                 ref=self.string(item["ref"], where, "ref", item).strip())
                for where, key, item in self.keyed_items(raw, "requirements", "requirement",
                                                         _REQUIREMENT_KEYS, ("key", "label", "ref"), parent)}

    def screening_block(self, raw: object, parent: object) -> dict[str, Criterion]:
        block = self.mapping(raw, "screening", "screening", parent)
        self.keys(block, "screening", _SCREENING_KEYS, ("criteria",))
        found: dict[str, Criterion] = {}
        for where, key, item in self.keyed_items(block["criteria"], "screening.criteria", "criterion",
                                                 _CRITERION_KEYS, ("key", "label"), block):
            if self.requirements is None or key not in self.requirements:
                missing = " (the file has no requirements block)" if self.requirements is None else ""
                raise self.fail(where, f"criterion {key!r} is not declared under requirements{missing}; "
                                "every criterion is also a requirement", item)
            found[key] = Criterion(key=key, label=self.text(item["label"], where, "label", item))
        return found

    def section(self, raw: object, s_index: int, section_keys: set[str], questions: dict[str, Question],
                parent: object) -> Section:
        where = f"sections[{s_index}]"
        mapping = self.mapping(raw, where, "a section", parent)
        key = mapping.get("key")
        if isinstance(key, str):
            where = f"{where} (key {key!r})"
        self.keys(mapping, where, _SECTION_KEYS, ("key", "title", "questions"))
        key = self.string(key, where, "key", mapping, _KEY_RE, "[a-z][a-z0-9_]*")
        if key in section_keys:
            raise self.fail(where, f"duplicate section key {key!r}", mapping)
        section_keys.add(key)
        title = self.text(mapping["title"], where, "title", mapping)
        intro = self.text(mapping["intro"], where, "intro", mapping) if "intro" in mapping else None
        raw_questions = mapping["questions"]
        if not isinstance(raw_questions, list) or not raw_questions:
            raise self.fail(where, "questions must be a non-empty list", mapping)
        section_questions = []
        for q_index, raw_question in enumerate(raw_questions):
            question = self.question(raw_question, f"sections[{s_index}].questions[{q_index}]", key,
                                     questions, mapping)
            questions[question.key] = question
            section_questions.append(question)
        return Section(key=key, title=title, intro=intro, questions=tuple(section_questions))

    def question(self, raw: object, where: str, section_key: str, earlier: dict[str, Question],
                 parent: object) -> Question:
        mapping = self.mapping(raw, where, "a question", parent)
        key = mapping.get("key")
        if isinstance(key, str):
            where = f"{where} (key {key!r})"
        self.keys(mapping, where, _QUESTION_KEYS, ("key", "type", "text"))
        key = self.string(key, where, "key", mapping, _KEY_RE, "[a-z][a-z0-9_]*")
        if key in earlier:
            other = earlier[key]
            raise self.fail(where, f"duplicate question key {key!r} (already used in section "
                            f"{other.section_key!r}); question keys must be unique in the catalogue",
                            mapping)
        qtype = mapping["type"]
        if qtype not in QUESTION_TYPES:
            raise self.fail(where, f"unknown type {qtype!r} (allowed: {', '.join(QUESTION_TYPES)})", mapping)
        text = self.text(mapping["text"], where, "text", mapping)
        help_text = self.text(mapping["help"], where, "help", mapping) if "help" in mapping else None
        report_label = (self.text(mapping["report_label"], where, "report_label", mapping)
                        if "report_label" in mapping else None)
        refs = self.string_list(mapping.get("refs", []), where, "refs", mapping)
        tags = self.string_list(mapping.get("tags", []), where, "tags", mapping, TAG_RE, "[a-z0-9_]+")
        if self.requirements is not None:
            for tag in tags:
                if tag not in self.requirements:
                    raise self.fail(where, f"tag {tag!r} is not declared under requirements", mapping)
        required = self.boolean(mapping, "required", True, where)
        per_platform = self.boolean(mapping, "per_platform", False, where)
        options = self.options(mapping, qtype, where)
        show_if = (self.show_if(mapping["show_if"], where, per_platform, earlier, mapping)
                   if "show_if" in mapping else None)
        triggers = self.triggers(mapping, where, key, qtype, options)
        warnings = self.warnings(mapping, where, key, qtype, options)
        suggest = self.suggest(mapping, where, qtype, options, per_platform)

        if show_if is not None and (show_if.is_screening or show_if.question in self.screening_dependent):
            # Shown only for a screening outcome: its answer cannot also decide that outcome.
            self.screening_dependent.add(key)
            criterion_tags = [t for t in tags if t in self.criteria] if qtype == "yes_no" else []
            if triggers or criterion_tags:
                how = (f"triggers criterion {triggers[0].criterion!r}" if triggers
                       else f"is a yes_no question tagged with criterion {criterion_tags[0]!r}")
                raise self.fail(where, f"the question {how}, but is shown only for a screening outcome "
                                "(show_if: screening, directly or through the question it depends on); "
                                "its answer cannot decide the outcome it depends on", mapping)
        return Question(key=key, type=qtype, text=text, report_label=report_label, help=help_text, refs=refs,
                        tags=tags,
                        required=required, per_platform=per_platform, options=options, show_if=show_if,
                        section_key=section_key, triggers=triggers, warnings=warnings, suggest=suggest)

    def options(self, mapping: YamlMapping, qtype: str, where: str) -> tuple[Option, ...]:
        if qtype not in CHOICE_TYPES:
            if "options" in mapping:
                extra = " (yes_no always has the values 'yes' and 'no')" if qtype == "yes_no" else ""
                raise self.fail(where, f"options are not allowed for type {qtype!r}{extra}", mapping)
            return ()
        raw = mapping.get("options")
        if raw is None:
            raise self.fail(where, f"type {qtype!r} needs options", mapping)
        if not isinstance(raw, list) or len(raw) < 2:
            raise self.fail(where, f"options must be a list of at least two options for type {qtype!r}",
                            mapping)
        options = []
        values: set[str] = set()
        for o_index, raw_option in enumerate(raw):
            o_where = f"{where}.options[{o_index}]"
            option = self.mapping(raw_option, o_where, "an option", mapping)
            self.keys(option, o_where, _OPTION_KEYS, ("value", "label"))
            value = self.string(option["value"], o_where, "value", option, _VALUE_RE, "[a-z0-9_]+")
            if value in values:
                raise self.fail(o_where, f"duplicate option value {value!r}", option)
            values.add(value)
            options.append(Option(value=value, label=self.text(option["label"], o_where, "label", option)))
        return tuple(options)

    def show_if(self, raw: object, where: str, per_platform: bool, earlier: dict[str, Question],
                parent: object) -> ShowIf:
        mapping = self.mapping(raw, where, "show_if", parent)
        if "screening" in mapping:
            if "question" in mapping:
                raise self.fail(where, "show_if has either question (with equals, any_of or includes) or "
                                "screening, not both", mapping)
            return self.screening_show_if(mapping, where)
        self.keys(mapping, f"{where}.show_if", _SHOW_IF_KEYS, ("question",))
        ref_key = self.string(mapping["question"], where, "show_if.question", mapping)
        conditions = [k for k in _CONDITION_KEYS if k in mapping]
        if len(conditions) != 1:
            raise self.fail(where, "show_if needs exactly one of equals, any_of, includes; got "
                            f"{', '.join(conditions) or 'none'}", mapping)
        if ref_key not in earlier:
            # Only earlier questions count: the form is filled in order and a condition must never
            # depend on something the user has not reached yet (this also rules out cycles).
            if ref_key == _key_of(where):
                raise self.fail(where, f"show_if refers to the question itself ({ref_key!r})", mapping)
            if ref_key in self.all_question_keys:
                raise self.fail(where, f"show_if refers to question {ref_key!r}, which comes later; a "
                                "condition may only refer to an earlier question", mapping)
            raise self.fail(where, f"show_if refers to unknown question {ref_key!r} (it must exist and "
                            "come earlier in the catalogue)", mapping)
        target = earlier[ref_key]
        if target.per_platform and not per_platform:
            raise self.fail(where, f"a global question cannot depend on the per-platform question "
                            f"{ref_key!r} (which platform's answer would decide?)", mapping)
        if not _comparable(target.type):
            raise self.fail(where, f"show_if refers to question {ref_key!r} of type {target.type!r}; only "
                            "single_choice, multiple_choice and yes_no answers can be compared", mapping)
        condition = self.comparison(mapping, where, "show_if", ref_key, target.type, target.options)
        return ShowIf(question=ref_key, equals=condition.equals, any_of=condition.any_of,
                      includes=condition.includes)

    def screening_show_if(self, mapping: YamlMapping, where: str) -> ShowIf:
        self.keys(mapping, f"{where}.show_if", _SCREENING_SHOW_IF_KEYS, ("screening",))
        if not self.criteria:
            raise self.fail(where, "show_if.screening needs a screening block with criteria in the file "
                            "(without one the screening outcome is never assessed)", mapping)
        levels = self.string_list(mapping["screening"], where, "show_if.screening", mapping)
        if not levels:
            raise self.fail(where, "show_if.screening must not be empty", mapping)
        for level in levels:
            if level not in SCREENING_LEVELS:
                raise self.fail(where, f"show_if.screening level {level!r} is unknown (allowed: "
                                f"{', '.join(SCREENING_LEVELS)})", mapping)
        return ShowIf(screening=levels)

    def comparison(self, mapping: YamlMapping, where: str, field: str, ref_key: str, ref_type: str,
                   ref_options: tuple[Option, ...]) -> Condition:
        """equals | any_of | includes in ``mapping``, checked against the answers of question ``ref_key``
        (of a comparable type)."""
        conditions = [k for k in _CONDITION_KEYS if k in mapping]
        if len(conditions) != 1:
            raise self.fail(where, f"{field} needs exactly one of equals, any_of, includes; got "
                            f"{', '.join(conditions) or 'none'}", mapping)
        condition = conditions[0]
        is_multi = ref_type == "multiple_choice"
        if condition == "includes" and not is_multi:
            raise self.fail(where, f"{field}.includes needs a multiple_choice question, but {ref_key!r} is "
                            f"{ref_type!r} (use equals or any_of)", mapping)
        if condition != "includes" and is_multi:
            raise self.fail(where, f"{field}.{condition} needs a single-valued question, but {ref_key!r} is "
                            "multiple_choice (use includes)", mapping)
        allowed = YES_NO_VALUES if ref_type == "yes_no" else tuple(o.value for o in ref_options)
        if condition == "any_of":
            values = self.string_list(mapping["any_of"], where, f"{field}.any_of", mapping)
            if not values:
                raise self.fail(where, f"{field}.any_of must not be empty", mapping)
        else:
            values = (self.string(mapping[condition], where, f"{field}.{condition}", mapping),)
        for value in values:
            if value not in allowed:
                raise self.fail(where, f"{field}.{condition} value {value!r} is not an option of question "
                                f"{ref_key!r} (options: {', '.join(allowed)})", mapping)
        if condition == "any_of":
            return Condition(any_of=values)
        return Condition(equals=values[0]) if condition == "equals" else Condition(includes=values[0])

    def own_condition(self, raw: object, where: str, key: str, qtype: str, options: tuple[Option, ...],
                      parent: object) -> Condition:
        """The ``when`` of a trigger or warning: a condition on the question's own answer."""
        mapping = self.mapping(raw, where, "when", parent)
        self.keys(mapping, f"{where}.when", set(_CONDITION_KEYS), ())
        return self.comparison(mapping, where, "when", key, qtype, options)

    def entries(self, mapping: YamlMapping, field: str, where: str, key: str, qtype: str) -> list[object]:
        raw = mapping.get(field, [])
        if not isinstance(raw, list):
            raise self.fail(where, f"{field} must be a list, got {kind_of(raw)}", mapping)
        if raw and not _comparable(qtype):
            raise self.fail(where, f"{field} need an answer to compare, but question {key!r} is of type "
                            f"{qtype!r}; only single_choice, multiple_choice and yes_no answers can be "
                            "compared", mapping)
        return raw

    def triggers(self, mapping: YamlMapping, where: str, key: str, qtype: str,
                 options: tuple[Option, ...]) -> tuple[Trigger, ...]:
        raw = self.entries(mapping, "triggers", where, key, qtype)
        if raw and not self.criteria:
            raise self.fail(where, "triggers need a screening block with criteria in the file", mapping)
        triggers = []
        for index, raw_item in enumerate(raw):
            t_where = f"{where}.triggers[{index}]"
            item = self.mapping(raw_item, t_where, "a trigger", mapping)
            self.keys(item, t_where, _TRIGGER_KEYS, ("criterion", "when"))
            criterion = self.string(item["criterion"], t_where, "criterion", item)
            if criterion not in self.criteria:
                raise self.fail(t_where, f"criterion {criterion!r} is not declared under screening.criteria "
                                f"(declared: {', '.join(self.criteria)})", item)
            when = self.own_condition(item["when"], t_where, key, qtype, options, item)
            triggers.append(Trigger(criterion=criterion, when=when))
        return tuple(triggers)

    def warnings(self, mapping: YamlMapping, where: str, key: str, qtype: str,
                 options: tuple[Option, ...]) -> tuple[Warning, ...]:
        raw = self.entries(mapping, "warnings", where, key, qtype)
        warnings = []
        for index, raw_item in enumerate(raw):
            w_where = f"{where}.warnings[{index}]"
            item = self.mapping(raw_item, w_where, "a warning", mapping)
            self.keys(item, w_where, _WARNING_KEYS, ("when", "text"))
            when = self.own_condition(item["when"], w_where, key, qtype, options, item)
            public_body = item.get("public_body")
            if "public_body" in item and not isinstance(public_body, bool):
                raise self.fail(w_where, f"public_body must be true or false (leave it out for everyone), "
                                f"got {kind_of(public_body)}", item)
            before_approval = item.get("before_approval", False)
            if not isinstance(before_approval, bool):
                raise self.fail(w_where, f"before_approval must be true or false, got {kind_of(before_approval)}",
                                item)
            warnings.append(Warning(when=when, public_body=public_body,
                                    text=self.text(item["text"], w_where, "text", item),
                                    before_approval=before_approval))
        return tuple(warnings)

    def suggest(self, mapping: YamlMapping, where: str, qtype: str, options: tuple[Option, ...],
                per_platform: bool) -> str | None:
        if "suggest" not in mapping:
            return None
        field = self.string(mapping["suggest"], where, "suggest", mapping)
        if not per_platform:
            raise self.fail(where, f"suggest ({field!r}) is only allowed on per_platform questions (platform "
                            "facts are per platform)", mapping)
        if field not in FACT_FIELDS:
            raise self.fail(where, f"suggest {field!r} is not a platform fact (allowed: "
                            f"{', '.join(FACT_FIELDS)})", mapping)
        types = _SUGGEST_TYPES[field]
        if qtype not in types:
            raise self.fail(where, f"suggest {field!r} cannot fill a question of type {qtype!r} (allowed: "
                            f"{', '.join(types)})", mapping)
        if field == "joint_controller_addendum" and qtype == "single_choice":
            values = {o.value for o in options}
            if not set(YES_NO_VALUES) <= values:
                raise self.fail(where, "suggest 'joint_controller_addendum' on a single_choice question "
                                "needs the options 'yes' and 'no'", mapping)
        return field


def _comparable(qtype: str) -> bool:
    return qtype == "yes_no" or qtype in CHOICE_TYPES


def _key_of(where: str) -> str | None:
    match = re.search(r"\(key '([^']*)'\)$", where)
    return match.group(1) if match else None


def kind_of(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else "a string"
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__
