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

from . import __version__, bench, bookgen, data, groundtruth, parameters, regime, rehearsal, settings, study
from .chapters import (BOOK, EXECUTED, EXPERIMENTS, NOTEBOOKS, existing_experiments,  # noqa: F401  (cli.* names)
                       notebook_parameters)
from .errors import UsageError
from .profiles import DEFAULT_PROFILE, PROFILES, budget
from .settings import CACHED_ONLY_ENV, REPO, WORKERS_ENV
from .spaces import SPACE_NAMES, get_space
from .spaces.gold import AROUND_SPACES
from .store import StoreError, checkpoint_summary, read_provenance

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
WORKERS_HELP = "processes computing missing supernet results, one torch thread each (default: one per core)"


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken as Ctrl-C: papermill shuts its kernel down, worker pools stop their workers."""


def _raise_terminated(signum, frame):
    raise Terminated(signum)


# Paths the kernels (which run in notebooks/) and workers read from the environment: resolved
# once against the directory the command was started in.
PATH_ENVS = (settings.DATA_ENV, settings.RESULTS_ENV, settings.RUNS_ENV)
SMOKE_ROOT = REPO / "runs" / "smoke"  # smoke results never land beside the committed ones


def resolve_paths() -> None:
    """Make ``$NAS_CORE_DATA`` / ``_RESULTS`` / ``_RUNS`` absolute (relative to the working
    directory); the data root defaults to ``./data`` of the working directory, as in data.py."""
    for name in PATH_ENVS:
        value = os.environ.get(name, "").strip()
        if value:
            os.environ[name] = str(Path(value).expanduser().resolve())
    if not os.environ.get(settings.DATA_ENV):
        os.environ[settings.DATA_ENV] = str(data.data_root().resolve())


def use_smoke_root(profile: str, say: bool = True) -> None:
    """Smoke-profile results and checkpoints go to ``runs/smoke/`` (ignored by git) unless
    ``$NAS_CORE_RESULTS`` / ``$NAS_CORE_RUNS`` choose a root: never beside the committed ones."""
    if profile != "smoke":
        return
    for name, sub in ((settings.RESULTS_ENV, "results"), (settings.RUNS_ENV, "runs")):
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
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")


def set_workers(workers: int | None) -> None:
    """Worker processes for the results a chapter computes (papermill's kernels inherit it)."""
    if workers is None:
        try:
            settings.current().workers()  # a bad $NAS_CORE_WORKERS, said before any compute
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
    check_profile(args.profile)
    set_workers(args.workers)
    check_data(args.profile)
    use_smoke_root(args.profile)
    if args.cached_only:
        os.environ[CACHED_ONLY_ENV] = "1"  # papermill's kernels inherit it
    names = existing_experiments()
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
    """``nas-study gt SPACE [--profile P] [--n-archs N] [--seeds S ...] [--variant | --reference]
    [--workers W] [--ray-address A]``."""
    use_smoke_root(args.profile, say=False)  # its summary names the table it wrote
    if args.space not in SPACE_NAMES:
        raise UsageError(f"unknown space {args.space!r}; choose one of: {', '.join(SPACE_NAMES)}")
    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r}; choose one of: {', '.join(PROFILES)}")
    if args.n_archs is not None and args.n_archs < 1:
        raise UsageError(f"--n-archs must be >= 1, got {args.n_archs}")
    b = budget(args.space, args.profile)
    seeds = list(b.gt_seeds if args.seeds is None else args.seeds)
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds must be distinct non-negative integers, got {' '.join(map(str, seeds))}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    ray_address = getattr(args, "ray_address", None)
    if ray_address:
        try:
            import ray  # noqa: F401  (optional: only a Ray fan-out needs it)
        except ImportError:
            raise UsageError("--ray-address needs Ray: pip install 'nas_core[ray]'") from None
    try:
        space = get_space(args.space)
    except ImportError as e:
        raise UsageError(f"space {args.space!r} is not available: {e}") from None
    if args.n_archs is not None and args.n_archs > space.size():
        raise UsageError(f"--n-archs {args.n_archs}: {space.title} has {space.size():,} architectures")
    dataset = space.config(args.profile)["dataset"]
    try:
        data.check_available(dataset)
    except (data.DataNotFound, data.DataCorrupt) as e:
        raise UsageError(str(e)) from None  # its first line says what is missing, the others how to get it

    sample_seed = getattr(args, "sample_seed", 0) or 0
    variant = getattr(args, "variant", False)
    if variant and args.space not in study.GT_VARIANTS:
        raise UsageError(f"no recipe variant for space {args.space!r}; spaces with one: {', '.join(study.GT_VARIANTS)}")
    reference = getattr(args, "reference", False)
    if reference:
        if args.n_archs is not None or args.seeds is not None:
            raise UsageError("--reference trains one architecture with the profile's seeds: "
                             "drop --n-archs and --seeds")
        if args.space not in AROUND_SPACES:
            raise UsageError(f"no reference architecture in {args.space!r}; spaces with one: {', '.join(AROUND_SPACES)}")
    out = study.ground_truth_path(args.space, args.profile, "variant" if variant else "reference" if reference else None)
    t0 = time.time()
    try:
        if reference:
            df = study.reference_ground_truth(args.space, args.profile, workers=args.workers,
                                              ray_address=ray_address)
        elif variant:
            df = study.ground_truth_variant(args.space, args.profile, n_archs=args.n_archs, sample_seed=sample_seed,
                                            workers=args.workers, ray_address=ray_address)
        else:
            df = study.ground_truth(args.space, args.profile, seeds=args.seeds, n_archs=args.n_archs,
                                    sample_seed=sample_seed, workers=args.workers, ray_address=ray_address)
    except groundtruth.GroundTruthError as e:
        raise UsageError(str(e)) from None
    print(groundtruth.summary(df, out, time.time() - t0))
    return EXIT_OK


def cmd_provenance(args) -> int:
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
    bench.add_export_parser(sub)  # `export`: the dataset; its arguments and its command live in nas_core.bench
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


if __name__ == "__main__":
    sys.exit(main())
