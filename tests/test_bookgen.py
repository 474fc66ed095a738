"""The book's generated pages (nas_core.bookgen), without building the book."""
import json

import pytest
import yaml

from nas_core import bookgen, cli, study


def test_every_experiment_has_a_place_in_the_book():
    in_parts = [n for _, names in bookgen.PARTS for n in names]
    assert sorted(in_parts) == sorted(cli.EXPERIMENTS), "each experiment belongs to exactly one part"
    for _, names in bookgen.FINDINGS:
        assert set(names) <= set(cli.EXPERIMENTS)
    labels = [f[0] for f in bookgen.FIGURES]
    assert labels == [f"Table {i}" for i in range(1, 5)] + [f"Figure {i}" for i in range(1, 19)]
    for _, _, exp, _, _ in bookgen.FIGURES:
        assert exp is None or exp in cli.EXPERIMENTS


def test_write_book(tmp_path):
    results, book = tmp_path / "results", tmp_path / "book"
    (results / "supernets").mkdir(parents=True)
    book.mkdir()
    meta = {"params": {"space": "nb201", "profile": "cpu", "epochs": 4, "cfg": {"C": 8}}, "rows": 3,
            "nas_core_version": "0.1.0", "git": {"commit": "0123456789abcdef", "dirty": True},
            "machine": {"processor": "x86_64", "cpu_count": 2}, "wall_time_s": 12.5,
            "timestamp_utc": "2026-01-01T00:00:00+00:00", "versions": {"torch": "2.1"}}
    (results / "supernets" / "nb201_cpu_uniform_e4_s0_abc.json").write_text(json.dumps(meta))
    (results / "supernets" / "nb201_cpu_uniform_e4_s0_abc.csv").write_text("arch,score\n")
    (results / "supernets" / "notes.json").write_text("[1, 2]")  # not provenance: ignored
    (results / "groundtruth").mkdir()
    chunk = {"git": {"commit": "a" * 40, "dirty": False}, "runs_added": 2}
    gt_meta = {**meta, "wall_time_s": None, "chunks": [chunk, {**chunk, "git": {"commit": "b" * 40, "dirty": True},
                                                               "runs_added": 3}]}
    (results / "groundtruth" / "nb201_cpu.json").write_text(json.dumps(gt_meta))
    (results / "groundtruth" / "nb201_cpu.csv").write_text("arch,seed,wall_s\nx,0,1\n")

    existing = bookgen.write_book(book, results)
    assert existing == bookgen.existing_experiments()
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert [f.split("/")[1] for f in files if f.startswith("experiments/")] == \
        [n for _, names in bookgen.PARTS for n in names if n in existing]
    assert set(bookgen.APPENDIX) <= set(files)

    figures = (book / "figures.md").read_text()
    for label, *_ in bookgen.FIGURES:
        assert f"**{label}**" in figures
    assert "`results/supernets/*_cpu_uniform_*` (1)" in figures
    prov = (book / "provenance.md").read_text()
    assert "nb201_cpu_uniform_e4_s0_abc" in prov and "12.5 s" in prov and "0123456789+" in prov
    assert "notes" not in prov
    assert "2 recorded builder runs (5 rows) @ aaaaaaaaaa, bbbbbbbbbb+" in prov
    findings = (book / "_findings.md").read_text()
    assert all(f"\n{i}. **" in findings for i in range(1, 6))
    assert "Table 2" in (book / "recipes.md").read_text()


def test_command_keeps_only_declared_parameters():
    cmd = bookgen.command("mutual_correlation", {"spaces": ["nb101"], "other": 1}, {"spaces": {}})
    assert cmd == "nas-study run mutual_correlation --profile cpu -p 'spaces=[\"nb101\"]'"


