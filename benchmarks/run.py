"""`make bench`: run the benchmarks and rewrite docs/benchmarks.md with the machine, the date and figures."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import floor, http, memory, pdf, scale
from benchmarks.load import Unavailable, temporary_postgres

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


def load_average() -> str:
    try:
        return ", ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


SECTIONS = ("pdf", "floor", "http", "scale", "memory")
# docs/benchmarks.md from this line on is written by hand (figures of benchmarks run on their own, with the
# command that produced them): make bench keeps it as it is.
BY_HAND = "<!-- Written by hand from here on; make bench keeps it. -->"


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
        "Sections 1–5 are written by `make bench` (`python -m benchmarks.run`); do not edit them by hand. The part "
        "after the marker at the end is written by hand, with the command behind each figure, and kept.",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}",
        f"- Machine: {machine()}; load average at the start (1, 5, 15 min): {load_average()} — other work on "
        "the machine shows in wall-clock figures and much less in CPU times and ratios",
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
    if "floor" in chosen:
        lines += ["## 2. The wizard step against the floor of the stack (in-process CPU per request)", "",
                  "### SQLite", "", *floor.summary(floor.measure(floor.REQUESTS)), "", "### PostgreSQL", ""]
        try:
            with temporary_postgres() as url:
                lines += [*floor.summary(floor.measure(floor.REQUESTS, url)), ""]
        except Unavailable as exc:
            lines += [f"Not measured — {exc}.", ""]
    if "http" in chosen:
        http_runs = int(os.environ.get("BENCH_HTTP_RUNS", "3"))
        lines += ["## 3. HTTP: the wizard step under gunicorn against the floor (SQLite and PostgreSQL, 2 and 4 "
                  "workers)", "", *http.summary(http.measure(http_runs)), ""]
    if "scale" in chosen:
        scale_runs = int(os.environ.get("BENCH_SCALE_RUNS", "15"))
        lines += ["## 4. Scale: 10,000 assessments across 100 organisations (in-process, Flask test client)", "",
                  *scale.summary(scale.measure(scale_runs)), ""]
    if "memory" in chosen:
        lines += ["## 5. Memory: rendering and sealing a ~60-page report in a fresh process", "",
                  *memory.summary(memory.measure()), ""]
    text = "\n".join(lines)
    if not only:
        out = ROOT / "docs" / "benchmarks.md"
        out.parent.mkdir(exist_ok=True)
        kept = ""
        if out.exists():
            before = out.read_text(encoding="utf-8")
            if BY_HAND in before:
                kept = before[before.index(BY_HAND):]
        out.write_text(text + ("\n" + kept if kept else ""), encoding="utf-8")
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
