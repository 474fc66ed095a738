"""The dataset loader and its export: tidy tables from results/, checksums, Parquet/CSV, data card."""
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nas_core import bench, cli, study
from nas_core.spaces import get_space
from nas_core.store import StoreError

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _copy(root: Path, rel: str) -> None:
    for suffix in (".csv", ".json"):
        src = (RESULTS / rel).with_suffix(suffix)
        dst = (root / rel).with_suffix(suffix)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    """A results root with a few committed results of each kind (copied, so the test may damage them)."""
    root = tmp_path_factory.mktemp("results")
    sn = study.supernet_result_name("nb201", "cpu", 1)
    _copy(root, f"supernets/{sn}")
    _copy(root, f"supernets/{study.supernet_result_name('darts_rnn', 'cpu', 1)}")
    _copy(root, f"pruning/{sorted(p.stem for p in (RESULTS / 'pruning').glob('nb201_cpu_size38_e8_s0_*.json'))[0]}")
    _copy(root, "groundtruth/nb201_cpu")
    _copy(root, "groundtruth/nb201_cpu_variant")
    _copy(root, "groundtruth/pilot/nb201_cpu/fm16_C8_N2_e10")
    _copy(root, "search_spaces/nb201_costs_n200_s0")
    return root


def test_loader_tables_are_tidy_and_canonical(small_root):
    t = bench.tables(small_root)
    sn, gt = t["supernet_scores"], t["ground_truth"]
    assert set(sn["experiment"]) == {"supernets", "pruning"}
    assert not sn.duplicated(["result", "arch"]).any()  # one row per supernet and architecture
    assert not gt.duplicated(["space", "recipe", "arch", "seed"]).any()
    assert set(gt["recipe"]) == {"default", "variant", "pilot:fm16_C8_N2_e10"}
    space = get_space("nb201")
    assert all(str(space.parse(a)) == a for a in pd.concat([sn.loc[sn.space == "nb201", "arch"], gt["arch"]]))
    ppl = sn[sn.space == "darts_rnn"]
    assert (ppl["metric"] == "perplexity").all() and not ppl["higher_is_better"].any()
    variant = gt[gt.recipe == "variant"]
    assert variant["cfg_overrides"].iloc[0] == "C=16" and "cutout=8" in variant["recipe_overrides"].iloc[0]
    # the stored scores, row for row
    stored = pd.read_csv(RESULTS / "supernets" / f"{study.supernet_result_name('nb201', 'cpu', 1)}.csv")
    mine = sn[sn.result == study.supernet_result_name("nb201", "cpu", 1)]
    assert mine["score"].tolist() == stored["score"].tolist() and mine["arch"].tolist() == stored["arch"].tolist()
    assert len(t["sources"]) == 7 and t["sources"]["sha256"].str.len().eq(64).all()


def test_filters_by_any_column(small_root):
    sn = bench.supernet_table(small_root, space="nb201", experiment="supernets", epochs=1.0)
    assert len(sn) == 300 and set(sn["seed"]) == {0}
    gt = bench.groundtruth_table(small_root, recipe=["default", "variant"], seed=lambda s: s == 0)
    assert set(gt["seed"]) == {0} and set(gt["recipe"]) == {"default", "variant"}
    with pytest.raises(ValueError, match="unknown column 'colour'"):
        bench.supernet_table(small_root, colour="red")


def test_export_reads_back_equal_to_the_loader(small_root, tmp_path):
    files = bench.export(tmp_path / "out", root=small_root)
    assert all((tmp_path / "out" / f["file"]).suffix == ".parquet" for f in files.values())
    back = bench.read_export(tmp_path / "out")
    loaded = bench.tables(small_root)
    for name in ("supernet_scores", "ground_truth", "search_space_costs"):
        pd.testing.assert_frame_equal(back[name], loaded[name], check_dtype=False)
    card = (tmp_path / "out" / "DATASET.md").read_text()
    for name in bench.TABLES:
        assert f"| {name} |" in card  # every table listed, with its sha256
        assert f"### {name}" in card  # and its columns
    for needle in ("MIT", "Fashion-MNIST", "Seed stability", "sha256", "CPU kinds"):
        assert needle in card


def test_csv_export_where_parquet_is_not_wanted(small_root, tmp_path):
    files = bench.export(tmp_path / "csv", root=small_root, fmt="csv")
    assert files["ground_truth"]["file"] == "ground_truth.csv"
    back = bench.read_export(tmp_path / "csv")
    assert len(back["ground_truth"]) == files["ground_truth"]["rows"]


