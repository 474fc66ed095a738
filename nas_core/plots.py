"""Figures of the book: every one titled with the paper's figure number and
captioned with the profile and scale it ran at."""
from __future__ import annotations

import html
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.category import StrCategoryConverter
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.container import ErrorbarContainer
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedFormatter

# tqdm.auto warns once, on stderr, that ipywidgets is missing: a static page has no widgets
# anyway, and the warning would print the build machine's paths into the book.
warnings.filterwarnings("ignore", message="IProgress not found")

PAPER_STYLE = dict(color="black", linestyle="--", marker="x", label="paper")
OURS_STYLE = dict(marker="o")


def setup() -> None:
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.dpi"] = 96
    _register_alt_text()


def _register_alt_text() -> None:
    """In a notebook kernel, every displayed figure carries ``alt_text(fig)`` in its output's
    metadata (``{"image/png": {"alt": ...}}``); the book (``book/_ext/book_fixes.py``) gives it to
    the page's ``<img>``. Registered on the mime-bundle formatter, which the inline backend does
    not touch: the PNG itself still comes from the backend's own formatter."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    shell.display_formatter.mimebundle_formatter.for_type(
        Figure, lambda fig: ({}, {"image/png": {"alt": alt_text(fig)}}))


def _num(v: float) -> str:
    """3 significant digits; whole numbers as they are (16000 epochs, not 1.6e+04)."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e6 else f"{v:.3g}"


def _axis_text(ax, which: str) -> str:
    axis = ax.xaxis if which == "x" else ax.yaxis
    label = axis.get_label().get_text().strip() or f"unlabelled {which} axis"
    scale = (ax.get_xscale() if which == "x" else ax.get_yscale())
    # the data's range, not the view's padded limits (reference lines across the axes do not count)
    lo, hi = sorted(ax.dataLim.intervalx if which == "x" else ax.dataLim.intervaly)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo == hi == 0:
        lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    converter = axis.get_converter() if hasattr(axis, "get_converter") else getattr(axis, "converter", None)
    ticks = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
    # categories (strings plotted, or tick labels set by hand): name them, not a range
    categorical = isinstance(converter, StrCategoryConverter) or isinstance(axis.get_major_formatter(), FixedFormatter)
    if ticks and categorical:
        shown = ", ".join(ticks[:6]) + (f" and {len(ticks) - 6} more" if len(ticks) > 6 else "")
        return f"{label} ({len(ticks)} categories: {shown})"
    scale = f"{scale} scale, " if scale != "linear" and f"{scale} scale" not in label else ""
    return f"{label} ({scale}{_num(lo)} to {_num(hi)})"


def _panel_text(ax) -> str:
    """What one axes draws: its title, the kind of plot, its axes and the series its legend names."""
    title = " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t.strip())
    head = f"'{title}'" if title else "untitled panel"
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)]
    if mesh or ax.images:
        art = mesh[0] if mesh else ax.images[0]
        rows = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        shape = getattr(art.get_array(), "shape", ())
        size = f"{shape[0]} x {shape[1]} " if len(shape) >= 2 else ""
        lo, hi = art.norm.vmin, art.norm.vmax
        colours = f", colour scale {_num(lo)} to {_num(hi)}" if lo is not None and hi is not None else ""
        named = f"; rows: {', '.join(rows[:8])}{' and more' if len(rows) > 8 else ''}" if rows else ""
        return f"{head}: heat map of a {size}matrix{colours}{named}"
    labels = [lab for lab in dict.fromkeys(ax.get_legend_handles_labels()[1]) if lab and not lab.startswith("_")]
    errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    parts = {id(ln) for c in errorbars for ln in [c.lines[0], *c.lines[1]] if ln is not None}  # marks, caps
    drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata()) and id(ln) not in parts]
    lines = [ln for ln in drawn if ln.get_transform() == ax.transData]
    refs = len(drawn) - len(lines)  # axhline / axvline: drawn across the axes, not data
    points = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    bars = sum(1 for p in ax.patches if isinstance(p, Rectangle) and p.get_height())
    kinds = [f"{len(lines)} line{'s' if len(lines) != 1 else ''}" if lines else "",
             f"{points} point{'s' if points != 1 else ''}" if points else "",
             f"{bars} bar{'s' if bars != 1 else ''}" if bars else "",
             f"{len(errorbars)} series with error bars" if errorbars else ""]
    kinds = [k for k in kinds if k]
    if not kinds:
        notes = " ".join(t.get_text().replace("\n", " ") for t in ax.texts if t.get_text().strip())
        return f"{head}: no data plotted" + (f" ({notes})" if notes else "")
    text = (f"{head}: {' and '.join(kinds)} of {_axis_text(ax, 'y')} against {_axis_text(ax, 'x')}"
            + (f", with {refs} reference line{'s' if refs != 1 else ''} across it" if refs else ""))
    if labels:
        text += f"; legend: {'; '.join(labels[:10])}" + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")
    return text


