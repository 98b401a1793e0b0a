"""Fewer full passes of Python's cyclic garbage collector while a report is rendered and sealed.

WeasyPrint builds a tree of hundreds of thousands of boxes and style objects for a 30-page report, and
pyHanko's stamp parses a whole font with fontTools. With the default thresholds (700, 10, 10) the collector
walks every tracked object of the process again and again while that tree grows: about a fifth of the CPU
time of rendering and sealing goes to those passes (docs/benchmarks.md, "Rendering and the garbage
collector"). Raising the thresholds for the duration keeps the young-generation passes, which free most
of WeasyPrint's short-lived cycles, and postpones the full ones: 15 % less CPU for about a tenth more peak
memory, where switching the collector off would double it.

The thresholds are process-wide, so concurrent renders share one setting: the first to start raises them,
the last to finish puts back what was there before.
"""
from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["RENDER_THRESHOLDS", "fewer_full_collections", "with_fewer_full_collections"]

# Young generation every 5,000 net allocations, the middle one every 50 of those, the full pass after
# 1,000 middle ones (in practice: not during a render). Measured against alternatives in docs/benchmarks.md.
RENDER_THRESHOLDS = (5000, 50, 1000)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Run the body with :data:`RENDER_THRESHOLDS` (never lower than the thresholds already set, and
    automatic collection left off where a threshold of 0 has switched it off)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            if _saved[0] != 0:
                gc.set_threshold(*(max(now, wanted) for now, wanted in zip(_saved, RENDER_THRESHOLDS, strict=True)))
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


def with_fewer_full_collections(function: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of :func:`fewer_full_collections`."""
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with fewer_full_collections():
            return function(*args, **kwargs)
    return wrapper
