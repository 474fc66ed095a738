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
    assert "6 tables" in capsys.readouterr().out
