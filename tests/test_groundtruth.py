"""Ground truth: resumable parallel build, config hash, CSV import, queries, pilot, CLI.

Most tests use ``groundtruth.synthetic_train`` (fast, deterministic given the
task's seeding) on the ``synthetic`` dataset, so they need no data and no training.
"""
import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nas_core import cli, groundtruth as gt
from nas_core.spaces import get_space

REPO = Path(__file__).resolve().parents[1]
FAST = dict(train_fn=gt.synthetic_train, cfg_overrides={"dataset": "synthetic"}, progress=False)


@pytest.fixture(autouse=True)
def data_root(monkeypatch):
    # the offline copy beside the checkout, unless the caller chose a root
    if "NAS_CORE_DATA" not in os.environ and (REPO.parent / "shared" / "data").is_dir():
        monkeypatch.setenv("NAS_CORE_DATA", str(REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def archs():
    return get_space("nb201").sample_many(6, seed=0)


def without_wall(df):
    return df.drop(columns="wall_s").reset_index(drop=True)


def test_build_returns_requested_rows_in_order(tmp_path, archs):
    df = gt.build_ground_truth("nb201", "smoke", archs, [1, 0], out_path=tmp_path / "t.csv", workers=1, **FAST)
    assert list(zip(df["arch"], df["seed"])) == [(str(a), s) for a in archs for s in (1, 0)]
    assert set(gt.COLUMNS) <= set(df.columns) and "train_loss" in df.columns  # extra metric kept
    assert df["config_hash"].nunique() == 1 and (df["profile"] == "smoke").all()
    assert (tmp_path / "t.json").exists()  # the configuration behind the hash
    # a subset of what is stored comes back without training anything
    sub = gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=tmp_path / "t.csv", workers=1, **FAST)
    assert len(sub) == 2 and (sub["seed"] == 0).all()


def test_sidecar_records_every_builder_run(tmp_path, archs):
    out = tmp_path / "t.csv"
    gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, **FAST)
    gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, **FAST)  # nothing to do
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        gt.build_ground_truth("nb201", "smoke", archs[:3], [0, 1], out_path=out, workers=2, **FAST)
    finally:
        torch.set_num_threads(before)
    side = json.loads((tmp_path / "t.json").read_text())
    chunks = side["chunks"]
    assert [(c["runs_added"], c["workers"]) for c in chunks] == [(2, 1), (4, 2)]
    assert [c["machine"]["torch_threads"] for c in chunks] == [1, 1]  # what the runs train on, not the caller
    assert all(c["git"] and c["timestamp_utc"] and c["wall_time_s"] >= 0 for c in chunks)
    assert side["command"] == "nas-study gt nb201 --profile smoke"  # how to extend the table
    assert all(c["command"] == side["command"] for c in chunks)
    assert side["extra"]["config_hash"] == gt.build_ground_truth(
        "nb201", "smoke", archs[:1], [0], out_path=out, workers=1, **FAST)["config_hash"].iloc[0]


def test_stored_runs_are_read_while_a_builder_holds_the_table(tmp_path, archs):
    # a notebook reading finished runs must not wait for `nas-study gt` adding other seeds
    import threading

    from nas_core.store import exclusive

    out = tmp_path / "t.csv"
    gt.build_ground_truth("nb201", "smoke", archs, [0], out_path=out, workers=1, **FAST)
    got = []
    with exclusive(out):  # what a running builder holds
        reader = threading.Thread(target=lambda: got.append(
            gt.build_ground_truth("nb201", "smoke", archs, [0], out_path=out, workers=1, **FAST)), daemon=True)
        reader.start()
        reader.join(timeout=30)
        assert not reader.is_alive(), "reading a complete table waited for the lock"
    assert len(got[0]) == len(archs)


