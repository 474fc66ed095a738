"""The nas-study command: validation before compute, exit codes, listing."""
import subprocess
import sys

import pytest

from nas_core import cli


def run(*args):
    return subprocess.run([sys.executable, "-m", "nas_core.cli", *args], capture_output=True, text=True)


def test_list_shows_experiments_spaces_profiles():
    res = run("list")
    assert res.returncode == 0, res.stderr
    for word in ("performance_vs_epochs", "nb201", "smoke", "cpu (default)"):
        assert word in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "no_such_experiment"], "unknown experiment"),
        (["run", "performance_vs_epochs", "-p", "no_such=1"], "unknown parameter"),
        (["run", "performance_vs_epochs", "-p", "seed=abc"], "cannot read"),
        (["run", "performance_vs_epochs", "-p", "seed=-1"], "non-negative"),
        (["run", "performance_vs_epochs", "-p", "n_archs=-5"], "non-negative"),
        (["run", "performance_vs_epochs", "-p", "seed"], "key=value"),
        (["run", "performance_vs_epochs", "--profile", "huge"], "profile"),
        (["run", "performance_vs_epochs", "--workers", "0"], "--workers"),
        (["book", "--workers", "-1"], "--workers"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    res = run(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr


def test_dry_run_types_parameters():
    res = run("run", "performance_vs_epochs", "--dry-run", "-p", "seed=3", "-p", "epoch_ladder=[1,2]",
              "-p", "spaces=['nb201']")
    assert res.returncode == 0, res.stderr
    assert '"seed": 3' in res.stdout and '"epoch_ladder": [1, 2]' in res.stdout


def test_coerce_rules():
    assert cli.coerce("x", "2", 1.5) == 2.0
    assert cli.coerce("x", "cpu", "smoke") == "cpu"
    with pytest.raises(cli.UsageError):
        cli.coerce("x", "True", 3)
    with pytest.raises(cli.UsageError):
        cli.coerce("x", "[1, -2]", [1, 2])