def test_stored_md_counts_rungs_and_ground_truth_runs(tmp_path):
    (tmp_path / "supernets").mkdir()
    (tmp_path / "groundtruth").mkdir()
    name = study.supernet_result_name
    for stem in (name("nb101", "cpu", 1), name("nb101", "cpu", 4),
                 "nb101_cpu_uniform_e8_s0_cc",  # the rung in another configuration: not the book's
                 name("nb101", "cpu", 16, seed=1),  # another seed: not the ladder
                 name("nb201", "cpu", 2)):
        (tmp_path / "supernets" / f"{stem}.csv").write_text("arch,score\n")
    (tmp_path / "groundtruth" / "nb101_cpu.csv").write_text("arch,seed,valid\na,0,1\na,1,2\nb,0,3\n")
    from nas_core.profiles import budget

    rungs = {s: len(budget(s, "cpu").ladder) for s in ("nb101", "darts_rnn")}  # the ladders may grow
    assert bookgen.stored_md("nb101", tmp_path) == \
        f"supernets for 2 of {rungs['nb101']} rungs; ground truth 3 runs on 2 architectures"
    assert bookgen.stored_md("darts_rnn", tmp_path) == \
        f"supernets for 0 of {rungs['darts_rnn']} rungs; ground truth 0 runs on 0 architectures"


def _executed_chapter(folder, name, verdicts_):
    """An executed notebook whose last cell displayed the given verdicts (as papermill leaves it)."""
    import nbformat

    from nas_core.verdicts import MIME

    cells = [nbformat.v4.new_markdown_cell("# A chapter"), nbformat.v4.new_markdown_cell("## Verdict on Figure 1")]
    code = nbformat.v4.new_code_cell("display(v)")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": str(v), MIME: v.record()})
                    for v in verdicts_]
    cells.append(code)
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / f"{name}.ipynb")


def test_results_page_reads_the_chapters_verdicts(tmp_path):
    from nas_core.verdicts import Verdict

    book = tmp_path / "book"
    v = Verdict("**NB101.** drop within noise: **inconclusive**.", "inconclusive", item="Figure 1", space="nb101",
                key="ρ 0.48 [0.30, 0.64] at 128 ep", numbers={"spearman": (0.48, 0.30, 0.64)})
    t4 = Verdict("**NB101.** below", "disagrees", item="Table 4", space="nb101", key="57.7 vs GT 81.6",
                 numbers={"supernet_minus_gt": (-23.8, -24.4, -23.2)})
    _executed_chapter(book / "experiments", "performance_vs_epochs", [v, t4])
    existing = bookgen.write_book(book, tmp_path / "results")
    page = (book / "results.md").read_text()
    assert 'href="experiments/performance_vs_epochs.html#verdict-on-figure-1"' in page
    assert "? inconclusive</a><br><span class=\"glance-key\">ρ 0.48 [0.30, 0.64] at 128 ep" in page
    assert page.count("glance-link") == sum(len(s) for s in bookgen.PAPER_SPACES.values())
    assert page.count("not run</a>") > 50  # every other cell of the paper's items: no chapter ran
    assert "Table 2" in page and "16/16 settings as printed" in page
    assert "0.48 [0.30, 0.64]" in page.split("## Finding 3 across the spaces")[1]  # the cross-space table
    assert all(f"**Finding {i}:" in page for i in range(1, 6))
    assert "below their stand-alone ground truth on 1 of 1 spaces" in page
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    assert toc["parts"][0]["chapters"][0]["file"] == bookgen.RESULTS  # first after the introduction
    assert existing == bookgen.existing_experiments()


