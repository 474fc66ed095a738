"""The three profiles and the budgets they give every search space.

- ``smoke``: seconds per notebook; tiny ladders, a handful of architectures.
- ``cpu`` (default): the whole study at CPU scale on 2 cores.
- ``paper``: the paper's budgets (Figures 1, 2, 13-15, Tables 2-4).

Each space holds its own budgets (``get_space(name).budgets``, one ``Budget`` per
profile, in ``nas_core/spaces/<space>.py``); this module looks them up and renders
the book's budget table. The types (``Budget``, ``PROFILES``, ``BUDGET_FIELDS``)
live in ``nas_core.spaces.config``, below the spaces, and are re-exported here.
A profile changes budgets and sizes only, never the kind of a training recipe
(``Budget.recipe_overrides`` may touch only ``BUDGET_FIELDS``); the one labelled
exception is ``Budget.supernet_cfg`` (supernet-only network settings).

Paper ladders (supernets trained from scratch for each rung, Figure 1 and the
mutual-correlation labels of Figures 13-15; "1k" is 1000: Table 4's budgets
are 148.1 x 108 = 16000 epochs for NB-101, 20 x 200 = 4000 for NB-201,
13.3 x 600 = 8000 for DARTS-CIFAR10, 3.3 x 300 = 1000 for ProxylessNAS).
The supernet scores a fixed sample of 1000 architectures in every space
(Figure 2: "top-10 out of 1k recommended by the supernet"); stand-alone ground
truth exists for all of them on the NAS-Benches, for a random 100 on DARTS
(377 trained in all) and PTB (137 in all), and for 36 models on ProxylessNAS
(Figure 9; too few for correlations).
"""
from __future__ import annotations

import pandas as pd

from .spaces import SPACE_NAMES, get_space
from .spaces.config import BUDGET_FIELDS, DEFAULT_PROFILE, PROFILES, Budget, check_profile

__all__ = ["PROFILES", "DEFAULT_PROFILE", "BUDGET_FIELDS", "Budget", "check_profile", "budget",
           "settings_text", "budget_table"]


def budget(space_name: str, profile: str) -> Budget:
    """The space's budget at ``profile`` (``get_space(space_name).budgets[profile]``)."""
    check_profile(profile)
    if space_name not in SPACE_NAMES:
        raise ValueError(f"no budget for space {space_name!r}; spaces: {', '.join(sorted(SPACE_NAMES))}")
    return get_space(space_name).budgets[profile]


def settings_text(settings: dict) -> str:
    """``{"b": 2, "a": 1}`` -> ``"a=1, b=2"`` (empty for no settings)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def budget_table() -> pd.DataFrame:
    """One row per (space, profile): the budgets, for the book."""
    rows = []
    for space in SPACE_NAMES:
        for profile, b in get_space(space).budgets.items():
            rows.append({
                "space": space, "profile": profile,
                "ladder (epochs)": ", ".join(str(e) for e in b.ladder),
                "ground-truth epochs": b.gt_epochs, "archs scored": b.n_eval_archs,
                "archs with ground truth": b.n_gt_archs, "ground-truth seeds": len(b.gt_seeds),
                "archs with an extra seed": b.gt_extra_seed_archs, "archs with a recipe variant": b.gt_variant_archs,
                "Table 3 epochs": ", ".join(str(e) for e in b.table3_epochs) or "-",
                "max steps/epoch": b.max_steps_per_epoch or "-",
                "recipe changes": settings_text(b.recipe_overrides) or "-",
                "supernet-only network changes": settings_text(b.supernet_cfg) or "-",
            })
    order = {p: i for i, p in enumerate(PROFILES)}
    df = pd.DataFrame(rows)
    return df.sort_values(["space", "profile"], key=lambda s: s.map(order) if s.name == "profile" else s,
                          ignore_index=True)
