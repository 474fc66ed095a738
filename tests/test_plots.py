"""Figures' alternative text (nas_core.plots.alt_text), how it reaches the notebook output and the
page (book/_ext/book_fixes.py), without building the book."""
import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nas_core import plots  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _ladder():
    return pd.DataFrame({"epochs": [1, 2, 4, 8], "supernet_mean": [10.0, 20.0, 30.0, 40.0],
                         "spearman": [0.1, 0.2, 0.3, 0.25], "ci_low": [0.0, 0.1, 0.2, 0.1],
                         "ci_high": [0.2, 0.3, 0.4, 0.4]})


def test_alt_text_says_what_each_panel_plots():
    fig = plots.performance_vs_epochs(_ladder(), title="NAS-Bench-201", metric="validation accuracy (%)",
                                      gt_mean=50.0, paper_corr=pd.Series([0.5, 0.4], [16, 32]))
    fig.suptitle("Figure 1 (NAS-Bench-201)")
    alt = plots.alt_text(fig)
    plt.close(fig)
    assert alt.startswith("Figure 1 (NAS-Bench-201). 2 panels. Panel 1, 'NAS-Bench-201: supernet performance': "
                          "1 line of validation accuracy (%) (10 to 50) against supernet training epochs "
                          "(log scale, 1 to 8), with 1 reference line across it; legend: supernet (mean of sample); "
                          "ground truth (mean of sample).")
    assert "Panel 2, 'NAS-Bench-201: correlation with ground truth': 2 lines of Spearman correlation" in alt
    assert "legend: ours vs CPU-scale ground truth; paper." in alt
    assert "against supernet training epochs (log scale, 1 to 32)" in alt  # the paper's points reach 32

    empty = plots.performance_vs_epochs(_ladder().drop(columns=["spearman", "ci_low", "ci_high"]), title="P",
                                        metric="acc", gt_mean=None)
    assert "Panel 2, 'P: correlation with ground truth': no data plotted (no correlation: no ranking ground " \
           "truth (as in the paper))." in plots.alt_text(empty)
    plt.close(empty)


def test_alt_text_of_a_heat_map_bars_and_categories():
    fig, ax = plt.subplots()
    m = pd.DataFrame(np.eye(3), index=["GT", "8 ep", "16 ep"], columns=["GT", "8 ep", "16 ep"])
    plots.mutual_heatmap(ax, m, title="Figure 3 (NB-101)")  # its colour bar is no panel
    assert plots.alt_text(fig) == ("One panel, 'Figure 3 (NB-101)': heat map of a 3 x 3 matrix, colour scale -1 to 1; "
                                   "rows: GT, 8 ep, 16 ep.")
    fig2, ax2 = plt.subplots()
    ax2.bar(["conv3x3", "conv1x1", "pool"], [3.0, 2.0, 1.0])
    ax2.set(ylabel="share", title="choices")
    assert plots.alt_text(fig2) == ("One panel, 'choices': 3 bars of share (0 to 3) against unlabelled x axis "
                                    "(3 categories: conv3x3, conv1x1, pool).")
    plt.close("all")


def test_displayed_figures_carry_their_alt_text():
    """In a kernel, plots.setup() makes every figure's display metadata carry alt_text(fig),
    beside the PNG of the display formatter's own."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        plots.setup()
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [3, 1, 2], label="a")
        data, md = shell.display_formatter.format(fig)
        assert md["image/png"]["alt"] == plots.alt_text(fig)
        assert "text/plain" in data
        plt.close(fig)
    finally:
        InteractiveShell.clear_instance()


def test_book_fixes_reads_the_alt_text_by_image_hash(tmp_path):
    import hashlib
    from base64 import b64encode

    import nbformat

    spec = importlib.util.spec_from_file_location("book_fixes", REPO / "book" / "_ext" / "book_fixes.py")
    book_fixes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book_fixes)
    png = b"\x89PNG fake bytes"
    cell = nbformat.v4.new_code_cell("display(fig)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": b64encode(png).decode()},
                                           metadata={"image/png": {"alt": "One panel, 'T'."}}),
                    nbformat.v4.new_output("display_data", data={"image/png": b64encode(b"other").decode()})]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), tmp_path / "c.ipynb")
    assert book_fixes.output_alts(tmp_path / "c.ipynb") == {hashlib.sha256(png).hexdigest(): "One panel, 'T'."}