def alt_text(fig) -> str:
    """The alternative text of a figure, read from what it draws: its title, then per panel the
    panel's title, the kind of plot (lines, points, bars, heat map), the quantity on each axis with
    its scale and range, and the series named in its legend. Colour bars are not panels."""
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"
            and (ax.has_data() or ax.texts)]  # a panel may hold only a note saying why it is empty
    sup = fig.get_suptitle().strip() if hasattr(fig, "get_suptitle") else ""
    head = (sup + ". ") if sup else ""
    if not axes:
        return head + "An empty figure."
    if len(axes) == 1:
        return head + "One panel, " + _panel_text(axes[0]) + "."
    return head + f"{len(axes)} panels. " + " ".join(
        f"Panel {i}, {_panel_text(ax)}." for i, ax in enumerate(axes, 1))


def caption(figure: str, profile: str, scale: str) -> str:
    """One line a reader cannot miss: which figure, which profile, what scale."""
    return f"**{figure}** — reproduced with profile `{profile}` ({scale}). Paper values, where shown, are labelled *paper*."


def performance_vs_epochs(summary: pd.DataFrame, *, title: str, metric: str, gt_mean: float | None,
                          paper_corr: pd.Series | None = None, real_corr: pd.DataFrame | None = None,
                          gt_label: str = "ground truth (mean of sample)"):
    """Figure 1: supernet performance (left) and Spearman with ground truth (right) vs epochs.
    Without a ``spearman`` column (ProxylessNAS) the right panel says why it is empty."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(summary["epochs"], summary["supernet_mean"], label="supernet (mean of sample)", **OURS_STYLE)
    if gt_mean is not None:
        left.axhline(gt_mean, linestyle=":", color="gray", label=gt_label)
    left.set(xscale="log", xlabel="supernet training epochs", ylabel=metric, title=f"{title}: supernet performance")
    left.legend(fontsize=8)
    if "spearman" in summary:
        right.plot(summary["epochs"], summary["spearman"], label="ours vs CPU-scale ground truth", **OURS_STYLE)
        right.fill_between(summary["epochs"], summary["ci_low"], summary["ci_high"], alpha=0.2)
    else:
        right.text(0.5, 0.5, "no correlation: no ranking ground truth\n(as in the paper)", ha="center",
                   va="center", transform=right.transAxes, fontsize=9)
    if real_corr is not None:
        right.plot(real_corr["epochs"], real_corr["spearman"], marker="s", label="ours vs real 200-epoch table")
    if paper_corr is not None and len(paper_corr):
        right.plot(paper_corr.index, paper_corr.values, **PAPER_STYLE)
    right.set(xscale="log", xlabel="supernet training epochs", ylabel="Spearman correlation",
              title=f"{title}: correlation with ground truth", ylim=(-1, 1))
    right.axhline(0, color="gray", linewidth=0.5)
    if right.get_legend_handles_labels()[0]:
        right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def top_k_vs_epochs(ax, table: pd.DataFrame, *, title: str, metric: str, higher_is_better: bool = True,
                    seed_spread: pd.DataFrame | None = None, references=()):
    """Figure 2, one panel: the ground truth of the supernet's top-k pick per supernet budget
    (solid, one line per k), with the spread over seeds as error bars where several were trained,
    random search's expectation (dashed, same colour) and the best of the sample (dotted).
    ``table`` is an ``analysis.top_k_table`` of one seed along the ladder; ``references`` are
    ``(label, value)`` paper numbers in the same units (black dashed)."""
    colours = sns.color_palette(n_colors=max(3, table["k"].nunique()))
    for colour, (k, g) in zip(colours, table.groupby("k")):
        g = g.sort_values("epochs")
        ax.plot(g["epochs"], g["supernet_top_k"], color=colour, label=f"supernet top-{k}", **OURS_STYLE)
        ax.axhline(g["random_expectation"].iloc[0], color=colour, linestyle="--", linewidth=1,
                   label=f"random search top-{k} (expected)")
        if seed_spread is not None and len(seed_spread):
            s = seed_spread[(seed_spread["k"] == k) & (seed_spread["n_seeds"] > 1)]
            if len(s):
                ax.errorbar(s["epochs"] * 1.08, s["mean"], yerr=[s["mean"] - s["min"], s["max"] - s["mean"]],
                            fmt="s", color=colour, capsize=3, markersize=4,
                            label=f"top-{k}: mean, min-max of {int(s['n_seeds'].iloc[0])} seeds")
    ax.axhline(table["best_of_sample"].iloc[0], color="gray", linestyle=":", label="best of the sample")
    for label, value in references:
        ax.axhline(value, color="black", linestyle="--", linewidth=0.8)
        ax.text(0.01, value, f"paper: {label}", transform=ax.get_yaxis_transform(), fontsize=7, va="bottom")
    if len(references):
        ax.plot([], [], color="black", linestyle="--", linewidth=0.8, label="paper (labelled on the line)")
    direction = "" if higher_is_better else " (lower is better, log scale)"
    ax.set(xscale="log", xlabel="supernet training epochs", ylabel=f"ground truth {metric}{direction}", title=title)
    if not higher_is_better:  # perplexities of diverged networks span orders of magnitude
        ax.set_yscale("log")
    _epoch_ticks(ax, sorted(table["epochs"].unique()))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return ax


def _epoch_ticks(ax, values) -> None:
    """Plain-number ticks at the given values on a log axis (1, 2, 4 ... not 2x10^0)."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax.xaxis.set_major_locator(FixedLocator([float(v) for v in values]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(ScalarFormatter())


