"""One settings object read from the environment; the store takes its root and mode as arguments."""
import os
from pathlib import Path

import pandas as pd
import pytest

from nas_core import settings
from nas_core.settings import Settings
from nas_core.store import ResultMissing, ResultStore, require_compute, stored_or_none


def test_defaults_and_variables():
    s = Settings.from_env({})
    assert s.data_root == Path("data") and not s.data_root_given and not s.download
    assert s.results_root == settings.REPO / "results" and s.runs_root == settings.REPO / "runs"
    assert not s.cached_only and s.workers() == (os.cpu_count() or 1)
    s = Settings.from_env({"NAS_CORE_DATA": "/d", "NAS_CORE_DOWNLOAD": "Yes", "NAS_CORE_RESULTS": "/r",
                           "NAS_CORE_RUNS": "/u", "NAS_CORE_CACHED_ONLY": "1", "NAS_CORE_WORKERS": " 3 "})
    assert (s.data_root, s.data_root_given, s.download) == (Path("/d"), True, True)
    assert (s.results_root, s.runs_root, s.cached_only, s.workers()) == (Path("/r"), Path("/u"), True, 3)
    assert not Settings.from_env({"NAS_CORE_CACHED_ONLY": "0"}).cached_only


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_worker_count_is_refused_when_asked_for(value):
    s = Settings.from_env({"NAS_CORE_WORKERS": value})  # reading the settings does not fail
    with pytest.raises(ValueError, match="NAS_CORE_WORKERS"):
        s.workers()


def test_settings_follow_the_environment_and_overriding(monkeypatch, tmp_path):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path))
    monkeypatch.delenv("NAS_CORE_CACHED_ONLY", raising=False)
    assert settings.current().results_root == tmp_path and not settings.current().cached_only
    with settings.overriding(cached_only=True):
        assert settings.current().cached_only
        assert "NAS_CORE_CACHED_ONLY" not in os.environ  # other processes see the environment unchanged
    assert not settings.current().cached_only


def test_store_root_and_mode_as_arguments(monkeypatch, tmp_path):
    monkeypatch.setenv("NAS_CORE_RESULTS", str(tmp_path / "env"))
    monkeypatch.delenv("NAS_CORE_CACHED_ONLY", raising=False)
    assert ResultStore().root == tmp_path / "env"
    frame = pd.DataFrame({"x": [1]})
    strict = ResultStore(tmp_path / "r", cached_only=True)
    with pytest.raises(ResultMissing):
        strict.get_or_compute("e", "n", {"a": 1}, lambda: frame)
    ResultStore(tmp_path / "r").get_or_compute("e", "n", {"a": 1}, lambda: frame)
    assert strict.get_or_compute("e", "n", {"a": 1}, lambda: pytest.fail("recomputed")).equals(frame)


def test_a_lookup_computes_nothing_and_leaves_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("NAS_CORE_CACHED_ONLY", raising=False)
    store = ResultStore(tmp_path)

    def result():
        return store.get_or_compute("e", "n", {"a": 1}, lambda: pytest.fail("computed in a lookup"))

    assert stored_or_none(result) is None
    assert "NAS_CORE_CACHED_ONLY" not in os.environ
    require_compute("anything")  # outside the lookup computing is allowed again
