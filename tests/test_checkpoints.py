"""Kept supernets: safetensors round trip, refusal of other files, exact re-scoring, protocols."""
import json
import pickle
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
    (pickle.dumps({"w": [0.0] * 64}), "not a safetensors file"),  # a plain pickle, never unpickled
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


def test_loading_refuses_a_truncated_file(scratch):
    cfg = study.supernet_config("nb201", "smoke")
    path = ck.save_supernet(scratch / "whole.safetensors", get_space("nb201").supernet(cfg),
                            {"space": "nb201", "cfg": cfg})
    data = path.read_bytes()
    for cut, message in ((len(data) - 100, "truncated"), (len(data) // 200, "not a safetensors file")):
        p = scratch / f"cut{cut}.safetensors"
        p.write_bytes(data[:cut])
        with pytest.raises(ck.CheckpointError, match=message) as e:
            ck.load_supernet(p)
        assert "\n" not in str(e.value) and str(p) in str(e.value)
        if message == "truncated":  # the header is whole: even its configuration is refused, as the export reads it
            with pytest.raises(ck.CheckpointError, match="truncated"):
                ck.read_config(p)


def test_loading_refuses_other_dtypes(scratch):
    cfg = study.supernet_config("nb201", "smoke")
    p = ck.save_supernet(scratch / "f64.safetensors", get_space("nb201").supernet(cfg).double(),
                         {"space": "nb201", "cfg": cfg})
    with pytest.raises(ck.CheckpointError, match=r"is F64 \[.*has F32 \[") as e:
        ck.load_supernet(p)
    assert "\n" not in str(e.value)


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


# ---------------------------------------------------------------- stored protocol tables

def _fake_gt(archs, monkeypatch):
    """Ground truth constructed for the smoke sample (a smoke stand-alone table would train networks):
    what study.ground_truth returns, and a file where the ground truth lives, whose bytes key the table."""
    gt = pd.DataFrame({"arch": list(archs) * 2, "seed": [0] * len(archs) + [1] * len(archs),
                       "valid": list(np.linspace(40, 60, len(archs))) * 2})
    monkeypatch.setattr(study, "ground_truth", lambda *a, **k: gt)
    path = study.ground_truth_path("nb201", "smoke")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("constructed\n")
    return path


def test_protocol_results_are_stored_with_a_command_and_reused(trained_smoke, monkeypatch):
    scores, path = trained_smoke
    gt_path = _fake_gt(scores["arch"], monkeypatch)
    kw = dict(seed=3, progress=False, subsample=4, draws=5, ks=(2,))
    table, per_arch = ck.protocol_results("nb201", "smoke", 1, **kw)
    assert list(per_arch.columns) == ["arch", *ck.PROTOCOLS] and len(per_arch) == len(scores)
    assert per_arch["bn_calib"].tolist() == scores["score"].tolist()  # the stored scores
    assert set(table["protocol"]) == set(ck.PROTOCOLS) and len(table) == 2 * len(ck.PROTOCOLS)
    folder = path.parents[1] / ck.PROTOCOL_EXPERIMENT
    name = f"{path.stem}_n{len(scores)}"
    store = study.store()
    meta = store.meta(ck.PROTOCOL_EXPERIMENT, f"{name}_scores")
    assert meta["extra"]["bn_calib_check"] == {"archs": 2, "identical": True, "max_abs_diff": 0.0}
    assert meta["params"]["checkpoint_sha256"] == ck._file_sha(path)
    assert meta["command"] == ck.protocol_command("nb201", "smoke", 1, seed=3)
    assert "c.protocol_results('nb201', 'smoke', 1, seed=3)" in meta["command"]
    tmeta = store.meta(ck.PROTOCOL_EXPERIMENT, f"{name}_table")
    assert tmeta["params"]["scores_key"] == meta["key"] and tmeta["params"]["subsample"] == 4
    assert (folder / f"{name}_table.csv").is_file()

    # stored: a second call re-scores nothing
    monkeypatch.setattr(ck, "rescore", lambda *a, **k: pytest.fail("re-scored a stored result"))
    again, per_arch2 = ck.protocol_results("nb201", "smoke", 1, **kw)
    pd.testing.assert_frame_equal(again, table)
    pd.testing.assert_frame_equal(per_arch2, per_arch)
    # other ground truth: the table is made again from the stored scores, which are not re-scored
    gt_path.write_text("constructed again\n")
    ck.protocol_results("nb201", "smoke", 1, **kw)
    assert store.meta(ck.PROTOCOL_EXPERIMENT, f"{name}_table")["params"]["groundtruth_sha256"] != \
        tmeta["params"]["groundtruth_sha256"]
    with pytest.raises(ValueError, match="unknown table settings"):
        ck.protocol_results("nb201", "smoke", 1, seed=3, colour="red")

    # rendered for the book from what is stored, and written between the page's markers
    md = ck.protocol_markdown()
    assert "**NAS-Bench-201**" in md and all(ck.PROTOCOL_TEXT[p] in md for p in ck.PROTOCOLS)
    assert "(all of them)" in md and "random 4 of them (5 draws)" in md and "Choice of BN protocol" in md
    page = path.parents[1] / "page.md"
    page.write_text(f"# Page\n\nbefore\n{ck.BOOK_BEGIN}\nold\n{ck.BOOK_END}\nafter\n")
    ck.update_book_section(page)
    text = page.read_text()
    assert "old" not in text and md in text and text.startswith("# Page\n\nbefore\n") and text.endswith("after\n")
    page.write_text("no markers\n")
    with pytest.raises(ValueError, match="no protocol-table markers"):
        ck.update_book_section(page)


def test_protocol_table_counts_precision_on_fewer_architectures_than_k():
    scores = pd.DataFrame({"arch": list("abcde"), "bn_calib": [1.0, 2, 3, 4, 5]})
    gt = pd.Series([1.0, 2, 3, 5, 4], index=list("abcde"))
    t = ck.protocol_table(scores, gt, ks=(10,), subsample=None)
    assert t["precision_at_10"].tolist() == [1.0]  # k capped at the 5 there are


def test_book_shows_the_stored_protocol_tables():
    """The re-running appendix's tables are the committed results, rendered (regenerate with
    update_book_section after a new protocol table is stored)."""
    from nas_core.store import REPO

    text = (REPO / "book" / "rerun.md").read_text()
    block = text.split(ck.BOOK_BEGIN, 1)[1].split(ck.BOOK_END, 1)[0]
    assert block.strip() == ck.protocol_markdown(REPO / "results").strip()
