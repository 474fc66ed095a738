"""Numbers reported in the paper, transcribed as labelled references.

Zhang, Zhang and Yang, "How Does Supernet Help in Neural Architecture Search?"
(arXiv:2010.08219). Nothing here is computed by this project: these values
only ever appear in the book beside our own results, labelled "paper".
The mutual-correlation matrices of Figures 13-15 are CSV files in
``paper_numbers/`` transcribed from the paper's appendix.

Its tables are keyed by the study's space names: transcribing the paper per space is why a
module outside ``spaces/`` may name spaces (everything else reads the space objects).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

_DIR = Path(__file__).with_name("paper_numbers")

TABLE1 = pd.DataFrame(
    [
        ("nb101", "NAS-Bench-101", 95985, "CIFAR-10", "Image classification", "Cell-wise"),
        ("nb201", "NAS-Bench-201", 15284, "CIFAR-100", "Image classification", "Cell-wise"),
        ("darts_cnn", "DARTS-CIFAR10", 2.76e20, "CIFAR-10", "Image classification", "Cell-wise"),
        ("proxyless", "ProxylessNAS", 2.22e17, "ImageNet", "Image classification", "Chain-wise"),
        ("darts_rnn", "DARTS-PTB", 2.64e9, "Penn Treebank", "Language modelling", "Cell-wise"),
    ],
    columns=["space", "title", "valid_size", "dataset", "task", "space_type"],
).set_index("space")

# Table 2 as printed (the code's recipes are the source of truth; this is for comparison).
# DARTS-PTB weight decay is printed as "8 * 10^7": DARTS uses 8e-7.
TABLE2 = pd.DataFrame(
    {
        "nb101": [256, 0.1, "cosine", 0, "SGD", 0.9, False, 1e-4, 5, 0, 0, 0, 0, 400, 25, 1],
        "nb201": [256, 0.05, "cosine", 0, "SGD", 0.9, True, 5e-4, 5, 0, 0, 0, 0, 400, 25, 1],
        "darts_cnn": [448, 0.1, "cosine", 0, "SGD", 0.9, False, 3e-4, 5, 0.4, 0, 16, 0.2, 200, 100, 4],
        "proxyless": [1024, 0.2, "cosine", 0, "SGD", 0.9, False, 5e-4, 0, 0, 0.1, 0, 0, 400, 25, 8],
        "darts_rnn": [256, 40, "fixed", 40, "SGD/ASGD", 0, False, 8e-7, 0.1, None, None, None, None, None, 0, 1],
    },
    index=["batch_size", "lr", "lr_decay", "lr_end", "optimizer", "momentum", "nesterov", "weight_decay",
           "grad_clip", "aux_weight", "label_smoothing", "cutout", "drop_path", "bn_calib_batch_size",
           "bn_calib_steps", "gpus"],
)

# Table 3 as printed: (group, setting, Corr-BL, Corr-GT, Top-10, S-Perf, and the paper's own
# deltas to its group's baseline, printed in brackets; None on the baseline rows). The printed
# deltas are kept as printed: recomputing them from the printed absolute values differs by
# rounding (Multi-Path's Corr-GT +0.007 printed, 0.626 - 0.618 = 0.008).
TABLE3 = pd.DataFrame(
    [
        ("NAS-Bench-101 (1k epochs)", "baseline", 1.000, 0.618, 93.45, 88.38, None, None, None),
        ("NAS-Bench-101 (1k epochs)", "FairNAS", 0.967, 0.683, 93.64, 86.59, 0.064, 0.19, -1.79),
        ("NAS-Bench-101 (1k epochs)", "Multi-Path", 0.963, 0.626, 93.87, 85.99, 0.007, 0.42, -2.38),
        ("NAS-Bench-101 (1k epochs)", "LR=0.05, WD=3e-4", 0.982, 0.608, 93.13, 88.86, -0.010, -0.32, 0.49),
        ("NAS-Bench-101 (1k epochs)", "Different Seed", 0.982, 0.630, 93.59, 87.57, 0.012, 0.14, -0.80),
        ("NAS-Bench-101 (2k epochs)", "baseline", 1.000, 0.659, 93.82, 90.58, None, None, None),
        ("NAS-Bench-101 (2k epochs)", "FairNAS", 0.964, 0.652, 93.41, 90.32, -0.007, -0.41, -0.26),
        ("NAS-Bench-101 (2k epochs)", "Multi-Path", 0.963, 0.656, 93.64, 90.29, -0.002, -0.18, -0.29),
        ("NAS-Bench-101 (2k epochs)", "LR=0.05, WD=3e-4", 0.970, 0.611, 93.45, 90.58, -0.048, -0.37, 0.01),
        ("NAS-Bench-101 (2k epochs)", "Different Seed", 0.979, 0.644, 93.45, 90.29, -0.014, -0.37, -0.28),
        ("NAS-Bench-201 (2k epochs)", "baseline", 1.000, 0.701, 69.66, 49.01, None, None, None),
        ("NAS-Bench-201 (2k epochs)", "FairNAS", 0.978, 0.716, 69.87, 48.74, 0.015, 0.21, -0.27),
        ("NAS-Bench-201 (2k epochs)", "Multi-Path", 0.984, 0.706, 70.05, 48.73, 0.005, 0.39, -0.28),
        ("NAS-Bench-201 (2k epochs)", "CIFAR-10", 0.915, 0.831, 69.87, 81.95, 0.130, 0.21, 32.94),
        ("NAS-Bench-201 (2k epochs)", "ImageNet-16-120", 0.962, 0.711, 69.72, 21.81, 0.010, 0.06, -27.20),
    ],
    columns=["group", "setting", "corr_bl", "corr_gt", "top10", "s_perf", "d_corr_gt", "d_top10", "d_s_perf"],
)

# Table 4: budgets relative to one stand-alone training; supernet and ground truth
# avg / best / worst / range over the sampled architectures (PTB in perplexity).
TABLE4 = pd.DataFrame(
    [
        ("nb101", 148.1, 91.21, 94.22, 64.51, 29.71, 90.71, 94.53, 34.38, 60.16),
        ("nb201", 20.0, 50.90, 64.86, 19.78, 45.08, 62.74, 73.13, 9.77, 63.36),
        ("darts_cnn", 13.3, 92.87, 94.57, 82.72, 11.85, 96.91, 97.38, 96.18, 1.20),
        ("proxyless", 3.3, 73.26, 74.90, 67.74, 7.15, None, None, None, None),
        ("darts_rnn", 1.3, 66.31, 64.75, 71.57, 6.81, 60.04, 57.87, 63.88, 6.01),
    ],
    columns=["space", "budget_x", "sn_avg", "sn_best", "sn_worst", "sn_range", "gt_avg", "gt_best", "gt_worst", "gt_range"],
).set_index("space")

# Findings quoted in the text (section 3), for the verdicts.
TEXT = {
    "nb201_gap_at_4k": "NAS-Bench-201 at 4k epochs (20x one training): supernet still ~10% below ground truth",
    "darts_corr_64": "DARTS-CIFAR10: correlation 0.54 at 64 epochs, ~0.2 with further training",
    "ptb_corr_negative": "DARTS-PTB: correlation below 0",
    "nb101_params_gt": "NAS-Bench-101: Spearman(parameters, ground truth) = 0.67",
    "nb101_worst30_precision": "NAS-Bench-101: precision of the worst 30% ~70%, of the best 30% ~50%",
    "ptb_precision": "DARTS-PTB: precision ~20%, below the random 30%",
}

MUTUAL_FILES = {
    "nb101": "fig13_nb101", "nb201": "fig14_nb201", "darts_cnn": "fig15a_darts_cnn",
    "darts_rnn": "fig15b_darts_rnn", "proxyless": "fig15c_proxyless", "proxyless_600m": "fig15d_proxyless_600m",
}
FIGURE_OF = {"nb101": "Figure 13", "nb201": "Figure 14", "darts_cnn": "Figure 15a", "darts_rnn": "Figure 15b",
             "proxyless": "Figure 15c", "proxyless_600m": "Figure 15d"}

# The matrix that holds a space's size bias where it is not the space's own: Figure 15c has no
# parameter row, Figure 15d (ProxylessNAS under 600M FLOPs) has one.
SIZE_BIAS_MATRIX = {"proxyless": "proxyless_600m"}

# Section 3.2, "Bias towards certain operators" (Figure 4; ``bias.PAPER_OPERATOR_BIAS``).
# ``decisions`` are this project's decision names the statement is about (pooled where the
# paper names an operator but no edge or node); ``supernet`` and ``ground_truth`` are the directions it
# states for architectures with ``candidate``; ``best_choice``: what the best cells choose.
OPERATOR_BIAS = {
    "nb101": dict(decisions=("op1", "op2", "op3", "op4", "op5"), candidate="conv3x3-bn-relu",
                  supernet="favoured", ground_truth="good", best_choice=None,
                  text="For NAS-Bench-101, Conv3x3 is clearly preferred by supernet. Fortunately, "
                       "architectures with Conv3x3 indeed have relatively good performance."),
    "nb201": dict(decisions=("3<-0",), candidate="nor_conv_3x3", supernet="favoured", ground_truth="poor",
                  best_choice="skip_connect",
                  text="On NAS-Bench-201 however, Conv3x3 is also greatly biased on the shortcut operator from "
                       "input node to output node, but almost all architectures with best ground truth "
                       "performance choose skip connection."),
    "darts_rnn": dict(decisions=tuple(f"n{i}.act" for i in range(1, 9)), candidate="tanh",
                      supernet="favoured", ground_truth="poor", best_choice=None,
                      text="Similarly, on DARTS-PTB, Tanh, which is favored by supernet, turns out to be a "
                           "worse option."),
}

# Appendix B.2 (Figure 11): seed-to-seed Spearman of the ground truth, with its source
# (``bias.PAPER_SEED_SPEARMAN``).
SEED_SPEARMAN = {
    "nb101": (0.95, "above 0.95, reported by NAS-Bench-101's authors (quoted in appendix B.2)"),
    "nb201": (0.98, "0.98, reported by NAS-Bench-201's authors (quoted in appendix B.2)"),
    "darts_cnn": (0.77, "0.77, 'GT diff seed' of Figure 15a (100 architectures retrained)"),
    "darts_rnn": (None, "shown only as a scatter (Figure 11): 'relatively unstable'"),
    "proxyless": (None, "not measured (36 models, one seed)"),
}

# Which figure of the appendix shows a space's distributions (``bias.DISTRIBUTION_FIGURE``).
DISTRIBUTION_FIGURE = {"nb101": "Figure 7", "nb201": "Figure 7", "darts_cnn": "Figure 8",
                       "proxyless": "Figure 9", "darts_rnn": "Figure 10"}


def mutual_correlations(space: str) -> pd.DataFrame:
    """The paper's mutual Spearman matrix for a space (Figures 13-15)."""
    return pd.read_csv(_DIR / f"{MUTUAL_FILES[space]}_mutual_spearman.csv", index_col=0)


