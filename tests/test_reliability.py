"""Issue 29: every interruption clean, every bad input refused before compute.

The signal tests start ``nas-study run`` / ``gt`` with two workers in a session of their own,
signal them as a user would (SIGTERM or SIGKILL of the command, Ctrl-C to its process group)
and require that every process the command started is gone within a bound; whatever is left
is killed at the end. Results and checkpoints go to a temporary root.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from nas_core import cli, groundtruth, parallel, store

REPO = Path(__file__).resolve().parents[1]
STARTED_S = 240  # the machine may be busy: generous bounds, met in seconds on an idle one
STOPPED_S = 60


@pytest.fixture
def roots(tmp_path, monkeypatch):
    if "NAS_CORE_DATA" not in os.environ and (REPO.parent / "shared" / "data").is_dir():
        monkeypatch.setenv("NAS_CORE_DATA", str(REPO.parent / "shared" / "data"))
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    return tmp_path


# ---------------------------------------------------------------- processes

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            kids.setdefault(int(fields[1]), []).append(int(d.name))
    return kids


def descendants(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pids) -> list[int]:
    out = []
    for p in pids:
        try:
            if (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z":
                out.append(p)
        except OSError:
            pass
    return out


def _kill_all(pids) -> None:
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def _signal_and_check(proc, started, how: str, workers: int = 2):
    """Wait until ``started()`` (or the bound), signal ``proc`` as ``how`` says, and return
    (its return code, the processes it had started that are still alive ``STOPPED_S`` later)."""
    seen: set[int] = set()
    try:
        deadline = time.time() + STARTED_S
        while time.time() < deadline and proc.poll() is None:
            seen.update(descendants(proc.pid))
            if len(descendants(proc.pid)) >= workers and started():
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the command ended before it could be stopped"
        seen.update(descendants(proc.pid))
        if how == "INT":  # Ctrl-C: the terminal signals the foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, getattr(signal, f"SIG{how}"))
        try:
            rc = proc.wait(STOPPED_S)
        except subprocess.TimeoutExpired:
            rc = None  # hung
        deadline = time.time() + STOPPED_S
        while alive(seen) and time.time() < deadline:
            time.sleep(0.2)
        return rc, alive(seen)
    finally:
        _kill_all(alive(seen | set(descendants(proc.pid))))
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


# What a terminal's foreground job starts with: SIGINT at its default and no signal blocked. Set
# explicitly, since the test process's own state passes to a child across exec (an ignored or
# blocked SIGINT stays so): a suite started in the background by a shell without job control
# (`bash -c 'make test &'`) runs with SIGINT ignored. Two full runs of 3 December 2026 failed the
# SIGINT cases as if the signal were ignored (how they were started is not on record); with the reset
# they pass in a full run and under an ignoring parent, and conftest's `signal_state_kept`, which names
# a test that changes the state, named none.
_AS_A_FOREGROUND_JOB = (
    "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
    "signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'nas_core.cli', *sys.argv[1:]])"
)


def _start(args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", _AS_A_FOREGROUND_JOB, *args], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "stderr.txt", "w"))


@pytest.mark.slow
@pytest.mark.parametrize("how", ["TERM", "KILL", "INT"])
def test_a_stopped_gt_with_two_workers_stops_them_all(roots, how):
    table = roots / "results" / "groundtruth" / "nb201_smoke.csv"
    proc = _start(["gt", "nb201", "--profile", "smoke", "--n-archs", "400", "--workers", "2"], roots)
    rc, left = _signal_and_check(proc, lambda: table.exists() and table.read_text().count("\n") >= 2, how)
    assert rc is not None, f"nas-study gt hung after SIG{how}"
    assert not left, f"processes {left} outlived the stopped command (SIG{how})"
    rows = table.read_text().count("\n") - 1
    assert rows < 400, "the build was not stopped"
    # on record, SIGKILL included: the side file's last chunk, completed from the table where the kill
    # fell between appending a row and rewriting the side file (groundtruth.recorded_chunks)
    chunks = groundtruth.recorded_chunks(table)
    assert chunks[-1]["runs_added"] == rows
    side = json.loads(table.with_suffix(".json").read_text())["chunks"][-1]
    assert side["runs_added"] in (rows, rows - 1) and side["rows_before"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("how", ["TERM", "KILL", "INT"])
def test_a_stopped_run_with_two_workers_stops_its_kernel_and_workers(roots, how):
    ckpts = roots / "runs" / "supernets"
    proc = _start(["run", "performance_vs_epochs", "--profile", "smoke", "-p", 'spaces=["nb201"]',
                   "-p", "epoch_ladder=[150,300]", "--workers", "2", "--output-dir", str(roots / "out")], roots)
    # the kernel and its two workers, which have trained an epoch (their checkpoints)
    rc, left = _signal_and_check(proc, lambda: len(list(ckpts.glob("*.pt"))) >= 2, how, workers=3)
    assert rc is not None, f"nas-study run hung after SIG{how}"
    assert not left, f"processes {left} outlived the stopped command (SIG{how})"
    assert not list((roots / "results").rglob("*.csv")), "a 150-epoch smoke supernet cannot have finished"


# ---------------------------------------------------------------- item 1: a worker that ignores SIGTERM

STUBBORN = '''
import signal, time
from nas_core import groundtruth as gt


def train(*args, **kw):
    """Takes SIGTERM as a training's last step does: noted, and the run finished."""
    old = signal.signal(signal.SIGTERM, lambda *a: None)
    try:
        time.sleep(1.0)
        return gt.synthetic_train(*args, **kw)
    finally:
        signal.signal(signal.SIGTERM, old)
