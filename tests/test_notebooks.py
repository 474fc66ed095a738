"""Every experiment notebook runs end to end in the smoke profile, and the book builds."""
from pathlib import Path

import pytest

from nas_core import cli

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))


def test_every_notebook_is_registered_and_committed_without_outputs():
    import nbformat

    for name in NOTEBOOKS:
        assert name in cli.EXPERIMENTS, f"notebooks/{name}.ipynb is not in cli.EXPERIMENTS"
        nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{name}: needs exactly one cell tagged 'parameters'"
        assert "profile" in tagged[0].source
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{name}: commit without outputs"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_smoke_profile(name, smoke_notebook):
    # executed once per session, into the smoke book's folder: the book's fixture reuses it, or this
    # test the fixture's (the book's browser test comes first in file order)
    import nbformat

    out = smoke_notebook(name)
    assert not nbformat.read(out, as_version=4).metadata.get("papermill", {}).get("exception")


@pytest.mark.slow
def test_book_builds_from_smoke_notebooks(smoke_book):
    book, res = smoke_book
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (book / "_build" / "html" / "index.html").exists()
