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


def interleaved_seconds(fns: dict, rounds: int = 3, warmup: int = 1) -> tuple[dict, dict]:
    """Calls every ``fns[name]()`` in turn (A, B, A, B, ...) ``rounds`` times after ``warmup`` such
    turns, so drift on a shared machine hits all of them alike. Returns ``({name: [seconds of
    each round]}, {name: its last result})``."""
    results = {}
    for _ in range(warmup):
        for name, fn in fns.items():
            results[name] = fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return times, results