def test_two_workers_equal_one(tmp_path, archs):
    one = gt.build_ground_truth("nb201", "smoke", archs, [0, 1], out_path=tmp_path / "a.csv", workers=1, **FAST)
    two = gt.build_ground_truth("nb201", "smoke", archs, [0, 1], out_path=tmp_path / "b.csv", workers=2, **FAST)
    pd.testing.assert_frame_equal(without_wall(one), without_wall(two))
    assert one["valid"].nunique() == len(one)  # noise differs per (arch, seed)


def test_resume_after_sigkill(tmp_path, archs):
    """A build killed mid-run (and mid-row) resumes and ends with an uninterrupted run's rows."""
    slow = functools.partial(gt.synthetic_train, delay_s=0.15)  # wall_s = delay: rows fully deterministic
    kw = dict(FAST, train_fn=slow)
    log = tmp_path / "killed.csv"
    script = textwrap.dedent(f"""
        import functools
        from nas_core import groundtruth as gt
        from nas_core.spaces import get_space
        archs = get_space("nb201").sample_many(6, seed=0)
        gt.build_ground_truth("nb201", "smoke", archs, [0, 1], out_path={str(log)!r}, workers=1,
                              train_fn=functools.partial(gt.synthetic_train, delay_s=0.15),
                              cfg_overrides={{"dataset": "synthetic"}}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if log.exists() and log.read_text().count("\n") >= 4:  # header + 3 rows
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the build finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = log.read_text().splitlines()
    assert 4 <= len(before) < 13
    with open(log, "a") as f:  # as if killed in the middle of writing a row
        f.write("|nor_conv_3x3~0|+|none~0|")

    with pytest.warns(UserWarning, match="truncated"):
        resumed = gt.build_ground_truth("nb201", "smoke", archs, [0, 1], out_path=log, workers=1, **kw)
    clean = gt.build_ground_truth("nb201", "smoke", archs, [0, 1], out_path=tmp_path / "clean.csv", workers=1, **kw)
    pd.testing.assert_frame_equal(resumed, clean)
    after = log.read_text().splitlines()
    assert after[:len(before)] == before and len(after) == 13  # kept what was done, added the rest once


def test_sigterm_stops_the_pool_workers(tmp_path):
    """`kill` of a pool build takes its workers down too, instead of leaving them to run on."""
    log = tmp_path / "t.csv"
    script = textwrap.dedent(f"""
        import functools
        from nas_core import groundtruth as gt
        from nas_core.spaces import get_space
        archs = get_space("nb201").sample_many(40, seed=0)
        gt.build_ground_truth("nb201", "smoke", archs, [0], out_path={str(log)!r}, workers=2,
                              train_fn=functools.partial(gt.synthetic_train, delay_s=0.5),
                              cfg_overrides={{"dataset": "synthetic"}}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 3):
        time.sleep(0.05)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) >= 2, "the pool's workers should be running"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    time.sleep(1.0)
    alive = [c for c in children if Path(f"/proc/{c}").exists()
             and "zombie" not in Path(f"/proc/{c}/status").read_text().lower()]
    assert not alive, f"workers {alive} outlived the build"
    assert log.read_text().count("\n") < 41  # stopped early


def test_config_hash_mismatch_is_refused(tmp_path, archs):
    out = tmp_path / "t.csv"
    gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, **FAST)
    with pytest.raises(gt.GroundTruthError, match=r"config_hash .*epochs: 1 stored, 2 now"):
        gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, epochs=2, **FAST)
    with pytest.raises(gt.GroundTruthError, match="cfg"):
        gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1,
                              **{**FAST, "cfg_overrides": {"dataset": "synthetic", "C": 8}})


def test_bad_seeds_rejected(tmp_path, archs):
    for seeds in ([0, 0], [-1]):
        with pytest.raises(ValueError, match="seeds"):
            gt.build_ground_truth("nb201", "smoke", archs, seeds, out_path=tmp_path / "t.csv", **FAST)


# ---------------------------------------------------------------- import

def write_table(path, rows):
    pd.DataFrame(rows, columns=["arch", "seed", "valid", "test"]).to_csv(path, index=False)


