"""The chapters of the study: the one registry the command line, the book's table of contents,
its findings, figure index and results page are all read from.

A chapter is an experiment: its notebook is ``notebooks/<name>.ipynb`` and its executed copy, which
the book renders, ``book/experiments/<name>.ipynb``. Each chapter names the paper's items (tables and
figures) it renders, with the spaces the paper shows each for. Adding a chapter is one ``Chapter``
in ``CHAPTERS`` (plus its notebook, and its parameter rules in ``parameters.RULES``).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from .settings import REPO

NOTEBOOKS = REPO / "notebooks"
BOOK = REPO / "book"
EXECUTED = BOOK / "experiments"  # executed copies the book renders (not committed)

# The paper's five spaces, in the order its tables list them (the results page's columns).
SPACE_ORDER = ("nb101", "nb201", "darts_cnn", "proxyless", "darts_rnn")
ALL = SPACE_ORDER
FOUR = ("nb101", "nb201", "darts_cnn", "darts_rnn")  # all but ProxylessNAS: the spaces most of its figures show

# Stored results a paper item reads under results/ at the cpu profile (globs). SUPERNETS stands for
# the supernets its chapter trains (``Chapter.trains``), not for every file the glob matches.
SUPERNETS = "supernets/*_cpu_uniform_*"
GT = "groundtruth/*_cpu.csv"


@dataclass(frozen=True)
class PaperItem:
    """A table or figure of the paper, as a chapter renders it."""

    label: str  # "Table 4", "Figure 13"
    title: str  # what it shows
    spaces: tuple[str, ...]  # the spaces the paper shows it for (its tables' rows, its figures' panels)
    reads: tuple[str, ...] = ()  # stored results under results/ (globs), at profile cpu
    overrides: dict = field(default_factory=dict)  # -p overrides that narrow the chapter's run to it
    verdict_of: str | None = None  # the item whose verdict stands for this one (Figures 13-15: Figure 3)


# The parameters that name the spaces whose data a run trains on, for a chapter that says no other.
DATA_FROM = ("spaces", "around_spaces")


@dataclass(frozen=True)
class Chapter:
    name: str  # the experiment's name: notebooks/<name>.ipynb, `nas-study run <name>`
    title: str  # what it reproduces (`nas-study list`, a placeholder's heading)
    part: str  # the caption of the book part it sits in (one of PARTS)
    items: tuple[PaperItem, ...] = ()
    # The supernets it trains when an item reads SUPERNETS (its notebook's defaults decide rungs and
    # seeds): "ladder" every rung at the first seed, "ladder+seeds" also the top rung at every seed,
    # "top" the top rung alone, "table3" the rows of Table 3 (tricks.plan); None: it trains none.
    trains: str | None = None
    opens_part: bool = False  # listed first in its part (the tutorial before the tables)
    rehearsed: bool = True  # `nas-study rehearse` has a plan for it (rehearsal.plan)
    data_from: tuple[str, ...] = DATA_FROM  # its parameters naming the spaces whose data it reads
    data_spaces: tuple[str, ...] = ()  # spaces whose data it reads whatever its parameters say

    @property
    def notebook(self) -> Path:
        return NOTEBOOKS / f"{self.name}.ipynb"


@dataclass(frozen=True)
class Finding:
    """One of the paper's five findings (section 1) and the items that test it."""

    text: str
    items: tuple[str, ...]  # paper labels; the finding's chapters are those that render them


# Parts of the book, in reading order (a chapter names its part; parts without a notebook are left out).
START = "Start here"  # after the results page (RESULTS)
PARTS = (
    START,
    "Finding 1 — a well-trained supernet is not a good ranker",
    "Finding 2 — good architectures, not the best",
    "Finding 3 — it depends on the search space",
    "Findings 4 and 5 — pruning the worst, searching a pruned space",
    "Beyond the paper",
    "Appendix: robustness of the ground truth",
)
F1, F2, F3, F45, BEYOND_PART, ROBUSTNESS = PARTS[1:]
APPENDIX = ("recipes", "figures", "rerun", "provenance", "design", "references")  # "Appendix: using this book"
RESULTS = "results"  # "Results at a glance": the first page after the introduction