def test_results_page_lists_verdicts_beyond_the_paper(tmp_path):
    from nas_core.verdicts import Verdict

    book = tmp_path / "book"
    v = Verdict("**NB201.** the estimator ranks better: **disagrees**.", "disagrees",
                item=f"{bookgen.BEYOND}: supernet vs free estimators", space="nb201", key="-0.40 [-0.54, -0.26]")
    _executed_chapter(book / "experiments", "free_estimators", [v])
    bookgen.write_book(book, tmp_path / "results")
    page = (book / "results.md").read_text()
    beyond = page.split(f"## {bookgen.BEYOND}")[1]
    assert "<td>supernet vs free estimators</td><td>NAS-Bench-201</td>" in beyond
    assert 'href="experiments/free_estimators.html#verdict-on-figure-1"' in beyond and "-0.40 [-0.54, -0.26]" in beyond
    assert page.count("glance-link") == sum(len(s) for s in bookgen.PAPER_SPACES.values())  # not in the grid


def test_heading_anchor_is_sphinx_id():
    assert bookgen.heading_anchor("Verdict on Figure 1") == "verdict-on-figure-1"
    assert bookgen.heading_anchor("Figures 7-10: distributions") == "figures-7-10-distributions"
    assert bookgen.heading_anchor("The choice of the `best` cells") == "the-choice-of-the-best-cells"