'''


def test_sigterm_does_not_hang_on_a_worker_that_finishes_its_task(tmp_path):
    """multiprocessing.Pool waited forever for such a worker (it then blocked on the queue lock
    the terminating pool held): `nas-study gt --workers 2` hung in 2 of 5 SIGTERMs."""
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    log = tmp_path / "t.csv"
    script = textwrap.dedent(f"""
        import stubborn
        from nas_core import groundtruth as gt
        from nas_core.spaces import get_space
        gt.build_ground_truth("nb201", "smoke", get_space("nb201").sample_many(30, seed=0), [0],
                              out_path={str(log)!r}, workers=2, train_fn=stubborn.train,
                              cfg_overrides={{"dataset": "synthetic"}}, progress=False)
    """)
    path = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    rc, left = _signal_and_check(proc, lambda: log.exists() and log.read_text().count("\n") >= 3, "TERM")
    assert rc is not None and rc != 0, "the build hung after SIGTERM"
    assert not left


def test_a_worker_that_dies_is_reported_not_waited_for():
    with pytest.raises(parallel.WorkerDied, match="signal 9"):
        list(parallel.imap_workers(_kill_self, [1, 2], 2))


def _kill_self(item):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_task_error_comes_back_with_its_traceback():
    with pytest.raises(ZeroDivisionError) as e:
        list(parallel.imap_workers(_divide, [1, 0], 2))
    assert "in _divide" in str(e.value.__cause__)


def _divide(x):
    return 1 / x


# ---------------------------------------------------------------- item 6: parameters by value, dry run = run

BAD_RUNS = [  # (arguments, what the one line says)
    (["run", "performance_vs_epochs", "-p", 'spaces=["nb999"]'], "unknown spaces 'nb999'"),
    (["run", "performance_vs_epochs", "-p", "profile=tiny"], "unknown profile 'tiny'"),
    (["run", "performance_vs_epochs", "-p", 'spaces=["nb201"]', "-p", "n_archs=20000"], "has 15,284"),
    (["run", "performance_vs_epochs", "-p", "n_archs=0"], "n_archs: expected a whole number >= 1"),
    (["run", "search_spaces", "-p", "n_sample=0"], "n_sample: expected a whole number >= 1"),
    (["run", "bias", "-p", 'epochs="1"'], "got '1' (text)"),
    (["run", "bias", "-p", "epochs=abc"], "got 'abc' (text)"),
    (["run", "bias", "-p", "epochs=0"], "or None: the profile's budget"),
    (["run", "top_k", "-p", "epoch_ladder=[]"], "epoch_ladder: expected a list"),
    (["run", "pruning", "-p", "pruning_factors=[2, 4]"], "must include 1"),
    (["run", "training_tricks", "-p", "other_seed=0"], "must differ from seed"),
    (["run", "groundtruth_pilot", "-p", "seeds=[0]"], "at least 2 distinct seeds"),
    (["gt", "nb201", "--profile", "smoke", "--n-archs", "20000"], "has 15,284 architectures"),
]


def _main(args, capsys):
    rc = cli.main(args)
    out = capsys.readouterr()
    return rc, out.err.strip().splitlines()


@pytest.mark.parametrize("args, message", BAD_RUNS)
def test_bad_values_are_one_line_and_exit_2_with_or_without_dry_run(roots, capsys, monkeypatch, args, message):
    monkeypatch.setenv(store.CACHED_ONLY_ENV, "1")  # should anything get past the checks, it computes nothing
    for dry in ([], ["--dry-run"]) if args[0] == "run" else ([],):
        rc, lines = _main(args + dry, capsys)
        assert rc == cli.EXIT_USAGE and len(lines) == 1 and message in lines[0], (dry, lines)


def test_every_notebook_parameter_has_a_rule_and_the_defaults_pass():
    from nas_core import parameters
    from nas_core.profiles import PROFILES

    for name in cli.EXPERIMENTS:
        if not (cli.NOTEBOOKS / f"{name}.ipynb").exists():
            continue
        declared = cli.notebook_parameters(cli.NOTEBOOKS / f"{name}.ipynb")
        assert set(parameters.RULES[name]) == set(declared), name
        for profile in PROFILES:
            parameters.check(name, {**{k: d["default"] for k, d in declared.items()}, "profile": profile})


def test_dry_run_accepts_what_the_run_accepts(roots, capsys):
    rc, _ = _main(["run", "performance_vs_epochs", "--dry-run", "--profile", "smoke", "-p", 'spaces=["nb201"]',
                   "-p", "epoch_ladder=[1, 2]", "-p", "n_archs=4"], capsys)
    assert rc == 0


# ---------------------------------------------------------------- item 7: paths and data

def test_relative_roots_are_resolved_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NAS_CORE_RESULTS", "myresults")
    monkeypatch.setenv("NAS_CORE_RUNS", "myruns")
    monkeypatch.setenv("NAS_CORE_DATA", "../data")
    cli.resolve_paths()  # before the kernel starts in notebooks/
    assert os.environ["NAS_CORE_RESULTS"] == str(tmp_path / "myresults")
    assert os.environ["NAS_CORE_RUNS"] == str(tmp_path / "myruns")
    assert os.environ["NAS_CORE_DATA"] == str(tmp_path.parent / "data")


def test_smoke_results_never_land_beside_the_committed_ones(monkeypatch):
    monkeypatch.delenv("NAS_CORE_RESULTS", raising=False)
    monkeypatch.delenv("NAS_CORE_RUNS", raising=False)
    cli.use_smoke_root("cpu", say=False)
    assert "NAS_CORE_RESULTS" not in os.environ
    cli.use_smoke_root("smoke", say=False)
    assert os.environ["NAS_CORE_RESULTS"] == str(cli.SMOKE_ROOT / "results")
    assert os.environ["NAS_CORE_RUNS"] == str(cli.SMOKE_ROOT / "runs")


def test_a_damaged_nb201_table_is_refused_before_compute_with_how_to_get_it(tmp_path, roots, capsys, monkeypatch):
    from nas_core import data

    shared = Path(os.environ.get("NAS_CORE_DATA", ""))
    if not (shared / data.CIFAR4K_FILE).is_file():
        pytest.skip("needs the offline data")
    root = tmp_path / "data"
    for item in shared.iterdir():
        (root / item.name).parent.mkdir(parents=True, exist_ok=True)
        if item.name != "nasbench201":
            (root / item.name).symlink_to(item)
    table = root / data.NB201_FILES["200ep"][0]
    table.parent.mkdir(parents=True)
    table.write_bytes((shared / data.NB201_FILES["200ep"][0]).read_bytes()[:5000])
    monkeypatch.setenv("NAS_CORE_DATA", str(root))
    rc, lines = _main(["run", "performance_vs_epochs", "--dry-run", "--profile", "smoke",
                       "-p", 'spaces=["nb201"]'], capsys)
    assert rc == cli.EXIT_USAGE and "nb201-200ep" in lines[0] and "md5" in lines[0]
    assert any("official source" in line for line in lines[1:])  # the how-to, not only the first line


def test_corrupt_result_under_cached_only_is_reported_as_corrupt(tmp_path, monkeypatch):
    st = store.ResultStore(tmp_path)
    st.get_or_compute("exp", "r", {"a": 1}, lambda: pd.DataFrame({"x": [1, 2]}))
    (tmp_path / "exp" / "r.csv").write_text("x\n1\n3\n")
    monkeypatch.setenv(store.CACHED_ONLY_ENV, "1")
    with pytest.raises(store.StoreError, match="corrupt or was edited"):
        st.get_or_compute("exp", "r", {"a": 1}, lambda: pd.DataFrame({"x": [1, 2]}))


# ---------------------------------------------------------------- items 3-5: damaged tables, invalid cells, empty samples

def test_a_damaged_line_in_a_committed_table_names_file_and_line(tmp_path, roots, capsys, monkeypatch):
    src = REPO / "results" / "groundtruth" / "nb201_cpu.csv"
    if not src.is_file():
        pytest.skip("needs the committed cpu ground truth")
    dst = roots / "results" / "groundtruth" / "nb201_cpu.csv"
    dst.parent.mkdir(parents=True)
    lines = src.read_text().splitlines(keepends=True)
    lines[299] = lines[299][:len(lines[299]) // 2] + "\n"  # line 300 halved
    dst.write_text("".join(lines))
    dst.with_suffix(".json").write_bytes(src.with_suffix(".json").read_bytes())
    monkeypatch.setenv(store.CACHED_ONLY_ENV, "1")  # never trains, whatever happens
    rc, err = _main(["gt", "nb201", "--profile", "cpu"], capsys)
    assert rc == cli.EXIT_USAGE and len(err) == 1 and "nb201_cpu.csv:300: a damaged row" in err[0], err


def test_a_disconnected_nb201_cell_is_refused_before_training(tmp_path):
    from nas_core import groundtruth as gt

    cut = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|none~2|"
    with pytest.raises(gt.GroundTruthError, match="architecture 1 of the list is not in nb201.*not connected"):
        gt.build_ground_truth("nb201", "smoke", ["|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|",
                                                 cut], [0], out_path=tmp_path / "t.csv", workers=1,
                              train_fn=gt.synthetic_train, cfg_overrides={"dataset": "synthetic"}, progress=False)
    assert not (tmp_path / "t.csv").exists()


def test_an_empty_sample_is_refused_before_training(roots):
    from nas_core import study

    with pytest.raises(ValueError, match="n_archs must be >= 1"):
        study.supernet_scores("nb201", "smoke", 1, n_archs=0, progress=False)
    assert not (roots / "results").exists() and not (roots / "runs").exists()


# ---------------------------------------------------------------- item 8: smaller

def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    target = tmp_path / "c.pt"
    stale = tmp_path / (store._temp_prefix(target, dead.pid) + "x1.tmp")
    live = tmp_path / (store._temp_prefix(target, os.getppid()) + "x2.tmp")  # a writer that still runs
    stale.write_bytes(b"")
    live.write_bytes(b"")
    store.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and not stale.exists() and live.exists()


def test_result_files_get_the_umask_mode_not_0600(tmp_path):
    st = store.ResultStore(tmp_path)
    st.save("exp", "r", pd.DataFrame({"x": [1]}), {"a": 1})
    want = 0o666 & ~store._UMASK
    assert {(p.stat().st_mode & 0o777) for p in (tmp_path / "exp").iterdir()} == {want}


def test_provenance_of_a_missing_path_or_a_truncated_checkpoint_is_one_line(tmp_path, capsys):
    import torch

    rc, lines = _main(["provenance", str(tmp_path / "nothing.csv")], capsys)
    assert rc == cli.EXIT_USAGE and len(lines) == 1 and "no such file" in lines[0]
    ckpt = tmp_path / "c.pt"
    store.save_checkpoint(ckpt, {"epoch": 3, "w": torch.zeros(100)})
    rc = cli.main(["provenance", str(ckpt)])
    assert rc == 0 and '"epoch": 3' in capsys.readouterr().out
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    rc, lines = _main(["provenance", str(ckpt)], capsys)
    assert rc == cli.EXIT_USAGE and len(lines) == 1 and "not a loadable checkpoint" in lines[0]
