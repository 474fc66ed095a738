"""Which architectures one mini-batch trains.

Every sampler has ``next_paths(rng) -> list[arch]``: the paths whose gradients
make one optimiser update. ``rng`` is a ``random.Random`` owned by the training
loop (checkpointed with it), so a sampler keeps no random state of its own.

- ``UniformSampler``: single-path one-shot (SPOS): one uniform architecture.
- ``FairNasSampler``: FairNAS strict fairness: ``m`` architectures such that
  every candidate of every decision is used exactly once.
- ``MultiPathSampler``: ``k`` independent uniform architectures.

FairNAS needs to build an architecture from its decisions: the space (or, for
a pruned sub-space, its parent) offers ``from_decisions(dict) -> arch``,
raising ``InvalidArchitecture`` for a combination that is not in the space;
failing that, spaces small enough to enumerate (NAS-Benches) use a lookup
table of their architectures.
"""
from __future__ import annotations

import random
import warnings

from .spaces import SPACE_NAMES, FactTable, get_space
from .spaces.base import InvalidArchitecture, SearchSpace

ENUMERATE_LIMIT = 2_000_000  # spaces up to this size can build archs by lookup

# Paths per mini-batch for FairNAS and multi-path in the paper (appendix B.1): each space's
# ``paper_paths`` (three architectures per mini-batch, five for NAS-Bench-201: its edges have 5 ops).
PAPER_PATHS = FactTable("paper_paths")


def paper_paths(space_name: str) -> int:
    return get_space(space_name).paper_paths if space_name in SPACE_NAMES else 3


class UniformSampler:
    """One architecture per mini-batch, uniform over the valid ones."""

    def __init__(self, space: SearchSpace):
        self.space = space

    def next_paths(self, rng: random.Random) -> list:
        return [self.space.sample(rng)]


class MultiPathSampler:
    """``k`` independent uniform architectures that share one mini-batch."""

    def __init__(self, space: SearchSpace, k: int):
        if k < 1:
            raise ValueError(f"multi-path needs k >= 1 paths, got {k}")
        self.space, self.k = space, k

    def next_paths(self, rng: random.Random) -> list:
        return [self.space.sample(rng) for _ in range(self.k)]


def _builder(space: SearchSpace):
    """decisions -> arch: the space's (or its parent's) ``from_decisions``, else a lookup
    table over ``enumerate()`` for spaces small enough (combinations not in it are invalid)."""
    s = space
    while s is not None:
        if getattr(type(s), "from_decisions", None) is not None:
            return s.from_decisions
        s = getattr(s, "parent", None)
    if space.size() > ENUMERATE_LIMIT:
        raise NotImplementedError(
            f"FairNAS needs {space!r} (or its parent) to implement from_decisions(dict) -> arch")
    names = tuple(space.decision_choices())
    table = {tuple(space.decisions(a)[n] for n in names): a for a in space.enumerate()}

    def build(decisions):
        key = tuple(decisions[n] for n in names)
        if key not in table:
            raise InvalidArchitecture(f"{dict(decisions)} is not an architecture of {space!r}")
        return table[key]

    return build


def candidates(space: SearchSpace) -> dict[str, tuple]:
    """Decision -> candidates, narrowed to what a restricted sub-space allows."""
    out = dict(space.decision_choices())
    allowed = getattr(space, "allowed", None) or {}
    for name, keep in allowed.items():
        out[name] = tuple(c for c in out[name] if c in keep)
    return out


def fair_decisions(choices: dict[str, tuple]) -> tuple[list[str], int]:
    """The decisions FairNAS balances and its number of paths.

    The operation-like decisions: those whose candidates lie within the most
    common candidate set (NAS-Bench-201: all six edges; NAS-Bench-101 and
    DARTS: the op of each node/block, not its inputs; ProxylessNAS: every
    layer, the first layer of a stage just lacks ``skip``; DARTS-PTB: the
    activations). ``m`` is the size of that set (3 on NAS-Bench-101 and 5 on
    NAS-Bench-201, as in the paper's appendix B.1).
    """
    # decisions fixed by pruning (one candidate) say nothing about the op set
    sets = [frozenset(c) for c in choices.values() if len(c) > 1] or [frozenset(c) for c in choices.values()]
    top = max(set(sets), key=lambda k: (sets.count(k), len(k), sorted(map(str, k))))
    return [n for n, c in choices.items() if set(c) <= top], len(top)