def _stored(folder, name, wall_time_s=None, csv="arch,score\n", params=None):
    """A result as the store leaves it: CSV and provenance JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.csv").write_text(csv)
    meta = {"params": params or {"profile": "cpu"}, "wall_time_s": wall_time_s,
            "machine": {"processor": "x86_64", "cpu_count": 2, "torch_threads": 1}}
    (folder / f"{name}.json").write_text(json.dumps(meta))


def test_figure_cost_is_the_recorded_time_of_what_it_reads(tmp_path):
    from nas_core.profiles import budget

    results = tmp_path / "results"
    ladder = budget("nb101", "cpu").ladder
    name = study.supernet_result_name
    for i, e in enumerate(ladder[:3]):  # three rungs stored, 100, 200, 300 s
        _stored(results / "supernets", name("nb101", "cpu", e), 100.0 * (i + 1))
    _stored(results / "supernets", name("nb101", "cpu", ladder[-1], seed=1), 50.0)  # the top rung's seed 1
    _stored(results / "supernets", name("nb101", "cpu", ladder[0], recipe_overrides={"lr": 0.05}), 9999.0)
    _stored(results / "supernets", name("nb201", "cpu", ladder[0]), 7777.0)  # another space
    _stored(results / "groundtruth", "nb101_cpu", None, "arch,seed,wall_s\na,0,1000\nb,0,1000\nc,0,2000\n")
    _stored(results / "groundtruth", "nb201_cpu", None, "arch,seed,wall_s\na,0,5\n")

    label, _, exp, globs, overrides = next(f for f in bookgen.FIGURES if f[0] == "Figure 13")
    declared = {"spaces": {"default": ["nb101", "nb201", "darts_cnn", "darts_rnn"]}, "seeds": {"default": [0, 1]}}
    assert bookgen.figure_spaces(label, overrides, declared) == ["nb101"]  # its -p spaces
    paths, missing = bookgen.figure_results(label, exp, globs, overrides, declared, results)
    assert sorted(p.stem for p in paths) == sorted([name("nb101", "cpu", e) for e in ladder[:3]]
                                                   + [name("nb101", "cpu", ladder[-1], seed=1), "nb101_cpu"])
    assert len(missing) == len(ladder) - 3  # rungs of seed 0 not stored: named, not counted
    cost = bookgen.figure_cost(paths)
    assert cost["by_folder"] == {"supernets": 650.0, "groundtruth": 4000.0} and cost["total_s"] == 4650.0
    assert cost["hours_on_workers"] == pytest.approx(4650.0 / 2 / 3600)  # spread over 2 cores
    third = results / "supernets" / f"{name('nb101', 'cpu', ladder[2])}.csv"
    assert bookgen.figure_cost([third])["hours_on_workers"] == pytest.approx(300 / 3600)  # one run: not split
    assert bookgen.recorded_seconds(results / "groundtruth" / "nb101_cpu.csv") == (4000.0, 2000.0)
    assert bookgen.recorded_seconds(results / "nowhere.csv") == (None, None)

    page = bookgen.figures_md(bookgen.existing_experiments(), results)
    assert "| Figure 13 | 5 | 0.18 | 1.11 | - | 1.29 core-h, 39 min on 2 cores |" in page
    assert ": Cost at `cpu`: 1.3 h of core time recorded in the provenance of its 5 stored results (ground truth " \
           "1.1 h, supernets 11 min), about 39 min on 2 cores" in page
    assert [bookgen.duration(s) for s in (20.9, 700, 4650)] == ["21 s", "12 min", "1.3 h"]


def test_bias_and_table3_count_only_what_they_train():
    from nas_core import tricks
    from nas_core.profiles import budget

    top = max(budget("nb201", "cpu").ladder)
    assert bookgen.planned_supernets("bias", ["nb201"], {}, {}) == [study.supernet_result_name("nb201", "cpu", top)]
    t3 = bookgen.planned_supernets("training_tricks", ["nb201"], {}, {})
    want = [study.supernet_result_name("nb201", "cpu", s.epochs, **s.kwargs())
            for e in budget("nb201", "cpu").table3_epochs for s in tricks.plan("nb201", "cpu", e)]
    assert t3 == want and len(t3) == 5 * len(budget("nb201", "cpu").table3_epochs)


def test_provenance_rows_show_what_tells_two_results_apart(tmp_path):
    results = tmp_path / "results"
    base = {"profile": "cpu", "space": "nb201", "epochs": 128, "seed": 0, "strategy": "uniform"}
    _stored(results / "supernets", "a", 1576.0, params={**base, "recipe": {"lr": 0.05, "weight_decay": 5e-4, "x": 1}})
    _stored(results / "supernets", "b", 713.0, params={**base, "recipe": {"lr": 0.025, "weight_decay": 1.5e-3, "x": 1}})
    _stored(results / "supernets", "c", 1.0, params={**base, "seed": 1, "recipe": {"lr": 0.05, "x": 1}})
    prov = bookgen.provenance_md(results)
    row = {line.split("`")[1]: line for line in prov.splitlines() if line.startswith("| `")}
    assert "**recipe.lr**=0.05, **recipe.weight_decay**=0.0005" in row["a"]
    assert "**recipe.lr**=0.025, **recipe.weight_decay**=0.0015" in row["b"]
    assert "**" not in row["c"] and "seed=1" in row["c"]  # no other result shares its scalars
    assert "recipe.x" not in prov.split("All parameters")[0]  # the same in both: not shown
    assert bookgen.distinguishing_params([{"cfg": {"N": 2}}, {"cfg": {"N": 3, "C": 8}}]) == \
        [{"cfg.C": "absent", "cfg.N": 2}, {"cfg.C": 8, "cfg.N": 3}]


def test_recipes_page_shows_the_cpu_budgets_beside_table2():
    from nas_core.profiles import budget
    from nas_core.training import recipe_for

    page = bookgen.recipes_md()
    assert "## The `cpu` profile beside Table 2" in page
    paper_r, cpu_r = recipe_for("darts_cnn", "paper"), recipe_for("darts_cnn", "cpu")
    steps = recipe_for("nb101", "paper").bn_calib_steps, recipe_for("nb101", "cpu").bn_calib_steps
    assert f"| BN calib steps | {steps[0]} → **{steps[1]}**" in page
    assert f"{paper_r.batch_size}\\* → **{cpu_r.batch_size}\\***" in page  # split over GPUs in both (escaped)
    gt_row = next(line for line in page.splitlines() if line.startswith("| ground-truth epochs |"))
    epochs = budget("nb101", "cpu").gt_epochs, budget("nb101", "paper").gt_epochs
    assert gt_row.split(" | ")[1] == f"**{epochs[0]}** (paper: {epochs[1]})"
    assert "| Initial LR | 0.1 | 0.05 |" in page  # recipe kinds are the same at every profile
