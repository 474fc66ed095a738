"""Kept supernets: safetensors round trip, refusal of other files, exact re-scoring, protocols."""
import json
import struct

import numpy as np
import pandas as pd
import pytest
import torch

from nas_core import checkpoints as ck
from nas_core import metrics, study
from nas_core.spaces import get_space
from nas_core.store import canonical


@pytest.fixture()
def scratch(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    return tmp_path


@pytest.fixture(scope="module")
def trained_smoke(tmp_path_factory):
    """A smoke NB-201 supernet trained and scored by the study, then kept."""
    root = tmp_path_factory.mktemp("kept")
    mp = pytest.MonkeyPatch()
    mp.setenv("NAS_CORE_RESULTS", str(root / "results"))
    mp.setenv("NAS_CORE_RUNS", str(root / "runs"))
    scores = study.supernet_scores("nb201", "smoke", 1, seed=3, progress=False)
    path = ck.keep_supernet("nb201", "smoke", 1, seed=3)
    yield scores, path
    mp.undo()


def test_kept_supernet_rescores_its_stored_scores_exactly(trained_smoke):
    scores, path = trained_smoke
    assert path.name == study.supernet_result_name("nb201", "smoke", 1, seed=3) + ".safetensors"
    assert path.parent.name == "checkpoints"
    kept = ck.load_supernet(path)
    assert kept.config["seed"] == 3 and kept.config["epochs"] == 1 and kept.config["space"] == "nb201"
    assert kept.config["result"] == path.stem
    again = ck.rescore(kept, list(scores["arch"]), progress=False)
    assert again == scores["score"].tolist()  # same seed, same BN recalibration: bit-identical
    assert ck.verify_rescore(path, n_archs=3) == {"archs": 3, "identical": True, "max_abs_diff": 0.0}


def test_protocols_differ_and_table_has_every_protocol(trained_smoke):
    scores, path = trained_smoke
    kept = ck.load_supernet(path)
    table = ck.protocol_scores(kept, list(scores["arch"]), progress=False,
                               known={"bn_calib": scores["score"].tolist()})
    assert list(table.columns) == ["arch", *ck.PROTOCOLS]
    assert all(0 <= v <= 100 for p in ck.PROTOCOLS for v in table[p])
    gt = pd.Series(np.linspace(50, 60, len(table)), index=table["arch"])
    t = ck.protocol_table(table, gt, subsample=5, draws=10, ks=(2,))
    assert set(t["protocol"]) == set(ck.PROTOCOLS) and len(t) == 2 * len(ck.PROTOCOLS)
    assert {"spearman", "kendall", "sparse_kendall", "precision_at_2", "spearman_sd"} <= set(t.columns)


def test_batch_protocol_leaves_the_supernet_unchanged(trained_smoke):
    scores, path = trained_smoke
    kept = ck.load_supernet(path)
    before = {k: v.clone() for k, v in kept.model.state_dict().items()}
    ck.rescore(kept, list(scores["arch"])[:2], protocol="batch", progress=False)
    ck.rescore(kept, list(scores["arch"])[:2], protocol="bn_calib", progress=False)
    assert all(torch.equal(before[k], v) for k, v in kept.model.state_dict().items())


def test_save_load_round_trip_keeps_every_tensor(scratch):
    space = get_space("nb101")
    cfg = study.supernet_config("nb101", "smoke")
    model = space.supernet(cfg)
    path = ck.save_supernet(scratch / "x.safetensors", model, {"space": "nb101", "cfg": cfg, "seed": 0})
    kept = ck.load_supernet(path)
    for k, v in model.state_dict().items():
        assert torch.equal(kept.model.state_dict()[k], v)
    assert ck.read_config(path) == {"space": "nb101", "cfg": canonical(cfg), "seed": 0}


@pytest.mark.parametrize("content, message", [
    (b"", "not a safetensors file"),
    (b"PK\x03\x04 this is a zip", "not a safetensors file"),
    (struct.pack("<Q", 5) + b"nope!", "header is not JSON"),
])
def test_loading_refuses_files_that_are_not_safetensors(scratch, content, message):
    p = scratch / "bad.safetensors"
    p.write_bytes(content)
    with pytest.raises(ck.CheckpointError, match=message) as e:
        ck.load_supernet(p)
    assert "\n" not in str(e.value)


def test_loading_refuses_a_pickle(scratch):
    p = scratch / "model.pt"
    torch.save({"w": torch.zeros(3)}, p)
    with pytest.raises(ck.CheckpointError, match="not a safetensors file"):
        ck.load_supernet(p)


def test_loading_refuses_a_missing_file(scratch):
    with pytest.raises(ck.CheckpointError, match="no such file"):
        ck.load_supernet(scratch / "absent.safetensors")


def test_loading_refuses_foreign_safetensors_and_wrong_shapes(scratch):
    from safetensors.torch import save_file

    foreign = scratch / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(ck.CheckpointError, match="not a kept supernet"):
        ck.load_supernet(foreign)

    cfg = study.supernet_config("nb201", "smoke")
    wide = get_space("nb201").supernet({**cfg, "C": cfg["C"] * 2})
    wrong = scratch / "wrong.safetensors"
    ck.save_supernet(wrong, wide, {"space": "nb201", "cfg": cfg})  # config says the narrow network
    with pytest.raises(ck.CheckpointError, match=r"tensor \S+ is F32 \[") as e:
        ck.load_supernet(wrong)
    assert "\n" not in str(e.value)

    other = scratch / "other.safetensors"
    ck.save_supernet(other, get_space("nb101").supernet(study.supernet_config("nb101", "smoke")),
                     {"space": "nb201", "cfg": cfg})
    with pytest.raises(ck.CheckpointError, match="do not match a nb201 supernet"):
        ck.load_supernet(other)


def test_keeping_without_a_training_checkpoint(trained_smoke):
    scores, path = trained_smoke
    ckpt = next((path.parents[2] / "runs" / "supernets").glob("*.pt"))
    moved = ckpt.with_suffix(".away")
    ckpt.rename(moved)
    try:
        assert ck.keep_supernet("nb201", "smoke", 1, seed=3, missing_ok=True) is None
        with pytest.raises(Exception, match="no training checkpoint"):
            ck.keep_supernet("nb201", "smoke", 1, seed=3)
    finally:
        moved.rename(ckpt)


def test_convert_refuses_an_unfinished_or_foreign_training(trained_smoke, scratch):
    from nas_core.store import load_checkpoint, save_checkpoint

    _, path = trained_smoke
    cfg = ck.read_config(path)
    meta = {"name": cfg["result"], "params": {k: cfg[k] for k in ("space", "profile", "cfg", "recipe", "epochs",
                                                                   "seed", "strategy")}}
    ckpt = next((path.parents[2] / "runs" / "supernets").glob("*.pt"))  # the fixture's training checkpoint
    st = load_checkpoint(ckpt)
    half = scratch / "half.pt"
    save_checkpoint(half, {**st, "epoch": 0, "step": 2})
    with pytest.raises(Exception, match="training not finished"):
        ck.convert_training_checkpoint(half, meta, scratch / "o.safetensors")
    foreign = {**meta, "params": {**meta["params"], "seed": 99}}
    with pytest.raises(Exception, match="belongs to another run"):
        ck.convert_training_checkpoint(ckpt, foreign, scratch / "o.safetensors")


def test_sparse_kendall_ties_ground_truth_within_the_resolution():
    pred = [1.0, 2.0, 3.0, 4.0]
    gt = [80.01, 80.02, 80.50, 81.00]  # the first two are the same at 0.1 points
    assert metrics.sparse_kendall(pred, gt) == pytest.approx(metrics.kendall(pred, [80.0, 80.0, 80.5, 81.0]))
    assert metrics.kendall(pred, gt) == pytest.approx(1.0)
    assert metrics.sparse_kendall([2.0, 1.0, 3.0, 4.0], gt) > metrics.kendall([2.0, 1.0, 3.0, 4.0], gt)
    with pytest.raises(ValueError):
        metrics.sparse_kendall(pred, gt, resolution=0)


def test_sizes_of_every_space_at_smoke():
    sizes = ck.supernet_sizes("smoke", ["nb201", "nb101"])
    assert (sizes["file_bytes"] >= sizes["tensor_bytes"]).all()
    assert json.loads(sizes.to_json())  # plain values


def test_language_model_supernet_rescores_its_perplexities(scratch):
    scores = study.supernet_scores("darts_rnn", "smoke", 1, progress=False)
    path = ck.keep_supernet("darts_rnn", "smoke", 1)
    kept = ck.load_supernet(path)
    assert ck.rescore(kept, list(scores["arch"])[:2], progress=False) == scores["score"].tolist()[:2]
    with pytest.raises(ValueError, match="no batch norm"):
        ck.rescore(kept, list(scores["arch"])[:1], protocol="running")
