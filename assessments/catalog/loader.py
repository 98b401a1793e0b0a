"""Finding and loading catalogue files (``data/<id>-<version>.yaml``): each is read strictly
(yaml_reader.py), validated completely (validation.py) and cached, so a Catalog can be trusted as it is."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from .model import Catalog, CatalogError
from .validation import ID_RE, Validator
from .yaml_reader import read_yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
MAX_VERSION = 2**31 - 1  # the largest the catalog_version column (INTEGER) holds
_FILE_RE = re.compile(r"(?P<id>[a-z][a-z0-9-]*)-(?P<version>[1-9][0-9]*)\.yaml\Z")


def load_catalog_file(path: str | Path) -> Catalog:
    """Load and validate one catalogue file; CatalogError names the file, the place and the line."""
    path = Path(path)
    name = path.name
    return Validator(name).catalog(read_yaml(path, name), path)


def available_catalogs() -> list[tuple[str, int]]:
    """(id, version) of every catalogue file shipped with the application, sorted."""
    found = []
    for path in DATA_DIR.glob("*.yaml"):
        match = _FILE_RE.match(path.name)
        if match:
            found.append((match["id"], int(match["version"])))
    return sorted(found)


@functools.cache
def _cached_catalog(catalog_id: str, version: int) -> Catalog:
    path = DATA_DIR / f"{catalog_id}-{version}.yaml"
    if not path.is_file():
        raise CatalogError(f"unknown catalogue {catalog_id!r} version {version}")
    return load_catalog_file(path)


def get_catalog(catalog_id: str, version: int) -> Catalog:
    """The catalogue an assessment was started on. Cached: the same object for the same id and version.

    The id and version usually come from the database or a URL, so they are checked before they are
    turned into a file name.
    """
    # Bounded like the columns that store them (models.Assessment.catalog_id, String(64)), so that neither
    # can make a file name the file system refuses (a 4,000-digit version from an import was a 500).
    if not isinstance(catalog_id, str) or len(catalog_id) > 64 or not ID_RE.match(catalog_id):
        raise CatalogError(f"unknown catalogue {catalog_id!r:.80}: not a valid catalogue id")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise CatalogError(f"unknown catalogue {catalog_id!r} version {version!r:.80}: not a version number")
    return _cached_catalog(catalog_id, version)


get_catalog.cache_clear = _cached_catalog.cache_clear  # type: ignore[attr-defined]


def latest_catalog(catalog_id: str = "social-media") -> Catalog:
    """The newest version of a catalogue: what a new assessment starts on."""
    versions = [version for cid, version in available_catalogs() if cid == catalog_id]
    if not versions:
        raise CatalogError(f"unknown catalogue {catalog_id!r}: no version found")
    return get_catalog(catalog_id, max(versions))