class FairNasSampler:
    """FairNAS strict fairness (Chu et al., 2019): ``m`` paths per mini-batch.

    For every fair decision (``fair_decisions``; or ``decisions`` if given) the
    ``m`` paths take a random permutation of its candidates, so each candidate
    trains exactly once per mini-batch. A decision with fewer candidates than
    ``m`` uses each once and uniform draws for the remaining paths (shuffled);
    one with more draws ``m`` distinct candidates. The other decisions (inputs,
    connections) of each path come from a uniform architecture of the space.

    Dependent decisions (a combination that is no valid architecture, e.g. a
    NAS-Bench-201 cell whose input never reaches the output): a path's other
    decisions are redrawn until it is valid, and if its fair values cannot be
    realised the whole set of permutations is redrawn, at most ``max_tries``
    times each. Past that the missing paths are uniform samples (the
    exact-once property then holds for the others only); ``self.fallbacks``
    counts such mini-batches and the first one warns.
    """

    def __init__(self, space: SearchSpace, m: int | None = None, decisions=None, max_tries: int = 100):
        self.space = space
        self.choices = candidates(space)
        if not self.choices:
            raise ValueError(f"{space!r} has no decisions")
        fair, m_default = fair_decisions(self.choices)
        self.fair = list(decisions) if decisions is not None else fair
        unknown = [n for n in self.fair if n not in self.choices]
        if unknown:
            raise ValueError(f"unknown decisions {unknown}; decisions are {list(self.choices)}")
        self.m = m if m is not None else m_default
        if self.m < 1:
            raise ValueError(f"FairNAS needs m >= 1 paths, got {self.m}")
        self.complete = len(self.fair) == len(self.choices)
        self.build = _builder(space)
        self.max_tries = max_tries
        self.fallbacks = 0

    def _column(self, cands: tuple, rng: random.Random) -> list:
        """The ``m`` values one decision takes across the ``m`` paths."""
        if len(cands) >= self.m:
            return rng.sample(list(cands), self.m)
        col = list(cands) + [cands[rng.randrange(len(cands))] for _ in range(self.m - len(cands))]
        rng.shuffle(col)
        return col

    def _try_build(self, decisions: dict):
        try:
            arch = self.build(decisions)
            self.space.validate(arch)
            return arch
        except InvalidArchitecture:
            return None

    def _realise(self, fixed: dict, rng: random.Random):
        """A valid architecture with the ``fixed`` decisions, the others uniform; None if none found."""
        if self.complete:
            return self._try_build(fixed)
        for _ in range(self.max_tries):
            d = self.space.decisions(self.space.sample(rng))
            d.update(fixed)
            arch = self._try_build(d)
            if arch is not None:
                return arch
        return None

    def next_paths(self, rng: random.Random) -> list:
        for _ in range(self.max_tries):
            cols = {n: self._column(self.choices[n], rng) for n in self.fair}
            paths = []
            for j in range(self.m):
                arch = self._realise({n: col[j] for n, col in cols.items()}, rng)
                if arch is None:
                    break
                paths.append(arch)
            if len(paths) == self.m:
                return paths
        self.fallbacks += 1
        if self.fallbacks == 1:
            warnings.warn(f"FairNAS on {self.space!r}: no valid set of {self.m} fair paths in "
                          f"{self.max_tries} draws; missing paths replaced by uniform samples", stacklevel=2)
        return paths + [self.space.sample(rng) for _ in range(self.m - len(paths))]


def make_sampler(space: SearchSpace, strategy: str, paths: int | None = None):
    """The sampler of a training strategy (``parallel`` draws like multi-path)."""
    if strategy == "uniform":
        return UniformSampler(space)
    if strategy == "fairnas":
        return FairNasSampler(space, m=paths)
    if strategy in ("multipath", "parallel"):
        return MultiPathSampler(space, paths if paths is not None else paper_paths(space.name))
    raise ValueError(f"unknown strategy {strategy!r}; choose uniform, fairnas, multipath or parallel")