def test_csv_import_validates_rows(tmp_path, archs):
    a = [str(x) for x in archs]
    good = tmp_path / "good.csv"
    write_table(good, [(a[0], 0, 90.0, 89.0), (a[0], 1, 92.0, 91.0), (a[1], 0, 80.0, 79.0)])
    df = gt.load_csv_table(good, "nb201")
    assert df["seed"].dtype.kind == "i" and len(df) == 3
    assert gt.mean_over_seeds(df).to_dict() == {a[0]: 91.0, a[1]: 80.0}
    s = gt.ground_truth("nb201", None, "test", source=str(good))
    assert s[a[0]] == 90.0 and s.name == "test"

    bad = tmp_path / "bad.csv"
    write_table(bad, [(a[0], 0, 90.0, 89.0), (a[1], 0, 80.0, 79.0), ("|conv~0|+|x|", 0, 1.0, 1.0)])
    with pytest.raises(gt.GroundTruthError, match=r"bad.csv:4: not a nb201 architecture"):
        gt.load_csv_table(bad, "nb201")
    write_table(bad, [(a[0], 0, 90.0, 89.0), (a[1], 0, "n/a", 79.0)])
    with pytest.raises(gt.GroundTruthError, match=r"bad.csv:3: column valid has 'n/a'"):
        gt.load_csv_table(bad, "nb201")
    write_table(bad, [(a[0], 0, 90.0, 89.0), (a[0], 0, 91.0, 89.0)])
    with pytest.raises(gt.GroundTruthError, match=r"bad.csv:3: .* appears twice"):
        gt.load_csv_table(bad, "nb201")
    pd.DataFrame({"arch": a[:1], "valid": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(gt.GroundTruthError, match="missing column.*seed, test"):
        gt.load_csv_table(bad, "nb201")


def test_built_table_is_queryable_by_profile(tmp_path, monkeypatch, archs):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path))
    built = gt.build_ground_truth("nb201", "smoke", archs, [0, 1], out_path=tmp_path / "groundtruth" / "nb201_smoke.csv",
                                  workers=1, **FAST)
    s = gt.ground_truth("nb201", "synthetic", "valid", source="smoke")
    assert np.allclose(s.loc[built["arch"]].to_numpy(), built.groupby("arch", sort=False)["valid"].mean().loc[built["arch"]])
    with pytest.raises(gt.GroundTruthError, match="holds synthetic results, not cifar10"):
        gt.ground_truth("nb201", "cifar10", "valid", source="smoke")
    with pytest.raises(gt.GroundTruthError, match="nas-study gt nb201 --profile cpu"):
        gt.ground_truth("nb201", None, "valid", source="cpu")


def test_seed_correlation_on_constructed_table():
    rows = [(f"a{i}", 0, v) for i, v in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]
    rows += [(f"a{i}", 1, v) for i, v in enumerate([1.5, 2.5, 3.5, 5.5, 4.5])]  # a5 has seed 0 only
    df = pd.DataFrame(rows, columns=["arch", "seed", "valid"])
    assert gt.seed_correlation(df) == pytest.approx(0.9)  # one swapped pair of 5: 1 - 6*2/(5*24)
    assert gt.seed_correlation(df, method="kendall") == pytest.approx(0.8)  # 1 discordant pair of 10
    s = gt.seed_stability(df)
    diffs = np.array([-0.5, -0.5, -0.5, -1.5, 0.5])
    assert s["noise_sd"] == pytest.approx(diffs.std(ddof=1) / np.sqrt(2))
    assert (s["mean_min"], s["mean_max"], s["n_archs"], s["n_seeds"]) == (1.25, 6.0, 6, 2)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        gt.seed_correlation(df[df["seed"] == 0])


def nb201_tables_present():
    from nas_core import data

    try:
        data.check_available("nb201-200ep")
        data.check_available("nb201-12ep")
    except (data.DataNotFound, data.DataCorrupt):
        return False
    return True