# In the order of `nas-study list` (and of `nas-study run all`).
CHAPTERS = (
    # sizes and paper-scale parameter counts: it reads no data
    Chapter("search_spaces", "Table 1: the five search spaces, sizes and parameter distributions", START, data_from=(),
            items=(
        PaperItem("Table 1", "The five search spaces and their sizes", ALL, ("search_spaces/*_costs_*",)),
    )),
    Chapter("performance_vs_epochs", "Figure 1 and Table 4: supernet performance and correlation vs epochs", F1,
            trains="ladder", items=(
        PaperItem("Table 4", "Best-trained supernet against ground truth", ALL, (SUPERNETS, GT)),
        PaperItem("Figure 1", "Supernet performance and correlation vs epochs", ALL,
                  (SUPERNETS, GT, "groundtruth/*_cpu_reference.csv", "nb201_real/*")),
    )),
    Chapter("top_k", "Figures 2 and 16: supernet top-k vs random search, regret", F2, trains="ladder+seeds", items=(
        PaperItem("Figure 2", "Ground truth of the supernet's top-1 / top-10 vs random search", ALL, (SUPERNETS, GT)),
        PaperItem("Figure 16", "Test regret vs number of retrained architectures", FOUR, (SUPERNETS, GT)),
    )),
    Chapter("mutual_correlation", "Figures 3 and 13-15: mutual correlations among supernets, parameters, ground truth",
            F3, trains="ladder+seeds", items=(
        PaperItem("Figure 3", "Mutual correlations: supernets, parameters, ground truth", FOUR, (SUPERNETS, GT)),
        # the full matrices whose key numbers Figure 3's verdict reads
        PaperItem("Figure 13", "Mutual correlations on NAS-Bench-101", ("nb101",), (SUPERNETS, GT),
                  {"spaces": ["nb101"]}, verdict_of="Figure 3"),
        PaperItem("Figure 14", "Mutual correlations on NAS-Bench-201", ("nb201",), (SUPERNETS, GT),
                  {"spaces": ["nb201"]}, verdict_of="Figure 3"),
        PaperItem("Figure 15", "Mutual correlations on DARTS-CIFAR10, DARTS-PTB, ProxylessNAS",
                  ("darts_cnn", "darts_rnn", "proxyless"), (SUPERNETS, GT),
                  {"spaces": ["darts_cnn", "darts_rnn", "proxyless"]}, verdict_of="Figure 3"),
    )),
    Chapter("bias", "Figure 4: supernet vs ground truth grouped by one decision", F3, trains="top", items=(
        PaperItem("Figure 4", "Supernet vs ground truth grouped by one decision", ("nb101", "nb201", "darts_rnn"),
                  (SUPERNETS, GT)),
    )),
    Chapter("pruning", "Figures 5, 6, 17, 18: pruned search spaces, precision of best/worst", F45, items=(
        PaperItem("Figure 5", "Random and optimistic pruning on NAS-Bench-101 / 201", ("nb101", "nb201"),
                  ("pruning/*_cpu_*", GT)),
        PaperItem("Figure 6", "Pruned DARTS-CIFAR10 and ProxylessNAS spaces", ("nb101", "nb201", "darts_cnn", "proxyless"),
                  ("pruning/darts_cnn_*", "pruning/proxyless_*", "groundtruth/*_cpu_pruning.csv"),
                  {"spaces": [], "around_spaces": ["darts_cnn", "proxyless"]}),
        PaperItem("Figure 17", "Precision of the best and worst architectures", FOUR, ("pruning/*_cpu_*", SUPERNETS, GT)),
        PaperItem("Figure 18", "Precision-recall of the best and worst architectures", FOUR,
                  ("pruning/*_cpu_*", SUPERNETS, GT)),
    )),
    Chapter("training_tricks", "Table 3: FairNAS, multi-path, other hyper-parameters and seeds", F1, trains="table3",
            items=(
        PaperItem("Table 3", "Training tricks: FairNAS, multi-path, other hyper-parameters, seeds", ("nb101", "nb201"),
                  ("supernets/*_cpu_fairnas_*", "supernets/*_cpu_multipath_*", SUPERNETS, GT)),
    )),
    Chapter("stability", "Figures 7-12: distributions, ground-truth stability across seeds and recipes", ROBUSTNESS,
            items=(
        PaperItem("Figure 7", "Parameters and accuracy of the sample: NAS-Bench-101 / 201", ("nb101", "nb201"),
                  ("groundtruth/nb101_cpu.csv", "groundtruth/nb201_cpu.csv"), {"spaces": ["nb101", "nb201"]}),
        PaperItem("Figure 8", "Distributions on DARTS-CIFAR10", ("darts_cnn",), ("groundtruth/darts_cnn_cpu.csv",),
                  {"spaces": ["darts_cnn"]}),
        PaperItem("Figure 9", "Distributions on ProxylessNAS", ("proxyless",), ("groundtruth/proxyless_cpu.csv",),
                  {"spaces": ["proxyless"]}),
        PaperItem("Figure 10", "Distributions on DARTS-PTB", ("darts_rnn",), ("groundtruth/darts_rnn_cpu.csv",),
                  {"spaces": ["darts_rnn"]}),
        PaperItem("Figure 11", "Rank stability across seeds", FOUR, (GT,)),
        PaperItem("Figure 12", "Rank stability across training approaches", ("nb101", "nb201"),
                  (GT, "groundtruth/*_cpu_variant.csv")),
    )),
    Chapter("groundtruth_pilot", "Choosing the CPU-scale ground truth: seed-to-seed rank stability pilots", ROBUSTNESS,
            data_from=("space_names",)),
    Chapter("free_estimators", "Beyond the paper: free estimators (zero-cost proxies) beside the supernets",
            BEYOND_PART, rehearsed=False),
    Chapter("weight_sharing_tutorial", "Teaching: weight sharing on NAS-Bench-201, in five minutes on a laptop", START,
            opens_part=True, data_from=(), data_spaces=("nb201",)),
)

