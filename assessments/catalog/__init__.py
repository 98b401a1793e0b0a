"""The question catalogue: versioned YAML files, validated once at load time.

Imports nothing of the application (only the standard library and PyYAML), so every other module
may depend on it. See ``model.py`` for the answer value types and ``loader.py`` for the file format.
"""

from .loader import available_catalogs, get_catalog, latest_catalog, load_catalog_file
from .model import (
    PLATFORMS,
    QUESTION_TYPES,
    Catalog,
    CatalogError,
    Option,
    Question,
    Section,
    ShowIf,
    Text,
    platform_label,
)

__all__ = [
    "PLATFORMS",
    "QUESTION_TYPES",
    "Catalog",
    "CatalogError",
    "Option",
    "Question",
    "Section",
    "ShowIf",
    "Text",
    "available_catalogs",
    "get_catalog",
    "latest_catalog",
    "load_catalog_file",
    "platform_label",
]