def test_nb201_real_tables():
    if not nb201_tables_present():
        pytest.skip("NAS-Bench-201 tables not under NAS_CORE_DATA (see ../shared/data/README.md)")
    s = gt.ground_truth("nb201", "cifar10", "test_200ep")
    assert len(s) == 15625 and s.max() == pytest.approx(94.37, abs=0.01)
    space = get_space("nb201")
    assert s.index[7] == str(space.from_index(7))
    best = space.parse(s.idxmax())
    assert space.index(best) == int(np.argmax(s.to_numpy()))
    assert gt.ground_truth("nb201", "cifar100", "test_200ep").max() == pytest.approx(73.51, abs=0.01)
    v12 = gt.ground_truth("nb201", "imagenet16-120", "valid_12ep")
    assert len(v12) == 15625 and v12.index.equals(s.index)
    with pytest.raises(gt.GroundTruthError, match="unknown NAS-Bench-201 dataset"):
        gt.ground_truth("nb201", "mnist", "test_200ep")
    with pytest.raises(gt.GroundTruthError, match="unknown NAS-Bench-201 metric"):
        gt.ground_truth("nb201", "cifar10", "test_100ep")
    with pytest.raises(gt.GroundTruthError, match="nb201 only"):
        gt.ground_truth("nb101", "cifar10", "test_200ep")


@pytest.mark.skipif(importlib.util.find_spec("nats_bench") is not None, reason="nats_bench is installed")
def test_nats_bench_absent_is_a_clear_error():
    with pytest.raises(ImportError, match=r"nats_bench package .*source='benchmark'"):
        gt.ground_truth("nb201", "cifar10", "test_200ep", source="nats_bench")


def test_pilot_summarises_candidates(tmp_path):
    out = gt.run_pilot("nb201", {"short": ({"dataset": "synthetic"}, 1), "long": ({"dataset": "synthetic"}, {"epochs": 2})},
                       n_archs=5, seeds=[0, 1], out_dir=tmp_path, profile="smoke", workers=1,
                       train_fn=gt.synthetic_train, progress=False)
    assert list(out.index) == ["short", "long"] and list(out["epochs"]) == [1, 2]
    for col in ("seed_spearman", "seed_kendall", "mean_min", "mean_max", "spread_sd", "noise_sd", "real_spearman"):
        assert col in out.columns
    assert out["seed_spearman"].between(-1, 1).all() and (out["noise_sd"] > 0).all()
    if nb201_tables_present():
        assert out["real_spearman"].notna().all()
    assert (tmp_path / "short.csv").exists() and (tmp_path / "long.csv").exists()


# ---------------------------------------------------------------- Ray

def test_ray_equals_local(tmp_path, archs):
    ray = pytest.importorskip("ray", reason="ray is not installed (optional: pip install 'nas_core[ray]')")
    local = gt.build_ground_truth("nb201", "smoke", archs[:3], [0, 1], out_path=tmp_path / "local.csv", workers=1,
                                  **FAST)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = gt.build_ground_truth("nb201", "smoke", archs[:3], [0, 1], out_path=tmp_path / "ray.csv",
                                       ray_address="local", **FAST)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(without_wall(local), without_wall(remote))


# ---------------------------------------------------------------- CLI

@pytest.mark.parametrize("args, message", [
    (["gt", "no_such_space"], "unknown space"),
    (["gt", "nb201", "--profile", "huge"], "unknown profile"),
    (["gt", "nb201", "--n-archs", "-3"], "--n-archs must be >= 1"),
    (["gt", "nb201", "--seeds", "-1"], "--seeds must be distinct non-negative"),
    (["gt", "nb201", "--seeds", "0", "0"], "--seeds must be distinct non-negative"),
    (["gt", "nb201", "--workers", "0"], "--workers must be >= 1"),
    (["gt", "nb201", "--reference"], "no reference architecture in 'nb201'"),
    (["gt", "proxyless", "--reference", "--seeds", "3"], "--reference trains one architecture"),
])
def test_cli_bad_input_exit_2_before_compute(args, message, monkeypatch, capsys):
    def no_compute(*a, **k):
        raise AssertionError("compute started")

    monkeypatch.setattr(gt, "build_ground_truth", no_compute)
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_cli_missing_data_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NAS_CORE_DATA", str(tmp_path))  # empty root
    assert cli.main(["gt", "nb201", "--profile", "smoke", "--n-archs", "2"]) == 2
    first, *how = capsys.readouterr().err.strip().splitlines()
    assert first.startswith("nas-study: error: cifar10-4k: missing")  # what is wrong, in one line,
    assert how and all(line.startswith("  ") for line in how)  # then how to get it, indented
    assert any("official source" in line for line in how)


