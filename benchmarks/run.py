"""`make bench`: run the benchmarks and rewrite docs/benchmarks.md with the machine, the date and figures."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import http, memory, pdf, scale

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(line for line in lines if line.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, {platform.system()}"


SECTIONS = ("pdf", "http", "scale", "memory")


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    # BENCH_ONLY=pdf,http runs some sections only (while working on one); docs/benchmarks.md is then not
    # rewritten, so the committed file always holds a complete run.
    only = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        sys.exit(f"BENCH_ONLY: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    chosen = only or list(SECTIONS)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`); do not edit by hand.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}",
        f"- Machine: {machine()}",
        f"- Runs: {runs} of each measure unless a section says otherwise; median and spread (min–max)",
        "",
    ]
    if "pdf" in chosen:
        result = pdf.measure(runs)
        lines += [
            f"## 1. PDF: render, certify and archive the municipality's demo ({result['demo']})",
            "",
            *pdf.summary(result),
            "",
            "Bare WeasyPrint renders exactly the report HTML our pipeline renders (soft hyphens included), with the",
            "same safe URL fetcher and PDF/A-3a (tagged) output, but without building record.json and the HTML, the",
            "embedded record, the XMP/PDF-UA finishing, the certification signature or the archive write.",
            "",
        ]
    if "http" in chosen:
        lines += ["## 2. HTTP: a wizard step (GET + POST) under gunicorn -w 2, against a minimal Flask app", "",
                  *http.summary(http.measure(runs)), ""]
    if "scale" in chosen:
        scale_runs = int(os.environ.get("BENCH_SCALE_RUNS", "15"))
        lines += ["## 3. Scale: 10,000 assessments across 100 organisations (in-process, Flask test client)", "",
                  *scale.summary(scale.measure(scale_runs)), ""]
    if "memory" in chosen:
        lines += ["## 4. Memory: rendering and sealing a ~60-page report in a fresh process", "",
                  *memory.summary(memory.measure()), ""]
    text = "\n".join(lines)
    if not only:
        out = ROOT / "docs" / "benchmarks.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(text, encoding="utf-8")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
