"""`make bench`: run the benchmarks and rewrite docs/benchmarks.md with the machine, the date and figures."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import pdf

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
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    result = pdf.measure(runs)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`); do not edit by hand.",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}",
        f"- Machine: {machine()}",
        f"- Runs: {runs} of each measure, in the same process, alternating",
        "",
        "## PDF: render, seal and archive the municipality's demo (Exempelkommun, catalogue v2)",
        "",
        *pdf.summary(result),
        "",
        "Bare WeasyPrint renders exactly the report HTML our pipeline renders, with the same safe URL fetcher and",
        "PDF/A-3b output but without the embedded answers.json, the signature or the archive write.",
        "",
    ]
    out = ROOT / "docs" / "benchmarks.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
