"""Checking an evidence file (docs/evidence.md): the CPU ``evidence.content.inspect`` takes for acceptable files
near the limits and for hostile ones, with the limits the application uses. Target: every file up to
EVIDENCE_MAX_FILE_BYTES decided in well under the CPU budget (EVIDENCE_CPU_SECONDS, 2 s).

Not part of ``make bench``; its figures are copied by hand into docs/benchmarks.md.
Run alone: ``.venv/bin/python -m benchmarks.evidence_upload``.
"""
from __future__ import annotations

import io
import statistics
import time

from assessments.evidence import content
from assessments.limits import EVIDENCE_MAX_PAGES, EVIDENCE_MAX_PDF_OBJECTS, EVIDENCE_MAX_PIXELS
from tests import evidence_files as files

LIMITS = content.Limits(max_bytes=10 * 1024 * 1024, max_pixels=EVIDENCE_MAX_PIXELS, max_pages=EVIDENCE_MAX_PAGES,
                        max_objects=EVIDENCE_MAX_PDF_OBJECTS, cpu_seconds=None)
RUNS = 5


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress (random pixels): the most decoding work for its size."""
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG", compress_level=1)
    return out.getvalue()


def cases() -> dict[str, bytes]:
    return {
        "PDF, 1 page": files.pdf_document(),
        "PDF, 500 pages (the page limit)": files.pdf_document(pages=EVIDENCE_MAX_PAGES),
        "PNG 1920×1080 screenshot, random pixels": noisy_png(1920, 1080),
        "PNG 6000×6000 (36 MP), one colour": files.png_image(6000, 6000),
        "JPEG 4000×3000": files.jpeg_image(4000, 3000),
        "text, 9 MB UTF-8": "Protokoll från samrådet, rad med åäö.\n".encode() * 240_000,
        "hostile: PDF with JavaScript": files.JAVASCRIPT_PDF,
        "hostile: PDF that is also a ZIP": files.pdf_document() + files.zip_archive({"a.exe": b"MZ"}),
        "hostile: PNG bomb, 65535×65535 claimed": files.png_claiming(65_535, 65_535),
        "hostile: PNG chunk claiming 4 GB": files.png_with_chunk_length(0xFFFF_FFFF),
    }


def measure(data: bytes) -> tuple[float, float, float, str]:
    times, outcome = [], ""
    for _ in range(RUNS):
        started = time.process_time()
        try:
            outcome = content.inspect(data, LIMITS)
        except content.Refused as refused:
            outcome = f"refused ({refused.code})"
        times.append(time.process_time() - started)
    return statistics.median(times), min(times), max(times), outcome


def main() -> None:
    print("| file | size | outcome | median CPU (ms) | spread (ms) |\n|---|---|---|---|---|")
    for name, data in cases().items():
        median, low, high, outcome = measure(data)
        print(f"| {name} | {len(data) / 1024:,.0f} kB | {outcome} | {median * 1000:.0f} | "
              f"{low * 1000:.0f}–{high * 1000:.0f} |")


if __name__ == "__main__":
    main()
