"""The question catalogue: versioned YAML files, validated once at load time.

Imports nothing of the application (only the standard library and PyYAML), so every other module
may depend on it. See ``model.py`` for the answer value types, ``loader.py`` and FORMAT.md for the file
format, ``screening.py`` for the screening outcome (required, recommended, not_required, or not_assessed
for a catalogue without a screening block) and ``facts.py`` for the platform facts.
"""

from .facts import FACT_FIELDS, FactSource, PlatformFacts, check_platform_facts, load_platform_facts
from .loader import available_catalogs, get_catalog, latest_catalog, load_catalog_file
from .model import (
    PLATFORMS,
    QUESTION_TYPES,
    SCREENING_LEVELS,
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
    platform_label,
)
from .screening import (
    NOT_ASSESSED,
    ScreeningOutcome,
    TriggeredCriterion,
    applies,
    screening_dependent,
    screening_outcome,
)

__all__ = [
    "FACT_FIELDS",
    "NOT_ASSESSED",
    "PLATFORMS",
    "QUESTION_TYPES",
    "SCREENING_LEVELS",
    "Catalog",
    "CatalogError",
    "Condition",
    "Criterion",
    "FactSource",
    "Option",
    "PlatformFacts",
    "Question",
    "Requirement",
    "ScreeningOutcome",
    "Section",
    "ShowIf",
    "Text",
    "Trigger",
    "TriggeredCriterion",
    "Warning",
    "applies",
    "available_catalogs",
    "check_platform_facts",
    "get_catalog",
    "latest_catalog",
    "load_catalog_file",
    "load_platform_facts",
    "platform_label",
    "screening_dependent",
    "screening_outcome",
]
