"""The plain types of a space's study facts: profiles, ``Budget`` and ``Recipe``.

They sit at the bottom of the spaces layer (no torch, no other ``nas_core`` module) so that
each space module can hold its own budgets and recipes; ``nas_core.profiles`` and
``nas_core.training`` re-export them under their old names.

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
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
    # pruning (Figures 5, 6): supernet epochs of the sweeps on pruned spaces (None: the ladder's middle
    # rung, pruning.default_epochs), and of the trained-budget families (issue #23; None: no family)
    pruning_epochs: int | None = None
    pruning_trained_epochs: int | None = None  # Figure 5's sweep where the ladder's unpruned supernet ranks
    around_trained_epochs: int | None = None  # Figures 6b/6c's spaces around the gold architecture
    # network settings of the trained-budget families, recorded in their results (a family is
    # computed with one setting throughout). No space sets one: channels-last, the candidate, was
    # measured less precise, not merely rounded otherwise (evaluation.MEMORY_FORMAT)
    trained_family_cfg: dict = field(default_factory=dict)


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
        if any(e is not None and e <= 0 for e in (self.pruning_epochs, self.pruning_trained_epochs,
                                                   self.around_trained_epochs)):
            raise ValueError("pruning epochs must be positive (or None)")

    @property
    def gt_extra_seed(self) -> int:
        """The one more seed of the first ``gt_extra_seed_archs`` architectures (Figure 11)."""
        return max(self.gt_seeds) + 1


def smoke_budget(**kw) -> Budget:
    """The smoke profile's budget, the same for every space but for ``kw``."""
    over = {"batch_size": 32, "bn_calib_batch_size": 32, "bn_calib_steps": 2, "eval_batch_size": 256}
    over.update(kw.pop("recipe_overrides", {}))
    return Budget(ladder=(1, 2), gt_epochs=1, n_eval_archs=8, n_gt_archs=8, table3_epochs=(2,),
                  gt_extra_seed_archs=4, gt_variant_archs=4, max_steps_per_epoch=4, recipe_overrides=over, **kw)


@dataclass(frozen=True)
class Recipe:
    batch_size: int
    lr: float
    lr_end: float = 0.0
    schedule: str = "cosine"  # cosine | fixed
    optimizer: str = "sgd"  # sgd | sgd_asgd (DARTS-PTB) | rmsprop (NAS-Bench-101 ground truth)
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max global gradient norm; 0 = off
    aux_weight: float = 0.0
    label_smoothing: float = 0.0
    cutout: int = 0  # cutout length in pixels; 0 = off
    drop_path: float = 0.0  # final drop-path probability (DARTS: grows linearly with the epoch)
    bn_calib_batch_size: int = 0
    bn_calib_steps: int = 0
    gpus: int = 1  # > 1: multi-path parallel strategy with this many shards
    # language models (DARTS-PTB)
    bptt: int = 0
    variable_bptt: bool = False
    nonmono: int = 0  # SGD -> ASGD once validation stops improving for this many epochs
    eval_batch_size: int = 0  # LM validation batch size (DARTS: 10); images: evaluation batch
    test_batch_size: int = 0  # LM test batch size (DARTS: 1)
    tar_beta: float = 0.0  # DARTS's temporal activation regularisation (beta 1e-3)
    # optimiser details of some ground-truth recipes
    rmsprop_decay: float = 0.9
    rmsprop_eps: float = 1.0
    no_decay_bn: bool = False  # no weight decay on BN parameters (ProxylessNAS)
    epochs: int = 0  # stand-alone: epochs of the original; supernets: 0 (the profile's ladder decides)
    source: str = ""

    def __post_init__(self):
        if self.schedule not in ("cosine", "fixed"):
            raise ValueError(f"schedule must be cosine or fixed, got {self.schedule!r}")
        if self.optimizer not in ("sgd", "sgd_asgd", "rmsprop"):
            raise ValueError(f"optimizer must be sgd, sgd_asgd or rmsprop, got {self.optimizer!r}")
        if self.batch_size < 1 or self.gpus < 1:
            raise ValueError("batch_size and gpus must be >= 1")


__all__ = ["PROFILES", "DEFAULT_PROFILE", "BUDGET_FIELDS", "check_profile", "Budget", "smoke_budget", "Recipe"]
