"""Figures of the free-estimators chapter: ranking quality against cost, supernets and estimators together.

Each figure reads tables the study computes (``estimator_study.cpu_correlations``,
``ladder_correlations``, ``top_rung_comparison``) and draws nothing else; its title names the
space, the profile and the scale it ran at.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .spaces import get_space
from .study import space_config

# params and FLOPs are analytic (their time can read 0); a log axis cannot show 0, so they sit at this floor
COST_FLOOR_S = 1e-5


def scale_label(space_name: str, profile: str, n_archs: int) -> str:
    """'profile cpu: fashion-mnist 16x16, C=8 N=3, 300 architectures with ground truth'."""
    cfg = space_config(space_name, profile)
    keys = [k for k in ("C", "N", "layers", "stem_channels", "width_mult", "nhid", "hidden") if k in cfg]
    net = " ".join(f"{k}={cfg[k]}" for k in keys)
    img = f" {cfg['image_size']}x{cfg['image_size']}" if cfg.get("image_size") else ""
    return f"profile {profile}: {cfg['dataset']}{img}, {net}, {n_archs} architectures with ground truth"


def _err(t: pd.DataFrame, col: str = "spearman") -> np.ndarray:
    lo = (t[col] - t[f"{col}_lo"]).clip(lower=0).fillna(0).to_numpy(float)
    hi = (t[f"{col}_hi"] - t[col]).clip(lower=0).fillna(0).to_numpy(float)
    return np.vstack([lo, hi])


def correlation_vs_cost(estimators: pd.DataFrame, ladder: pd.DataFrame, *, space_name: str, profile: str,
                        hybrid: pd.DataFrame | None = None, ax=None):
    """Spearman with ground truth (95% interval) against seconds per architecture (log x).

    ``estimators``: ``cpu_correlations`` rows (estimator, spearman, spearman_lo/hi,
    cpu_s_per_arch); undefined correlations (a constant estimator) are left out.
    ``ladder``: ``ladder_correlations`` rows (epochs, seed, spearman, ..., cpu_s_per_arch): seed 0
    joined by a line in epoch order, other seeds as open markers. ``hybrid``: optional
    ``top_rung_comparison`` rows, drawn at the supernet's cost plus the estimator's."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 5.2))
    else:
        fig = ax.figure
    e = estimators.dropna(subset=["spearman"]).copy()
    e["x"] = e["cpu_s_per_arch"].clip(lower=COST_FLOOR_S)
    ax.errorbar(e["x"], e["spearman"], yerr=_err(e), fmt="o", color="tab:blue", capsize=2, ms=5,
                label="free estimators (CPU s, one thread)")
    for _, r in e.iterrows():
        ax.annotate(r["estimator"], (r["x"], r["spearman"]), fontsize=7, xytext=(4, 3), textcoords="offset points",
                    color="tab:blue")
    if len(ladder):
        first_seed = int(ladder["seed"].min())
        main = ladder[ladder["seed"] == first_seed].sort_values("epochs")
        ax.errorbar(main["cpu_s_per_arch"], main["spearman"], yerr=_err(main), fmt="s-", color="tab:red", capsize=2,
                    ms=5, lw=1, label=f"supernet ladder, seed {first_seed} (wall s incl. training, per architecture)")
        others = ladder[ladder["seed"] != first_seed]
        if len(others):
            ax.errorbar(others["cpu_s_per_arch"], others["spearman"], yerr=_err(others), fmt="s", mfc="none",
                        color="tab:red", capsize=2, ms=6, label="supernet, other seeds")
        # the cheap rungs cost about the same (scoring dominates): alternate the labels' side
        for i, (_, r) in enumerate(ladder.sort_values(["seed", "epochs"]).iterrows()):
            tag = f"{int(r['epochs'])} ep" + ("" if int(r["seed"]) == first_seed else f" s{int(r['seed'])}")
            ax.annotate(tag, (r["cpu_s_per_arch"], r["spearman"]), fontsize=7, xytext=(5, -10 if i % 2 else 4),
                        textcoords="offset points", color="tab:red")
    if hybrid is not None and len(hybrid):
        x = hybrid["supernet_cpu_s_per_arch"] + hybrid["estimator_cpu_s_per_arch"]
        y = hybrid["hybrid_spearman"]
        err = np.vstack([(y - hybrid["hybrid_lo"]).clip(lower=0), (hybrid["hybrid_hi"] - y).clip(lower=0)])
        ax.errorbar(x, y, yerr=err, fmt="*", color="tab:green", ms=10, capsize=2,
                    label=f"hybrid: mean rank of top supernet and {hybrid['best_estimator'].iloc[0]}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel(f"seconds per architecture (log; a cost below {COST_FLOOR_S:g} s drawn at {COST_FLOOR_S:g} s)")
    ax.set_ylabel("Spearman with ground truth")
    n = int(estimators["n"].iloc[0]) if "n" in estimators and len(estimators) else 0
    ax.set_title(f"{get_space(space_name).title}: ranking against cost\n{scale_label(space_name, profile, n)}",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


__all__ = ["COST_FLOOR_S", "scale_label", "correlation_vs_cost"]
