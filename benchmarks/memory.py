"""Memory benchmark: peak resident memory rendering and sealing a ~60-page report.

The parent builds, in a temporary SQLite database, the municipality's demo answered for six platforms with
long answers, extra risks and measures and a review (so the report reaches about 60 pages). A fresh child
process then does what approval does to the document — HTML, PDF/A-3a with record.json, PAdES seal, archive
write — and reports its peak resident set (VmHWM from /proc/self/status, which starts afresh at exec).
Not ``getrusage().ru_maxrss``: Linux carries it over from the parent across fork and exec, so under
``make bench`` it reported the parent's 448 MB (the scale benchmark's data) for a child that peaked at 191 MB.
For reference, a second fresh child creates the app and serves one
page, and reports its resident set while idle. Target: ≤ 400 MB peak.

Run alone: ``.venv/bin/python -m benchmarks.memory``.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

TARGET_MB = 400
PASSWORD = "bench-password-123"
ROOT = Path(__file__).resolve().parent.parent


def config(tmp: Path) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'memory.sqlite'}", "SECRET_KEY": "bench",
            "SEAL_DIR": str(tmp / "seals"), "ARCHIVE_DIR": str(tmp / "archive"),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------------------------------------- parent

def build(tmp: Path) -> int:
    """The big report's assessment, through the real services and the demo data. Returns its id."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from assessments import create_app
    from assessments.catalog import PLATFORMS
    from assessments.demo import create_demo_organisations
    from assessments.extensions import db
    from assessments.models import Measure, Organisation, ReviewComment, Risk, SectionVerdict, Status, User
    from assessments.risk.service import risks_of
    from benchmarks.scale import LONG, build_from_demo

    app = create_app(config(tmp))
    rng = random.Random(60)
    with app.app_context(), app.test_request_context():
        upgrade()
        create_demo_organisations(tmp / "seals", PASSWORD)
        org = db.session.scalars(select(Organisation).where(Organisation.slug == "exempelkommun")).one()
        # Six platforms (all but "other") with long answers: about 60 pages with the additions below.
        assessment = build_from_demo("exempelkommun-2", org.id, platforms=[p for p in PLATFORMS if p != "other"],
                                     long_answers=True,
                                     title="Exempelkommun i alla kanaler")
        people = list(db.session.scalars(select(User).where(User.organisation_id == org.id)))
        for n in range(3):  # the organisation's own risks, on top of the derived ones
            db.session.add(Risk(assessment_id=assessment.id, number=100 + n, rule_key=None, platform="",
                                title=f"Egen risk {n + 1}",
                                description=LONG, affected="Följare och kommentatorer", source="Intervju",
                                active=True, triggered_by=[], inherent_likelihood=rng.randint(2, 4),
                                inherent_severity=rng.randint(2, 4), residual_likelihood=rng.randint(1, 2),
                                residual_severity=rng.randint(1, 3)))
        db.session.flush()
        risks = risks_of(assessment)
        for n in range(10):
            db.session.add(Measure(assessment_id=assessment.id, title=f"Åtgärd {n + 1}: rutin och utbildning",
                                   description=LONG[:600], owner=rng.choice(people).name,
                                   due_date=date.today() + timedelta(days=7 * n), risks=rng.sample(risks, 3)))
        for n in range(10):
            db.session.add(ReviewComment(assessment_id=assessment.id, question_key=None, platform="",
                                         author_id=rng.choice(people).id, body=f"Kommentar {n + 1}: {LONG[:400]}",
                                         resolved_at=assessment.created_at))
        legal = next(p for p in people if p.role.value == "legal")
        for section in ("screening", "description", "platform", "images", "comments", "necessity", "security",
                        "consultation"):
            db.session.add(SectionVerdict(assessment_id=assessment.id, section_key=section, verdict="acceptable",
                                          note=LONG[:300], reviewer_id=legal.id))
        assessment.status = Status.IN_REVIEW
        db.session.commit()
        assessment_id = assessment.id
        db.session.remove()
        db.engine.dispose()
    return assessment_id


