"""The training-regime plan: its cost table, and chunked runs that stop on time and resume."""
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
