"""Every experiment notebook runs end to end in the smoke profile, and the book builds."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nas_core import cli

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def smoke_env(tmp_path_factory):
    """Results and checkpoints of smoke runs go to a scratch folder, never to results/."""
    root = tmp_path_factory.mktemp("smoke")
    old = {k: os.environ.get(k) for k in ("NAS_CORE_RESULTS", "NAS_CORE_RUNS")}
    os.environ["NAS_CORE_RESULTS"] = str(root / "results")
    os.environ["NAS_CORE_RUNS"] = str(root / "runs")
    yield root
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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
def test_notebook_runs_in_smoke_profile(name, smoke_env):
    out = cli.run_experiment(name, "smoke", {}, smoke_env / "book" / "experiments")
    assert out.exists()


@pytest.mark.slow
def test_book_builds_from_smoke_notebooks(smoke_env):
    """Build a copy of the book with the smoke notebooks executed above (warnings are errors)."""
    book = smoke_env / "book"
    for item in (REPO / "book").iterdir():
        if item.name in ("_build", "experiments"):
            continue
        dest = book / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True)
        else:
            shutil.copy(item, dest)
    for name in NOTEBOOKS:
        if not (book / "experiments" / f"{name}.ipynb").exists():
            cli.run_experiment(name, "smoke", {}, book / "experiments")
    res = subprocess.run([sys.executable, "-m", "jupyter_book", "build", str(book), "-W", "-n", "--keep-going"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (book / "_build" / "html" / "index.html").exists()
