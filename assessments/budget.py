"""A CPU-time budget for work on untrusted files: checking an uploaded sealed report (report/verification.py)
and inspecting an uploaded evidence file (evidence/content.py). Structural limits bound that work first;
the budget is the backstop for what they do not foresee (docs/benchmarks.md, "Verification of hostile
uploads")."""
from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OverBudget", "cpu_budget"]


class OverBudget(BaseException):
    """BaseException, so that no ``except Exception`` in a library or here can swallow it."""


@contextmanager
def cpu_budget(seconds: float | None) -> Iterator[None]:
    """Raise :class:`OverBudget` once this process has used ``seconds`` of CPU time (ITIMER_PROF).

    Only in the main thread (signals are delivered there; a gunicorn sync worker serves requests there);
    elsewhere the structural limits alone bound the work."""
    if not seconds or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum, _frame):
        raise OverBudget

    # A full garbage collection of what earlier work left (a rendered report's box tree is large) is not the
    # upload's cost: collect before the timer starts, so it does not run, and expire, inside the budget.
    gc.collect()
    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
