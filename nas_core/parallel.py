"""Worker processes: one per core, one torch thread each.

A chapter asks for its results one call at a time (``study.supernet_scores`` for every rung of
a ladder, say). ``compute_missing(fn, calls)`` first finds which of those calls have no stored
result, computes them in worker processes, and leaves them in the results store, so that the
chapter's own calls that follow only load. Every stored result is computed with one torch
thread wherever it runs (``store.one_torch_thread``), so a worker gives the same numbers as
the notebook's own process would.

``NAS_CORE_WORKERS`` sets the number of processes (default: one per core; ``nas-study run``
and ``book`` take ``--workers``).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

WORKERS_ENV = "NAS_CORE_WORKERS"


def default_workers() -> int:
    """``$NAS_CORE_WORKERS``, else the number of cores."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return os.cpu_count() or 1
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{WORKERS_ENV}={value!r}: give a whole number of worker processes, 1 or more")
    return n


def imap_workers(task: Callable, items: Iterable, workers: int, *, initializer: Callable | None = None,
                 initargs: tuple = ()) -> Iterator:
    """``task(item)`` for every item, in the order they finish, from ``workers`` fresh processes."""
    ctx = mp.get_context("spawn")  # fresh interpreters: no forked torch thread pools or locks
    # SIGTERM (kill, a scheduler's stop) becomes an exception, so that leaving the `with`
    # terminates the workers instead of leaving them to finish their task as orphans
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with ctx.Pool(workers, initializer=initializer, initargs=initargs) as pool:
            yield from pool.imap_unordered(task, items, chunksize=1)
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _raise_terminated(signum, frame):
    raise SystemExit(128 + signum)


def _compute(job: tuple[Callable, dict]) -> None:
    fn, kwargs = job
    fn(**kwargs, progress=False)


def compute_missing(fn: Callable, calls: Sequence[Mapping[str, Any]], *, workers: int | None = None,
                    desc: str = "results") -> int:
    """Compute and store the results of ``fn(**call)`` that are not stored yet, in worker
    processes, longest first (most ``epochs``, then most ``archs`` to score); returns how many
    were computed. ``fn`` is a module-level function that stores its result and takes
    ``progress``. With one worker, one missing result, or only stored results allowed, it
    leaves everything to the caller."""
    from tqdm.auto import tqdm

    from .store import CACHED_ONLY_ENV, stored_or_none

    if os.environ.get(CACHED_ONLY_ENV, "") not in ("", "0"):
        return 0  # the caller's own calls load, or say what is missing
    unique = {repr(sorted(c.items())): dict(c) for c in calls}.values()  # a call listed twice runs once
    todo = [c for c in unique if stored_or_none(fn, **c) is None]
    n = min(default_workers() if workers is None else workers, len(todo))
    if n < 2:
        return 0
    todo.sort(key=lambda c: (-float(c.get("epochs", 0)), -len(c.get("archs") or ())))  # longest first
    with tqdm(total=len(todo), desc=f"{desc} ({n} workers)", unit="result") as bar:
        for _ in imap_workers(_compute, [(fn, c) for c in todo], n):
            bar.update(1)
    return len(todo)
