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
import time
import traceback
from multiprocessing import connection as mp_connection
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from tqdm.auto import tqdm

from . import settings
from .settings import WORKERS_ENV  # noqa: F401  (the name the CLI and tests set)
from .store import stored_or_none

# glibc keeps freed memory instead of returning it to the system after every step: about 12k
# fewer page faults per training step on these networks; the arithmetic is unchanged
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "1073741824", "MALLOC_TRIM_THRESHOLD_": "4294967296",
                 "MALLOC_TOP_PAD_": "268435456"}


def default_workers() -> int:
    """``$NAS_CORE_WORKERS``, else the number of cores."""
    return settings.current().workers()


# A stopped worker gets this long to finish its step and save its checkpoint (a training
# takes SIGTERM as "save and exit") before it is killed; workers poll for their parent this often.
STOP_GRACE_S = 10.0
PARENT_POLL_S = 0.5


class WorkerDied(RuntimeError):
    """A worker process ended without returning its task's result (killed, out of memory)."""


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, as text (its ``__cause__`` here)."""

    def __str__(self):
        return self.args[0]


def imap_workers(task: Callable, items: Iterable, workers: int, *, initializer: Callable | None = None,
                 initargs: tuple = ()) -> Iterator:
    """``task(item)`` for every item, in the order they finish, from ``workers`` fresh processes.

    Each worker has a pipe of its own and takes one item at a time: no lock is shared, so a
    worker killed at any moment cannot leave the others or this process waiting. Leaving early
    (an exception in a task or here, SIGTERM, Ctrl-C, a deadline) stops every worker: it is
    sent SIGTERM (a training saves its checkpoint and exits) and killed if it is still running
    ``STOP_GRACE_S`` later. A worker whose parent dies, even by SIGKILL, is killed with it
    (its last checkpoint, saved every epoch, stays; a resumed run goes on from there).
    """
    ctx = mp.get_context("spawn")  # fresh interpreters: no forked torch thread pools or locks
    pending = iter(items)
    # SIGTERM (kill, a scheduler's stop) becomes an exception, so that leaving stops the workers
    # instead of leaving them to finish as orphans; a handler the caller installed is kept
    handler = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        handler = signal.signal(signal.SIGTERM, _raise_terminated)
    procs: list = []
    finished = False
    try:
        for _ in range(max(1, int(workers))):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(there, os.getpid(), task, initializer, initargs), daemon=True)
            proc.start()
            there.close()
            procs.append((proc, here))
        busy: dict = {}  # pipe -> process, for workers computing an item

        def hand_out(proc, conn) -> None:
            for item in pending:
                conn.send(item)
                busy[conn] = proc
                return

        for proc, conn in procs:
            hand_out(proc, conn)
        while busy:
            ready = set(mp_connection.wait([*busy, *(p.sentinel for p in busy.values())]))
            for conn in [c for c in busy if c in ready]:
                proc = busy.pop(conn)
                try:
                    ok, value, trace = conn.recv()
                except (EOFError, OSError):
                    raise _died(proc) from None
                if not ok:
                    raise value from _RemoteTraceback(trace)
                hand_out(proc, conn)
                yield value
            for conn, proc in list(busy.items()):
                if proc.sentinel in ready and not conn.poll():
                    raise _died(proc)
        finished = True
    finally:
        _stop(procs, terminate=not finished)
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _died(proc) -> WorkerDied:
    proc.join(1)
    code = proc.exitcode
    how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return WorkerDied(f"worker process {proc.pid} ended ({how}) before returning its result")


def _stop(procs, *, terminate: bool) -> None:
    """Every worker asked to exit (and sent SIGTERM if ``terminate``), joined, killed after the grace."""
    main = threading.current_thread() is threading.main_thread()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}) if main else None
    try:  # a second Ctrl-C or SIGTERM must not leave workers behind
        for proc, conn in procs:
            try:
                conn.send(None)  # no more items: an idle worker (or one that ignored SIGTERM) exits
            except (OSError, ValueError):
                pass
            if terminate and proc.exitcode is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for proc, conn in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.exitcode is None:
                proc.kill()
                proc.join(5)
            conn.close()
    finally:
        if blocked is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _worker_main(conn, parent_pid: int, task: Callable, initializer: Callable | None, initargs: tuple) -> None:
    """A worker: run ``task`` on each item received until told to stop or the parent is gone."""
    signal.signal(signal.SIGTERM, _raise_terminated)  # unwinds, so atomic writes remove their temporary file
    _die_with_parent(parent_pid)
    failed = None
    if initializer is not None:
        try:
            initializer(*initargs)
        except Exception as e:
            failed = (False, e, traceback.format_exc())  # the reply to the first item
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if item is None:
            return
        if failed is not None:
            conn.send(failed)
            return
        try:
            reply = (True, task(item), "")
        except Exception as e:
            reply = (False, e, traceback.format_exc())
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as e:  # an exception or a result that cannot be pickled
            conn.send((False, RuntimeError(f"the worker's reply cannot be sent: {e!r}"), reply[2]))


def _die_with_parent(parent_pid: int) -> None:
    """End this worker when its parent dies without stopping it (a SIGKILLed command, a kernel
    that exits with it): on Linux the kernel kills it at once (PR_SET_PDEATHSIG, which needs no
    Python code to run in a worker busy in C); elsewhere a thread polls for the parent."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        ok = False
    if os.getppid() != parent_pid:  # died before the request took effect
        os._exit(128 + signal.SIGKILL)
    if not ok:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)  # as if stopped: a training saves its checkpoint
    time.sleep(STOP_GRACE_S)
    os._exit(128 + signal.SIGTERM)


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
    unique = {repr(sorted(c.items())): dict(c) for c in calls}.values()  # a call listed twice runs once
    longest_first = sorted(unique, key=lambda c: (-float(c.get("epochs", 0)), -len(c.get("archs") or ())))
    return compute_missing_jobs([(fn, c) for c in longest_first], workers=workers, desc=desc)


def compute_missing_jobs(jobs: Sequence[tuple[Callable, Mapping[str, Any]]], *, workers: int | None = None,
                         desc: str = "results") -> int:
    """``compute_missing`` for calls of several functions, ``(fn, kwargs)`` each, in the order given
    (put the longest first)."""
    if settings.current().cached_only:
        return 0  # the caller's own calls load, or say what is missing
    todo = [(fn, dict(kw)) for fn, kw in jobs if stored_or_none(fn, **kw) is None]
    n = min(default_workers() if workers is None else workers, len(todo))
    if n < 2:
        return 0
    with tqdm(total=len(todo), desc=f"{desc} ({n} workers)", unit="result") as bar:
        for _ in imap_workers(_compute, todo, n):
            bar.update(1)
    return len(todo)
