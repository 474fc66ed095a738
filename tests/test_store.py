"""Results store, append log and checkpoints: round trips, rejection, crash safety."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

import nas_core
from nas_core import store as st
from nas_core.store import AppendLog, ResultStore, StoreError


def _df():
    return pd.DataFrame({"arch": ["a|b", "c,d", 'e"f'], "score": [0.1, 1 / 3, 94.37333333333333],
                         "epochs": [1, 2, 3]})


def test_provenance_fields():
    p = st.provenance({"b": (1, 2), "a": np.int64(3)}, seed=4, wall_time_s=1.23456, extra={"k": "v"})
    assert p["params"] == {"a": 3, "b": [1, 2]} and p["seed"] == 4 and p["wall_time_s"] == 1.235
    assert p["nas_core_version"] == nas_core.__version__
    assert set(p["versions"]) == {"python", "torch", "numpy", "pandas"}
    assert {"platform", "processor", "cpu_count", "torch_threads"} <= set(p["machine"])
    assert p["timestamp_utc"].endswith("+00:00") and p["extra"] == {"k": "v"}
    assert "git" in p
    json.dumps(p)  # all plain JSON


def test_key_is_canonical():
    k = st.result_key("e", {"a": 1, "b": [1, 2]})
    assert k == st.result_key("e", {"b": (1, 2), "a": np.int64(1)})
    assert k != st.result_key("e", {"a": 2, "b": [1, 2]})
    assert k != st.result_key("f", {"a": 1, "b": [1, 2]})
    assert k != st.result_key("e", {"a": 1, "b": [1, 2]}, version="9.9")
    with pytest.raises(TypeError, match="JSON"):
        st.result_key("e", {"a": object()})


def test_round_trip(tmp_path):
    s = ResultStore(tmp_path)
    meta = s.save("exp", "table", _df(), {"x": 1}, seed=3, wall_time_s=2.0, command="nas-study run exp")
    got = s.load("exp", "table", {"x": 1})
    pd.testing.assert_frame_equal(got, _df(), check_dtype=False)
    assert got["score"].tolist() == _df()["score"].tolist()  # floats exact
    on_disk = json.loads((tmp_path / "exp" / "table.json").read_text())
    assert on_disk["key"] == meta["key"] == s.key("exp", {"x": 1})
    assert on_disk["command"] == "nas-study run exp" and on_disk["seed"] == 3 and on_disk["rows"] == 3
    assert s.exists("exp", "table", {"x": 1}) and not s.exists("exp", "table", {"x": 2})
    prov = st.read_provenance(tmp_path / "exp" / "table.csv")
    assert prov["csv_verified"] and prov["key"] == meta["key"]
    # a meaningful index is kept as a column
    s.save("exp", "indexed", _df().set_index("arch"), {})
    assert list(s.load("exp", "indexed").columns) == ["arch", "score", "epochs"]


def test_key_mismatch_rejected(tmp_path):
    s = ResultStore(tmp_path)
    s.save("exp", "t", _df(), {"epochs": 4, "seed": 0}, command="make it")
    with pytest.raises(StoreError, match=r"other parameters.*epochs: 4 stored, 8 requested.*make it"):
        s.load("exp", "t", {"epochs": 8, "seed": 0})
    with pytest.raises(StoreError, match="version 0.1.0 stored, 9.9 now"):
        ResultStore(tmp_path, version="9.9").load("exp", "t", {"epochs": 4, "seed": 0})


def test_corrupt_csv_rejected(tmp_path):
    s = ResultStore(tmp_path)
    s.save("exp", "t", _df(), {"a": 1}, command="regen cmd")
    csv = tmp_path / "exp" / "t.csv"
    csv.write_bytes(csv.read_bytes().replace(b"0.1", b"0.2"))
    with pytest.raises(StoreError, match=r"t\.csv is corrupt.*regen cmd"):
        s.load("exp", "t")
    csv.unlink()
    with pytest.raises(StoreError, match="missing"):
        s.load("exp", "t")
    (tmp_path / "exp" / "t.json").write_text("{not json")
    with pytest.raises(StoreError, match="unreadable provenance"):
        s.load("exp", "t")
    with pytest.raises(StoreError, match="no stored result"):
        s.load("exp", "absent")


def test_get_or_compute(tmp_path):
    s = ResultStore(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return _df()

    a = s.get_or_compute("exp", "t", {"seed": 5}, compute, command="c")
    b = s.get_or_compute("exp", "t", {"seed": 5}, compute)
    assert len(calls) == 1 and a.equals(b)
    assert s.meta("exp", "t")["seed"] == 5 and s.meta("exp", "t")["wall_time_s"] is not None
    s.get_or_compute("exp", "t", {"seed": 6}, compute)  # other parameters: recomputed, replaced
    assert len(calls) == 2 and s.meta("exp", "t")["params"] == {"seed": 6}
    (tmp_path / "exp" / "t.csv").write_text("garbage\n")
    with pytest.warns(UserWarning, match="recomputing"):
        s.get_or_compute("exp", "t", {"seed": 6}, compute)
    assert len(calls) == 3 and s.load("exp", "t", {"seed": 6}).equals(a)


def test_atomic_write_survives_writer_death(tmp_path):
    target = tmp_path / "out.bin"
    st.atomic_write_bytes(target, b"old complete content")

    def dying_writer(f):
        f.write(b"half of the new")
        raise KeyboardInterrupt("writer killed")

    with pytest.raises(KeyboardInterrupt):
        st.atomic_write(target, dying_writer)
    assert target.read_bytes() == b"old complete content"
    assert os.listdir(tmp_path) == ["out.bin"]  # no temporary file left behind

    # the same through the store: a failing CSV write leaves the old result intact
    s = ResultStore(tmp_path / "r")
    s.save("exp", "t", _df(), {"a": 1})

    class Boom(Exception):
        pass

    def bad_csv(df):
        raise Boom

    orig = st._csv_bytes
    st._csv_bytes = bad_csv
    try:
        with pytest.raises(Boom):
            s.save("exp", "t", _df().iloc[:1], {"a": 2})
    finally:
        st._csv_bytes = orig
    assert len(s.load("exp", "t", {"a": 1})) == 3
    assert sorted(os.listdir(tmp_path / "r" / "exp")) == ["t.csv", "t.json"]


def test_append_log_basics(tmp_path):
    log = AppendLog(tmp_path / "gt.csv", ["arch", "seed", "acc"])
    log.append({"arch": "|a,b|", "seed": 0, "acc": 1 / 3})
    log.append(["x", 1, None])
    with pytest.raises(ValueError):
        log.append({"nope": 1})
    assert log.rows() == [{"arch": "|a,b|", "seed": "0", "acc": str(1 / 3)}, {"arch": "x", "seed": "1", "acc": ""}]
    assert log.done_keys("arch") == {"|a,b|", "x"}
    assert log.frame()["acc"].iloc[0] == 1 / 3
    with pytest.raises(StoreError, match="header"):
        AppendLog(tmp_path / "gt.csv", ["arch", "acc"])
    # a row cut mid-write is dropped on open, with a warning
    with open(tmp_path / "gt.csv", "ab") as f:
        f.write(b"y,2,0.5")
    with pytest.warns(UserWarning, match="truncated"):
        log = AppendLog(tmp_path / "gt.csv", ["arch", "seed", "acc"])
    assert log.done_keys("arch") == {"|a,b|", "x"}
    log.append(["y", 2, 0.5])
    assert [r["arch"] for r in log.rows()] == ["|a,b|", "x", "y"]


_WRITER = r"""
import sys, time
from nas_core.store import AppendLog
log = AppendLog(sys.argv[1], ["key", "value"])
done = log.done_keys("key")
for i in range(int(sys.argv[2])):
    if str(i) in done:
        continue
    log.append([i, f"{i * i}-" + "x" * (i % 50)])
    time.sleep(float(sys.argv[3]))
