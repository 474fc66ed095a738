"""The contract every registered search space keeps, and the study facts it must hold.

Parametrized over the registry, so a sixth space is checked the moment it is registered.
The per-space files (tests/test_nb201.py ...) keep what only one space has: its official
parameter counts, its string forms, its pruned spaces.
"""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from nas_core import paper, profiles, pruning, regime, sampling, study, training
from nas_core.spaces import SPACE_NAMES, STUDY_FACTS, InvalidArchitecture, get_space
from nas_core.spaces.config import PROFILES, Budget, Recipe

SPACES = pytest.mark.parametrize("name", SPACE_NAMES)


@SPACES
def test_size_is_table1s(name):
    space = get_space(name)
    size = space.size()
    assert isinstance(size, int) and size > 0
    assert math.isclose(size, paper.TABLE1.loc[name, "valid_size"], rel_tol=0.01)  # Table 1 prints 3 digits


@SPACES
def test_string_round_trip_and_decisions(name):
    space = get_space(name)
    choices = space.decision_choices()
    for arch in space.sample_many(20, seed=0):
        assert space.parse(str(arch)) == arch and space.to_str(arch) == str(arch)
        d = space.decisions(arch)
        assert list(d) == list(choices) and all(d[k] in choices[k] for k in d)


@SPACES
def test_sampling_is_valid_distinct_and_reproducible(name):
    space = get_space(name)
    archs = space.sample_many(30, seed=1)
    assert all(space.is_valid(a) for a in archs) and len(set(archs)) == 30
    assert space.sample_many(30, seed=1) == archs and space.sample_many(30, seed=2) != archs


@SPACES
@pytest.mark.parametrize("bad", ["", "not an architecture", "|||", None])
def test_invalid_input_is_rejected(name, bad):
    space = get_space(name)
    with pytest.raises(InvalidArchitecture):
        space.parse(bad)
    with pytest.raises(InvalidArchitecture):
        space.validate(bad)


def _inherited(space, supernet, arch, net) -> dict | None:
    """The supernet's weights for ``arch`` in the stand-alone network's names, or None where the
    space has no hand-over (its own test file checks the path another way)."""
    if hasattr(supernet, "standalone_state_dict"):
        return supernet.standalone_state_dict(arch)
    shared, own = supernet.state_dict(), net.state_dict()
    if all(k in shared and shared[k].shape == v.shape for k, v in own.items()):
        return {k: shared[k] for k in own}
    return None


# NB-101's path check lives in tests/test_nb101.py (its projections are named apart from the
# stand-alone network's); ProxylessNAS's supernet hands no weights over to a stand-alone network.
NO_HAND_OVER = {"nb101", "proxyless"}


@SPACES
def test_supernet_path_is_the_standalone_network_and_cost_counts_its_parameters(name):
    space = get_space(name)
    cfg = space.config("smoke")
    torch.manual_seed(0)
    supernet = space.supernet(cfg).eval()
    for arch in space.sample_many(2, seed=3):
        net = space.standalone(arch, cfg).eval()
        assert space.cost(arch, cfg).params == sum(p.numel() for p in net.parameters() if p.requires_grad)
        state = _inherited(space, supernet, arch, net)
        if state is None:
            assert name in NO_HAND_OVER, f"{name}: the stand-alone network cannot take the supernet's weights"
            continue
        net.load_state_dict(state)
        with torch.no_grad():
            if space.task == "language_model":
                x = torch.randint(0, cfg["vocab_size"], (cfg["bptt"], 2))
                got, want = supernet(x, net.init_hidden(2), arch)[0], net(x, net.init_hidden(2))[0]
            else:
                x = torch.randn(2, cfg["in_channels"], cfg["image_size"], cfg["image_size"])
                got, want = supernet(x, arch), net(x)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- the study's facts of the space

@SPACES
def test_every_profile_has_a_budget_and_a_configuration(name):
    space = get_space(name)
    assert set(space.budgets) == set(PROFILES)
    for p in PROFILES:
        assert isinstance(space.budgets[p], Budget) and profiles.budget(name, p) is space.budgets[p]
        assert "dataset" in space.config(p)
    paper_budget = space.budgets["paper"]
    assert paper_budget.n_eval_archs == 1000  # Figure 2: the supernet ranks 1k architectures in every space


