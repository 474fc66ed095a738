"""The study's settings: the one place the library reads the environment.

Every ``NAS_CORE_*`` variable keeps its name and meaning (the CLI, the Makefile,
the notebooks and the tests set them):

- ``NAS_CORE_DATA``: data root (default ``./data`` of the working directory);
- ``NAS_CORE_DOWNLOAD``: ``1`` / ``true`` / ``yes`` / ``on`` lets missing datasets download;
- ``NAS_CORE_RESULTS``: results root (default ``<repo>/results``);
- ``NAS_CORE_RUNS``: checkpoints and logs of unfinished work (default ``<repo>/runs``);
- ``NAS_CORE_CACHED_ONLY``: anything but empty or ``0``: use stored results only;
- ``NAS_CORE_WORKERS``: worker processes for missing results (default one per core).

The settings are read when asked for, not at import: the CLI sets the variables for
papermill's kernels and worker processes, which read them in turn.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

REPO = Path(__file__).resolve().parents[1]

DATA_ENV = "NAS_CORE_DATA"
DOWNLOAD_ENV = "NAS_CORE_DOWNLOAD"
RESULTS_ENV = "NAS_CORE_RESULTS"
RUNS_ENV = "NAS_CORE_RUNS"
CACHED_ONLY_ENV = "NAS_CORE_CACHED_ONLY"
WORKERS_ENV = "NAS_CORE_WORKERS"


@dataclass(frozen=True)
class Settings:
    data_root: Path
    data_root_given: bool  # $NAS_CORE_DATA was set (messages say where the root came from)
    download: bool
    results_root: Path
    runs_root: Path
    cached_only: bool
    workers_text: str  # as given: a bad value is reported by the code that needs workers
    local_rank: int  # torchrun's LOCAL_RANK: the GPU of a distributed training process

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_root=Path(env.get(DATA_ENV, "data")),
            data_root_given=bool(env.get(DATA_ENV)),
            download=env.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes", "on"),
            results_root=Path(env.get(RESULTS_ENV, REPO / "results")),
            runs_root=Path(env.get(RUNS_ENV, REPO / "runs")),
            cached_only=env.get(CACHED_ONLY_ENV, "") not in ("", "0"),
            workers_text=env.get(WORKERS_ENV, "").strip(),
            local_rank=int(env.get("LOCAL_RANK", 0)),
        )

    def workers(self) -> int:
        """``$NAS_CORE_WORKERS``, else the number of cores (ValueError for a bad value)."""
        if not self.workers_text:
            return os.cpu_count() or 1
        try:
            n = int(self.workers_text)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{WORKERS_ENV}={self.workers_text!r}: give a whole number of worker processes, 1 or more")
        return n


# Fields replaced for the code running inside ``overriding`` (this thread or task only): a lookup
# runs a computation as cached-only without touching the environment other code sees.
_overrides: contextvars.ContextVar[dict] = contextvars.ContextVar("nas_core_settings_overrides", default={})


def current() -> Settings:
    """The settings now: the environment, with the fields ``overriding`` replaces."""
    s = Settings.from_env()
    over = _overrides.get()
    return dataclasses.replace(s, **over) if over else s


@contextlib.contextmanager
def overriding(**fields) -> Iterator[None]:
    token = _overrides.set({**_overrides.get(), **fields})
    try:
        yield
    finally:
        _overrides.reset(token)


__all__ = ["Settings", "current", "overriding", "REPO", "DATA_ENV", "DOWNLOAD_ENV", "RESULTS_ENV", "RUNS_ENV",
           "CACHED_ONLY_ENV", "WORKERS_ENV"]
