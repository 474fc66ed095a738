"""The chapters of the study: the registry the command line and the book generator both read.

An experiment is a chapter of the book; its notebook is ``notebooks/<name>.ipynb`` and its
executed copy, which the book renders, ``book/experiments/<name>.ipynb``.
"""
from __future__ import annotations

import ast
from pathlib import Path

from .settings import REPO

NOTEBOOKS = REPO / "notebooks"
BOOK = REPO / "book"
EXECUTED = BOOK / "experiments"  # executed copies the book renders (not committed)

# experiment name -> what it reproduces. The notebook is notebooks/<name>.ipynb.
EXPERIMENTS = {
    "search_spaces": "Table 1: the five search spaces, sizes and parameter distributions",
    "performance_vs_epochs": "Figure 1 and Table 4: supernet performance and correlation vs epochs",
    "top_k": "Figures 2 and 16: supernet top-k vs random search, regret",
    "mutual_correlation": "Figures 3 and 13-15: mutual correlations among supernets, parameters, ground truth",
    "bias": "Figure 4: supernet vs ground truth grouped by one decision",
    "pruning": "Figures 5, 6, 17, 18: pruned search spaces, precision of best/worst",
    "training_tricks": "Table 3: FairNAS, multi-path, other hyper-parameters and seeds",
    "stability": "Figures 7-12: distributions, ground-truth stability across seeds and recipes",
    "groundtruth_pilot": "Choosing the CPU-scale ground truth: seed-to-seed rank stability pilots",
    "free_estimators": "Beyond the paper: free estimators (zero-cost proxies) beside the supernets",
    "weight_sharing_tutorial": "Teaching: weight sharing on NAS-Bench-201, in five minutes on a laptop",
}


def notebook_parameters(path: Path) -> dict[str, dict]:
    """Name -> {default, type} of a notebook's `parameters` cell (read, not executed)."""
    import papermill  # heavy (a Jupyter stack), needed by the few callers that read notebooks

    return {
        name: {"default": ast.literal_eval(p["default"]), "type": p["inferred_type_name"]}
        for name, p in papermill.inspect_notebook(str(path)).items()
    }


__all__ = ["NOTEBOOKS", "BOOK", "EXECUTED", "EXPERIMENTS", "notebook_parameters"]