def regret_curves(ax, frame: pd.DataFrame, columns, *, title: str, metric: str, bars: dict | None = None,
                  log: bool = False):
    """Figure 16, one panel: test regret after retraining n architectures in each supernet's
    order (``columns`` of an ``analysis.regret_frame``) against random search's mean (black) and
    5-95% spread (shaded); dashed grey bars: the regret of the top-1% / top-10% boundary.
    ``log``: a symmetric-log regret axis (perplexity regrets span orders of magnitude)."""
    for col in columns:
        ax.plot(frame["n"], frame[col], label=col, linewidth=1.5)
    ax.plot(frame["n"], frame["random_mean"], color="black", label="random search (mean)")
    ax.fill_between(frame["n"], frame["random_lo"], frame["random_hi"], color="black", alpha=0.12,
                    label="random search (5-95%)")
    for (frac, value), style in zip(sorted((bars or {}).items()), ("--", "-.")):
        ax.axhline(value, color="gray", linestyle=style, linewidth=1, label=f"top-{frac:.0%} bar")
    ax.set(xscale="log", xlabel="retrained architectures", ylabel=f"test regret ({metric})", title=title)
    if log:
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    n = int(frame["n"].max())
    _epoch_ticks(ax, [v for v in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if v <= n] + ([n] if n > 1 else []))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return ax


def mutual_heatmap(ax, matrix: pd.DataFrame, *, title: str, annotate: bool | None = None):
    """Figures 3 and 13-15: a Spearman matrix as a heat map on a fixed -1..1 scale."""
    annotate = len(matrix) <= 24 if annotate is None else annotate
    size = 7 if len(matrix) <= 12 else 5
    sns.heatmap(matrix.astype(float), ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", square=True, annot=annotate,
                fmt=".2f", annot_kws={"fontsize": size}, cbar_kws={"shrink": 0.6}, linewidths=0.3)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=size + 1)
    return ax


def dash_missing(table: pd.DataFrame) -> pd.DataFrame:
    """A table for display with '-' where a value is missing (the paper prints none), not NaN."""
    return table.astype(object).where(table.notna(), "-")


def short_ids(table: pd.DataFrame, column: str = "arch") -> tuple[pd.DataFrame, str]:
    """A table whose long architecture strings would push its values off-screen, with them
    replaced by short ids (``A1``, ``A2``, ... in order of first appearance), and a collapsed
    list (markdown with raw HTML) mapping each id to its string."""
    ids = {a: f"A{i}" for i, a in enumerate(dict.fromkeys(table[column].astype(str)), 1)}
    out = table.assign(**{column: table[column].astype(str).map(ids)}).rename(columns={column: f"{column} id"})
    items = "".join(f"<li><code>{i}</code>: <code>{html.escape(a)}</code></li>" for a, i in ids.items())
    # raw HTML: a notebook's markdown output is rendered as CommonMark, without MyST directives
    return out, f"<details><summary>Architecture strings of the ids above</summary><ul>{items}</ul></details>\n"


def panel_grid(n: int, width: float, height: float, *, max_cols: int = 2, **kw):
    """A figure of ``n`` panels of ``width`` x ``height`` inches, at most ``max_cols`` to a row,
    so that a figure is never much wider than the book's content column (a wide row of panels
    shrinks its text below readable size); unused axes are hidden. Returns (figure, axes list)."""
    ncols = max(1, min(max_cols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]
