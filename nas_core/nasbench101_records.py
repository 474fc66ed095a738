"""NAS-Bench-101's official results file, read without TensorFlow or protobuf.

The paper took the ground truth of its NAS-Bench-101 sub-space from the benchmark itself: the
mean over the three training runs NAS-Bench-101 recorded for every cell at 108 epochs. With the
official file ``nasbench_only108.tfrecord`` (about 500 MB, from
``https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord``) under
``$NAS_CORE_DATA/nasbench101/``, ``benchmark_ground_truth`` gives the ``paper`` profile that
table instead of 1,000 stand-alone trainings of 108 epochs (``study.ground_truth`` asks it first).

File layout (google-research/nasbench, ``api.py`` and ``lib/model_metrics.proto``)
    TFRecord framing, one record after another: ``uint64`` length (little-endian), ``uint32``
    masked CRC-32C of those 8 bytes, the data, ``uint32`` masked CRC-32C of the data. Each
    record's data is a JSON list ``[module_hash, epochs, raw_adjacency, raw_operations,
    raw_metrics]``: the cell's graph hash (``spaces.nb101.nb101_hash``), the training length,
    the adjacency matrix flattened to a string of ``0``/``1``, the operations joined by ``,``,
    and a base64 serialized ``ModelMetrics`` message: ``repeated EvaluationData
    evaluation_data = 1``, ``int32 trainable_parameters = 2``, ``double total_time = 3``;
    ``EvaluationData`` holds the doubles ``current_epoch = 1``, ``training_time = 2``,
    ``train_accuracy = 3``, ``validation_accuracy = 4``, ``test_accuracy = 5`` and the string
    ``checkpoint_path = 6``. ``evaluation_data[2]`` is the end of training (``[0]`` before the
    first step, ``[1]`` half-way), as the official API reads it. A cell appears once per run:
    three records per hash in the 108-epoch file.

Checks: the length checksum of every record; the data checksum of every record used. Only the
records of the wanted hashes are decoded, so a scan costs one pass over the file.
"""
from __future__ import annotations

import base64
import json
import struct
import sys
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from .data import data_root
from .groundtruth import GroundTruthError
from .spaces import get_space

FILE_NAME = "nasbench_only108.tfrecord"
DATA_DIR = "nasbench101"
URL = "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
EPOCHS = 108
CONFIG_HASH = "nasbench101_only108"  # the ``config_hash`` of rows read from the official file


class RecordError(GroundTruthError):
    """The file is not an intact TFRecord file of NAS-Bench-101 records (a ``GroundTruthError``:
    ``nas-study gt`` says it in one line)."""


# ---------------------------------------------------------------- CRC-32C (Castagnoli), TFRecord's mask

def _crc_table() -> tuple:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (reflected polynomial 0x82F63B78): ``crc32c(b"123456789") == 0xE3069283``."""
    crc, table = 0xFFFFFFFF, _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: the CRC rotated right by 15 bits plus 0xA282EAD8 (mod 2**32)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------- TFRecord framing

def iter_records(path, keep=None) -> Iterator[bytes]:
    """The data of every record of a TFRecord file (of those for which ``keep(data)`` is true).

    Raises ``RecordError`` naming the file and byte offset of a truncated record, of a length
    whose checksum fails, or of a kept record whose data checksum fails.
    """
    path = Path(path)
    with open(path, "rb") as f:
        offset = 0
        while True:
            head = f.read(12)
            if not head:
                return
            if len(head) < 12:
                raise RecordError(f"{path}: truncated record header at byte {offset}")
            (length,), (length_crc,) = struct.unpack("<Q", head[:8]), struct.unpack("<I", head[8:])
            if masked_crc32c(head[:8]) != length_crc:
                raise RecordError(f"{path}: bad length checksum at byte {offset}: not a TFRecord file, or damaged")
            body = f.read(length + 4)
            if len(body) < length + 4:
                raise RecordError(f"{path}: record at byte {offset} is cut short ({len(body)} of {length + 4} bytes)")
            data = body[:length]
            if keep is None or keep(data):
                if masked_crc32c(data) != struct.unpack("<I", body[length:])[0]:
                    raise RecordError(f"{path}: bad data checksum in the record at byte {offset}")
                yield data
            offset += 12 + length + 4


def frame_record(data: bytes) -> bytes:
    """``data`` framed as one TFRecord record (for writing files in the official format)."""
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked_crc32c(head)) + data + struct.pack("<I", masked_crc32c(data))


# ---------------------------------------------------------------- protobuf wire format (the fields used)

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf):
            raise RecordError("protobuf varint runs past the end of the message")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def wire_fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """``(field number, wire type, value)`` of a serialized message: varints as ints, 64- and
    32-bit fields as their raw 8 or 4 bytes, length-delimited fields as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise RecordError(f"unsupported protobuf wire type {wire} (field {field})")
        if i > len(buf):
            raise RecordError(f"protobuf field {field} runs past the end of the message")
        yield field, wire, value


_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
                5: "test_accuracy"}


