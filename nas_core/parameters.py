"""The rules each experiment's parameters must satisfy, checked by value before any compute.

``nas-study run`` (``--dry-run`` too) checks every parameter of a run here before a kernel
starts, so a bad value is one line and exit code 2 instead of a traceback after training;
a notebook run from Jupyter may call ``check(experiment, globals())`` in its first cell.
The rules follow what each chapter's code does with a parameter: a ``None`` that means "the
profile's" admits no falsy stand-in (``epochs=0`` or ``epoch_ladder=[]`` would silently become
the profile's), a sample is no larger than its space, names are ones the chapter knows.

``RULES[experiment]`` names every parameter of that notebook (a test checks it against the
notebooks' parameter cells); ``spaces_used`` says which spaces' data a run reads.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Mapping

from . import chapters, tutorial  # tutorial: the chapter's module holds its rules, one home for them
from .profiles import PROFILES, budget
from .pruning import AROUND_SPACES, METHODS, SWEEP_SPACES, around_space, check_factors
from .spaces import SPACE_NAMES, get_space
from .tricks import SEED_ROW


class ParameterError(ValueError):
    """A parameter value the experiment would refuse or misread; the message is one line."""


Rule = Callable[[str, Any, Mapping[str, Any]], None]


def _fail(name: str, want: str, value) -> None:
    raise ParameterError(f"parameter {name}: expected {want}, got {value!r}" + (" (text)" if isinstance(value, str) else ""))


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


# ---------------------------------------------------------------- rule makers

def whole(lo: int = 0, hi: int | None = None) -> Rule:
    def rule(name, v, ctx):
        if not _is_int(v) or v < lo or (hi is not None and v > hi):
            _fail(name, f"a whole number {'>= ' + str(lo) if hi is None else f'in {lo}..{hi}'}", v)
    return rule


def optional(rule: Rule, meaning: str) -> Rule:
    """None (``meaning``) or a value ``rule`` accepts; the message says both."""
    def check(name, v, ctx):
        if v is None:
            return
        try:
            rule(name, v, ctx)
        except ParameterError as e:
            raise ParameterError(f"{e} (or None: {meaning})") from None
    return check


def flag(name, v, ctx):
    if not isinstance(v, bool):
        _fail(name, "True or False", v)


def fraction(name, v, ctx):
    if not _is_number(v) or not 0 < v <= 1:
        _fail(name, "a fraction in (0, 1]", v)


def whole_list(lo: int = 0, *, min_len: int = 1, what: str = "whole numbers") -> Rule:
    def rule(name, v, ctx):
        if (not isinstance(v, (list, tuple)) or len(v) < min_len or not all(_is_int(x) and x >= lo for x in v)
                or len(set(v)) != len(v)):
            _fail(name, f"a list of {'at least ' + str(min_len) + ' ' if min_len > 1 else ''}distinct {what} "
                        f">= {lo}", v)
    return rule


def fraction_list(name, v, ctx):
    if not isinstance(v, (list, tuple)) or not v or not all(_is_number(x) and 0 < x <= 1 for x in v):
        _fail(name, "a non-empty list of fractions in (0, 1]", v)


def names(known, *, empty_ok: bool = False, what: str = "spaces") -> Rule:
    """A list of distinct names out of ``known`` (a tuple, or a function of the context)."""
    def rule(name, v, ctx):
        allowed = tuple(known(ctx) if callable(known) else known)
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            _fail(name, f"a list of {what} out of {', '.join(allowed)}", v)
        unknown = [x for x in v if x not in allowed]
        if unknown:
            raise ParameterError(f"parameter {name}: unknown {what} {', '.join(map(repr, unknown))}; "
                                 f"choose from {', '.join(allowed)}")
        if len(set(v)) != len(v):
            _fail(name, f"distinct {what}", v)
        if not v and not empty_ok:
            raise ParameterError(f"parameter {name}: give at least one of {', '.join(allowed)}")
    return rule


def profile_rule(name, v, ctx):
    if v not in PROFILES:
        raise ParameterError(f"unknown profile {v!r}; choose one of: {', '.join(PROFILES)} (use --profile)")


def _spaces_of(ctx, key: str = "spaces") -> list[str]:
    value = ctx.get(key)
    return [s for s in value if s in SPACE_NAMES] if isinstance(value, (list, tuple)) else []


def sample_size(*, keys=("spaces",), fixed: tuple = ()) -> Rule:
    """Architectures drawn from each space the run uses: 1 .. the space's size."""
    def rule(name, v, ctx):
        spaces = list(fixed) or [s for k in keys for s in _spaces_of(ctx, k)]
        whole(1)(name, v, ctx)
        for s in dict.fromkeys(spaces):
            size = get_space(s).size()
            if v > size:
                raise ParameterError(f"parameter {name}: {v} architectures cannot be drawn from "
                                     f"{get_space(s).title}, which has {size:,}")
    return rule


def epochs_rule(name, v, ctx):
    optional(whole(1), "the profile's budget")(name, v, ctx)


def ladder_rule(name, v, ctx):
    optional(whole_list(1, what="epochs"), "the profile's ladder")(name, v, ctx)


def seeds_rule(min_len: int = 1) -> Rule:
    return whole_list(0, min_len=min_len, what="seeds")


def pruning_factors_rule(name, v, ctx):
    if v is None:
        return
    if not isinstance(v, (list, tuple)) or not v:
        _fail(name, "a non-empty list of pruning factors holding 1, e.g. [1, 2, 4] (or None: the profile's)", v)
    swept = [s for s in _spaces_of(ctx) if s not in (ctx.get("unpruned_only") or [])]
    profile = ctx.get("profile")
    for s in swept:
        if profile in PROFILES:
            try:
                check_factors(list(v), budget(s, profile).n_gt_archs)
            except ValueError as e:
                raise ParameterError(f"parameter {name} ({s}): {e}") from None


def methods_rule(name, v, ctx):
    names(METHODS, what="pruning methods")(name, v, ctx)


def free_blocks_rule(name, v, ctx):
    if v is None:
        return
    whole_list(0, what="numbers of free blocks")(name, v, ctx)
    for s in ctx.get("around_spaces") or []:
        for n in v:
            try:
                around_space(s, n)
            except ValueError as e:
                raise ParameterError(f"parameter {name} ({s}): {e}") from None


def settings_rule(name, v, ctx):
    optional(names(("FairNAS", "Multi-Path", "LR/WD", SEED_ROW), what="settings"), "every row")(name, v, ctx)


def lr_wd_rule(name, v, ctx):
    if (not isinstance(v, dict) or not set(v) <= {"lr", "weight_decay"}
            or not all(_is_number(x) and x > 0 for x in v.values())):
        _fail(name, "a dict scaling lr and/or weight_decay by positive factors, e.g. {'lr': 0.5}", v)


def other_seed_rule(name, v, ctx):
    whole(0)(name, v, ctx)
    if v == ctx.get("seed"):
        raise ParameterError(f"parameter {name}: must differ from seed ({v})")


def pilot_sizes(name, v, ctx):
    spaces = _spaces_of(ctx, "space_names")
    if isinstance(v, dict):
        missing = [s for s in spaces if s not in v]
        if missing:
            raise ParameterError(f"parameter {name}: no size for {', '.join(missing)}; give one per space "
                                 "of space_names, or one whole number for all")
        for s in spaces:
            sample_size(fixed=(s,))(f"{name}[{s!r}]", v[s], ctx)
    else:
        try:
            sample_size(keys=("space_names",))(name, v, ctx)
        except ParameterError as e:
            raise ParameterError(f"{e} (or a dict: space -> number)") from None


def candidates_rule(name, v, ctx):
    if v is None:
        return
    spaces = _spaces_of(ctx, "space_names")
    if not isinstance(v, dict) or not all(isinstance(c, dict) for c in v.values()):
        _fail(name, "None (the profile's candidates) or a dict: space -> {candidate: (cfg, recipe)}", v)
    unknown = [s for s in v if s not in spaces]
    if unknown:
        raise ParameterError(f"parameter {name}: spaces {', '.join(map(repr, unknown))} are not in space_names")


def tricks_rule(name, v, ctx):
    names(("fairnas", "multipath"), empty_ok=True, what="tricks")(name, v, ctx)


def workers_rule(name, v, ctx):
    optional(whole(1), "one process per core")(name, v, ctx)


def _pruning_spaces(ctx):
    return SWEEP_SPACES


def _around_spaces(ctx):
    return AROUND_SPACES


N_ARCHS = optional(sample_size(), "the profile's fixed sample size")
SPACES = names(SPACE_NAMES)
COMMON = {"profile": profile_rule, "sample_seed": whole(0), "n_boot": whole(1)}

