"""The first run's demo: every role of every demo organisation has something to see and to do.

For each demo file of the latest catalogue (``<organisation>-<version>.yaml``) the organisation gets, with
the file's answers, the assessments a team meets in a working week:

- **approved**: submitted, approved and sealed by the legal reviewer; its signed PDF is in the archive;
- **in review**: submitted, the DPO's advice not yet given, so the legal reviewer has something to review
  and the DPO something to advise on (Art. 35(2));
- **changes requested**: submitted, then sent back by the legal reviewer with a comment on one question,
  the verdict "to correct" on its step and the reason, so the communicator has something to fix;
- **draft**: the first two steps answered, where the communicator continues.

The titles, the comment and the reason are in the file under ``scenes``. A scene that exists (same
organisation, title and catalogue version) is left as it is, so ``flask demo`` can run at every start
without duplicating anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import review, workflow
from ..catalog import get_catalog
from ..documents import document_of
from ..extensions import db
from ..models import Assessment, Organisation, Role, Verdict
from ..signoff import archive, sign_approval
from . import create_demo_assessment, demo_user, load_demo_assessment

APPROVED, IN_REVIEW, CHANGES_REQUESTED, DRAFT = "approved", "in_review", "changes_requested", "draft"
SCENES = (APPROVED, IN_REVIEW, CHANGES_REQUESTED, DRAFT)
DRAFT_SECTIONS = 2  # steps answered in the draft


@dataclass(frozen=True)
class Scene:
    demo: str
    kind: str
    organisation: Organisation
    assessment: Assessment
    created: bool
    document_path: str | None = None  # the signed PDF in the archive, for the approved one


def _title(spec: dict[str, Any], kind: str) -> str:
    if kind == APPROVED:
        return spec["title"]
    scene = spec["scenes"][kind]
    return scene["title"] if isinstance(scene, dict) else scene


def _existing(organisation: Organisation, title: str, version: int) -> Assessment | None:
    return db.session.scalars(select(Assessment).where(
        Assessment.organisation_id == organisation.id, Assessment.title == title,
        Assessment.catalog_version == version).order_by(Assessment.id)).first()


def _signed_path(assessment: Assessment) -> str | None:
    document = document_of(assessment)
    return str(archive().path_for(document.path)) if document else None


def ensure_scene(name: str, kind: str) -> Scene:
    """The scene ``kind`` of demo ``name``: found, or made and committed (raises DomainError when a step is
    refused, e.g. a seal is missing; nothing of that scene is kept then)."""
    spec = load_demo_assessment(name)
    organisation = db.session.scalars(select(Organisation).where(Organisation.slug == spec["organisation"])).one()
    title = _title(spec, kind)
    found = _existing(organisation, title, spec["catalogue"]["version"])
    if found is not None:
        return Scene(name, kind, organisation, found, False, _signed_path(found))
    try:
        assessment = _make(name, kind, spec, title)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return Scene(name, kind, organisation, assessment, True, _signed_path(assessment))


def _make(name: str, kind: str, spec: dict[str, Any], title: str) -> Assessment:
    if kind == DRAFT:
        return create_demo_assessment(name, title=title, sections=DRAFT_SECTIONS)
    assessment = create_demo_assessment(name, title=title, dpo_advice=kind != IN_REVIEW)
    author = assessment.author
    workflow.submit_for_review(assessment, author)
    db.session.flush()
    legal = demo_user(assessment.organisation_id, Role.LEGAL)
    if kind == APPROVED:
        sign_approval(assessment, legal, expected_version=assessment.version)
    elif kind == CHANGES_REQUESTED:
        scene = spec["scenes"][CHANGES_REQUESTED]
        catalog = get_catalog(assessment.catalog_id, assessment.catalog_version)
        question = catalog.question(scene["comment"]["question"])
        section = next(s for s in catalog.sections if question in s.questions)
        review.add_comment(assessment, legal, scene["comment"]["text"], question=question.key,
                           platform=assessment.platforms[0] if question.per_platform else "")
        review.set_verdict(assessment, legal, section.key, Verdict.TO_CORRECT.value, "")
        workflow.request_changes(assessment, legal, scene["reason"])
    return assessment


def ensure_all(names: list[str]) -> list[Scene]:
    return [ensure_scene(name, kind) for name in names for kind in SCENES]


def guide(scenes: list[Scene]) -> list[str]:
    """Who should look at what, per organisation: the lines ``flask demo`` prints."""
    lines: list[str] = []
    by_org: dict[int, dict[str, Scene]] = {}
    for scene in scenes:
        by_org.setdefault(scene.organisation.id, {})[scene.kind] = scene
    for kinds in by_org.values():
        org = next(iter(kinds.values())).organisation
        domain = demo_user(org.id, Role.COMMUNICATOR).email.split("@", 1)[1]

        def named(kind: str, kinds: dict[str, Scene] = kinds) -> str:
            return f"\u201c{kinds[kind].assessment.title}\u201d" if kind in kinds else "–"

        lines.append(f"{org.name} (@{domain}):")
        lines.append(f"  kommunikator@  fix {named(CHANGES_REQUESTED)} (sent back), "
                     f"continue the draft {named(DRAFT)}")
        lines.append(f"  jurist@        review {named(IN_REVIEW)}; the signed report of {named(APPROVED)}")
        lines.append(f"  dso@           give advice on {named(IN_REVIEW)}")
        lines.append("  admin@         the users (\u201cAnvändare\u201d) and the platform facts "
                     "(\u201cPlattformsfakta\u201d)")
        lines.append(f"  lasare@        read {named(APPROVED)} and its signed report")
    return lines