def test_end_to_end_real_training(tmp_path, monkeypatch, capsys):
    """The CLI trains 2 nb201 cells at smoke size (1 epoch, 4 steps) for real, then resumes with nothing
    to do; a 2-process pool gives the same numbers (each task seeds everything itself)."""
    from nas_core import data

    try:
        data.check_available(get_space("nb201").config("smoke")["dataset"])
    except (data.DataNotFound, data.DataCorrupt):
        pytest.skip("smoke dataset not under NAS_CORE_DATA")
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path))
    argv = ["gt", "nb201", "--profile", "smoke", "--n-archs", "2", "--seeds", "0", "--workers", "1"]
    assert cli.main(argv) == 0
    out = tmp_path / "groundtruth" / "nb201_smoke.csv"
    df = pd.read_csv(out)
    space = get_space("nb201")
    archs = space.sample_many(2, seed=0)
    assert list(df["arch"]) == [str(a) for a in archs]
    assert df["valid"].between(0, 100).all() and df["test"].between(0, 100).all()
    cfg = space.config("smoke")
    assert list(df["params"]) == [space.cost(a, cfg).params for a in archs]
    assert "2 runs" in capsys.readouterr().out
    mtime = out.stat().st_mtime_ns
    assert cli.main(argv) == 0 and out.stat().st_mtime_ns == mtime  # resumed: nothing trained again
    pool = gt.build_ground_truth("nb201", "smoke", archs, [0], out_path=tmp_path / "pool.csv", workers=2,
                                 progress=False)
    pd.testing.assert_frame_equal(without_wall(pool), without_wall(gt.load_csv_table(out, "nb201")))


def test_cached_only_refuses_missing_runs_but_serves_stored_ones(tmp_path, archs, monkeypatch):
    from nas_core.store import CACHED_ONLY_ENV, ResultMissing

    out = tmp_path / "gt.csv"
    built = gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, **FAST)
    monkeypatch.setenv(CACHED_ONLY_ENV, "1")
    again = gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, **FAST)
    pd.testing.assert_frame_equal(without_wall(built), without_wall(again))
    with pytest.raises(ResultMissing, match="1 of 3 runs"):
        gt.build_ground_truth("nb201", "smoke", archs[:3], [0], out_path=out, workers=1, **FAST)


def test_a_chunk_killed_between_its_row_and_its_record_is_completed_from_the_table(tmp_path, archs):
    # SIGKILL can land after a row is appended and before the side file is rewritten (two files, no
    # common atomic write): the record then says one row too few, until it is read or built on
    out = tmp_path / "t.csv"
    gt.build_ground_truth("nb201", "smoke", archs[:2], [0], out_path=out, workers=1, **FAST)
    side = tmp_path / "t.json"
    meta = json.loads(side.read_text())
    meta["chunks"][-1].update(runs_added=1, finished=False)  # as the kill leaves it
    side.write_text(json.dumps(meta))
    assert [c["runs_added"] for c in gt.recorded_chunks(out)] == [2]
    gt.build_ground_truth("nb201", "smoke", archs[:3], [0], out_path=out, workers=1, **FAST)
    chunks = json.loads(side.read_text())["chunks"]
    assert [(c["runs_added"], c["rows_before"]) for c in chunks] == [(2, 0), (1, 2)]  # corrected on disk
