"""Every committed result keeps its key and file name (the architecture issue's constraint).

``tests/data/result_keys.json`` pins, for each committed result, its store key (supernets,
pruning, search-space costs, the real NB-201 reference) or its ground-truth ``config_hash``
(which hashes the names of the training and data functions too). Moving code must leave all
of them as they are: otherwise the store would no longer find a committed table and would
recompute it. Regenerate the pin only when results are added: ``python tests/test_result_keys.py``.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from nas_core import study
from nas_core.groundtruth import resolve_setup
from nas_core.profiles import budget
from nas_core.store import result_key
from nas_core.training import recipe_for

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
PIN = Path(__file__).with_name("data") / "result_keys.json"


def _sidecars():
    return sorted(p for p in RESULTS.rglob("*.json"))


def recorded(path: Path) -> str:
    meta = json.loads(path.read_text())
    return meta["key"] if "key" in meta else meta["extra"]["config_hash"]


def _diff(recorded_: dict, base: dict) -> dict:
    return {k: v for k, v in recorded_.items() if base.get(k) != v}


def supernet_name_now(params: dict) -> str:
    """The name ``study.supernet_result_name`` gives today to the call that stored ``params``."""
    space, profile = params["space"], params["profile"]
    recipe_over = _diff(params["recipe"], dataclasses.asdict(recipe_for(space, profile)))
    for with_supernet_cfg in (True, False):
        base = (study.supernet_config if with_supernet_cfg else study.space_config)(space, profile)
        if set(base) - set(params["cfg"]):
            continue  # a key of the base configuration is absent: the other kind of call
        name = study.supernet_result_name(
            space, profile, params["epochs"], seed=params["seed"], strategy=params["strategy"],
            paths=params["paths"], n_archs=params["n_archs"], sample_seed=params["sample_seed"],
            cfg_overrides=_diff(params["cfg"], base), recipe_overrides=recipe_over,
            with_supernet_cfg=with_supernet_cfg)
        if study.short_hash(params) in name:
            return name
    return name


def config_hash_now(path: Path) -> str:
    """The ``config_hash`` ``groundtruth.resolve_setup`` gives today to the table at ``path``."""
    cfg = json.loads(path.read_text())["params"]
    space, profile = cfg["space"], cfg["profile"]
    recipe_over = _diff(cfg["recipe"], dataclasses.asdict(recipe_for(space, profile, standalone=True)))
    setup = resolve_setup(space, profile, cfg_overrides=_diff(cfg["cfg"], study.space_config(space, profile)),
                          recipe_overrides=recipe_over, epochs=cfg["epochs"])
    return setup["config_hash"]


def current() -> dict[str, str]:
    return {str(p.relative_to(RESULTS)): recorded(p) for p in _sidecars()}


def test_every_pinned_result_is_still_committed_under_its_key():
    pinned = json.loads(PIN.read_text())
    now = current()
    missing = sorted(set(pinned) - set(now))
    assert not missing, f"committed results gone or renamed: {missing[:5]}"
    changed = sorted(k for k in pinned if now[k] != pinned[k])
    assert not changed, f"results whose recorded key changed: {changed[:5]}"


@pytest.mark.parametrize("path", [p for p in _sidecars() if "key" in json.loads(p.read_text())],
                         ids=lambda p: p.stem)
def test_store_key_and_name_recompute_from_parameters(path):
    meta = json.loads(path.read_text())
    assert result_key(meta["experiment"], meta["params"]) == meta["key"]
    params = meta["params"]
    if meta["experiment"] == "supernets":
        assert supernet_name_now(params) == meta["name"]
    elif meta["experiment"] == "pruning":
        assert meta["name"] == (f"{params['space']}_{params['profile']}_size{params['space_size']}_e{params['epochs']}"
                                f"_s{params['seed']}_{study.short_hash(params)}")


@pytest.mark.parametrize("path", [p for p in _sidecars() if "key" not in json.loads(p.read_text())],
                         ids=lambda p: str(p.relative_to(RESULTS)))
def test_ground_truth_config_hash_recomputes(path):
    assert config_hash_now(path) == recorded(path)


def test_ladder_rungs_are_increasing_for_every_profile():
    # extending a ladder adds results; it must not rename the rungs already stored
    for space in ("nb101", "nb201", "darts_cnn", "proxyless", "darts_rnn"):
        assert list(budget(space, "cpu").ladder) == sorted(set(budget(space, "cpu").ladder))


if __name__ == "__main__":  # re-pin after adding results (never after moving code)
    PIN.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"pinned {len(current())} results in {PIN}", file=sys.stderr)
