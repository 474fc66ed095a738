"""`nas-study rehearse`: every task of an experiment for two steps, its figures, its projections,
and what it says when a size does not fit, the data is absent or a task fails (smoke profile)."""
import json
import math

import pytest

from nas_core import cli, rehearsal
from nas_core import nasbench101_records as rec
from nas_core.profiles import budget


def run_cli(*argv):
    return cli.main(["rehearse", *argv])


def test_rehearsal_reports_memory_speed_and_hours(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert run_cli("weight_sharing_tutorial", "--profile", "smoke", "--json", str(out)) == 0
    text = capsys.readouterr().out
    assert "nb201 supernet uniform" in text and "device-hours" in text
    figures = json.loads(out.read_text())
    (task,) = figures["tasks"]
    assert task["status"] == "ok" and task["peak GiB"] >= 0 and task["s/step"] > 0 and task["s/scoring"] > 0
    assert task["per-device batch"] == 32 and task["run at"] == 4  # the smoke recipe's batch, capped on a CPU
    (exp,) = figures["experiments"]
    assert exp["experiment"] == "weight_sharing_tutorial" and exp["device-hours"] >= 0
    assert figures["total_device_hours"] == pytest.approx(exp["device-hours"], abs=0.1)


def test_bad_input_is_one_line_before_compute(capsys):
    for argv, msg in ((["nope"], "unknown experiment 'nope'"), (["--profile", "tiny"], "unknown profile 'tiny'"),
                      (["--batch-cap", "0"], "--batch-cap must be 1 or more"),
                      (["--memory-gib", "0"], "--memory-gib must be positive")):
        assert run_cli(*argv) == 2
        err = capsys.readouterr().err.strip()
        assert msg in err and "\n" not in err


def test_absent_data_is_synthetic_and_a_size_that_does_not_fit_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NAS_CORE_DATA", str(tmp_path))  # no data at all
    assert run_cli("weight_sharing_tutorial", "--profile", "smoke", "--memory-gib", "1e-9") == 1
    text = capsys.readouterr().out
    assert "cifar10-4k absent: synthetic data of its shape" in text
    assert "does not fit 1e-09 GiB: needs about" in text


def test_a_failing_task_names_its_error(tmp_path, monkeypatch, capsys):
    import nas_core.training as training

    def broken(*a, **k):
        raise RuntimeError("shapes do not match")

    monkeypatch.setattr(training, "train_supernet", broken)
    out = tmp_path / "r.json"
    assert run_cli("weight_sharing_tutorial", "--profile", "smoke", "--json", str(out)) == 1
    assert "RuntimeError: shapes do not match" in capsys.readouterr().out
    figures = json.loads(out.read_text())  # strict JSON: what was not measured is null
    assert figures["tasks"][0]["s/step"] is None and figures["total_device_hours"] is None


def test_paper_plans_count_the_budgets(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_DATA", str(tmp_path))
    works = rehearsal.plan("performance_vs_epochs", "paper")
    nb101 = [w for w in works if w.task.space == "nb101"]
    b = budget("nb101", "paper")
    sn = [w for w in nb101 if w.task.kind == "supernet"]
    assert [w.epochs for w in sn] == list(b.ladder) and {w.scorings for w in sn} == {1000}
    (gt,) = [w for w in nb101 if w.task.kind == "standalone"]
    assert (gt.trainings, gt.epochs) == (1000, 108)
    path = tmp_path / rec.DATA_DIR / rec.FILE_NAME  # with the official file: nothing to train
    path.parent.mkdir()
    path.write_bytes(b"")
    (gt,) = [w for w in rehearsal.plan("performance_vs_epochs", "paper")
             if w.task.space == "nb101" and w.task.kind == "standalone"]
    assert gt.trainings == 0 and "tfrecord" in gt.note
    tricks = rehearsal.plan("training_tricks", "paper")
    assert {w.task.strategy for w in tricks if w.task.kind == "supernet"} == {"uniform", "fairnas", "multipath"}
    for name in rehearsal.experiments():  # every experiment of the command line has a plan
        assert name in cli.EXPERIMENTS and rehearsal.plan(name, "paper")


def test_hours_from_rates():
    m = rehearsal.Measure(rehearsal.Task("nb201", "supernet"), s_step=2.0, steps_per_epoch=100, s_epoch_extra=10.0,
                          s_score=3.6)
    w = rehearsal.Work(m.task, "x", trainings=2, epochs=4, scorings=1000)
    assert m.hours(w) == pytest.approx((2 * 4 * 100 * 2.0 + 4 * 2 * 10.0 + 1000 * 3.6) / 3600)
    m.error, m.s_step = "boom", float("nan")
    assert math.isnan(m.hours(w))
