"""A wizard question's fixed HTML rendered once and reused, with the request's answer filled in.

Most of a step page is the catalogue written out as HTML: a question's text, help, legal references,
condition and options are the same for every request that shows it in the same catalogue version, the same
assessment language and the same interface language. Rendering them through the ``question`` and ``field``
macros was most of a step's time (docs/benchmarks.md). Here each question is rendered once, through the same
macro, with no answer and a marker where the answer goes, and kept; a request then writes the kept HTML
with its answer put in at the marker: ``checked`` before each chosen option, or the escaped text of a text,
long-text or date control, exactly as the macro would (tests/test_rendering.py compares the two, byte for
byte, over every step of every demo).

A question with anything else of its own in this request (an error, a warning, a suggestion from the
platform facts, a comment thread) is rendered by the macro, as is one whose control the macro leaves to
WTForms (``forms.plain_choices`` / ``forms.plain_control`` return None).

What is kept is keyed by the catalogue object (a new catalogue version is another object, and the cache
holds the object so that its id cannot be reused), the template object (reloaded templates are new
objects), the assessment's and the interface's language, the field's name and its label (which names an
"other" platform as the assessment does). ``QUESTION_CACHE = False`` in the configuration turns it off.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import get_locale
from markupsafe import Markup, escape

from .answers import Slot
from .catalog import Catalog

TEMPLATE = "assessments/_question.html"
# Where the answer goes in a text control: a string no rendering step changes (autoescaping leaves it), and
# no stored answer contains (control characters are refused in every text).
_MARKER = "\x00konsekvens-answer\x00"
_CHECKED = "checked "
_EXTRA = "\x00konsekvens-extra\x00"
_MAX_ENTRIES = 4096  # "other" platform names make new labels; past this the cache starts again

# key -> (catalogue, template, entry); an entry is ("choices", parts) with one more part than there are
# options, ("value", parts) with two, or None for a question the macro must always render.
_CACHE: dict[tuple, tuple[Catalog, Any, tuple[str, tuple[str, ...]] | None]] = {}


# (key, template) -> (template, html): fragments that depend on nothing but what their key names (kept()).
_KEPT: dict[tuple, tuple[Any, Markup]] = {}


def clear() -> None:
    _CACHE.clear()
    _KEPT.clear()


def kept(key: tuple, template, produce: Callable[[], Markup]) -> Markup:
    """``produce()`` written once per ``key`` and ``template`` (the template object it renders: a reloaded
    template is a new object) and kept; with ``QUESTION_CACHE = False``, every time. The caller's key must
    name everything the fragment depends on."""
    if not current_app.config.get("QUESTION_CACHE", True):
        return produce()
    hit = _KEPT.get(key)
    if hit is None or hit[0] is not template:
        if len(_KEPT) >= _MAX_ENTRIES:
            _KEPT.clear()
        hit = _KEPT[key] = (template, Markup(produce()))
    return hit[1]


class QuestionRenderer:
    """For the step template: ``all(slots, question)`` writes the slots' questions, each from the cache or,
    where the macro must render it (None from ``cached``), by the ``question`` macro."""

    def __init__(self, form, catalog: Catalog, lang: str, *, suggested: dict, warnings: dict,
                 threads: dict) -> None:
        self.enabled = current_app.config.get("QUESTION_CACHE", True)
        self.form, self.catalog, self.lang = form, catalog, lang
        self.suggested, self.warnings, self.threads = suggested, warnings, threads
        if self.enabled:
            self.template = current_app.jinja_env.get_template(TEMPLATE)
            self.interface = str(get_locale() or "sv")

    def all(self, slots: list[Slot], question: Callable[..., Markup],
            extra: Callable[[Slot], Markup] | None = None) -> Markup:
        """What ``{% for slot in slots %}{{ question(slot, extra) }}{% endfor %}`` writes, in one call from the
        template instead of one per question; ``extra(slot)`` (per request, never cached) is written where the
        macro writes it."""
        if not self.enabled:
            return Markup("".join([question(slot, extra) for slot in slots]))
        return Markup("".join([self.cached(slot, extra) or question(slot, extra) for slot in slots]))

    def cached(self, slot: Slot, extra: Callable[[Slot], Markup] | None = None) -> str | None:
        """The question's HTML from the cache, ``extra(slot)`` where the macro writes it, or None where the
        macro must render it."""
        if not self.enabled:
            return None
        name = slot.field_name
        field = self.form[name]
        if field.errors or self.suggested.get(name) or self.warnings.get(name) or self.threads.get(slot.key):
            return None
        catalog, template = self.catalog, self.template
        key = (id(catalog), id(template), self.lang, self.interface, name, str(field.label.text))
        hit = _CACHE.get(key)
        if hit is None or hit[0] is not catalog or hit[1] is not template:
            if len(_CACHE) >= _MAX_ENTRIES:
                _CACHE.clear()
            hit = _CACHE[key] = (catalog, template, _blank(template, type(self.form), catalog, self.lang,
                                                           self.interface, slot))
        entry = hit[2]
        if entry is None:
            return None
        kind, parts = entry
        # Where the macro writes ``extra`` (one part holds the marker), before the answer goes in.
        after = str(extra(slot)) if extra else ""
        parts = tuple(part.replace(_EXTRA, after) for part in parts)
        if kind == "value":
            return f"{parts[0]}{escape(field._value())}{parts[1]}"
        chosen = [choice.selected for choice in field.iter_choices()]
        if len(chosen) != len(parts) - 1:
            return None
        out = [parts[0]]
        for checked, part in zip(chosen, parts[1:], strict=True):
            if checked:
                out.append(_CHECKED)
            out.append(part)
        return "".join(out)


def _blank(template, form_class, catalog: Catalog, lang: str, interface: str, slot: Slot):
    """The question rendered by the macro without an answer, cut where the answer goes; None if it cannot
    be cut safely (the macro then renders it every time)."""
    form = form_class(formdata=None, meta={"csrf": False})
    field = form[slot.field_name]
    is_choice = field.type in ("RadioField", "MultiCheckboxField")
    if not is_choice:
        if field.type not in ("StringField", "TextAreaField", "DateField"):
            return None
        field._value = lambda: _MARKER  # the instance's own, for this one rendering
    module = template.make_module({
        "form": form, "catalog": catalog, "lang": lang, "current_lang": interface, "suggested": {},
        "warnings": {}, "threads": {}, "can_comment": False, "assessment": None, "today": None,
    })
    html = str(module.question(slot, lambda _slot: Markup(_EXTRA)))
    if html.count(_EXTRA) != 1:
        return None
    if not is_choice:
        parts = html.split(_MARKER)
        return ("value", tuple(parts)) if len(parts) == 2 else None
    parts, rest = [], html
    for index, _choice in enumerate(field.iter_choices()):
        anchor = f'<input id="{escape(f"{field.id}-{index}")}" '
        if html.count(anchor) != 1:
            return None  # not the macro's own options (WTForms wrote them)
        before, after = rest.split(anchor, 1)
        parts.append(before + "<input ")
        rest = anchor[len("<input "):] + after
    parts.append(rest)
    return ("choices", tuple(parts))