def correlation_vs_epochs(space: str) -> pd.Series:
    """Spearman(ground truth, naive supernet of N epochs) read off Figures 13-15: Figure 1's right panel."""
    m = mutual_correlations(space)
    gt_row = m.index[0]  # "Ground truth", "GT valid" or "GT Top1"
    naive = [c for c in m.columns if c.startswith("Naive ") and "," not in c]
    epochs = [int(c.split()[1].replace("k", "000")) for c in naive]
    if space == "proxyless":
        return pd.Series(dtype=float, name="paper")  # no ground truth in Figure 15c
    return pd.Series([m.loc[gt_row, c] for c in naive], index=pd.Index(epochs, name="epochs"), name="paper")


# Section 3.3 on the spaces pruned around a gold architecture (Figure 6; ``pruning.PAPER_FIGURE6``).
FIGURE6 = {
    "darts_cnn": {"best_supernet_acc": 97.57, "at_size": 343,
                  "text": "DARTS-CIFAR10: best supernet accuracy 97.57% with 343 architectures trained together"},
    "proxyless": {"best_supernet_acc": 75.04, "at_size": 7,
                  "text": "ProxylessNAS: best supernet accuracy 75.04% with 7 architectures"},
    "best_vs_mean": "small pruned spaces: best and mean supernet accuracy differ by less than 0.1%",
}
# Precision of the supernet (section 3.3 and Figure 17), as stated in the text
# (``pruning.PAPER_PRECISION``): (space, best / worst, fraction) -> precision.
PRECISION = {
    ("nb101", "worst", 0.3): 0.70,
    ("nb101", "best", 0.3): 0.50,
    ("darts_rnn", "worst", 0.3): 0.20,
    ("darts_rnn", "best", 0.3): 0.20,
}

# Section 3.1 on ProxylessNAS: the supernet's mean accuracy is "only 2% away from" the
# stand-alone top-1 of Proxyless-GPU, Figure 1's reference line, at 1k epochs.
PROXYLESS_REFERENCE_GAP = 2.0


# Not from this paper: correlations of training-free estimators on NAS-Bench-201 as their authors
# published them (each row names its source and table), for the free-estimators comparison.
FREE_ESTIMATORS_FILE = "nb201_free_estimators_published.csv"


def published_free_estimators() -> pd.DataFrame:
    """Published NAS-Bench-201 correlations of training-free estimators (source, table,
    estimator, dataset, statistic, value, cells, note), as printed; labelled references only."""
    return pd.read_csv(_DIR / FREE_ESTIMATORS_FILE)