def decode_model_metrics(buf: bytes) -> dict:
    """``ModelMetrics`` -> ``{"evaluation_data": [{current_epoch, ..., test_accuracy}, ...],
    "trainable_parameters": int, "total_time": float}`` (absent fields: proto2 defaults, 0)."""
    out = {"evaluation_data": [], "trainable_parameters": 0, "total_time": 0.0}
    for field, wire, value in wire_fields(buf):
        if field == 1 and wire == 2:
            ev = dict.fromkeys(_EVAL_FIELDS.values(), 0.0)
            for f, w, v in wire_fields(value):
                if f in _EVAL_FIELDS and w == 1:
                    ev[_EVAL_FIELDS[f]] = struct.unpack("<d", v)[0]
            out["evaluation_data"].append(ev)
        elif field == 2 and wire == 0:
            # int32: a negative one is a 10-byte varint of its 64-bit two's complement
            out["trainable_parameters"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3 and wire == 1:
            out["total_time"] = struct.unpack("<d", value)[0]
    return out


# ---------------------------------------------------------------- the records

def parse_record(data: bytes) -> dict:
    """One record -> ``{hash, epochs, matrix, ops, metrics}`` (``metrics`` as ``decode_model_metrics``)."""
    try:
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(data.decode("utf-8"))
        dim = int(round(len(raw_adjacency) ** 0.5))
        if dim * dim != len(raw_adjacency):
            raise ValueError(f"adjacency string of length {len(raw_adjacency)} is not square")
        matrix = [[int(c) for c in raw_adjacency[r * dim:(r + 1) * dim]] for r in range(dim)]
        metrics = decode_model_metrics(base64.b64decode(raw_metrics))
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise RecordError(f"not a NAS-Bench-101 record: {e}") from None
    return {"hash": module_hash, "epochs": int(epochs), "matrix": matrix, "ops": raw_operations.split(","),
            "metrics": metrics}


def _hash_prefix_filter(hashes: set[str]):
    """A cheap ``keep`` for ``iter_records``: the record's first JSON string is a wanted hash."""
    wanted = {h.encode() for h in hashes}

    def keep(data: bytes) -> bool:
        if data[:2] == b'["' and data[34:35] == b'"':
            return data[2:34] in wanted
        return True  # not the usual layout: decode it and look

    return keep


def read_runs(path, hashes: Sequence[str], epochs: int = EPOCHS) -> dict[str, list[dict]]:
    """Every run of the wanted cells at ``epochs``: hash -> list of ``{valid, test, params}``
    (accuracies in %, at the end of training: ``evaluation_data[2]``, as the official API)."""
    want = set(hashes)
    runs: dict[str, list[dict]] = {}
    for data in iter_records(path, keep=_hash_prefix_filter(want)):
        rec = parse_record(data)
        if rec["hash"] not in want or rec["epochs"] != epochs:
            continue
        evals = rec["metrics"]["evaluation_data"]
        if len(evals) < 3:
            raise RecordError(f"{path}: record of {rec['hash']} has {len(evals)} evaluations, expected 3 "
                              "(start, half-way, end of training)")
        final = evals[2]
        runs.setdefault(rec["hash"], []).append({
            "valid": 100.0 * final["validation_accuracy"], "test": 100.0 * final["test_accuracy"],
            "params": rec["metrics"]["trainable_parameters"], "epoch": final["current_epoch"]})
    return runs


def default_path() -> Path:
    return data_root() / DATA_DIR / FILE_NAME


def where_to_get() -> str:
    """The one line that says where the file goes and where it comes from."""
    return (f"NAS-Bench-101 ground truth: put {FILE_NAME} (about 500 MB, {URL}) at {default_path()} to read the "
            "paper profile's NB-101 ground truth from the benchmark instead of training 1,000 networks for 108 epochs")


def ground_truth_table(archs: Sequence, path=None) -> pd.DataFrame:
    """The benchmark's ground truth of NAS-Bench-101 sub-space cells, in ``groundtruth``'s table
    format: one row per architecture (``seed`` 0 stands for the mean of the benchmark's three
    runs: the paper's ground truth), ``valid`` and ``test`` (%), ``params`` (the record's
    trainable parameters), ``flops`` (at the paper's network), ``epochs`` 108, ``n_runs``;
    ``config_hash`` names the file's kind."""
    space = get_space("nb101")  # the benchmark's own records: of this one space
    cfg = space.config("paper")
    path = default_path() if path is None else Path(path)
    archs = [space.parse(a) if isinstance(a, str) else a for a in archs]
    hashes = [space.hash(a) for a in archs]
    runs = read_runs(path, sorted(set(hashes)))
    rows = []
    for arch, h in zip(archs, hashes):
        r = runs.get(h)
        if not r:
            raise RecordError(f"{path}: no {EPOCHS}-epoch record of {arch} (hash {h}); every cell of the sub-space "
                              f"is in NAS-Bench-101, so the file is not the official {FILE_NAME}")
        rows.append({"arch": str(arch), "seed": 0, "valid": sum(x["valid"] for x in r) / len(r),
                     "test": sum(x["test"] for x in r) / len(r), "params": int(r[0]["params"]),
                     "flops": space.cost(arch, cfg).flops,
                     "wall_s": None, "epochs": EPOCHS, "profile": "paper", "config_hash": CONFIG_HASH,
                     "n_runs": len(r)})
    return pd.DataFrame(rows)


def benchmark_ground_truth(archs: Sequence, path=None) -> pd.DataFrame | None:
    """``ground_truth_table`` when the official file is there; otherwise None, after saying in one
    line on stderr where to get it (the caller then trains the networks itself)."""
    path = default_path() if path is None else Path(path)
    if not path.is_file():
        print(where_to_get(), file=sys.stderr)
        return None
    return ground_truth_table(archs, path)
