"""Samplers: uniform, multi-path, and FairNAS's every-candidate-exactly-once property."""
from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass

import pytest

from nas_core.sampling import (FairNasSampler, MultiPathSampler, UniformSampler, fair_decisions, make_sampler,
                               paper_paths)
from nas_core.spaces.base import InvalidArchitecture, SearchSpace


@dataclass(frozen=True)
class Arch:
    ops: tuple

    def __str__(self):
        return "|".join(self.ops)


class GridSpace(SearchSpace):
    """Decision ``d{i}`` picks one of ``choices[i]``; ``forbid(ops)`` marks invalid archs."""

    name = "grid"

    def __init__(self, choices, forbid=lambda ops: False):
        self.choices, self.forbid = [tuple(c) for c in choices], forbid

    def validate(self, arch):
        if not isinstance(arch, Arch) or any(o not in c for o, c in zip(arch.ops, self.choices)):
            raise InvalidArchitecture(repr(arch))
        if self.forbid(arch.ops):
            raise InvalidArchitecture(f"{arch} is forbidden")

    def enumerate(self):
        return (Arch(ops) for ops in itertools.product(*self.choices) if not self.forbid(ops))

    def size(self):
        return sum(1 for _ in self.enumerate())

    def sample(self, rng):
        while True:
            ops = tuple(rng.choice(c) for c in self.choices)
            if not self.forbid(ops):
                return Arch(ops)

    def decisions(self, arch):
        return {f"d{i}": o for i, o in enumerate(arch.ops)}

    def decision_choices(self):
        return {f"d{i}": c for i, c in enumerate(self.choices)}


class Builder(GridSpace):
    """A space that builds an arch from its decisions (else FairNAS uses a lookup table)."""

    def from_decisions(self, d):
        return Arch(tuple(d[f"d{i}"] for i in range(len(self.choices))))


OPS5 = ("none", "skip", "c1", "c3", "pool")


def _column(paths, space, name):
    return [space.decisions(a)[name] for a in paths]


@pytest.mark.parametrize("n_ops,n_dec", [(3, 4), (5, 6)])
def test_fairnas_every_candidate_exactly_once(n_ops, n_dec):
    space = Builder([OPS5[:n_ops]] * n_dec)
    s = FairNasSampler(space)
    assert s.m == n_ops and sorted(s.fair) == sorted(space.decision_choices())
    rng = random.Random(0)
    seen = set()
    for _ in range(200):
        paths = s.next_paths(rng)
        assert len(paths) == n_ops
        for name, cands in space.decision_choices().items():
            assert sorted(_column(paths, space, name)) == sorted(cands)
        seen.update(paths)
    assert len(seen) > min(100, space.size() // 2)  # new permutations every step, not a fixed set


def test_fairnas_with_invalid_combinations_resamples():
    # like NAS-Bench-201: an arch whose first two edges are both 'none' is invalid
    space = Builder([OPS5] * 4, forbid=lambda ops: ops[0] == "none" and ops[1] == "none")
    s = FairNasSampler(space)
    rng = random.Random(1)
    for _ in range(300):
        paths = s.next_paths(rng)
        assert all(space.is_valid(a) for a in paths)
        for name, cands in space.decision_choices().items():
            assert sorted(_column(paths, space, name)) == sorted(cands)
    assert s.fallbacks == 0


def test_fairnas_without_any_valid_set_falls_back_with_a_warning():
    # every fair set needs some path with op 'b' at d0, which is forbidden: impossible
    space = Builder([("a", "b")] * 2, forbid=lambda ops: ops[0] == "b")
    s = FairNasSampler(space, max_tries=5)
    with pytest.warns(UserWarning, match="uniform samples"):
        paths = s.next_paths(random.Random(0))
    assert len(paths) == 2 and all(space.is_valid(a) for a in paths) and s.fallbacks == 1


def test_fairnas_uneven_decisions_pad_and_connection_decisions_uniform():
    # three op decisions (3 candidates) + one input-like decision with 2 and one with 5 integer candidates
    space = Builder([("x", "y", "z")] * 3 + [(0, 1), (0, 1, 2, 3, 4)])
    fair, m = fair_decisions(space.decision_choices())
    assert fair == ["d0", "d1", "d2"] and m == 3
    s = FairNasSampler(space)
    rng = random.Random(2)
    counts = Counter()
    for _ in range(300):
        paths = s.next_paths(rng)
        for name in fair:
            assert sorted(_column(paths, space, name)) == ["x", "y", "z"]
        counts.update(_column(paths, space, "d4"))
    assert set(counts) == {0, 1, 2, 3, 4}  # the non-fair decision stays uniform
    # padded decisions: fewer candidates than m -> every candidate at least once
    # (as ProxylessNAS's first layer of a stage, which lacks 'skip')
    s2 = FairNasSampler(Builder([("x", "y", "z"), ("x", "y")]))
    assert s2.fair == ["d0", "d1"]
    for _ in range(50):
        paths = s2.next_paths(rng)
        assert set(_column(paths, s2.space, "d1")) == {"x", "y"}


def test_fairnas_on_restricted_space_uses_allowed_candidates():
    space = Builder([("x", "y", "z")] * 3)
    sub = space.restrict({"d0": ("x",), "d2": ("y", "z")})
    s = FairNasSampler(sub)
    rng = random.Random(3)
    for _ in range(50):
        paths = s.next_paths(rng)
        assert len(paths) == 3 and all(sub.is_valid(a) for a in paths)
        assert sorted(_column(paths, space, "d1")) == ["x", "y", "z"]
        assert set(_column(paths, space, "d0")) == {"x"}


def test_fairnas_lookup_table_when_space_cannot_build():
    space = GridSpace([OPS5] * 3, forbid=lambda ops: ops == ("none",) * 3)
    s = FairNasSampler(space)
    paths = s.next_paths(random.Random(0))
    assert len(paths) == 5 and all(space.is_valid(a) for a in paths)


def test_uniform_and_multipath():
    space = Builder([OPS5] * 3)
    rng = random.Random(0)
    assert len(UniformSampler(space).next_paths(rng)) == 1
    paths = MultiPathSampler(space, 4).next_paths(rng)
    assert len(paths) == 4 and all(space.is_valid(a) for a in paths)
    with pytest.raises(ValueError):
        MultiPathSampler(space, 0)
    with pytest.raises(ValueError, match="unknown strategy"):
        make_sampler(space, "spos")
    assert isinstance(make_sampler(space, "fairnas"), FairNasSampler)
    assert paper_paths("nb201") == 5 and paper_paths("nb101") == 3


def test_fairnas_on_the_benchmark_spaces():
    from nas_core.spaces import get_space

    for name, m in (("nb201", 5),):
        space = get_space(name)
        s = FairNasSampler(space)
        assert s.m == m == paper_paths(name)
        rng = random.Random(0)
        for _ in range(100):
            paths = s.next_paths(rng)
            assert all(space.is_valid(a) for a in paths)
            for d in s.fair:
                assert sorted(_column(paths, space, d)) == sorted(space.decision_choices()[d])
        assert s.fallbacks == 0
