"""Figures of the book: every one titled with the paper's figure number and
captioned with the profile and scale it ran at."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PAPER_STYLE = dict(color="black", linestyle="--", marker="x", label="paper")
OURS_STYLE = dict(marker="o")


def setup() -> None:
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.dpi"] = 96


def caption(figure: str, profile: str, scale: str) -> str:
    """One line a reader cannot miss: which figure, which profile, what scale."""
    return f"**{figure}** — reproduced with profile `{profile}` ({scale}). Paper values, where shown, are labelled *paper*."


def performance_vs_epochs(summary: pd.DataFrame, *, title: str, metric: str, gt_mean: float | None,
                          paper_corr: pd.Series | None = None, real_corr: pd.DataFrame | None = None):
    """Figure 1: supernet performance (left) and Spearman with ground truth (right) vs epochs."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(summary["epochs"], summary["supernet_mean"], label="supernet (mean of sample)", **OURS_STYLE)
    if gt_mean is not None:
        left.axhline(gt_mean, linestyle=":", color="gray", label="ground truth (mean of sample)")
    left.set(xscale="log", xlabel="supernet training epochs", ylabel=metric, title=f"{title}: supernet performance")
    left.legend(fontsize=8)
    if "spearman" in summary:
        right.plot(summary["epochs"], summary["spearman"], label="ours vs CPU-scale ground truth", **OURS_STYLE)
        right.fill_between(summary["epochs"], summary["ci_low"], summary["ci_high"], alpha=0.2)
    if real_corr is not None:
        right.plot(real_corr["epochs"], real_corr["spearman"], marker="s", label="ours vs real 200-epoch table")
    if paper_corr is not None and len(paper_corr):
        right.plot(paper_corr.index, paper_corr.values, **PAPER_STYLE)
    right.set(xscale="log", xlabel="supernet training epochs", ylabel="Spearman correlation",
              title=f"{title}: correlation with ground truth", ylim=(-1, 1))
    right.axhline(0, color="gray", linewidth=0.5)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig
