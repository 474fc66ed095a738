"""Data loading on the real offline files (skipped where absent), error paths, augmentation."""
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from nas_core import data

REPO = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    env = os.environ.get(data.ENV_ROOT)
    if env and (Path(env) / data.CIFAR4K_FILE).is_file():
        return Path(env)
    return REPO.parent / "shared" / "data"


SHARED = _shared_root()


def needs(rel: str):
    return pytest.mark.skipif(not (SHARED / rel).exists(),
                              reason=f"offline data {SHARED / rel} absent (set NAS_CORE_DATA to ../shared/data)")


@pytest.fixture(autouse=True)
def no_download(monkeypatch):
    monkeypatch.delenv(data.ENV_DOWNLOAD, raising=False)


# ---------------------------------------------------------------- root and errors

def test_data_root(monkeypatch):
    monkeypatch.delenv(data.ENV_ROOT, raising=False)
    assert data.data_root() == Path("data")
    monkeypatch.setenv(data.ENV_ROOT, "/some/where")
    assert data.data_root() == Path("/some/where")


@pytest.mark.parametrize("name,fname", [
    ("cifar10-4k", "cifar10_first4000.npz"), ("cifar10", "data_batch_1"), ("cifar100", "cifar-100-python"),
    ("fashion-mnist", "train-images-idx3-ubyte.gz"), ("ptb", "ptb.train.txt"),
    ("nb201-200ep", "nb201_200ep_test_accuracy.csv"), ("nb201-12ep", "nb201_12ep_accuracy.csv"),
])
def test_missing_data_is_explained(tmp_path, monkeypatch, name, fname):
    monkeypatch.setenv(data.ENV_ROOT, str(tmp_path))
    with pytest.raises(data.DataNotFound) as e:
        data.check_available(name)
    msg = str(e.value)
    assert name in msg and fname in msg and str(tmp_path.resolve()) in msg
    assert "NAS_CORE_DATA=/path/to/shared/data" in msg
    assert ("NAS_CORE_DOWNLOAD=1" in msg) == (name != "nb201-12ep")
    assert isinstance(e.value, FileNotFoundError)