def test_a_damaged_table_is_refused(small_root, tmp_path, capsys):
    root = tmp_path / "damaged"
    shutil.copytree(small_root, root)
    csv = next((root / "supernets").glob("nb201_*.csv"))
    csv.write_text(csv.read_text().replace(",13.6,", ",93.6,", 1))
    with pytest.raises(StoreError, match="corrupt or was edited"):
        bench.tables(root)
    assert cli.main(["export", str(tmp_path / "x"), "--results", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nas-study: error:") and err.count("\n") == 1


def test_command_line_export(small_root, tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "cli"), "--results", str(small_root), "--format", "csv"]) == 0
    assert (tmp_path / "cli" / "DATASET.md").is_file() and (tmp_path / "cli" / "supernet_scores.csv").is_file()
    assert f"{len(bench.TABLES)} tables" in capsys.readouterr().out


def test_protocol_results_are_tables_of_the_dataset(small_root, tmp_path):
    """Constructed protocol results (three architectures of a committed sample) read, checked and exported."""
    from nas_core.checkpoints import PROTOCOL_EXPERIMENT
    from nas_core.store import ResultStore

    root = tmp_path / "proto"
    shutil.copytree(small_root, root)
    sn = study.supernet_result_name("nb201", "cpu", 1)
    archs = pd.read_csv(RESULTS / "supernets" / f"{sn}.csv")["arch"].head(3).tolist()
    lead = {"space": "nb201", "profile": "cpu", "epochs": 1, "seed": 0, "strategy": "uniform", "supernet_result": sn}
    store = ResultStore(root)
    scores = pd.DataFrame({"arch": archs, "bn_calib": [50.0, 51.0, 52.0], "running": [10.0, 11.0, 9.0],
                           "batch": [50.5, 51.5, 52.5]})
    store.save(PROTOCOL_EXPERIMENT, f"{sn}_n3_scores", scores, {**lead, "n_archs": 3}, command="python -c ...")
    table = pd.DataFrame({"protocol": ["bn_calib", "running"], "archs": ["all 3 with ground truth"] * 2,
                          "n_archs": [3, 3], "mean_score": [51.0, 10.0], "spearman": [1.0, -0.5]})
    store.save(PROTOCOL_EXPERIMENT, f"{sn}_n3_table", table,
               {**lead, "scores_result": f"{sn}_n3_scores", "groundtruth": "groundtruth/nb201_cpu.csv"})
    t = bench.tables(root)
    ps, pt = t["protocol_scores"], t["protocol_tables"]
    assert len(ps) == 9 and set(ps["protocol"]) == {"bn_calib", "running", "batch"}
    assert ps.loc[ps.protocol == "running", "score"].tolist() == [10.0, 11.0, 9.0]
    assert (ps["supernet_result"] == sn).all() and set(ps["arch"]) <= set(t["supernet_scores"]["arch"])
    assert pt["spearman"].tolist() == [1.0, -0.5] and (pt["groundtruth"] == "groundtruth/nb201_cpu.csv").all()
    assert (t["sources"]["kind"] == PROTOCOL_EXPERIMENT).sum() == 2
    files = bench.export(tmp_path / "out", root=root)
    assert files["protocol_scores"]["rows"] == 9 and files["protocol_tables"]["rows"] == 2
    back = bench.read_export(tmp_path / "out")
    for name in ("protocol_scores", "protocol_tables"):
        pd.testing.assert_frame_equal(back[name], t[name], check_dtype=False)
    card = (tmp_path / "out" / "DATASET.md").read_text()
    assert "### Re-scoring under other protocols" in card and f"{sn}_n3_scores" in card
    # a stored protocol result that was edited is refused like any other
    csv = root / PROTOCOL_EXPERIMENT / f"{sn}_n3_scores.csv"
    csv.write_text(csv.read_text().replace("10.0", "99.0"))
    with pytest.raises(StoreError, match="corrupt or was edited"):
        bench.tables(root)


def test_the_book_example_runs():
    """The three-line example of the re-running appendix, on the committed results."""
    from nas_core.store import REPO

    text = (REPO / "book" / "rerun.md").read_text()
    code = text.split("## The results as a dataset", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) == 3
    env = {}
    exec(code, env)
    assert len(env["scores"]) and set(env["scores"]["space"]) == {"nb201"} and set(env["scores"]["seed"]) == {0}
    assert len(env["gt"]) and set(env["gt"]["recipe"]) == {"default"}
