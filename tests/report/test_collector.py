"""The garbage collector's thresholds are raised while a report is rendered and sealed, and always put back:
after a render, after a failed one, after concurrent ones, and never switched on where they were off."""
from __future__ import annotations

import gc
import threading

import pytest

from assessments.report.collector import RENDER_THRESHOLDS, fewer_full_collections
from assessments.report.pdf import PdfRenderError, render_pdf
from assessments.report.signing import sign_pdf

from .conftest import STAMP_LINES, report_html

DEFAULT = (700, 10, 10)


@pytest.fixture
def default_thresholds():
    """Python's defaults for the test, whatever the session runs with; put back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(*DEFAULT)
    yield
    gc.set_threshold(*before)


def test_a_render_and_a_seal_run_with_raised_thresholds_and_put_the_defaults_back(default_thresholds, seal,
                                                                                   monkeypatch):
    from assessments.report import pdf as pdf_module

    during = []
    real_html = pdf_module.weasyprint.HTML

    def html_seeing_thresholds(*args, **kwargs):
        during.append(gc.get_threshold())
        return real_html(*args, **kwargs)

    monkeypatch.setattr(pdf_module.weasyprint, "HTML", html_seeing_thresholds)
    rendered = render_pdf(report_html(3), record_json=b"{}", title="T", lang="sv")
    assert during == [RENDER_THRESHOLDS]
    assert gc.get_threshold() == DEFAULT
    signed = sign_pdf(rendered.data, seal, box=rendered.signature_box, stamp_lines=STAMP_LINES,
                      reason="test", name="Test")
    assert signed.startswith(b"%PDF") and len(signed) > len(rendered.data)
    assert gc.get_threshold() == DEFAULT


def test_a_failed_render_puts_the_thresholds_back(default_thresholds):
    with pytest.raises(PdfRenderError):
        render_pdf("<p>x</p>", record_json="{}", title="T", lang="sv")  # type: ignore[arg-type]
    assert gc.get_threshold() == DEFAULT


def test_overlapping_renders_in_threads_leave_the_thresholds_as_they_were(default_thresholds):
    first_inside, second_inside, first_may_leave = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int, int]] = {}

    def first():
        with fewer_full_collections():
            first_inside.set()
            first_may_leave.wait(5)
        seen["after first left"] = gc.get_threshold()

    def second():
        first_inside.wait(5)
        with fewer_full_collections():
            second_inside.set()
            seen["second inside"] = gc.get_threshold()
            first_may_leave.set()
            worker_one.join(5)
            seen["second inside, first gone"] = gc.get_threshold()

    worker_one, worker_two = threading.Thread(target=first), threading.Thread(target=second)
    worker_one.start()
    worker_two.start()
    worker_two.join(10)
    assert seen == {"second inside": RENDER_THRESHOLDS, "after first left": RENDER_THRESHOLDS,
                    "second inside, first gone": RENDER_THRESHOLDS}
    assert gc.get_threshold() == DEFAULT


def test_higher_thresholds_are_kept_and_switched_off_collection_stays_off():
    before = gc.get_threshold()
    try:
        gc.set_threshold(20000, 5, 5000)
        with fewer_full_collections():
            assert gc.get_threshold() == (20000, 50, 5000)
        assert gc.get_threshold() == (20000, 5, 5000)
        gc.set_threshold(0, 10, 10)
        with fewer_full_collections():
            assert gc.get_threshold() == (0, 10, 10)
        assert gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*before)
