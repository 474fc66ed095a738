"""The ``nas-study`` command: list, run, gt, book, provenance.

Every bad input (unknown experiment or parameter, wrong type, negative budget,
missing data) is reported as one line on stderr with a non-zero exit code
before any compute starts. Exit codes: 0 ok, 1 a run failed, 2 bad input.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import __version__, rehearsal

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
BOOK = REPO / "book"
EXECUTED = BOOK / "experiments"  # executed copies the book renders (not committed)

# experiment name -> what it reproduces. The notebook is notebooks/<name>.ipynb.
EXPERIMENTS = {
    "search_spaces": "Table 1: the five search spaces, sizes and parameter distributions",
    "performance_vs_epochs": "Figure 1 and Table 4: supernet performance and correlation vs epochs",
    "top_k": "Figures 2 and 16: supernet top-k vs random search, regret",
    "mutual_correlation": "Figures 3 and 13-15: mutual correlations among supernets, parameters, ground truth",
    "bias": "Figure 4: supernet vs ground truth grouped by one decision",
    "pruning": "Figures 5, 6, 17, 18: pruned search spaces, precision of best/worst",
    "training_tricks": "Table 3: FairNAS, multi-path, other hyper-parameters and seeds",
    "stability": "Figures 7-12: distributions, ground-truth stability across seeds and recipes",
    "groundtruth_pilot": "Choosing the CPU-scale ground truth: seed-to-seed rank stability pilots",
    "free_estimators": "Beyond the paper: free estimators (zero-cost proxies) beside the supernets",
    "weight_sharing_tutorial": "Teaching: weight sharing on NAS-Bench-201, in five minutes on a laptop",
}
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
WORKERS_HELP = "processes computing missing supernet results, one torch thread each (default: one per core)"


class UsageError(Exception):
    """Bad input: reported as one line, exit code 2, before any compute. Lines after the first
    (how to get missing data, say) are printed below it, indented."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as Ctrl-C: papermill shuts its kernel down, worker pools stop their workers."""


def _raise_terminated(signum, frame):
    raise Terminated(signum)


# Paths the kernels (which run in notebooks/) and workers read from the environment: resolved
# once against the directory the command was started in.
PATH_ENVS = ("NAS_CORE_DATA", "NAS_CORE_RESULTS", "NAS_CORE_RUNS")
SMOKE_ROOT = REPO / "runs" / "smoke"  # smoke results never land beside the committed ones


def resolve_paths() -> None:
    """Make ``$NAS_CORE_DATA`` / ``_RESULTS`` / ``_RUNS`` absolute (relative to the working
    directory); the data root defaults to ``./data`` of the working directory, as in data.py."""
    from .data import ENV_ROOT, data_root

    for name in PATH_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            os.environ[name] = str(Path(value).expanduser().resolve())
    if not os.environ.get(ENV_ROOT):
        os.environ[ENV_ROOT] = str(data_root().resolve())


def use_smoke_root(profile: str, say: bool = True) -> None:
    """Smoke-profile results and checkpoints go to ``runs/smoke/`` (ignored by git) unless
    ``$NAS_CORE_RESULTS`` / ``$NAS_CORE_RUNS`` choose a root: never beside the committed ones."""
    if profile != "smoke":
        return
    for name, sub in (("NAS_CORE_RESULTS", "results"), ("NAS_CORE_RUNS", "runs")):
        if not os.environ.get(name, "").strip():
            os.environ[name] = str(SMOKE_ROOT / sub)
            if say:
                print(f"nas-study: smoke profile: {name}={os.environ[name]} (set {name} to choose)", file=sys.stderr)


def notebook_path(experiment: str) -> Path:
    if experiment not in EXPERIMENTS:
        raise UsageError(f"unknown experiment {experiment!r}; run `nas-study list` to see the {len(EXPERIMENTS)} experiments")
    path = NOTEBOOKS / f"{experiment}.ipynb"
    if not path.exists():
        raise UsageError(f"experiment {experiment!r} has no notebook yet ({path})")
    return path


