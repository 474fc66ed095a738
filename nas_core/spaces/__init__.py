"""Search-space registry: ``get_space("nb201")`` returns a ready space object."""
from __future__ import annotations

import importlib

from .base import Cost, InvalidArchitecture, SearchSpace

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


__all__ = ["Cost", "InvalidArchitecture", "SearchSpace", "SPACE_NAMES", "get_space"]
