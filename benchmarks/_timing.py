"""Timing helper shared by the op-level benchmarks."""
from __future__ import annotations

import time


def best_seconds(fn, rounds: int = 3, repeats: int = 10, warmup: int = 1) -> float:
    """Best of ``rounds`` averages of ``repeats`` calls of ``fn``, in seconds (best: the least
    disturbed by neighbours), after ``warmup`` calls (kernel selection, caches)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best
