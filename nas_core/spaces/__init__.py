"""Search-space registry: ``get_space("nb201")`` returns a ready space object."""
from __future__ import annotations

import importlib
from typing import Iterator, Mapping

from .base import STUDY_FACTS, Cost, InvalidArchitecture, SearchSpace

# name -> (module, class). Modules import lazily so one space's heavy code
# never slows another's start-up.
_REGISTRY = {
    "nb101": ("nas_core.spaces.nb101", "NasBench101Space"),
    "nb201": ("nas_core.spaces.nb201", "NasBench201Space"),
    "darts_cnn": ("nas_core.spaces.darts_cnn", "DartsCnnSpace"),
    "proxyless": ("nas_core.spaces.proxyless", "ProxylessSpace"),
    "darts_rnn": ("nas_core.spaces.darts_rnn", "DartsRnnSpace"),
}
SPACE_NAMES = tuple(_REGISTRY)
_cache: dict[str, SearchSpace] = {}


def get_space(name: str) -> SearchSpace:
    if name not in _REGISTRY:
        raise ValueError(f"unknown search space {name!r}; choose one of: {', '.join(SPACE_NAMES)}")
    if name not in _cache:
        module, cls = _REGISTRY[name]
        _cache[name] = getattr(importlib.import_module(module), cls)()
    return _cache[name]


class FactTable(Mapping):
    """``{space name: get_space(name).<fact>}`` in registry order, read-only, skipping spaces
    whose fact is None: the old per-space tables (``training.SUPERNET_RECIPES``,
    ``study.GT_VARIANTS`` ...) as views of the one place each fact lives. Reads lazily, so
    importing a module that holds one loads no space module."""

    def __init__(self, fact: str):
        if fact not in STUDY_FACTS:
            raise ValueError(f"unknown space fact {fact!r}; facts: {', '.join(STUDY_FACTS)}")
        self.fact = fact

    def __getitem__(self, name: str):
        value = getattr(get_space(name), self.fact) if name in _REGISTRY else None
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (n for n in SPACE_NAMES if getattr(get_space(n), self.fact) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"FactTable({self.fact!r}: {dict(self)!r})"


__all__ = ["Cost", "InvalidArchitecture", "SearchSpace", "SPACE_NAMES", "STUDY_FACTS", "FactTable", "get_space"]
