"""NAS-Bench-101's official tfrecord read without TensorFlow: framing, checksums, the protobuf
fields, the mean of the three runs, and the paper profile's ground truth taken from the file."""
import base64
import json
import struct

import pytest

from nas_core import nasbench101_records as rec
from nas_core import study
from nas_core.spaces import get_space

SPACE = get_space("nb101")


# ---- a writer of the official format, independent of the reader: protobuf wire format by hand
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _double(field: int, v: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", v)


def _len(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _evaluation(epoch, train, valid, test, ckpt=b"/tmp/model.ckpt-0") -> bytes:
    return (_double(1, epoch) + _double(2, 10.0 * epoch) + _double(3, train) + _double(4, valid)
            + _double(5, test) + _len(6, ckpt))


def model_metrics(valid: float, test: float, params: int, epochs: int = 108) -> bytes:
    evals = [_evaluation(0, 0.1, 0.1, 0.1), _evaluation(epochs / 2, 0.8, valid - 0.05, test - 0.05),
             _evaluation(epochs, 1.0, valid, test)]
    return b"".join(_len(1, e) for e in evals) + _key(2, 0) + _varint(params) + _double(3, 1234.5)


def record(module_hash, epochs, matrix, ops, metrics: bytes) -> bytes:
    raw_adj = "".join(str(v) for row in matrix for v in row)
    return json.dumps([module_hash, epochs, raw_adj, ",".join(ops), base64.b64encode(metrics).decode()]).encode()


def write_file(path, archs, *, runs=3, extra_records=()):
    """Three runs per arch at 108 epochs (valid 0.90 + i/100 + run/1000), one 36-epoch record each
    (to be ignored), and unrelated records, interleaved as in the official file."""
    blobs = list(extra_records)
    for i, a in enumerate(archs):
        m, ops = SPACE.to_spec(a)
        h = SPACE.hash(a)
        params = SPACE.cost(a, SPACE.config("paper")).params
        for r in range(runs):
            blobs.append(record(h, 108, m, ops, model_metrics(0.90 + i / 100 + r / 1000, 0.89 + i / 100 + r / 1000,
                                                             params)))
        blobs.append(record(h, 36, m, ops, model_metrics(0.5, 0.5, params, epochs=36)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(rec.frame_record(b) for b in blobs))
    return path


def other_record() -> bytes:
    m = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    return record("f" * 32, 108, m, ["input", "conv3x3-bn-relu", "output"], model_metrics(0.5, 0.5, 7))


ARCHS = SPACE.sample_many(3, seed=5)


# ---- checksums and framing
def test_crc32c_and_tfrecord_mask_known_values():
    assert rec.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert rec.crc32c(b"") == 0
    assert rec.masked_crc32c(b"") == 0xA282EAD8


def test_records_round_trip_and_damage_is_named(tmp_path):
    path = tmp_path / "r.tfrecord"
    path.write_bytes(rec.frame_record(b"abc") + rec.frame_record(b"") + rec.frame_record(b"x" * 300))
    assert list(rec.iter_records(path)) == [b"abc", b"", b"x" * 300]
    raw = bytearray(path.read_bytes())
    raw[13] ^= 1  # a data byte of the first record
    path.write_bytes(bytes(raw))
    with pytest.raises(rec.RecordError, match="bad data checksum in the record at byte 0"):
        list(rec.iter_records(path))
    assert list(rec.iter_records(path, keep=lambda d: d != b"acc")) == [b"", b"x" * 300]  # only kept ones checked
    raw[13] ^= 1
    raw[1] ^= 1  # the length
    path.write_bytes(bytes(raw))
    with pytest.raises(rec.RecordError, match="bad length checksum at byte 0"):
        list(rec.iter_records(path))
    path.write_bytes(rec.frame_record(b"abc")[:-2])
    with pytest.raises(rec.RecordError, match="cut short"):
        list(rec.iter_records(path))


# ---- protobuf
def test_model_metrics_decoded_from_the_wire_format():
    m = rec.decode_model_metrics(model_metrics(0.93, 0.92, 2_694_282))
    assert m["trainable_parameters"] == 2_694_282 and m["total_time"] == 1234.5
    assert [e["current_epoch"] for e in m["evaluation_data"]] == [0, 54, 108]
    assert m["evaluation_data"][2]["validation_accuracy"] == 0.93
    assert m["evaluation_data"][2]["test_accuracy"] == 0.92


def test_decoder_agrees_with_protobuf_itself():
    """Where the protobuf package happens to be installed: messages it serializes from the official
    model_metrics.proto decode to the same values (nas_core itself never needs it)."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fd = descriptor_pb2.FileDescriptorProto(name="model_metrics_test.proto", package="nasbench", syntax="proto2")
    ev = fd.message_type.add(name="EvaluationData")
    for i, name in enumerate(["current_epoch", "training_time", "train_accuracy", "validation_accuracy",
                              "test_accuracy"], 1):
        ev.field.add(name=name, number=i, type=descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
                     label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    ev.field.add(name="checkpoint_path", number=6, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                 label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    mm = fd.message_type.add(name="ModelMetrics")
    mm.field.add(name="evaluation_data", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                 type_name=".nasbench.EvaluationData", label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
    mm.field.add(name="trainable_parameters", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                 label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    mm.field.add(name="total_time", number=3, type=descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
                 label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("nasbench.ModelMetrics"))
    msg = cls(trainable_parameters=3_468_426, total_time=1769.1)
    for epoch, valid in ((0.0, 0.1), (54.0, 0.85), (108.0, 0.9405)):
        msg.evaluation_data.add(current_epoch=epoch, training_time=1.5, train_accuracy=1.0,
                                validation_accuracy=valid, test_accuracy=valid - 0.01, checkpoint_path="c")
    m = rec.decode_model_metrics(msg.SerializeToString())
    assert m["trainable_parameters"] == 3_468_426 and m["total_time"] == 1769.1
    assert m["evaluation_data"][2] == {"current_epoch": 108.0, "training_time": 1.5, "train_accuracy": 1.0,
                                       "validation_accuracy": 0.9405, "test_accuracy": 0.9405 - 0.01}


# ---- the ground-truth table
def test_table_is_the_mean_of_three_runs_at_108_epochs(tmp_path):
    path = write_file(tmp_path / "nasbench_only108.tfrecord", ARCHS, extra_records=[other_record()])
    t = rec.ground_truth_table(ARCHS, path)
    assert list(t["arch"]) == [str(a) for a in ARCHS]
    for i in range(3):
        assert t["valid"].iloc[i] == pytest.approx(100 * (0.90 + i / 100 + 0.001))  # mean of +0, +1, +2 /1000
        assert t["test"].iloc[i] == pytest.approx(100 * (0.89 + i / 100 + 0.001))
    assert set(t["n_runs"]) == {3} and set(t["epochs"]) == {108} and set(t["seed"]) == {0}
    assert list(t["params"]) == [SPACE.cost(a, SPACE.config("paper")).params for a in ARCHS]


def test_a_cell_missing_from_the_file_is_refused_by_name(tmp_path):
    path = write_file(tmp_path / "x.tfrecord", ARCHS[:2])
    with pytest.raises(rec.RecordError, match="no 108-epoch record of"):
        rec.ground_truth_table(ARCHS, path)


def test_paper_profile_reads_the_file_and_says_where_to_get_it_without(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NAS_CORE_DATA", str(tmp_path))
    archs = study.eval_sample("nb101", "paper", 3)
    assert rec.benchmark_ground_truth(archs) is None
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and rec.URL in line and str(tmp_path / "nasbench101" / rec.FILE_NAME) in line
    write_file(tmp_path / "nasbench101" / rec.FILE_NAME, archs)
    gt = study.ground_truth("nb101", "paper", n_archs=3)  # no training: read from the benchmark
    assert list(gt["arch"]) == [str(a) for a in archs]
    means = study.mean_ground_truth(gt, "valid", seeds=(0,))
    assert means.iloc[0] == pytest.approx(90.1)