"""


def _run_writer(path, n, pause, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(n), str(pause)], env=env, **kw)


def test_append_log_resume_after_sigkill(tmp_path):
    n = 400
    ref = tmp_path / "ref.csv"
    assert _run_writer(ref, n, 0).wait(timeout=60) == 0

    path = tmp_path / "killed.csv"
    proc = _run_writer(path, n, 0.002)
    deadline = time.time() + 60
    while time.time() < deadline and (not path.exists() or path.read_bytes().count(b"\n") < 41):  # header + 40 rows
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore")  # a cut row may or may not be there
        rows = AppendLog(path, ["key", "value"]).rows()
    assert 40 <= len(rows) < n, "the writer was killed mid-run"
    for r in rows:  # every surviving row intact
        i = int(r["key"])
        assert r["value"] == f"{i * i}-" + "x" * (i % 50)
    assert [int(r["key"]) for r in rows] == list(range(len(rows)))

    assert _run_writer(path, n, 0).wait(timeout=60) == 0  # resume
    assert path.read_bytes() == ref.read_bytes()


def test_checkpoint_round_trip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    state = {"model": {"w": torch.randn(3, 2)}, "epoch": 4, "lr": 0.1, "name": "x",
             "history": [1.0, 2.0], "rng": st.rng_state()}
    st.save_checkpoint(tmp_path / "c.pt", state)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    back = st.load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(back["model"]["w"], state["model"]["w"]) and back["epoch"] == 4
    st.set_rng_state(back["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    with pytest.raises(TypeError, match="cannot go in a checkpoint"):
        st.save_checkpoint(tmp_path / "bad.pt", {"x": object()})
    with pytest.raises(TypeError, match="numpy scalar"):
        st.save_checkpoint(tmp_path / "bad.pt", {"loss": [np.float64(0.5)]})
    assert not (tmp_path / "bad.pt").exists()


def test_cached_only_refuses_to_compute_and_names_the_command(tmp_path, monkeypatch):
    from nas_core.store import CACHED_ONLY_ENV, ResultMissing, ResultStore

    store = ResultStore(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [1]})

    monkeypatch.setenv(CACHED_ONLY_ENV, "1")
    with pytest.raises(ResultMissing, match="nas-study run demo"):
        store.get_or_compute("exp", "r", {"a": 1}, compute, command="nas-study run demo")
    assert not calls
    monkeypatch.delenv(CACHED_ONLY_ENV)
    store.get_or_compute("exp", "r", {"a": 1}, compute)
    monkeypatch.setenv(CACHED_ONLY_ENV, "1")  # stored now: served without computing
    assert store.get_or_compute("exp", "r", {"a": 1}, compute)["x"].tolist() == [1] and len(calls) == 1


def test_placeholder_chapter_names_its_figures_and_command(tmp_path):
    import nbformat

    from nas_core import bookgen

    out = bookgen.write_placeholder("top_k", "cpu", "result supernets/x is not stored", tmp_path)
    text = nbformat.read(out, as_version=4).cells[0].source
    assert "Figure 2" in text and "Figure 16" in text and "nas-study run top_k --profile cpu" in text


_RACER = r"""
import sys, time
import pandas as pd
from nas_core.store import ResultStore
def compute():
    with open(sys.argv[2], "a") as f:  # one line per actual computation
        f.write("x\n")
    time.sleep(1.0)
    return pd.DataFrame({"a": [1]})
ResultStore(sys.argv[1]).get_or_compute("exp", "same", {"seed": 0}, compute)
"""


def test_concurrent_requests_compute_once(tmp_path):
    calls = tmp_path / "calls.txt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, str(tmp_path / "res"), str(calls)], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert calls.read_text() == "x\n"  # the second process waited and loaded the first one's result
    assert ResultStore(tmp_path / "res").load("exp", "same", {"seed": 0})["a"].tolist() == [1]


def test_one_naming_scheme_for_a_spaces_result_files():
    name = st.result_name
    assert name("nb201", "cpu", "uniform", epochs=8, seed=1, params_hash="0123456789") == "nb201_cpu_uniform_e8_s1_0123456789"
    assert name("nb101", "cpu", "size150", epochs=32, seed=0, params_hash="ab") == "nb101_cpu_size150_e32_s0_ab"
    assert name("nb101", "cpu", "uniform", epochs=4, seed=0, params_hash="trainab") == "nb101_cpu_uniform_e4_s0_trainab"
    assert name("darts_cnn", "cpu", "pruning") == "darts_cnn_cpu_pruning" and name("nb201", "smoke", None) == "nb201_smoke"