@SPACES
def test_recipes_are_the_spaces_and_profiles_change_only_budget_fields(name):
    space = get_space(name)
    assert isinstance(space.supernet_recipe, Recipe) and isinstance(space.standalone_recipe, Recipe)
    assert space.supernet_recipe.source and space.standalone_recipe.source and space.standalone_recipe.epochs > 0
    assert training.SUPERNET_RECIPES[name] is space.supernet_recipe
    assert training.STANDALONE_RECIPES[name] is space.standalone_recipe
    assert space.table2_column in training.recipe_table().columns
    for p in PROFILES:
        for standalone in (False, True):
            base = space.standalone_recipe if standalone else space.supernet_recipe
            got = training.recipe_for(name, p, standalone=standalone)
            changed = {k for k, v in dataclasses.asdict(got).items() if getattr(base, k) != v}
            assert changed <= profiles.BUDGET_FIELDS


@SPACES
def test_the_other_facts_are_well_formed(name):
    space = get_space(name)
    assert set(STUDY_FACTS) <= set(dir(space))
    assert space.paper_paths >= 1 and sampling.paper_paths(name) == space.paper_paths
    if space.gt_variant is not None:
        assert set(space.gt_variant) == {"cfg", "recipe", "epochs_factor"} and name in study.GT_VARIANTS
        assert set(space.gt_variant["cfg"]) <= set(space.config("cpu"))
        assert set(space.gt_variant["recipe"]) <= {f.name for f in dataclasses.fields(Recipe)}
    assert set(space.pilot_candidates) <= set(PROFILES)
    for cands in space.pilot_candidates.values():
        assert all(set(over) <= set(space.config("cpu")) | {"vocab_size"} and epochs > 0
                   for over, epochs in cands.values())
    assert set(space.benchmark_gt_profiles) <= set(PROFILES)
    if space.edit_reference is not None:
        space.validate(space.edit_reference)
    assert (name in study.REFERENCE_LINE_SPACES) == space.reference_line


def test_the_registry_order_is_table_2s():
    assert list(training.SUPERNET_RECIPES) == list(SPACE_NAMES) == list(paper.TABLE2.columns)


@SPACES
def test_pruning_budgets_are_rungs_of_the_ladder(name):
    # the sweeps were computed on the ladder's rung; a trained-budget family's guided pruning ranks
    # by the ladder's stored supernet at the same budget
    for p in PROFILES:
        b = get_space(name).budgets[p]
        for e in (b.pruning_epochs, b.pruning_trained_epochs, b.around_trained_epochs):
            assert e is None or e in b.ladder


@SPACES
def test_every_space_builds_its_around_space_or_says_it_has_none(name):
    space = get_space(name)
    budgets = space.budgets.values()
    if space.gold is None:
        assert name not in pruning.AROUND_SPACES and space.gold_name is None
        assert all(b.around_trained_epochs is None for b in budgets)
        with pytest.raises(ValueError, match="cannot prune"):
            space.around(space.sample_many(1, seed=0)[0], 1)
        return
    space.validate(space.gold)
    assert name in pruning.AROUND_SPACES and pruning.GOLD_NAMES[name] == space.gold_name
    for n_free in (0, 1):
        around = space.around(space.gold, n_free, seed=0)
        assert around.size() == 7 ** n_free and around.is_valid(space.gold)  # Figure 6: 7 ** n_free around gold
    assert pruning.around_space(name, 1, seed=0).size() == 7


@SPACES
def test_a_sweep_space_has_a_ground_truth_sample_to_prune(name):
    space = get_space(name)
    assert (name in pruning.SWEEP_SPACES) == space.pruning_sweep
    for p, b in space.budgets.items():
        if space.pruning_sweep:  # the profile's pruning factors each keep two or more of the pool
            pruning.check_factors(pruning.default_factors(p), b.n_gt_archs)
        else:
            assert b.pruning_trained_epochs is None


@SPACES
def test_the_regime_can_cost_every_space(name):
    # the plan's core-hours fall back on the space's measured rates where nothing stored records them
    rates = get_space(name).fallback_rates
    assert len(rates) == 2 and all(r > 0 for r in rates) and regime.FALLBACK_RATES[name] == rates
