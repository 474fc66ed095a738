import pytest

from nas_core import study


def test_rescoring_reuses_the_trained_supernet(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    a = study.supernet_scores("nb201", "smoke", 1, n_archs=3, progress=False)
    ckpts = list((tmp_path / "runs" / "supernets").glob("*.pt"))
    assert len(ckpts) == 1
    stamp = ckpts[0].stat().st_mtime_ns
    b = study.supernet_scores("nb201", "smoke", 1, n_archs=5, progress=False,
                              recipe_overrides={"bn_calib_steps": 1})  # scoring changes only
    assert list((tmp_path / "runs" / "supernets").glob("*.pt")) == ckpts
    assert ckpts[0].stat().st_mtime_ns == stamp  # loaded, not retrained
    assert len(list((tmp_path / "results" / "supernets").glob("*.csv"))) == 2
    assert (len(a), len(b)) == (3, 5)
    study.supernet_scores("nb201", "smoke", 1, n_archs=3, seed=1, progress=False)  # training changes
    assert len(list((tmp_path / "runs" / "supernets").glob("*.pt"))) == 2


def test_ground_truth_path_names_each_kind_and_rejects_others(tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path))
    assert study.ground_truth_path("nb201", "cpu") == tmp_path / "groundtruth" / "nb201_cpu.csv"
    assert study.ground_truth_path("nb101", "smoke", "variant").name == "nb101_smoke_variant.csv"
    assert study.ground_truth_path("darts_cnn", "cpu", "pruning", root=tmp_path / "r").parent == tmp_path / "r" / "groundtruth"
    with pytest.raises(ValueError, match="unknown ground-truth kind"):
        study.ground_truth_path("nb201", "cpu", "pilot")


def test_scale_note_says_how_many_seeds_the_ground_truth_averages():
    assert "ground truth 10 epochs, mean of 2 seeds;" in study.scale_note("nb101", "cpu")
    assert "ground truth 10 epochs;" in study.scale_note("darts_cnn", "cpu")  # one seed: nothing to say
    assert "100,000 train / 20,000 valid tokens, the 2,000 commonest words" in study.scale_note("darts_rnn", "cpu")


def test_reference_ground_truth_trains_the_gold_architecture_with_the_sample_seeds(tmp_path, monkeypatch):
    from nas_core.spaces.proxyless import PROXYLESS_GPU

    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path))
    rows = study.reference_ground_truth("proxyless", "smoke", workers=1, progress=False)
    assert set(rows["arch"]) == {str(PROXYLESS_GPU)}
    assert sorted(rows["seed"]) == [0, 1]  # the smoke profile's seed plus its extra seed
    assert study.ground_truth_path("proxyless", "smoke", "reference").exists()


def test_supernet_result_records_its_training_history(tmp_path, monkeypatch):
    from nas_core.store import read_provenance

    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / "runs"))
    study.supernet_scores("nb201", "smoke", 2, n_archs=2, progress=False)
    (sidecar,) = (tmp_path / "results" / "supernets").glob("*.json")
    history = read_provenance(sidecar)["extra"]["train_history"]
    assert [h["epoch"] for h in history] == [1, 2]
    assert study.supernet_history("nb201", "smoke", 2, n_archs=2).to_dict("records") == history
    assert all(h["train_loss"] > 0 and 0 <= h["train_acc"] <= 100 for h in history)


def test_every_profile_has_pilot_candidates_for_the_pilot_notebooks_spaces():
    from nas_core.cli import notebook_parameters, notebook_path

    spaces = notebook_parameters(notebook_path("groundtruth_pilot"))["space_names"]["default"]
    for profile in ("smoke", "cpu", "paper"):
        assert set(spaces) <= set(study.PILOT_CANDIDATES[profile]), profile


def test_supernet_only_settings_reach_supernets_not_ground_truth():
    from nas_core.groundtruth import resolve_setup

    assert study.supernet_config("proxyless", "cpu")["zero_init_residual"] is True
    assert "zero_init_residual" not in resolve_setup("proxyless", "cpu")["cfg"]  # stand-alone keeps its network
    assert "supernets only: zero_init_residual=True" in study.scale_note("proxyless", "cpu")
    assert study.supernet_config("nb201", "cpu") == study.space_config("nb201", "cpu")
    # overrides win over the profile's supernet settings
    assert study.supernet_config("proxyless", "cpu", {"zero_init_residual": False})["zero_init_residual"] is False
    # with_supernet_cfg=False names the supernet trained without them (a separate result)
    names = {w: study.supernet_result_name("proxyless", "cpu", 8, with_supernet_cfg=w) for w in (True, False)}
    assert names[True] != names[False]
    assert study.supernet_result_name("nb201", "cpu", 8, with_supernet_cfg=False) == \
        study.supernet_result_name("nb201", "cpu", 8)


CHANNELS_LAST = {"memory_format": "channels_last"}


def test_channels_last_is_a_recorded_setting_with_its_own_names():
    # off: today's names (a committed result, pinned in tests/data/result_keys.json; a checkpoint of the cpu study)
    assert study.supernet_result_name("nb201", "cpu", 128) == "nb201_cpu_uniform_e128_s0_5635f77f4a"
    assert study.supernet_checkpoint_name("nb201", "cpu", 256) == "nb201_cpu_uniform_e256_s0_train4b02047bb3"
    for space in ("nb201", "nb101", "darts_cnn", "proxyless"):
        off = study._supernet_result(space, "cpu", 8)
        on = study._supernet_result(space, "cpu", 8, cfg_overrides=CHANNELS_LAST)
        assert "memory_format" not in off[1]["cfg"] and on[1]["cfg"]["memory_format"] == "channels_last"
        assert study.short_hash(on[1]) != study.short_hash(off[1]) and on[0] != off[0]
        assert (study.supernet_checkpoint_name(space, "cpu", 8, cfg_overrides=CHANNELS_LAST)
                != study.supernet_checkpoint_name(space, "cpu", 8))
    with pytest.raises(ValueError, match="darts_rnn is a language model"):
        study.supernet_scores("darts_rnn", "smoke", 1, cfg_overrides=CHANNELS_LAST, progress=False)


def test_channels_last_supernet_scores_repeat_exactly(tmp_path, monkeypatch):
    scores = []
    for run in ("a", "b"):
        monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / run / "results"))
        monkeypatch.setenv("NAS_CORE_RUNS", str(tmp_path / run / "runs"))
        df = study.supernet_scores("nb201", "smoke", 1, n_archs=3, cfg_overrides=CHANNELS_LAST, progress=False)
        ckpt = study.supernet_checkpoint_name("nb201", "smoke", 1, n_archs=3, cfg_overrides=CHANNELS_LAST)
        assert (tmp_path / run / "runs" / "supernets" / f"{ckpt}.pt").is_file()
        scores.append(list(df["score"]))
    assert scores[0] == scores[1]
