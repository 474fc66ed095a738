"""The one surface every search space offers.

A search space is a set of valid architectures plus the networks that realise
them. Each space module defines:

- an architecture type: frozen (hashable) dataclass whose ``str()`` is the
  canonical string of that space and that ``space.parse(s)`` turns back into an
  equal object;
- a ``SearchSpace`` subclass with the methods below.

Decisions are the named choices an architecture is made of (an edge's op, a
node's input ...). They drive the bias analysis (group by one decision) and
pruning (``restrict`` fixes or narrows decisions).

Besides its networks, a space class holds what the study knows about it (``STUDY_FACTS``:
budgets per profile, recipes, sampling rules ...), so that the modules above read
``get_space(name).<fact>`` instead of keeping their own tables keyed by the space's name.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Iterator, Mapping, Sequence

import torch.nn as nn

from .config import Budget, Recipe


class InvalidArchitecture(ValueError):
    """An architecture string or object that is not in the space; the message says why."""


@dataclass(frozen=True)
class Cost:
    params: int  # trainable parameters of the stand-alone network
    flops: int  # multiply-adds of one forward pass for one input sample


class SearchSpace:
    """Base class. Subclasses set the class attributes and implement the methods."""

    name: str = ""  # registry key, e.g. "nb201"
    title: str = ""  # human name, e.g. "NAS-Bench-201"
    task: str = "classification"  # or "language_model"
    metric: str = "accuracy"  # or "perplexity"
    higher_is_better: bool = True  # False for perplexity
    space_type: str = "cell-wise"  # Table 1 column
    paper_dataset: str = ""  # Table 1 column

    # ---- what the study knows about the space (STUDY_FACTS) ---------------------
    budgets: Mapping[str, Budget] = {}  # profile -> Budget, for every profile (profiles.budget)
    supernet_recipe: Recipe | None = None  # Table 2, value for value
    standalone_recipe: Recipe | None = None  # the original benchmark's or paper's (ground truth)
    table2_column: str = ""  # the space's column head in Table 2
    paper_paths: int = 3  # paths per mini-batch of FairNAS / multi-path (appendix B.1)
    gt_variant: Mapping[str, Any] | None = None  # Figure 12's different stand-alone recipe, if any
    pilot_candidates: Mapping[str, Mapping[str, tuple]] = {}  # profile -> the ground-truth pilot's candidates
    reference_line: bool = False  # Figure 1 draws the gold architecture's accuracy, not a correlation
    edit_reference: Any = None  # the architecture edit distances are measured to (bias chapter)
    benchmark_gt_profiles: tuple = ()  # profiles whose ground truth is the benchmark's own records
    benchmark_tables: bool = False  # the benchmark's trained tables exist offline (groundtruth source="benchmark")
    pruning_sweep: bool = False  # Figure 5's sweep and Figures 17-18 apply: a ground-truth sample to prune
    gold: Any = None  # the architecture Figure 6 prunes around (6b, 6c; ``around``); None: the space has none
    gold_name: str | None = None  # its name in the book
    # (seconds per supernet training epoch, per scored architecture) at the cpu profile with one thread,
    # measured on 3 December 2026 (AMD EPYC family 26, AVX512) with two processes busy: what the
    # regime's plan costs by where no stored result of the space records them (regime.measured_rates)
    fallback_rates: tuple[float, float] | None = None

    # ---- architectures -------------------------------------------------------
    def parse(self, s: str):
        """Canonical string -> architecture; raises InvalidArchitecture with a reason."""
        raise NotImplementedError

    def to_str(self, arch) -> str:
        return str(arch)

    def validate(self, arch) -> None:
        """Raise InvalidArchitecture if ``arch`` is not in this space."""
        raise NotImplementedError

    def is_valid(self, arch) -> bool:
        try:
            self.validate(arch)
        except InvalidArchitecture:
            return False
        return True

    def size(self) -> int:
        """Exact number of valid architectures."""
        raise NotImplementedError

    def sample(self, rng: random.Random):
        """One architecture drawn uniformly from the valid ones."""
        raise NotImplementedError

    def sample_many(self, n: int, seed: int, unique: bool = True) -> list:
        """A fixed, reproducible sample of ``n`` architectures (distinct if ``unique``)."""
        if n < 0:
            raise ValueError(f"sample size must be >= 0, got {n}")
        if unique and n > self.size():
            raise ValueError(f"cannot draw {n} distinct architectures from a space of {self.size()}")
        rng = random.Random(seed)
        out, seen = [], set()
        while len(out) < n:
            a = self.sample(rng)
            if unique and a in seen:
                continue
            seen.add(a)
            out.append(a)
        return out

    def enumerate(self) -> Iterator:
        """All valid architectures, where the space is small enough."""
        raise NotImplementedError(f"{self.title or self.name} is too large to enumerate")

    def decisions(self, arch) -> dict[str, Hashable]:
        """Named choices of ``arch``, in a fixed order."""
        raise NotImplementedError

    def decision_choices(self) -> dict[str, tuple]:
        """For every decision name, the candidates it can take (in a fixed order)."""
        raise NotImplementedError

    def restrict(self, allowed: Mapping[str, Iterable]) -> "SearchSpace":
        """The sub-space whose decisions take only the ``allowed`` candidates."""
        return RestrictedSpace(self, allowed)

    def subset(self, archs: Sequence) -> "SearchSpace":
        """The sub-space made of exactly these architectures (e.g. after pruning)."""
        return SubsetSpace(self, archs)

    def around(self, gold, n_free: int, seed: int = 0) -> "SearchSpace":
        """Figure 6b/6c's pruned space around ``gold``: every decision fixed to ``gold``'s choice but
        ``n_free`` (drawn with ``seed``), which keep their candidates; it always contains ``gold``.
        Only spaces with a gold architecture (``gold``) build one: how is the space's own."""
        raise ValueError(f"cannot prune {self.name!r} around a gold architecture")

    # ---- networks ------------------------------------------------------------
    def config(self, profile: str) -> dict[str, Any]:
        """Network and data configuration for a profile (smoke / cpu / paper)."""
        raise NotImplementedError

    def supernet(self, cfg: Mapping[str, Any]) -> nn.Module:
        """Weight-sharing network; ``forward(x, arch)`` runs the single path ``arch``."""
        raise NotImplementedError

    def standalone(self, arch, cfg: Mapping[str, Any]) -> nn.Module:
        """The independent network of ``arch``; ``forward(x)``."""
        raise NotImplementedError

    def cost(self, arch, cfg: Mapping[str, Any]) -> Cost:
        """Parameters and FLOPs (multiply-adds) of the stand-alone network."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


STUDY_FACTS = ("budgets", "supernet_recipe", "standalone_recipe", "table2_column", "paper_paths", "gt_variant",
               "pilot_candidates", "reference_line", "edit_reference", "benchmark_gt_profiles", "benchmark_tables",
               "pruning_sweep", "gold", "gold_name", "fallback_rates")


class SubsetSpace(SearchSpace):
    """An explicit list of architectures of a parent space, sampled uniformly."""

    def __init__(self, parent: SearchSpace, archs: Sequence):
        self.parent = parent
        self.archs = list(dict.fromkeys(archs))
        if not self.archs:
            raise ValueError("a subset space needs at least one architecture")
        for a in self.archs:
            parent.validate(a)
        self._members = set(self.archs)
        for attr in ("name", "title", "task", "metric", "higher_is_better", "space_type", "paper_dataset",
                     *STUDY_FACTS):
            setattr(self, attr, getattr(parent, attr))

    def parse(self, s):
        a = self.parent.parse(s)
        self.validate(a)
        return a

    def validate(self, arch):
        self.parent.validate(arch)
        if arch not in self._members:
            raise InvalidArchitecture(f"{arch} is valid in {self.parent.name} but pruned from this sub-space")

    def size(self):
        return len(self.archs)

    def sample(self, rng):
        return self.archs[rng.randrange(len(self.archs))]

    def enumerate(self):
        return iter(self.archs)

    def decisions(self, arch):
        return self.parent.decisions(arch)

    def decision_choices(self):
        return self.parent.decision_choices()

    def config(self, profile):
        return self.parent.config(profile)

    def supernet(self, cfg):
        return self.parent.supernet(cfg)

    def standalone(self, arch, cfg):
        return self.parent.standalone(arch, cfg)

    def cost(self, arch, cfg):
        return self.parent.cost(arch, cfg)


class RestrictedSpace(SubsetSpace):
    """A parent space with some decisions narrowed; sampled by rejection from the parent.

    Exact size by enumeration where the parent can enumerate; otherwise spaces
    override ``restrict`` with an exact construction.
    """

    def __init__(self, parent: SearchSpace, allowed: Mapping[str, Iterable]):
        choices = parent.decision_choices()
        self.allowed = {}
        for k, v in allowed.items():
            if k not in choices:
                raise ValueError(f"unknown decision {k!r}; decisions are {sorted(choices)}")
            v = tuple(v)
            bad = [c for c in v if c not in choices[k]]
            if bad or not v:
                raise ValueError(f"decision {k!r} cannot take {bad or 'no candidate'}; candidates: {choices[k]}")
            self.allowed[k] = set(v)
        archs = [a for a in parent.enumerate() if self._admits(parent, a)]
        super().__init__(parent, archs)

    def _admits(self, parent, arch):
        d = parent.decisions(arch)
        return all(d[k] in v for k, v in self.allowed.items())


def narrow_choices(current: Mapping[str, tuple], allowed: Mapping[str, Iterable]) -> dict[str, tuple]:
    """Each decision's candidates intersected with ``allowed`` (keeping ``current``'s order, so
    equal restrictions give equal spaces); unknown decisions and empty results are errors."""
    merged = dict(current)
    for k, v in allowed.items():
        if k not in merged:
            raise ValueError(f"unknown decision {k!r}")
        v = set(v)
        merged[k] = tuple(c for c in merged[k] if c in v)
        if not merged[k]:
            raise ValueError(f"decision {k!r} cannot take {sorted(v, key=str)}; candidates: {current[k]}")
    return merged


def log10_size(space: SearchSpace) -> float:
    return math.log10(space.size())
