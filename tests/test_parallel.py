import json

import pandas as pd
import pytest
import torch

from nas_core import parallel, study


def _calls():
    return [dict(space_name="nb201", profile="smoke", epochs=e, n_archs=4) for e in (1, 2)]


def _stored(root):
    out = {}
    for csv in sorted((root / "supernets").glob("*.csv")):
        meta = json.loads(csv.with_suffix(".json").read_text())
        out[csv.name] = (pd.read_csv(csv), meta["machine"]["torch_threads"])
    return out


def test_workers_store_what_the_notebook_process_computes(tmp_path, monkeypatch):
    roots = {}
    for how in ("workers", "here"):
        roots[how] = tmp_path / how / "results"
        monkeypatch.setenv("NAS_CORE_RESULTS", str(roots[how]))
        monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / how / "runs"))
        if how == "workers":
            assert parallel.compute_missing(study.supernet_scores, _calls(), workers=2) == 2
            assert parallel.compute_missing(study.supernet_scores, _calls() * 2, workers=2) == 0  # all stored
        else:
            before = torch.get_num_threads()
            torch.set_num_threads(2)  # results are computed on one thread whatever the caller uses
            try:
                for c in _calls():
                    study.supernet_scores(**c, progress=False)
            finally:
                torch.set_num_threads(before)
    workers, here = _stored(roots["workers"]), _stored(roots["here"])
    assert list(workers) == list(here) and len(workers) == 2
    for name in workers:
        pd.testing.assert_frame_equal(workers[name][0], here[name][0])
        assert workers[name][1] == here[name][1] == 1


def test_one_worker_or_lookup_only_leaves_the_computing_to_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    assert parallel.compute_missing(study.supernet_scores, _calls(), workers=1) == 0
    monkeypatch.setenv("NAS_CORE_CACHED_ONLY", "1")
    assert parallel.compute_missing(study.supernet_scores, _calls(), workers=2) == 0
    assert not (tmp_path / "results" / "supernets").exists()


@pytest.mark.parametrize("value, expected", [("", None), ("3", 3), (" 1 ", 1)])
def test_default_workers_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(parallel.WORKERS_ENV, value)
    assert parallel.default_workers() == (expected or parallel.os.cpu_count())


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_bad_worker_counts_say_what_to_give(monkeypatch, value):
    monkeypatch.setenv(parallel.WORKERS_ENV, value)
    with pytest.raises(ValueError, match="whole number of worker processes"):
        parallel.default_workers()


def test_a_chapter_computes_its_supernets_in_worker_processes(tmp_path, monkeypatch):
    from nas_core import cli

    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv(parallel.WORKERS_ENV, "2")  # the kernel inherits it
    out = cli.run_experiment("performance_vs_epochs", "smoke", {"spaces": ["nb201"], "epoch_ladder": [1, 2]},
                             tmp_path)
    assert "supernets (2 workers)" in out.read_text()  # compute_missing's progress bar, in the cell's output
    stored = _stored(tmp_path / "results")
    assert len(stored) == 2 and all(threads == 1 for _, threads in stored.values())


def test_a_pruning_sweep_in_workers_equals_one_computed_here(tmp_path, monkeypatch):
    from nas_core import pruning

    computed = []  # by worker processes, per call of compute_missing
    real = pruning.compute_missing
    monkeypatch.setattr(pruning, "compute_missing", lambda *a, **kw: computed.append(real(*a, **kw)))
    gt = None
    sweeps = {}
    for how, workers in (("workers", "2"), ("here", "1")):
        monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / how / "results"))
        monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / how / "runs"))
        monkeypatch.setenv(parallel.WORKERS_ENV, workers)
        if gt is None:  # ground truth only names the pool and orders optimistic pruning here
            archs = [str(a) for a in study.eval_sample("nb201", "smoke")]
            gt = pd.Series(range(len(archs)), index=archs, dtype=float)
        sweeps[how] = pruning.pruning_sweep("nb201", "smoke", gt, factors=[1, 2], seeds=[0, 1], epochs=1)
    # the unpruned supernets beside optimistic and random pruning's, then guided pruning's
    assert computed == [2 + 2 * 2, 2, 0, 0]
    assert len(list((tmp_path / "workers" / "results" / "pruning").glob("*.csv"))) == 2 + 3 * 2
    pd.testing.assert_frame_equal(sweeps["workers"].drop(columns=["train_s", "score_s"]),
                                  sweeps["here"].drop(columns=["train_s", "score_s"]))
