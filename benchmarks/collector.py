"""The garbage collector while a report is rendered and sealed (assessments/report/collector.py).

Each variant runs in a fresh process: the municipality's demo report (latest catalogue) rendered to PDF/A-3a
and sealed, once to warm up and then ``runs`` times; CPU time per render + seal, and the process's peak
resident memory (VmHWM). Variants: Python's default thresholds (700, 10, 10), the thresholds the
application uses while rendering (``RENDER_THRESHOLDS``), and the collector switched off.

    .venv/bin/python -m benchmarks.collector [runs]
"""
from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("default", "render", "off")


def _peak_memory_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(variant: str, runs: int) -> dict:
    from assessments.answers import load_answers
    from assessments.report import collector
    from assessments.report.document import report_html
    from assessments.report.pdf import render_pdf
    from assessments.report.signing import sign_pdf
    from benchmarks.pdf import demo_assessment

    if variant == "default":
        collector.RENDER_THRESHOLDS = gc.get_threshold()  # what rendering ran with before
    elif variant == "off":
        gc.disable()
    with tempfile.TemporaryDirectory() as tmp, demo_assessment(Path(tmp)) as (assessment, seal):
        html = report_html(assessment, load_answers(assessment), record_sha256="0" * 64, signature=None)
    cpu = []
    for run in range(runs + 1):
        started = time.process_time()
        rendered = render_pdf(html, record_json=b"{}", title="Benchmark", lang="sv")
        sign_pdf(rendered.data, seal, box=rendered.signature_box, stamp_lines=["Benchmark"], reason="benchmark",
                 name="Benchmark")
        if run:  # the first one warms up
            cpu.append(time.process_time() - started)
    return {"variant": variant, "cpu": cpu, "peak_mb": _peak_memory_mb(), "pages": rendered.page_count}


def measure(runs: int = 5) -> list[dict]:
    results = []
    for variant in VARIANTS:
        output = subprocess.run([sys.executable, "-m", "benchmarks.collector", "--child", variant, str(runs)],
                                capture_output=True, text=True, check=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return results


def summary(results: list[dict]) -> list[str]:
    default = statistics.median(next(r for r in results if r["variant"] == "default")["cpu"])
    names = {"default": "Python's default (700, 10, 10)", "render": "while rendering (5000, 50, 1000)",
             "off": "collector switched off"}
    lines = ["| thresholds | median CPU, render + seal (s) | spread (s) | vs default | peak memory (MB) |",
             "|---|---:|---:|---:|---:|"]
    for result in results:
        median = statistics.median(result["cpu"])
        lines.append(f"| {names[result['variant']]} | {median:.2f} | {min(result['cpu']):.2f}–{max(result['cpu']):.2f}"
                     f" | {median / default - 1:+.0%} | {result['peak_mb']:.0f} |")
    return lines


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
    else:
        print("\n".join(summary(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5))))