def child(mode: str, tmp: Path, assessment_id: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmarks.memory", mode, str(tmp), str(assessment_id)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"memory child ({mode}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(runs: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        assessment_id = build(tmp_path)
        idle = child("idle", tmp_path, assessment_id)
        reports = [child("render", tmp_path, assessment_id) for _ in range(max(1, runs))]
    return {"idle": idle, "reports": reports}


def summary(result: dict) -> list[str]:
    peaks = [r["peak_mb"] for r in result["reports"]]
    first = result["reports"][0]
    peak = max(peaks)
    idle = result["idle"]
    return [
        "| measure | value |",
        "|---|---|",
        f"| report pages | {first['pages']} |",
        f"| PDF size (signed) | {first['pdf_kb'] / 1024:.1f} MB |",
        f"| render + seal + archive, one child process (s) | {first['seconds']:.1f} |",
        f"| peak resident memory of that process (VmHWM) | {peak:.0f} MB |",
        f"| resident memory before rendering (app and libraries loaded) | {first['before_mb']:.0f} MB |",
        f"| idle app process after serving one page (VmRSS) | {idle['rss_mb']:.0f} MB |",
        "",
        f"Target: peak ≤ {TARGET_MB} MB — **{'met' if peak <= TARGET_MB else 'NOT met'}**.",
    ]


# -------------------------------------------------------------------------------------------------- child

def run_render(tmp: Path, assessment_id: int) -> dict:
    from assessments import create_app
    from assessments.answers import load_answers
    from assessments.archive import Archive
    from assessments.extensions import db
    from assessments.models import Assessment
    from assessments.report.document import report_html
    from assessments.report.identity import sha256_hex
    from assessments.report.pdf import render_pdf
    from assessments.report.record import canonical_json, record_document
    from assessments.report.seal import load_seal
    from assessments.report.signing import sign_pdf

    app = create_app(config(tmp))
    with app.app_context(), app.test_request_context():
        assessment = db.session.get(Assessment, assessment_id)
        before = status_kb("VmRSS")
        started = time.perf_counter()
        answers = load_answers(assessment)
        answers_json = canonical_json(record_document(assessment, answers, approval=None))
        html = report_html(assessment, answers, record_sha256=sha256_hex(answers_json), signature=None)
        rendered = render_pdf(html, record_json=answers_json, title=assessment.title, lang=assessment.language)
        seal = load_seal(tmp / "seals" / f"{assessment.organisation.slug}.p12")
        signed = sign_pdf(rendered.data, seal, box=rendered.signature_box, stamp_lines=["Benchmark"],
                          reason="benchmark", name="Benchmark")
        Archive(tmp / "archive").store(signed)
        seconds = time.perf_counter() - started
    return {"pages": rendered.page_count, "pdf_kb": len(signed) / 1024, "seconds": seconds,
            "before_mb": before / 1024, "peak_mb": status_kb("VmHWM") / 1024}


def run_idle(tmp: Path) -> dict:
    from assessments import create_app

    app = create_app(config(tmp))
    client = app.test_client()
    response = client.post("/login", data={"email": "jurist@exempelkommun.example", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    return {"rss_mb": status_kb("VmRSS") / 1024, "peak_mb": status_kb("VmHWM") / 1024}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("render", "idle"):
        tmp, assessment_id = Path(sys.argv[2]), int(sys.argv[3])
        result = run_render(tmp, assessment_id) if sys.argv[1] == "render" else run_idle(tmp)
        sys.stdout.write(json.dumps(result) + "\n")
        return
    started = time.perf_counter()
    result = measure(int(os.environ.get("BENCH_MEMORY_RUNS", "1")))
    sys.stdout.write("\n".join(summary(result)) + f"\n\n(total {time.perf_counter() - started:.0f} s)\n")


if __name__ == "__main__":
    main()
