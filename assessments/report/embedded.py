"""The files a sealed report embeds, checked against the list its record gives (docs/record-format.md,
"Evidence"): every evidence file the record lists is embedded once under its name, with the SHA-256, size,
MIME type and relationship the record gives, and nothing is embedded that the record does not list.

The seal covers the whole file and its reason names the record's SHA-256, so a report whose seal is valid
carries the files its signer sealed; this check says, file by file, whether those are the files the record
(the signed list) names. A swapped attachment fails here even in a document sealed again afterwards, and a
document sealed before evidence could be attached (no ``evidence`` key, or ``answers.json``) passes when it
embeds nothing but its record. Problems are English lines for ``flask verify``, ``archive verify`` and the
verification page.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .record import RECORD_FILE, RECORD_FILES
from .verification import EmbeddedFile


@dataclass(frozen=True)
class EvidenceCheck:
    listed: int  # evidence files the record lists
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _listed_evidence(files: list[EmbeddedFile]) -> list[dict[str, Any]] | None:
    """The record's evidence list; None when the record cannot be read (its own check reports that)."""
    record = next((item for item in files if item.name == RECORD_FILE and item.data is not None), None)
    if record is None:
        return []  # answers.json, or no record at all: no evidence can be listed
    try:
        document = json.loads(record.data.decode("utf-8"))  # type: ignore[union-attr]
    except (UnicodeDecodeError, ValueError):
        return None
    listed = document.get("evidence", []) if isinstance(document, dict) else None
    if not isinstance(listed, list) or not all(isinstance(entry, dict) for entry in listed):
        return None
    return listed


def check_evidence(files: list[EmbeddedFile]) -> EvidenceCheck:
    """``files``: every embedded file of the document (``verification.embedded_files``)."""
    listed = _listed_evidence(files)
    if listed is None:
        return EvidenceCheck(0, ("The record's evidence list cannot be read, so the embedded files cannot be "
                                 "checked against it.",))
    problems: list[str] = []
    counts = Counter(item.name for item in files)
    problems += [f"{name} is embedded {count} times." for name, count in sorted(counts.items(), key=str)
                 if count > 1]
    expected = {entry.get("file"): entry for entry in listed}
    for item in files:
        if item.name not in expected and item.name not in RECORD_FILES:
            problems.append(f"{item.name} is embedded but the record does not list it.")
    named = {item.name: item for item in files}
    for name, entry in expected.items():
        found = named.get(name)
        if found is None or found.data is None:
            problems.append(f"{name} is listed in the record but not embedded.")
            continue
        item, data = found, found.data
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            problems.append(f"{name} does not match the SHA-256 the record gives: it is not the file that was "
                            f"signed.")
        elif len(data) != entry.get("size"):
            problems.append(f"{name} does not have the size the record gives.")
        if item.relationship != entry.get("relationship"):
            problems.append(f"{name} is embedded with the relationship {item.relationship}, the record says "
                            f"{entry.get('relationship')}.")
        if item.mime_type != entry.get("mime_type"):
            problems.append(f"{name} is embedded as {item.mime_type}, the record says {entry.get('mime_type')}.")
    return EvidenceCheck(len(listed), tuple(problems))
