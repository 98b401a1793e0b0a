"""PDF benchmark: the municipality's demo (latest catalogue) rendered, certified and archived by our pipeline,
against bare WeasyPrint rendering the same HTML in the same run, with hyphenation and tagging on (PDF/A-3a).
Median and spread over repeated runs.

Also measured, for the choice of hyphenation (docs/benchmarks.md): bare WeasyPrint on the same HTML without
its soft hyphens, and with CSS ``hyphens: auto`` instead of them; and bare WeasyPrint untagged (PDF/A-3b)."""
from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from weasyprint import HTML

from assessments import create_app
from assessments.answers import load_answers
from assessments.archive import Archive
from assessments.demo import create_demo_assessment, create_demo_organisations, demo_names
from assessments.extensions import db
from assessments.models import Assessment
from assessments.report.document import SOFT_HYPHEN, report_html
from assessments.report.identity import sha256_hex
from assessments.report.pdf import PDF_VARIANT, SafeURLFetcher, render_pdf
from assessments.report.record import canonical_json, record_document
from assessments.report.seal import Seal, load_seal
from assessments.report.signing import sign_pdf

DEMO = next(name for name in demo_names() if name.startswith("exempelkommun-"))


def _bare(html: str, variant: str = PDF_VARIANT) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of bare WeasyPrint on ``html``."""
    started, cpu = time.perf_counter(), time.process_time()
    HTML(string=html, base_url="asset:/", url_fetcher=SafeURLFetcher()).write_pdf(pdf_variant=variant)
    return time.perf_counter() - started, time.process_time() - cpu


@contextmanager
def demo_assessment(tmp_path: Path) -> Iterator[tuple[Assessment, Seal]]:
    """The municipality's demo assessment (latest catalogue) in a fresh SQLite instance under ``tmp_path``,
    with its organisation's seal, inside an application and request context."""
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'bench.sqlite'}", "SECRET_KEY": "bench",
                      "SEAL_DIR": str(tmp_path / "seals"), "ARCHIVE_DIR": str(tmp_path / "archive"),
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context(), app.test_request_context():
        upgrade()
        create_demo_organisations(tmp_path / "seals", "bench-password-123")
        assessment = create_demo_assessment(DEMO)
        db.session.commit()
        yield assessment, load_seal(tmp_path / "seals" / "exempelkommun.p12")


def measure(runs: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with demo_assessment(tmp_path) as (assessment, seal):
            answers = load_answers(assessment)
            archive = Archive(tmp_path / "archive")
            html_once = report_html(assessment, answers, record_sha256="0" * 64, signature=None)
            unhyphenated = html_once.replace(SOFT_HYPHEN, "")
            css_hyphens = unhyphenated.replace("</head>", "<style>html { hyphens: auto; }</style></head>")
            result = {"runs": runs, "demo": DEMO, "pages": 0, "bare": [], "ours": [], "bare_cpu": [],
                      "ours_cpu": [], "bare_untagged": [], "bare_no_hyphens": [], "bare_css_hyphens": [],
                      "soft_hyphens": html_once.count(SOFT_HYPHEN)}
            for _ in range(runs):
                wall, cpu = _bare(html_once)
                result["bare"].append(wall)
                result["bare_cpu"].append(cpu)
                result["bare_untagged"].append(_bare(html_once, "pdf/a-3b")[1])
                result["bare_no_hyphens"].append(_bare(unhyphenated)[1])
                result["bare_css_hyphens"].append(_bare(css_hyphens)[1])

                started, cpu = time.perf_counter(), time.process_time()
                record_json = canonical_json(record_document(assessment, answers, approval=None))
                html = report_html(assessment, answers, record_sha256=sha256_hex(record_json), signature=None)
                rendered = render_pdf(html, record_json=record_json, title=assessment.title, lang="sv")
                signed = sign_pdf(rendered.data, seal, box=rendered.signature_box, stamp_lines=["Benchmark"],
                                  reason="benchmark", name="Benchmark")
                archive.store(signed)
                result["ours"].append(time.perf_counter() - started)
                result["ours_cpu"].append(time.process_time() - cpu)
                result["pages"] = rendered.page_count
    return result


def summary(result: dict) -> list[str]:
    median = {key: statistics.median(result[key]) for key in
              ("bare", "ours", "bare_cpu", "ours_cpu", "bare_untagged", "bare_no_hyphens", "bare_css_hyphens")}
    spread = lambda xs: f"{min(xs):.2f}–{max(xs):.2f}"  # noqa: E731
    ours, bare = median["ours"], median["bare"]
    ratio, cpu_ratio = ours / bare, median["ours_cpu"] / median["bare_cpu"]
    return [
        "| measure | median | spread (min–max) |",
        "|---|---|---|",
        f"| bare WeasyPrint, same HTML, PDF/A-3a (tagged, soft hyphens), wall (s) | {bare:.2f} | "
        f"{spread(result['bare'])} |",
        f"| ours: record.json + HTML (soft hyphens) + PDF/A-3a + PDF/UA-1 + PAdES certification + archive, wall (s) "
        f"| {ours:.2f} | {spread(result['ours'])} |",
        f"| bare WeasyPrint, CPU (s) | {median['bare_cpu']:.2f} | {spread(result['bare_cpu'])} |",
        f"| ours, CPU (s) | {median['ours_cpu']:.2f} | {spread(result['ours_cpu'])} |",
        f"| pages | {result['pages']} | |",
        f"| ours, pages per second (wall) | {result['pages'] / ours:.1f} | |",
        f"| ratio ours / bare, wall | {ratio:.2f} | |",
        f"| ratio ours / bare, CPU | {cpu_ratio:.2f} | |",
        "",
        f"Targets: ratio ≤ 1.25 — **{'met' if max(ratio, cpu_ratio) <= 1.25 else 'NOT met'}** (wall and CPU); "
        f"absolute < 3 s — wall **{'met' if ours < 3 else 'NOT met'}**, CPU "
        f"**{'met' if median['ours_cpu'] < 3 else 'NOT met'}** (wall time includes waiting for a core when "
        "the machine is shared; CPU time does not).",
        "",
        f"The cost of hyphenation and tagging: bare WeasyPrint's CPU time on the same report "
        f"({result['soft_hyphens']} soft hyphens):",
        "",
        "| variant | median CPU (s) | spread (min–max) |",
        "|---|---|---|",
        f"| PDF/A-3a, soft hyphens (as rendered) | {median['bare_cpu']:.2f} | {spread(result['bare_cpu'])} |",
        f"| PDF/A-3b (untagged), soft hyphens | {median['bare_untagged']:.2f} | {spread(result['bare_untagged'])} |",
        f"| PDF/A-3a, no hyphenation | {median['bare_no_hyphens']:.2f} | {spread(result['bare_no_hyphens'])} |",
        f"| PDF/A-3a, CSS `hyphens: auto` instead of soft hyphens | {median['bare_css_hyphens']:.2f} | "
        f"{spread(result['bare_css_hyphens'])} |",
    ]