def notebook_parameters(path: Path) -> dict[str, dict]:
    """Name -> {default, type} of a notebook's `parameters` cell (read, not executed)."""
    import papermill

    return {
        name: {"default": ast.literal_eval(p["default"]), "type": p["inferred_type_name"]}
        for name, p in papermill.inspect_notebook(str(path)).items()
    }


def parse_overrides(pairs: list[str], declared: dict[str, dict]) -> dict:
    """`key=value` strings -> typed values, checked against the declared parameters."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"parameter {pair!r} is not of the form key=value")
        key, raw = pair.split("=", 1)
        if key not in declared:
            raise UsageError(f"unknown parameter {key!r}; this experiment takes: {', '.join(sorted(declared))}")
        out[key] = coerce(key, raw, declared[key]["default"])
    return out


def coerce(key: str, raw: str, default):
    """Parse `raw` as the type of `default`; budgets (non-negative defaults) stay non-negative.
    A parameter whose default is None takes any literal (text that is none stays text): its
    rule in ``nas_core.parameters`` says what it must be."""
    want = type(default)
    try:
        value = raw if want is str else ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        if default is None:
            return raw
        raise UsageError(f"parameter {key}: cannot read {raw!r} as {want.__name__}") from None
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if want in (list, tuple) and isinstance(value, (list, tuple)):
        value = list(value)
    if default is not None and not isinstance(value, want if want not in (list, tuple) else (list, tuple)):
        raise UsageError(f"parameter {key}: expected {want.__name__}, got {type(value).__name__} {raw!r}")
    if isinstance(value, bool) != isinstance(default, bool):
        raise UsageError(f"parameter {key}: expected {want.__name__}, got {raw!r}")
    # Budgets, sizes and seeds are never negative: only a parameter whose default
    # is a negative number may take one.
    numbers = value if isinstance(value, list) else [value]
    defaults = default if isinstance(default, list) else [default]
    if not any(_is_number(d) and d < 0 for d in defaults) and any(_is_number(v) and v < 0 for v in numbers):
        raise UsageError(f"parameter {key}: must be non-negative, got {raw}")
    return value


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_data(profile: str, spaces=None) -> None:
    """Fail before any compute when data a run reads is absent or damaged: the datasets of
    ``spaces`` (default: every space) at ``profile``, the 200-epoch NAS-Bench-201 table when
    NAS-Bench-201 is among them, and the 12-epoch table where it is present (the chapters
    that read it say so where it is absent)."""
    from . import data
    from .spaces import SPACE_NAMES, get_space

    spaces = list(SPACE_NAMES if spaces is None else spaces)
    needed = sorted({get_space(s).config(profile)["dataset"] for s in spaces})
    if "nb201" in spaces:
        needed.append("nb201-200ep")
        if (data.data_root() / data.NB201_FILES["12ep"][0]).exists():
            needed.append("nb201-12ep")
    for name in needed:
        try:
            data.check_available(name)
        except (data.DataNotFound, data.DataCorrupt) as e:
            raise UsageError(str(e)) from None


def check_profile(profile: str) -> None:
    from .profiles import PROFILES

    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")


def set_workers(workers: int | None) -> None:
    """Worker processes for the results a chapter computes (papermill's kernels inherit it)."""
    from .parallel import WORKERS_ENV, default_workers

    if workers is None:
        try:
            default_workers()  # a bad $NAS_CORE_WORKERS, said before any compute
        except ValueError as e:
            raise UsageError(str(e)) from None
        return
    if workers < 1:
        raise UsageError(f"--workers must be 1 or more, got {workers}")
    os.environ[WORKERS_ENV] = str(workers)


def run_experiment(experiment: str, profile: str, overrides: dict, output_dir: Path = EXECUTED) -> Path:
    """Execute one notebook with papermill into `output_dir`; returns the executed notebook."""
    import papermill

    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / f"{experiment}.ipynb"
    params = {"profile": profile, **overrides}
    papermill.execute_notebook(
        str(notebook_path(experiment)), str(out), parameters=params, cwd=str(NOTEBOOKS),
        kernel_name="python3", progress_bar=sys.stderr.isatty(),
    )
    return out


# ---------------------------------------------------------------- commands
def cmd_list(args) -> int:
    from .profiles import PROFILES, DEFAULT_PROFILE
    from .spaces import SPACE_NAMES, get_space

    print("experiments:")
    for name, what in EXPERIMENTS.items():
        mark = "" if (NOTEBOOKS / f"{name}.ipynb").exists() else "  (not yet written)"
        print(f"  {name:26s} {what}{mark}")
    print("spaces:")
    for name in SPACE_NAMES:
        try:
            print(f"  {name:26s} {get_space(name).title}")
        except ImportError:
            print(f"  {name:26s} (not yet implemented)")
    print("profiles:", ", ".join(f"{p} (default)" if p == DEFAULT_PROFILE else p for p in PROFILES))
    return EXIT_OK


def check_run(experiment: str, profile: str, overrides: dict, declared: dict) -> str:
    """Everything a run of ``experiment`` is checked for before its kernel starts (the same
    for ``--dry-run``): the profile (``-p profile=...`` included), every parameter's value by
    the chapter's rules, the data it reads. Returns the profile the run uses."""
    from . import parameters

    profile = overrides.get("profile", profile)
    check_profile(profile)
    values = {name: d["default"] for name, d in declared.items()}
    values.update(overrides, profile=profile)
    if experiment in parameters.RULES:
        try:
            parameters.check(experiment, values)
        except parameters.ParameterError as e:
            raise UsageError(str(e)) from None
    check_data(profile, parameters.spaces_used(experiment, values))
    return profile


def _failed(name: str, e: Exception, out: Path) -> str:
    """One line for a notebook that raised: where, what, and where its traceback is."""
    where = f" in cell {e.exec_count}" if getattr(e, "exec_count", None) else ""
    what = f"{getattr(e, 'ename', type(e).__name__)}: {str(getattr(e, 'evalue', e)).splitlines()[0]}"
    return f"nas-study: {name} failed{where}: {what} (traceback in {out})"


def cmd_run(args) -> int:
    from papermill.exceptions import PapermillExecutionError

    path = notebook_path(args.experiment)
    declared = notebook_parameters(path)
    overrides = parse_overrides(args.param or [], declared)
    profile = check_run(args.experiment, args.profile, overrides, declared)
    overrides.pop("profile", None)
    set_workers(args.workers)
    if args.dry_run:
        print(json.dumps({"experiment": args.experiment, "profile": profile, **overrides}))
        return EXIT_OK
    use_smoke_root(profile)
    t0 = time.time()
    try:
        out = run_experiment(args.experiment, profile, overrides, Path(args.output_dir))
    except PapermillExecutionError as e:
        print(_failed(args.experiment, e, Path(args.output_dir) / f"{args.experiment}.ipynb"), file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.experiment}: done in {time.time() - t0:.0f} s -> {out}")
    return EXIT_OK


def cmd_book(args) -> int:
    from . import bookgen
    from .store import CACHED_ONLY_ENV

    check_profile(args.profile)
    set_workers(args.workers)
    check_data(args.profile)
    use_smoke_root(args.profile)
    if args.cached_only:
        os.environ[CACHED_ONLY_ENV] = "1"  # papermill's kernels inherit it
    names = [n for n in EXPERIMENTS if (NOTEBOOKS / f"{n}.ipynb").exists()]
    for i, name in enumerate(names, 1):
        t0 = time.time()
        print(f"[{i}/{len(names)}] {name} ({args.profile}) ...", flush=True)
        try:
            run_experiment(name, args.profile, {})
        except Exception as e:  # papermill's error names the kernel's exception
            if not (args.cached_only and getattr(e, "ename", "") == "ResultMissing"):
                if hasattr(e, "ename"):  # papermill's: the chapter raised
                    print(_failed(name, e, EXECUTED / f"{name}.ipynb"), file=sys.stderr)
                    return EXIT_FAILED
                raise
            bookgen.write_placeholder(name, args.profile, str(getattr(e, "evalue", e)), EXECUTED)
            print(f"[{i}/{len(names)}] {name}: results not stored yet, placeholder chapter", flush=True)
            continue
        print(f"[{i}/{len(names)}] {name} done in {time.time() - t0:.0f} s", flush=True)

    bookgen.write_book(BOOK)
    if args.no_build:
        return EXIT_OK
    cmd = bookgen.build_command(BOOK)
    print(" ".join(cmd), flush=True)
    return EXIT_OK if subprocess.call(cmd) == 0 else EXIT_FAILED


def cmd_gt(args) -> int:
    from .groundtruth import main as gt_main

    use_smoke_root(args.profile, say=False)  # its summary names the table it wrote
    return gt_main(args)


def cmd_provenance(args) -> int:
    from .store import StoreError, checkpoint_summary, read_provenance

    path = Path(args.result)
    if not path.exists() and not path.with_suffix(".json").exists():
        raise UsageError(f"no such file {path}; give the path of a result CSV or JSON (results/...) "
                         "or of a checkpoint (runs/...pt)")
    try:
        meta = checkpoint_summary(path) if path.suffix == ".pt" else read_provenance(path)
    except StoreError as e:
        raise UsageError(str(e)) from None
    print(json.dumps(meta, indent=2, sort_keys=True, default=str))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .profiles import DEFAULT_PROFILE

    p = argparse.ArgumentParser(prog="nas-study", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"nas-study {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="experiments, spaces and profiles")
    s.set_defaults(fn=cmd_list)

    s = sub.add_parser("run", help="execute one experiment notebook with papermill")
    s.add_argument("experiment")
    s.add_argument("--profile", default=DEFAULT_PROFILE)
    s.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="override a notebook parameter")
    s.add_argument("--output-dir", default=str(EXECUTED), help="where the executed notebook goes")
    s.add_argument("--dry-run", action="store_true", help="validate the parameters and stop")
    s.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("book", help="execute every experiment and build the HTML book")
    s.add_argument("--profile", default=DEFAULT_PROFILE)
    s.add_argument("--no-build", action="store_true", help="execute notebooks only")
    s.add_argument("--cached-only", action="store_true",
                   help="use stored results only; a chapter missing some gets a placeholder page")
    s.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    s.set_defaults(fn=cmd_book)

    s = sub.add_parser("gt", help="build a ground-truth table (stand-alone training)")
    s.add_argument("space")
    s.add_argument("--profile", default=DEFAULT_PROFILE)
    s.add_argument("--n-archs", type=int, default=None, help="architectures in the fixed sample")
    s.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="seeds for every architecture (default: the profile's, plus its extra-seed subset)")
    kind = s.add_mutually_exclusive_group()
    kind.add_argument("--variant", action="store_true",
                      help="train the subset meant for Figure 12 with the space's different recipe")
    kind.add_argument("--reference", action="store_true",
                      help="train the space's gold architecture (Figure 1's ProxylessNAS reference line)")
    s.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    s.add_argument("--ray-address", default=None, help="fan out over a Ray cluster")
    s.set_defaults(fn=cmd_gt)

    s = sub.add_parser("provenance", help="how a committed result was made")
    s.add_argument("result", help="path of a result CSV or JSON under results/, or of a checkpoint under runs/")
    s.set_defaults(fn=cmd_provenance)

    rehearsal.add_parser(sub)  # `rehearse`: its arguments and its command live in nas_core.rehearsal
    from .bench import add_export_parser

    add_export_parser(sub)  # `export`: the dataset; its arguments and its command live in nas_core.bench
    from . import regime

    regime.add_parser(sub)  # `regime`: the training-regime plan; its command lives in nas_core.regime
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGTERM, _raise_terminated)
    before = {name: os.environ.get(name) for name in PATH_ENVS}  # restored: main() may run in a caller's process
    try:
        resolve_paths()
        return args.fn(args)
    except UsageError as e:
        first, *rest = str(e).splitlines() or [""]
        print("\n".join([f"nas-study: error: {first}", *(f"  {line.strip()}" for line in rest)]), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as e:
        how = "terminated" if isinstance(e, Terminated) else "interrupted"
        print(f"nas-study: {how}; finished work is saved and resumes on the next run", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(e, Terminated) else 130
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


if __name__ == "__main__":  # python -m nas_core.cli: run the imported module, whose UsageError the others raise
    from nas_core.cli import main as _main

    sys.exit(_main())