RULES: dict[str, dict[str, Rule]] = {
    "search_spaces": {"profile": profile_rule, "n_sample": sample_size(fixed=tuple(SPACE_NAMES)),
                      "sample_seed": whole(0)},
    "performance_vs_epochs": {**COMMON, "seed": whole(0), "spaces": SPACES, "epoch_ladder": ladder_rule, "n_archs": N_ARCHS,
                              "compare_deviations": flag},
    "top_k": {**COMMON, "spaces": SPACES, "epoch_ladder": ladder_rule, "epochs": epochs_rule, "seeds": seeds_rule(),
              "ks": whole_list(1, what="k"), "proxyless_ks": whole_list(1, what="k"), "n_archs": N_ARCHS,
              "n_perm": whole(1), "regret_at": whole(1), "few_archs": whole(1)},
    "mutual_correlation": {**COMMON, "spaces": SPACES, "epoch_ladder": ladder_rule, "seeds": seeds_rule(),
                           "tricks": tricks_rule, "stored_tricks": flag, "n_archs": N_ARCHS},
    "bias": {**COMMON, "seed": whole(0), "spaces": SPACES, "epochs": epochs_rule, "n_archs": N_ARCHS, "min_archs": whole(1),
             "top_fraction": fraction, "real_top_fractions": fraction_list},
    "pruning": {"profile": profile_rule, "spaces": names(_pruning_spaces, empty_ok=True),
                "unpruned_only": names(_pruning_spaces, empty_ok=True),
                "around_spaces": names(_around_spaces, empty_ok=True), "pruning_factors": pruning_factors_rule,
                "supernet_seeds": seeds_rule(), "epochs": epochs_rule, "methods": methods_rule,
                "pruning_seed": whole(0), "top_k": whole(1), "free_blocks": free_blocks_rule,
                "around_gt_archs": optional(whole(0), "the profile's"), "sample_seed": whole(0),
                "trained_budgets": flag},
    "training_tricks": {**COMMON, "seed": whole(0), "spaces": SPACES,
                        "epochs": optional(whole_list(1, what="epochs"), "the profile's Table 3 budgets"),
                        "settings": settings_rule, "lr_wd_factors": lr_wd_rule, "other_seed": other_seed_rule,
                        "n_archs": N_ARCHS},
    "stability": {**COMMON, "seed": whole(0), "spaces": SPACES, "ladder": ladder_rule, "n_archs": N_ARCHS, "n_perm": whole(1)},
    "groundtruth_pilot": {"profile": profile_rule, "space_names": SPACES, "n_archs": pilot_sizes,
                          "full_sample_spaces": names(SPACE_NAMES, empty_ok=True), "seeds": seeds_rule(2),
                          "candidates": candidates_rule, "workers": workers_rule},
    "free_estimators": {"profile": profile_rule, "spaces": SPACES, "n_boot": whole(1), "n_boot_verdict": whole(1),
                        "full_scale_classes": whole_list(1, what="classes")},
    "weight_sharing_tutorial": {"profile": profile_rule, "epochs": epochs_rule, "seeds": seeds_rule(),
                                "n_archs": optional(sample_size(fixed=(tutorial.SPACE,)), "the profile's"),
                                "bn_calib_steps": optional(whole(0), "the profile's"),
                                "bn_demo_archs": whole(0), "top_k": whole(1),
                                "reference_epochs": optional(whole(1), "the profile's longest rung")},
}


def _tutorial(values: Mapping[str, Any]) -> None:
    """The tutorial's own check (``tutorial.check_parameters``), on the values its first cell
    makes of the parameters' Nones."""
    profile = values["profile"]
    d = tutorial.DEFAULTS[profile]
    n = d.n_archs if values.get("n_archs") is None else values["n_archs"]
    ref = values.get("reference_epochs")
    tutorial.check_parameters(profile, d.epochs if values.get("epochs") is None else values["epochs"],
                              list(values.get("seeds", [0])), n,
                              reference_epochs=tutorial.reference_epochs_of(profile) if ref is None else ref,
                              bn_calib_steps=values.get("bn_calib_steps"), top_k=values.get("top_k", 5),
                              bn_demo_archs=min(values.get("bn_demo_archs", 0), n))


# checks over several parameters that live with the chapter's own code
EXPERIMENT_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {"weight_sharing_tutorial": _tutorial}

# rules that read other parameters run after those (spaces before the sizes drawn from them)
_FIRST = ("profile", "spaces", "space_names", "unpruned_only", "around_spaces", "seed", "n_archs")


def check(experiment: str, values: Mapping[str, Any]) -> None:
    """Raise ``ParameterError`` for the first parameter of ``values`` that ``experiment`` would
    refuse or misread; names without a rule (a notebook's other globals) are ignored."""
    rules = RULES.get(experiment)
    if rules is None:
        raise ParameterError(f"no parameter rules for experiment {experiment!r}")
    present = [k for k in rules if k in values]
    for name in sorted(present, key=lambda k: (_FIRST.index(k) if k in _FIRST else len(_FIRST))):
        rules[name](name, values[name], values)
    if experiment in EXPERIMENT_CHECKS and set(rules) <= set(values):
        try:
            EXPERIMENT_CHECKS[experiment](values)
        except ValueError as e:
            raise ParameterError(str(e)) from None


def spaces_used(experiment: str, values: Mapping[str, Any]) -> list[str]:
    """The spaces whose data a run of ``experiment`` with ``values`` reads (trains on)."""
    chapter = chapters.CHAPTER.get(experiment)  # the registry says which parameters name them
    keys = chapter.data_from if chapter else chapters.DATA_FROM
    fixed = chapter.data_spaces if chapter else ()
    return list(dict.fromkeys([*fixed, *(s for k in keys for s in _spaces_of(values, k))]))


__all__ = ["ParameterError", "RULES", "check", "spaces_used"]
