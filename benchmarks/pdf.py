"""PDF benchmark: the municipality's demo rendered, sealed and archived by our pipeline,
against bare WeasyPrint rendering the same HTML in the same run. Median and spread over repeated runs."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from weasyprint import HTML

from assessments import create_app
from assessments.answers import load_answers
from assessments.archive import Archive
from assessments.demo import create_demo_assessment, create_demo_organisations
from assessments.extensions import db
from assessments.report.document import answers_document, canonical_json, report_html, sha256_hex
from assessments.report.pdf import SafeURLFetcher, render_pdf
from assessments.report.seal import load_seal
from assessments.report.signing import sign_pdf


def measure(runs: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'bench.sqlite'}", "SECRET_KEY": "bench",
                          "SEAL_DIR": str(tmp_path / "seals"), "ARCHIVE_DIR": str(tmp_path / "archive"),
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        with app.app_context(), app.test_request_context():
            from flask_migrate import upgrade

            upgrade()
            create_demo_organisations(tmp_path / "seals", "bench-password-123")
            assessment = create_demo_assessment("exempelkommun-2")
            db.session.commit()
            answers = load_answers(assessment)
            seal = load_seal(tmp_path / "seals" / "exempelkommun.p12")
            archive = Archive(tmp_path / "archive")
            html_once = report_html(assessment, answers, answers_sha256="0" * 64, signature=None)
            bare, ours, pages = [], [], 0
            for _ in range(runs):
                started = time.perf_counter()
                HTML(string=html_once, base_url="asset:/", url_fetcher=SafeURLFetcher()).write_pdf(
                    pdf_variant="pdf/a-3b")
                bare.append(time.perf_counter() - started)

                started = time.perf_counter()
                answers_json = canonical_json(answers_document(assessment, answers))
                html = report_html(assessment, answers, answers_sha256=sha256_hex(answers_json), signature=None)
                rendered = render_pdf(html, answers_json=answers_json, title=assessment.title, lang="sv")
                signed = sign_pdf(rendered.data, seal, box=rendered.signature_box, stamp_lines=["Benchmark"],
                                  reason="benchmark", name="Benchmark")
                archive.store(signed)
                ours.append(time.perf_counter() - started)
                pages = rendered.page_count
    return {"runs": runs, "pages": pages, "bare": bare, "ours": ours}


def summary(result: dict) -> list[str]:
    bare, ours = statistics.median(result["bare"]), statistics.median(result["ours"])
    spread = lambda xs: f"{min(xs):.2f}–{max(xs):.2f}"  # noqa: E731
    ratio = ours / bare
    lines = [
        "| measure | median | spread (min–max) |",
        "|---|---|---|",
        f"| bare WeasyPrint, same HTML, PDF/A-3b (s) | {bare:.2f} | {spread(result['bare'])} |",
        f"| ours: HTML + PDF/A-3 + answers.json + PAdES seal + archive (s) | {ours:.2f} | {spread(result['ours'])} |",
        f"| pages | {result['pages']} | |",
        f"| ours, pages per second | {result['pages'] / ours:.1f} | |",
        f"| ratio ours / bare | {ratio:.2f} | |",
        "",
        f"Targets: ratio ≤ 1.25 — **{'met' if ratio <= 1.25 else 'NOT met'}**; "
        f"absolute ≤ 3 s — **{'met' if ours <= 3 else 'NOT met'}**.",
    ]
    return lines
