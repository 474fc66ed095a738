"""The training-regime plan: its cost table, and chunked runs that stop on time and resume."""
import pandas as pd
import pytest

from nas_core import regime, study
from nas_core.store import load_checkpoint


@pytest.fixture
def roots(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    return tmp_path


def test_plan_calls_are_the_chapters_calls():
    # a rung of the plan is the very result a chapter asks for once the rung is in the ladder
    rung = regime.Rung("nb201", 256, seed=1)
    assert study.supernet_result_name(**{k: v for k, v in rung.call().items() if k != "space_name"},
                                      space_name="nb201") == study.supernet_result_name("nb201", "cpu", 256, seed=1)
    assert len(set(regime.PLAN)) == len(regime.PLAN)


def test_plan_table_counts_what_is_left(roots):
    plan = (regime.Rung("nb201", 1), regime.Rung("nb201", 2))
    table = regime.plan_table(plan, "smoke")
    assert list(table["stored"]) == [False, False] and (table["core_h_left"] > 0).all()
    study.supernet_scores("nb201", "smoke", 1, progress=False)
    table = regime.plan_table(plan, "smoke")
    assert list(table["stored"]) == [True, False]
    assert table["core_h_left"].iloc[0] == 0 and table["epochs_done"].iloc[0] == 1


def test_unfinished_checkpoints_are_kept_and_restored(roots, monkeypatch):
    from nas_core import evaluation

    rung = regime.Rung("nb201", 3)
    ckpt = roots / "runs" / "supernets" / f"{study.supernet_checkpoint_name(**rung.call('smoke'))}.pt"

    def stop(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(evaluation, "evaluate_architectures", stop)  # stopped after training, before scoring
        study.supernet_scores(**rung.call("smoke"), progress=False)
    assert ckpt.is_file()
    kept = regime.keep_unfinished((rung,), "smoke")
    assert [p.name for p in kept] == [ckpt.name]
    ckpt.unlink()
    assert regime.restore_unfinished() == [ckpt]
    assert load_checkpoint(ckpt)["epoch"] == regime.checkpoint_epoch(rung, "smoke")


def test_run_refuses_a_non_positive_time():
    with pytest.raises(ValueError, match="hours must be positive"):
        regime.run((), hours=0)


def test_run_stops_on_time_and_keeps_the_checkpoint(roots):
    import time

    rung = regime.Rung("nb201", 400)  # smoke: 4 steps an epoch, far longer than the time given
    t0 = time.time()
    assert regime.run((rung,), hours=15 / 3600, workers=2, profile="smoke", log=lambda *_: None) == []
    assert time.time() - t0 < 75  # the workers were stopped, not waited for
    # whatever the stopped worker had checkpointed is kept (none if it was stopped before its first
    # epoch ended, as on a loaded machine)
    kept = sorted(p.name for p in regime.unfinished_dir().glob("*.pt"))
    assert kept == sorted(p.name for p in (roots / "runs" / "supernets").glob("*.pt"))
    assert set(kept) <= {f"{study.supernet_checkpoint_name(**rung.call('smoke'))}.pt"}


def test_each_kind_of_plan_item_has_one_job_kind(roots):
    # dispatch is by exact type: a plan item of a new type needs its own kind, not a silent default
    assert {type(item) for item in regime.PLAN} == set(regime._KINDS)
    assert sorted(str(k.kept_dir().relative_to(regime.unfinished_dir())) for k in regime._KINDS.values()) == \
        [".", "estimators", "pruning"]
    with pytest.raises(TypeError, match="not a plan item"):
        regime.is_stored(("nb201", 256))


def test_the_plan_puts_what_the_claims_need_first():
    from nas_core import pruning

    n = len(regime.PRUNING_PLAN)
    assert n == 2 * 30 + 2 * 12
    assert sorted(map(str, regime.PLAN)) == sorted(map(str, regime.LADDER_PLAN + regime.PRUNING_PLAN
                                                              + regime.ESTIMATOR_PLAN))
    assert regime.PLAN[:2] == (regime.Rung("nb201", 256), regime.Rung("nb101", 256))  # the old order kept
    # NB-101's trained sweep (three seeds) before the single-seed rungs from 1024 epochs
    first = regime.PLAN.index(regime.Rung("nb101", 1024))
    assert {j.space for j in regime.PLAN[first - 30:first]} == {"nb101"}
    assert all(isinstance(j, pruning.PrunedJob) and j.family == "sweep" for j in regime.PLAN[first - 30:first])
    assert all(isinstance(r, regime.Rung) for r in regime.PLAN[:first - 30])
    # every pruning family before the three-seed budget rungs; then the estimator tables; saturation last
    last_pruned = max(i for i, j in enumerate(regime.PLAN) if isinstance(j, pruning.PrunedJob))
    assert last_pruned < regime.PLAN.index(regime.Rung("nb101", 2048)) < regime.PLAN.index(regime.ESTIMATOR_PLAN[0])
    tables = regime.PLAN.index(regime.ESTIMATOR_PLAN[-1])
    assert regime.Rung("darts_cnn", 256, 2) in regime.PLAN[:tables]
    assert all(isinstance(r, regime.Rung) for r in regime.PLAN[tables + 1:])
    assert {(r.space, r.epochs) for r in regime.PLAN[tables + 1:]} == {("nb201", 1024), ("nb101", 1024),
                                                                       ("nb201", 2048), ("nb101", 4096)}
    assert all(isinstance(j, pruning.PrunedJob) for j in regime.PRUNING_PLAN)


def test_plan_table_costs_pruned_jobs(roots):
    from nas_core import pruning

    jobs = pruning.trained_jobs("darts_cnn", "smoke", "around")[:2]
    table = regime.plan_table((regime.Rung("nb201", 1), *jobs), "smoke")
    assert list(table["item"]) == ["ladder", "pruning around: n_free 0", "pruning around: n_free 1"]
    assert (~table["stored"]).all() and (table["core_h_left"] > 0).all()
    # a sweep job without the pool's ground truth is not stored and cannot start, but is costed
    sweep = pruning.trained_jobs("nb201", "smoke")[:1]
    assert pruning.job_calls(sweep, "smoke") == [None]
    assert regime.plan_table(sweep, "smoke")["core_h_left"].iloc[0] > 0


def test_a_stopped_pruned_job_resumes_from_its_kept_checkpoint(roots, monkeypatch):
    from nas_core import evaluation, pruning

    job = pruning.PrunedJob("around", "darts_cnn", 2, 0, "around", 1)
    call = pruning.job_calls([job], "smoke")[0]
    ckpt = roots / "runs" / "pruning" / f"{pruning.on_space_name(**call)}.pt"

    def stop(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(evaluation, "evaluate_architectures", stop)  # stopped after training, before scoring
        regime._job((job, "smoke"))
    assert regime.checkpoint_epoch(job, "smoke") == 2 and not regime.is_stored(job, "smoke")
    kept = regime.keep_unfinished((job,), "smoke")
    assert kept == [regime.unfinished_dir() / "pruning" / ckpt.name]
    ckpt.unlink()
    assert regime.restore_unfinished() == [ckpt]
    calls = []
    real = pruning.study.train_and_score

    def spy(*a, **k):
        calls.append(load_checkpoint(k["checkpoint_path"])["epoch"])  # what training resumes from
        return real(*a, **k)

    monkeypatch.setattr(pruning.study, "train_and_score", spy)
    regime._job((job, "smoke"))
    assert calls == [2] and regime.is_stored(job, "smoke")
    assert regime.keep_unfinished((job,), "smoke") == [] and not kept[0].exists()
    assert regime.plan_table((job,), "smoke")["core_h_left"].iloc[0] == 0


def test_the_full_scale_estimator_tables_follow_the_supernets_the_claims_need():
    assert regime.ESTIMATOR_PLAN == (regime.EstimatorTableJob(10), regime.EstimatorTableJob(100))
    i = regime.PLAN.index(regime.ESTIMATOR_PLAN[0])
    assert regime.PLAN[i:i + 2] == regime.ESTIMATOR_PLAN  # 10 classes first
    assert str(regime.ESTIMATOR_PLAN[0]) == "estimators: NB-201 full scale, 10 classes"
    with pytest.raises(ValueError, match="num_classes"):
        regime.EstimatorTableJob(120)


def test_plan_table_costs_an_estimator_table_from_its_log(roots):
    from nas_core import estimator_tables as et

    job = regime.EstimatorTableJob(10)
    row = regime.plan_table((regime.Rung("nb201", 1), job), "smoke").iloc[1]
    assert row["item"] == "estimators: NB-201 full scale, 10 classes" and not row["stored"]
    assert row["core_h_left"] == pytest.approx(15625 * et.FULL_SCALE_CPU_S_PER_CELL[10] / 3600)
    log = et.full_scale_log(10)
    assert log == roots / "runs" / "estimators" / f"nb201_full_c10_{log.stem.rsplit('_', 1)[1]}.csv"
    log.parent.mkdir(parents=True)
    log.write_text("arch,x\na,1\nb,2\nc,")  # two rows and one being written
    row = regime.plan_table((job,)).iloc[0]
    assert row["core_h_left"] == pytest.approx(15623 * et.FULL_SCALE_CPU_S_PER_CELL[10] / 3600)
    assert "15,623 cells left" in row["rates"] and row["epochs"] is pd.NA


def test_a_stopped_estimator_table_resumes_from_its_kept_log(roots, monkeypatch):
    from nas_core import estimator_tables as et
    from nas_core import estimators as est

    job = regime.EstimatorTableJob(10, n_cells=2)  # the first two cells: seconds, not hours
    log = et.full_scale_log(10, 2)
    real, calls = est.estimate_all, []

    def stop_at_the_second(*a, **k):
        if calls:
            raise KeyboardInterrupt  # as the regime's deadline stops a worker
        calls.append(1)
        return real(*a, **k)

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(est, "estimate_all", stop_at_the_second)
        regime._job((job, "cpu"))
    assert et.log_rows(log) == 1 and not regime.is_stored(job)
    assert regime.plan_table((job,))["core_h_left"].iloc[0] == pytest.approx(et.FULL_SCALE_CPU_S_PER_CELL[10] / 3600)
    kept = regime.keep_unfinished((job,))
    assert kept == [regime.unfinished_dir() / "estimators" / log.name]
    partial = log.read_bytes()
    log.unlink()
    assert regime.restore_unfinished() == [log] and log.read_bytes() == partial
    assert regime.restore_unfinished() == []  # the log there is as long: left alone
    regime._job((job, "cpu"))  # resumes: the second cell only
    assert regime.is_stored(job) and et.log_rows(log) == 2 and log.read_bytes().startswith(partial)
    assert regime.keep_unfinished((job,)) == [] and not kept[0].exists()
    assert regime.plan_table((job,))["core_h_left"].iloc[0] == 0
    resumed = regime.stored_or_none(et.nb201_full_scale, num_classes=10, n_cells=2, progress=False)
    # the same table computed in one go, elsewhere
    monkeypatch.setenv("NAS_CORE_RESULTS", str(roots / "results2"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(roots / "runs2"))
    et.nb201_full_scale(10, n_cells=2, workers=1, progress=False)
    whole = regime.stored_or_none(et.nb201_full_scale, num_classes=10, n_cells=2, progress=False)
    values = ["arch", *est.defined_estimators("nb201"), "config_hash"]  # not the CPU seconds
    pd.testing.assert_frame_equal(resumed[values], whole[values])


def test_run_stops_an_estimator_table_on_time_and_keeps_its_log(roots):
    import time

    from nas_core import estimator_tables as et

    job = regime.EstimatorTableJob(10, n_cells=500)  # far longer than the time given
    t0 = time.time()
    assert regime.run((job,), hours=20 / 3600, workers=1, log=lambda *_: None) == []
    assert time.time() - t0 < 75  # the worker was stopped, not waited for
    # the cells it finished are in the log (none if it was stopped before its first, as on a
    # loaded machine), and the log is kept for the next session
    log = et.full_scale_log(10, 500)
    kept = regime.unfinished_dir() / "estimators" / log.name
    assert kept.is_file() == log.is_file() and et.log_rows(log) < 500
    if log.is_file():
        assert kept.read_bytes() == log.read_bytes()
        assert (pd.read_csv(log)["config_hash"] == log.stem.rsplit("_", 1)[1]).all()
