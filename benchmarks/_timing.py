"""Timing helper shared by the benchmark scripts (run as ``python benchmarks/NAME.py``,
which puts this folder on ``sys.path``)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best_of(
    func: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Shortest of ``repeats`` calls of ``func`` on ``clock`` (wall time by default;
    ``time.process_time`` for the CPU time of all the process's threads), garbage
    collected before each call and the result dropped before the next."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = clock()
        result = func()
        best = min(best, clock() - start)
        del result
    return best