# Items no chapter renders: Table 2 is rendered from the code's recipes on the appendix page `recipes`.
APPENDIX_ITEMS = (PaperItem("Table 2", "Supernet training hyper-parameters", ALL),)

FINDINGS = (
    Finding("A well-trained supernet is not necessarily a good architecture-ranking model.",
            ("Figure 1", "Table 3", "Table 4")),
    Finding("A supernet is good at finding relatively good (top-10%) architectures but struggles "
            "to find the best ones (top-1% or less).", ("Figure 2", "Figure 16")),
    Finding("How well a supernet works depends largely on the design of the search space.",
            ("Figure 3", "Figure 4", "Figure 13", "Figure 14", "Figure 15")),
    Finding("A supernet is more confident in pruning the worst architectures than in selecting the best ones.",
            ("Figure 17", "Figure 18")),
    Finding("It is easier to find better architectures in a well-pruned search space.", ("Figure 5", "Figure 6")),
)

# ---------------------------------------------------------------- views derived from the registry

CHAPTER = {c.name: c for c in CHAPTERS}
EXPERIMENTS = {c.name: c.title for c in CHAPTERS}  # experiment name -> what it reproduces


def _paper_order(label: str) -> tuple[bool, int]:
    kind, number = re.fullmatch(r"(Table|Figure) (\d+)", label).groups()
    return kind == "Figure", int(number)  # the paper's tables first, then its figures


# Every item of the paper in its order, with the chapter that renders it (None: an appendix page).
PAPER_ITEMS = tuple(sorted([(item, c.name) for c in CHAPTERS for item in c.items]
                           + [(item, None) for item in APPENDIX_ITEMS], key=lambda pair: _paper_order(pair[0].label)))
ITEM = {item.label: item for item, _ in PAPER_ITEMS}
CHAPTER_OF = {item.label: name for item, name in PAPER_ITEMS}


def part_chapters() -> list[tuple[str, list[str]]]:
    """(caption, chapter names) of each part in reading order; in a part, the chapter that opens
    it first, then the registry's order."""
    return [(caption, [c.name for c in sorted((c for c in CHAPTERS if c.part == caption),
                                              key=lambda c: not c.opens_part)]) for caption in PARTS]


def finding_chapters(finding: Finding) -> list[str]:
    """The chapters that render a finding's items, in the order of its items."""
    return list(dict.fromkeys(CHAPTER_OF[label] for label in finding.items))


def existing_experiments(notebooks: Path = NOTEBOOKS) -> list[str]:
    """Chapters whose notebook exists, in registry order."""
    return [c.name for c in CHAPTERS if (Path(notebooks) / f"{c.name}.ipynb").exists()]


def notebook_parameters(path: Path) -> dict[str, dict]:
    """Name -> {default, type} of a notebook's `parameters` cell (read, not executed)."""
    import papermill  # heavy (a Jupyter stack), needed by the few callers that read notebooks

    return {
        name: {"default": ast.literal_eval(p["default"]), "type": p["inferred_type_name"]}
        for name, p in papermill.inspect_notebook(str(path)).items()
    }


__all__ = ["NOTEBOOKS", "BOOK", "EXECUTED", "SPACE_ORDER", "DATA_FROM", "SUPERNETS", "GT", "PaperItem", "Chapter",
           "Finding", "PARTS", "APPENDIX", "RESULTS", "CHAPTERS", "APPENDIX_ITEMS", "FINDINGS", "CHAPTER",
           "EXPERIMENTS", "PAPER_ITEMS", "ITEM", "CHAPTER_OF", "part_chapters", "finding_chapters",
           "existing_experiments", "notebook_parameters"]
