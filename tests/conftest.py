"""Shared fixtures: the smoke-profile study and the book built from it, once per session."""
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _sigint_state() -> tuple[bool, bool]:
    """(ignored, blocked) for SIGINT in this process's main thread, as the kernel sees them: what a
    child started now would inherit across exec."""
    fields = dict(line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    bit = 1 << 1  # SIGINT is signal 2
    return bool(int(fields["SigIgn"], 16) & bit), bool(int(fields["SigBlk"], 16) & bit)


@pytest.fixture(autouse=True)
def signal_state_kept(request):
    """Warns, naming the test, when a test leaves SIGINT ignored or blocked (children would inherit it)."""
    before = _sigint_state()
    yield
    after = _sigint_state()
    if after != before:
        warnings.warn(f"{request.node.nodeid} changed SIGINT (ignored, blocked) from {before} to {after}")


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory):
    """Results and checkpoints of smoke runs go to a scratch folder, never to results/."""
    root = tmp_path_factory.mktemp("smoke")
    mp = pytest.MonkeyPatch()
    mp.setenv("NAS_CORE_RESULTS", str(root / "results"))
    mp.setenv("NAS_CORE_RUNS", str(root / "runs"))
    # smoke chapters compute in seconds: starting worker processes would cost more than it
    # saves (test_parallel starts them)
    mp.setenv("NAS_CORE_WORKERS", "1")
    yield root
    mp.undo()


def _executed_ok(path: Path) -> bool:
    """An executed notebook papermill finished without an exception."""
    import nbformat

    if not path.exists():
        return False
    return not nbformat.read(path, as_version=4).metadata.get("papermill", {}).get("exception")


@pytest.fixture(scope="session")
def smoke_notebook(smoke_root):
    """``run(name)``: the notebook executed in the smoke profile into the smoke book's folder, once
    per session (the notebook tests and the book's fixture share it, whichever comes first).
    Returns its path."""
    from nas_core import cli

    def run(name: str) -> Path:
        path = smoke_root / "book" / "experiments" / f"{name}.ipynb"
        if not _executed_ok(path):
            cli.run_experiment(name, "smoke", {}, path.parent)
        return path

    return run


@pytest.fixture(scope="session")
def smoke_book(smoke_root, smoke_notebook):
    """A copy of book/ with every written notebook executed in the smoke profile,
    its generated pages written, built with warnings as errors.
    Returns (book folder, the build's CompletedProcess)."""
    from nas_core import bookgen

    book = smoke_root / "book"
    book.mkdir(exist_ok=True)
    for item in (REPO / "book").iterdir():
        if item.name in ("_build", "experiments"):
            continue
        if item.is_dir():
            shutil.copytree(item, book / item.name, dirs_exist_ok=True)
        else:
            shutil.copy(item, book / item.name)
    for name in bookgen.existing_experiments():
        smoke_notebook(name)
    bookgen.write_book(book)
    res = subprocess.run(bookgen.build_command(book), capture_output=True, text=True)
    return book, res