def test_load_fails_before_compute(tmp_path):
    with pytest.raises(data.DataNotFound, match="cifar10_first4000.npz"):
        data.load({"dataset": "cifar10-4k", "image_size": 16}, root=tmp_path)
    with pytest.raises(data.DataNotFound, match="ptb.train.txt"):
        data.load({"dataset": "ptb"}, root=tmp_path)
    with pytest.raises(data.DataNotFound, match="nb201_200ep"):
        data.load_nb201_table(root=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset"):
        data.load({"dataset": "mnist"}, root=tmp_path)


def test_corrupt_file_rejected(tmp_path):
    bad = tmp_path / data.CIFAR4K_FILE
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not the images")
    with pytest.raises(data.DataCorrupt, match=r"cifar10_first4000\.npz has md5 .* expected 041979c8"):
        data.load({"dataset": "cifar10-4k"}, root=tmp_path)
    gz = tmp_path / "fashion-mnist"
    gz.mkdir()
    for n in data.FMNIST_FILES:
        (gz / f"{n}.gz").write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(data.DataCorrupt, match="fashion-mnist: cannot read"):
        data.check_available("fashion-mnist", root=tmp_path)


def test_md5_cached(tmp_path, monkeypatch):
    f = tmp_path / "f.txt"
    f.write_text("hello")
    first = data.md5_of(f)
    monkeypatch.setattr(data.hashlib, "md5", lambda: pytest.fail("re-hashed an unchanged file"))
    assert data.md5_of(f) == first == "5d41402abc4b2a76b9719d911017c592"


def test_torchvision_cifar_folder_is_read_without_arbitrary_unpickling(tmp_path, monkeypatch):
    folder = tmp_path / data.CIFAR10_DIR
    folder.mkdir()
    rng = np.random.default_rng(0)
    md5s = {}
    for i, n in enumerate(data.CIFAR10_FILES):
        d = {"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8), "labels": [i] * 10, "batch_label": n}
        (folder / n).write_bytes(pickle.dumps(d, protocol=2))
        md5s[n] = data.md5_of(folder / n)
    monkeypatch.setattr(data, "CIFAR10_FILES", md5s)
    d = data.load({"dataset": "cifar10", "n_train": 40, "n_valid": 10}, root=tmp_path)
    assert d.train_x.shape == (40, 3, 32, 32) and d.test_x.shape == (10, 3, 32, 32)
    assert d.valid_y.tolist() == [4] * 10 and d.test_y.tolist() == [5] * 10  # NB-101: valid = data_batch_5
    # a pickle that would run code is refused, even with a matching checksum
    (folder / "test_batch").write_bytes(pickle.dumps({"data": os.system}, protocol=2))
    md5s["test_batch"] = data.md5_of(folder / "test_batch")
    with pytest.raises(data.DataCorrupt, match="refusing"):
        data.load({"dataset": "cifar10"}, root=tmp_path)


# ---------------------------------------------------------------- real offline data

@needs(data.CIFAR4K_FILE)
def test_cifar10_4k():
    d = data.load({"dataset": "cifar10-4k"}, root=SHARED)
    assert d.train_x.shape == (3000, 3, 32, 32) and d.valid_x.shape == (1000, 3, 32, 32)
    assert d.train_x.dtype == torch.float32 and d.train_y.dtype == torch.int64
    assert d.test_x is d.valid_x and "test = valid" in d.describe()
    counts = torch.cat([d.train_y, d.valid_y]).bincount().tolist()
    assert counts == [396, 366, 420, 384, 422, 393, 414, 385, 407, 413]  # the README's class counts
    mean = torch.cat([d.train_x, d.valid_x]).mean((0, 2, 3))
    assert torch.allclose(mean, torch.zeros(3), atol=0.05)  # normalised with CIFAR-10's means
    # split: seeded, valid stable when n_train changes, disjoint
    small = data.load({"dataset": "cifar10-4k", "image_size": 16, "n_train": 256, "n_valid": 1000}, root=SHARED)
    assert small.train_x.shape == (256, 3, 16, 16)
    assert torch.equal(small.valid_y, d.valid_y)
    other = data.load({"dataset": "cifar10-4k", "split_seed": 1, "n_train": 256}, root=SHARED)
    assert not torch.equal(other.valid_y, d.valid_y)
    again = data.load({"dataset": "cifar10-4k", "n_train": None, "n_valid": None}, root=SHARED)
    assert torch.equal(again.train_x, d.train_x)
    with pytest.raises(ValueError, match="n_train=3500"):
        data.load({"dataset": "cifar10-4k", "n_train": 3500}, root=SHARED)


@needs(data.CIFAR4K_FILE)
def test_downsampling_is_antialiased():
    full = data.load({"dataset": "cifar10-4k", "n_train": 8}, root=SHARED)
    small = data.load({"dataset": "cifar10-4k", "n_train": 8, "image_size": 16}, root=SHARED)
    # resizing commutes with the per-channel normalisation (interpolation weights sum to 1)
    ref = torch.nn.functional.interpolate(full.train_x, size=(16, 16), mode="bilinear", antialias=True)
    assert torch.allclose(small.train_x, ref, atol=1e-5)
    aliased = torch.nn.functional.interpolate(full.train_x, size=(16, 16), mode="bilinear")
    assert not torch.allclose(small.train_x, aliased, atol=1e-3)


@needs("fashion-mnist/train-images-idx3-ubyte.gz")
def test_fashion_mnist():
    d = data.load({"dataset": "fashion-mnist", "image_size": 16, "n_train": 2000}, root=SHARED)
    assert d.train_x.shape == (2000, 1, 16, 16) and d.valid_x.shape == (10000, 1, 16, 16)
    assert d.test_x.shape == (10000, 1, 16, 16) and d.in_channels == 1 and d.num_classes == 10
    assert d.test_y.bincount().tolist() == [1000] * 10
    full = data.load({"dataset": "fashion-mnist", "n_valid": 5000}, root=SHARED)
    assert len(full.train_x) == 55000 and full.train_x.shape[-1] == 28
    assert abs(float(full.train_x.mean())) < 0.01 and abs(float(full.train_x.std()) - 1) < 0.01


@needs("ptb/ptb.train.txt")
def test_ptb():
    p = data.load({"dataset": "ptb"}, root=SHARED)
    assert p.vocab_size == 10000 and len(p.itos) == 10000
    assert len(p.train) == 929_589 and len(p.valid) == 73_760 and len(p.test) == 82_430
    assert p.itos[:3] == ("aer", "banknote", "berlitz")  # first-seen order
    eos = p.itos.index("<eos>")
    assert (p.train == eos).sum() == 42_068  # one per line
    assert p.train.dtype == torch.int64 and int(p.train.max()) < 10000
    assert torch.equal(data.load({"dataset": "ptb", "vocab_size": 10000}, root=SHARED).train, p.train)
    small = data.load({"dataset": "ptb", "max_train_tokens": 1000}, root=SHARED)
    assert len(small.train) == 1000 and small.vocab_size == 10000 and torch.equal(small.valid, p.valid)

    # vocab_size: the 1,999 most frequent words and <unk>; every other word becomes <unk>
    capped = data.load({"dataset": "ptb", "vocab_size": 2000}, root=SHARED)
    assert capped.vocab_size == 2000 == len(capped.itos) and len(capped.train) == len(p.train)
    full_words = np.array(p.itos)[p.train.numpy()]
    capped_words = np.array(capped.itos)[capped.train.numpy()]
    kept = np.isin(full_words, capped.itos)
    assert (capped_words[kept] == full_words[kept]).all() and (capped_words[~kept] == "<unk>").all()
    counts = pd.Series(full_words).value_counts()
    assert counts.drop("<unk>").index[:1999].isin(capped.itos).all()  # the most frequent (ties aside)
    assert counts.drop("<unk>").iloc[1998] >= counts.drop(list(capped.itos)).max()
    assert (np.array(capped.itos)[capped.valid.numpy()] == "<unk>").mean() > (p.valid == p.itos.index("<unk>")).float().mean()
    with pytest.raises(ValueError, match="vocab_size"):
        data.load({"dataset": "ptb", "vocab_size": 10001}, root=SHARED)

    src = data.batchify(p.valid, 10)
    assert src.shape == (7376, 10) and torch.equal(src[:, 0], p.valid[:7376])
    x, y = data.get_batch(src, 0, 35)
    assert x.shape == y.shape == (35, 10) and torch.equal(y[:-1], x[1:])
    x, y = data.get_batch(src, 7370, 35)
    assert len(x) == 5  # the last, shorter window


@needs("nasbench201/nb201_200ep_test_accuracy.csv")
def test_nb201_tables():
    a = data.load_nb201_table("200ep", root=SHARED)
    b = data.load_nb201_table("12ep", root=SHARED)
    assert len(a) == len(b) == 15625 and a.index.name == b.index.name == "index"
    assert list(a.columns) == ["arch", "cifar10-test", "cifar100-test", "imagenet-test", "unique"]
    assert list(b.columns) == ["arch", "cifar10-test", "cifar10-val", "cifar100-test", "cifar100-val",
                               "imagenet-test", "imagenet-val"]
    assert (a["arch"] == b["arch"]).all() and a["arch"].is_unique
    assert a["arch"].iloc[0].startswith("|avg_pool_3x3~0|+|")
    assert round(a["cifar10-test"].max(), 2) == 94.37 and round(a["cifar100-test"].max(), 2) == 73.51
    a.loc[0, "cifar10-test"] = -1  # callers get a copy
    assert data.load_nb201_table(root=SHARED).loc[0, "cifar10-test"] > 0
    with pytest.raises(ValueError, match="200ep"):
        data.load_nb201_table("1ep", root=SHARED)


def test_synthetic_is_learnable_and_fixed():
    d = data.load({"dataset": "synthetic", "n_train": 200, "n_valid": 100, "image_size": 8})
    assert d.train_x.shape == (200, 3, 8, 8) and d.test_x.shape == (100, 3, 8, 8)
    # nearest class mean already separates the classes: there is signal to learn
    means = torch.stack([d.train_x[d.train_y == c].mean(0) for c in range(10)])
    pred = torch.cdist(d.valid_x.flatten(1), means.flatten(1)).argmin(1)
    assert (pred == d.valid_y).float().mean() > 0.8
    again = data.load({"dataset": "synthetic", "n_train": 200, "n_valid": 100, "image_size": 8})
    assert torch.equal(again.train_x, d.train_x)


# ---------------------------------------------------------------- augmentation and batches

def _crops(img, pad):
    p = torch.nn.functional.pad(img, (pad,) * 4)
    h, w = img.shape[-2:]
    return [p[:, dy:dy + h, dx:dx + w] for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)]


def test_augment_crop_and_flip():
    x = torch.randn(16, 3, 8, 8)
    out = data.augment(x, torch.Generator().manual_seed(0), pad=2)
    assert out.shape == x.shape
    for img, o in zip(x, out):  # each output is one padded crop, possibly flipped
        cands = _crops(img, 2) + [c.flip(-1) for c in _crops(img, 2)]
        assert any(torch.equal(o, c) for c in cands)
    again = data.augment(x, torch.Generator().manual_seed(0), pad=2)
    assert torch.equal(out, again)
    assert not torch.equal(out, data.augment(x, torch.Generator().manual_seed(1), pad=2))
    flips = data.augment(x, torch.Generator().manual_seed(0), pad=0)
    kinds = [torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(flips, x)]
    assert all(kinds) and any(not torch.equal(o, i) for o, i in zip(flips, x))
    assert torch.equal(data.augment(x, torch.Generator(), pad=0, flip=False), x)


def test_augment_cutout():
    x = torch.ones(32, 1, 10, 10)
    out = data.augment(x, torch.Generator().manual_seed(0), pad=0, flip=False, cutout=4)
    zeros = (out == 0).sum((1, 2, 3))
    assert (zeros <= 16).all() and (zeros > 0).all() and (zeros == 16).any()
    for o in out:  # the hole is one axis-aligned rectangle
        ys, xs = torch.nonzero(o[0] == 0, as_tuple=True)
        assert len(ys) == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)


def test_batches():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    got = list(data.batches(x, y, 4, torch.Generator().manual_seed(0)))
    assert [len(b[1]) for b in got] == [4, 4, 2]
    assert sorted(torch.cat([b[1] for b in got]).tolist()) == list(range(10))
    assert all(torch.equal(bx[:, 0].long(), by) for bx, by in got)  # pairs stay aligned
    assert [len(b[1]) for b in data.batches(x, y, 4, torch.Generator(), drop_last=True)] == [4, 4]
    plain = list(data.batches(x, y, 3, shuffle=False))
    assert torch.cat([b[1] for b in plain]).tolist() == list(range(10))
