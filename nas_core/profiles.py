"""The three profiles and the budgets they give every search space.

- ``smoke``: seconds per notebook; tiny ladders, a handful of architectures.
- ``cpu`` (default): the whole study at CPU scale on 2 cores.
- ``paper``: the paper's budgets (Figures 1, 2, 13-15, Tables 2-4).

A profile changes budgets and sizes only (epochs, sample sizes, batch and
calibration sizes), never the kind of a training recipe (optimiser, schedule,
regularisation): ``Budget.recipe_overrides`` may touch only ``BUDGET_FIELDS``.
The one labelled exception is ``Budget.supernet_cfg``: network settings that only
supernets of that space and profile get (ground truth keeps the space's own
configuration), for a supernet that cannot learn at that scale otherwise; the
book's budget table lists them.

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

from dataclasses import dataclass, field

import pandas as pd

PROFILES = ("smoke", "cpu", "paper")
DEFAULT_PROFILE = "cpu"

# Recipe fields a profile may scale; everything else defines the recipe's kind.
BUDGET_FIELDS = frozenset({"batch_size", "bn_calib_batch_size", "bn_calib_steps", "gpus",
                           "eval_batch_size", "test_batch_size"})


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    return name


@dataclass(frozen=True)
class Budget:
    ladder: tuple  # supernet epochs, one supernet per rung (Figure 1)
    gt_epochs: int  # stand-alone (ground-truth) training epochs
    n_eval_archs: int  # fixed sample scored on every supernet
    n_gt_archs: int  # of which this many get stand-alone ground truth
    table3_epochs: tuple = ()  # baseline epochs of the Table 3 comparisons
    gt_seeds: tuple = (0,)  # seeds every ground-truth architecture is trained with (their mean ranks)
    gt_extra_seed_archs: int = 0  # the first this many also get one more seed (Figure 11)
    gt_variant_archs: int = 0  # the first this many also get a different recipe (Figure 12)
    max_steps_per_epoch: int | None = None  # cap for smoke runs
    recipe_overrides: dict = field(default_factory=dict)  # only BUDGET_FIELDS
    supernet_cfg: dict = field(default_factory=dict)  # supernet-only network settings (a labelled deviation)

    def __post_init__(self):
        bad = set(self.recipe_overrides) - BUDGET_FIELDS
        if bad:
            raise ValueError(f"a profile may only change budget fields {sorted(BUDGET_FIELDS)}, not {sorted(bad)}")
        if any(e <= 0 for e in self.ladder) or list(self.ladder) != sorted(self.ladder):
            raise ValueError(f"ladder must be increasing positive epochs, got {self.ladder}")
        if self.n_gt_archs > self.n_eval_archs:
            raise ValueError("ground truth is drawn from the evaluated sample: n_gt_archs <= n_eval_archs")
        if max(self.gt_extra_seed_archs, self.gt_variant_archs) > self.n_gt_archs:
            raise ValueError("extra seeds and recipe variants are drawn from the ground-truth sample")

    @property
    def gt_extra_seed(self) -> int:
        """The one more seed of the first ``gt_extra_seed_archs`` architectures (Figure 11)."""
        return max(self.gt_seeds) + 1


def _smoke(**kw) -> Budget:
    over = {"batch_size": 32, "bn_calib_batch_size": 32, "bn_calib_steps": 2, "eval_batch_size": 256}
    over.update(kw.pop("recipe_overrides", {}))
    return Budget(ladder=(1, 2), gt_epochs=1, n_eval_archs=8, n_gt_archs=8, table3_epochs=(2,),
                  gt_extra_seed_archs=4, gt_variant_archs=4, max_steps_per_epoch=4, recipe_overrides=over, **kw)


_BUDGETS: dict[tuple[str, str], Budget] = {
    # ---- paper ------------------------------------------------------------
    ("nb101", "paper"): Budget((128, 256, 512, 1000, 2000, 4000, 8000, 16000), 108, 1000, 1000, (1000, 2000)),
    ("nb201", "paper"): Budget((16, 32, 64, 128, 256, 512, 1000, 2000, 4000), 200, 1000, 1000, (2000,)),
    ("darts_cnn", "paper"): Budget((32, 64, 128, 256, 512, 1000, 2000, 4000, 8000), 600, 1000, 100,
                                   gt_extra_seed_archs=100),
    ("proxyless", "paper"): Budget((32, 64, 128, 256, 512, 1000), 300, 1000, 36),
    ("darts_rnn", "paper"): Budget((128, 256, 512, 1000, 2000, 4000), 8000, 1000, 100,
                                   gt_extra_seed_archs=100),
    # ---- cpu. Networks and data chosen by the ground-truth pilot (groundtruth_pilot notebook):
    #      seed-to-seed Spearman on 40 architectures, 10 epochs: nb201 (C=8, N=3) 0.914 with one
    #      seed; nb101 (stem 16, 3 stacks x 1 cell) 0.889 for one seed, so its ground truth is the
    #      mean of two seeds (Spearman-Brown estimate 0.94). Stand-alone training costs about 36 s
    #      (nb201) and 33 s (nb101) per architecture and seed on one core. On the full 300-architecture
    #      nb201 sample one seed gave only 0.82 seed-to-seed, so nb201 also uses the mean of two seeds.
    #      Table 3 groups as the paper's: NB-101 two (its 1k and 2k epochs), NB-201 one (2k), at 64 / 128.
    #      The NAS-Bench ladders reach 256 epochs (25.6x the ground truth's, training regime); a rung
    #      joins once its seeds 0 and 1 are stored, the rest of the regime's rungs are `regime.PLAN`'s.
    ("nb101", "cpu"): Budget((1, 2, 4, 8, 16, 32, 64, 128, 256), 10, 300, 300, (64, 128), gt_seeds=(0, 1),
                             gt_variant_archs=50,
                             recipe_overrides={"bn_calib_steps": 10, "bn_calib_batch_size": 200}),
    ("nb201", "cpu"): Budget((1, 2, 4, 8, 16, 32, 64, 128, 256), 10, 300, 300, (128,), gt_seeds=(0, 1),
                             gt_variant_archs=50,
                             recipe_overrides={"bn_calib_steps": 10, "bn_calib_batch_size": 200}),
    ("darts_cnn", "cpu"): Budget((1, 2, 4, 8, 16, 32), 10, 100, 60, gt_extra_seed_archs=50,
                                 recipe_overrides={"batch_size": 96, "bn_calib_steps": 10, "bn_calib_batch_size": 100}),
    # supernet_cfg: without identity-initialised residual blocks the cpu supernet stays at chance
    # for its whole ladder (train loss ln 10; pilots in results/supernets, the book's Figure 1 page)
    ("proxyless", "cpu"): Budget((1, 2, 4, 8, 16, 32), 5, 100, 20, gt_extra_seed_archs=20,
                                 recipe_overrides={"batch_size": 128, "bn_calib_steps": 10,
                                                   "bn_calib_batch_size": 100},
                                 supernet_cfg={"zero_init_residual": True}),
    ("darts_rnn", "cpu"): Budget((1, 2, 4, 8, 16), 10, 100, 60, gt_extra_seed_archs=50,
                                 recipe_overrides={"batch_size": 64, "eval_batch_size": 10, "test_batch_size": 10}),
    # ---- smoke --------------------------------------------------------------
    ("nb101", "smoke"): _smoke(),
    ("nb201", "smoke"): _smoke(),
    ("darts_cnn", "smoke"): _smoke(),
    ("proxyless", "smoke"): _smoke(supernet_cfg={"zero_init_residual": True}),  # as cpu
    ("darts_rnn", "smoke"): _smoke(recipe_overrides={"batch_size": 8, "eval_batch_size": 10, "test_batch_size": 10,
                                                     "bn_calib_steps": 0}),
}


def budget(space_name: str, profile: str) -> Budget:
    check_profile(profile)
    try:
        return _BUDGETS[(space_name, profile)]
    except KeyError:
        spaces = sorted({s for s, _ in _BUDGETS})
        raise ValueError(f"no budget for space {space_name!r}; spaces: {', '.join(spaces)}") from None


def settings_text(settings: dict) -> str:
    """``{"b": 2, "a": 1}`` -> ``"a=1, b=2"`` (empty for no settings)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))


def budget_table() -> pd.DataFrame:
    """One row per (space, profile): the budgets, for the book."""
    rows = []
    for (space, profile), b in _BUDGETS.items():
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
