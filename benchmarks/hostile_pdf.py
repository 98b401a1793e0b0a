"""Verification of hostile uploads (penetration test: CPU exhaustion on the verification page).

A sealed report with n extra signatures, each a tiny incremental update, is checked by ``verify_pdf``
without the structural limits (as before they existed: every signature validated, about n³) and with them;
then whole POST /verify requests of uploads near the 5 MB limit, with the CPU the request used. Target:
every upload ≤ 5 MB answered in < 1 s of CPU.

Not part of ``make bench``; its figures are copied by hand into docs/benchmarks.md.
Run alone: ``.venv/bin/python -m benchmarks.hostile_pdf`` (a few minutes: 120 signatures without the limits
take tens of seconds).
"""
from __future__ import annotations

import io
import re
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from assessments.report import verification as checks

COUNTS = (30, 60, 120)
LIMIT = 5 * 1024 * 1024


@contextmanager
def without_limits():
    saved = checks.MAX_SIGNATURES, checks.MAX_REVISIONS
    checks.MAX_SIGNATURES = checks.MAX_REVISIONS = 10**9
    try:
        yield
    finally:
        checks.MAX_SIGNATURES, checks.MAX_REVISIONS = saved


def cpu(function, runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.process_time()
        result = function()
        times.append(time.process_time() - started)
    return statistics.median(times), result


def raw_revisions(pdf: bytes, limit: int) -> bytes:
    """Minimal incremental updates (one object and a classic xref each) appended up to ``limit`` bytes."""
    out = bytearray(pdf)
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    while len(out) < limit - 200:
        at = len(out)
        out += b"%d 0 obj\n(x)\nendobj\n" % size
        xref = len(out)
        out += (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
                % (size, at, size + 1, root, prev, xref))
        prev, size = xref, size + 1
    return bytes(out)


def one_big_revision(pdf: bytes, limit: int) -> bytes:
    """One update after the seal holding a chain of tiny objects and their cross-reference table, ~``limit``."""
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1]
    count = (limit - len(pdf)) // 56  # bytes per object and its cross-reference entry
    out, offsets = bytearray(pdf), []
    for i in range(count):
        offsets.append(len(out))
        out += b"%d 0 obj [%d 0 R]\nendobj\n" % (size + i, size + (i + 1) % count)
    xref = len(out)
    out += b"xref\n%d %d\n" % (size, count) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size + count, root, prev, xref)
    return bytes(out)


def main() -> None:
    from flask_migrate import upgrade

    from assessments import create_app
    from assessments.demo import create_demo_organisations
    from assessments.extensions import db
    from assessments.report.pdf import render_pdf
    from assessments.report.seal import load_seal
    from assessments.report.signing import sign_pdf
    from tests.hostile_pdf import with_extra_signatures
    from tests.report.conftest import report_html

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite'}", "SECRET_KEY": "bench",
                          "SEAL_DIR": str(tmp / "seals"), "ARCHIVE_DIR": str(tmp / "archive"),
                          "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "WTF_CSRF_ENABLED": False},
                         instance_path=tmp / "instance")
        with app.app_context():
            upgrade()
            create_demo_organisations(tmp / "seals", "bench-password-123")
            db.session.commit()
        seal = load_seal(tmp / "seals" / "exempelkommun.p12")
        rendered = render_pdf(report_html(), record_json=b"{}", title="Bench", lang="sv")
        report = sign_pdf(rendered.data, seal, box=rendered.signature_box, stamp_lines=["Bench"], reason="r",
                          name="n")

        print("| document | size | verify_pdf CPU without the limits | with the limits | outcome |")
        print("|---|---:|---:|---:|---|")
        sealed, outcome = cpu(lambda: checks.verify_pdf(report, [seal.certificate]))
        print(f"| the sealed report | {len(report) / 1024:.0f} KB | {sealed:.3f} s | {sealed:.3f} s | "
              f"{'valid' if outcome.valid else outcome.problems} |")
        for count in COUNTS:
            hostile = with_extra_signatures(report, seal, count)
            def check(document=hostile):
                return checks.verify_pdf(document, [seal.certificate])

            with without_limits():
                before, _ = cpu(check, runs=1)
            after, outcome = cpu(check)
            print(f"| + {count} signatures | {len(hostile) / 1024:.0f} KB | {before:.2f} s | {after:.4f} s | "
                  f"{'refused' if outcome.refused else outcome.problems} |")

        uploads = {"40,000 empty revisions": raw_revisions(report, LIMIT - 4096),
                   "one revision of 100,000 objects": one_big_revision(report, LIMIT - 4096)}
        client = app.test_client()
        client.post("/login", data={"email": "lasare@exempelkommun.example", "password": "bench-password-123"})
        print()
        print("| upload (POST /verify as a viewer) | size | CPU of the whole request | answer |")
        print("|---|---:|---:|---|")
        for label, data in {"the sealed report": report, **uploads}.items():
            def post(data=data):
                return client.post("/verify", data={"document": (io.BytesIO(data), "x.pdf")},
                                   content_type="multipart/form-data")
            spent, response = cpu(post)
            text = response.get_data(as_text=True)
            answer = ("valid" if "Signaturen är giltig för din organisation." in text else
                      "refused" if "Det har inte kontrollerats vidare." in text else "invalid")
            print(f"| {label} | {len(data) / 1024:.0f} KB | {spent:.3f} s | {response.status_code}, {answer} |")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
