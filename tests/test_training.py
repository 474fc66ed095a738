"""Training engine on a toy space: learning, strategies, checkpoints, signals, divergence,
BN-calibrated evaluation, Table 2 recipes and profiles. Fast: a few seconds on one thread."""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from nas_core import data as data_mod
from nas_core import study, training
from nas_core.evaluation import bn_layers, evaluate_architectures
from nas_core.profiles import PROFILES, budget, budget_table, check_profile
from nas_core.sampling import MultiPathSampler
from nas_core.spaces import get_space
from nas_core.spaces.base import Cost, InvalidArchitecture, SearchSpace
from nas_core.spaces.nb201 import Nb201Supernet
from nas_core.training import (SUPERNET_RECIPES, STANDALONE_RECIPES, DivergenceError, Recipe, lr_at,
                               parity_epochs, recipe_table, train_standalone, train_supernet)

torch.set_num_threads(1)
HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------- a toy space
TOY_OPS = ("conv3x3", "conv1x1", "skip")


@dataclass(frozen=True)
class ToyArch:
    ops: tuple

    def __str__(self):
        return "-".join(self.ops)


def _op(name, c):
    if name == "skip":
        return nn.Identity()
    k = 3 if name == "conv3x3" else 1
    return nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c), nn.ReLU())


class ToySupernet(nn.Module):
    def __init__(self, cfg, arch=None):
        super().__init__()
        c, n = cfg.get("C", 8), cfg.get("layers", 3)
        self.nan_op = cfg.get("nan_op")
        self.stem = nn.Sequential(nn.Conv2d(2, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        ops = TOY_OPS if arch is None else None
        self.layers = nn.ModuleList(
            nn.ModuleDict({o: _op(o, c) for o in (ops or (arch.ops[i],))}) for i in range(n))
        self.head = nn.Linear(c, 4)
        self.arch = arch

    def forward(self, x, arch=None):
        arch = arch or self.arch
        x = self.stem(x)
        for layer, o in zip(self.layers, arch.ops):
            x = layer[o](x)
            if o == self.nan_op:
                x = x * float("nan")
        return self.head(x.mean((2, 3)))


class ToySpace(SearchSpace):
    """3 layers x 3 ops; ``invalid`` archs (e.g. all skip) are excluded when asked."""

    name = "toy"

    def __init__(self, layers=3, forbid_all_skip=False):
        self.n, self.forbid = layers, forbid_all_skip

    def validate(self, arch):
        if not isinstance(arch, ToyArch) or len(arch.ops) != self.n or any(o not in TOY_OPS for o in arch.ops):
            raise InvalidArchitecture(f"not a toy arch: {arch!r}")
        if self.forbid and all(o == "skip" for o in arch.ops):
            raise InvalidArchitecture("all-skip is forbidden")

    def enumerate(self):
        for ops in itertools.product(TOY_OPS, repeat=self.n):
            if self.is_valid(ToyArch(ops)):
                yield ToyArch(ops)

    def size(self):
        return sum(1 for _ in self.enumerate())

    def sample(self, rng):
        while True:
            a = ToyArch(tuple(rng.choice(TOY_OPS) for _ in range(self.n)))
            if self.is_valid(a):
                return a

    def decisions(self, arch):
        return {f"layer{i}": o for i, o in enumerate(arch.ops)}

    def decision_choices(self):
        return {f"layer{i}": TOY_OPS for i in range(self.n)}

    def from_decisions(self, d):
        return ToyArch(tuple(d[f"layer{i}"] for i in range(self.n)))

    def config(self, profile):
        return {"dataset": "toy", "augment": False, "C": 8, "layers": self.n}

    def supernet(self, cfg):
        return ToySupernet(cfg)

    def standalone(self, arch, cfg):
        return ToySupernet(cfg, arch)

    def cost(self, arch, cfg):
        return Cost(params=sum(p.numel() for p in self.standalone(arch, cfg).parameters()), flops=0)


def toy_data(n_train=256, n_valid=128, seed=0):
    """4 classes from the signs of the two channel means: learnable by conv + pooling."""
    g = torch.Generator().manual_seed(seed)

    def split(n):
        y = torch.randint(0, 4, (n,), generator=g)
        sign = torch.stack([(y // 2) * 2 - 1, (y % 2) * 2 - 1], 1).float()
        x = torch.randn(n, 2, 8, 8, generator=g) + 0.7 * sign[:, :, None, None]
        return x, y

    (tx, ty), (vx, vy), (sx, sy) = split(n_train), split(n_valid), split(n_valid)
    return SimpleNamespace(train_x=tx, train_y=ty, valid_x=vx, valid_y=vy, test_x=sx, test_y=sy,
                           num_classes=4, in_channels=2)


SPACE = ToySpace()
CFG = SPACE.config("smoke")
CFG_CL = {**CFG, "memory_format": "channels_last"}
RECIPE = Recipe(batch_size=32, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4, grad_clip=5,
                bn_calib_batch_size=64, bn_calib_steps=2)


def params_of(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------------------- training
def test_uniform_training_learns():
    data = toy_data()
    recipe = dataclasses.replace(RECIPE, lr=0.2)
    model, hist = train_supernet(SPACE, CFG, data, recipe, 4, seed=0, progress=False)
    assert list(hist["epoch"]) == [1, 2, 3, 4]
    assert hist["train_loss"].iloc[-1] < hist["train_loss"].iloc[0] - 0.3
    accs = evaluate_architectures(SPACE, model, SPACE.sample_many(4, seed=1), data, bn_calib_steps=2,
                                  bn_calib_batch_size=64, progress=False)
    assert max(accs) > 60  # chance is 25


def test_same_seed_same_weights_and_global_rng_untouched():
    data = toy_data(n_train=64)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    m1, _ = train_supernet(SPACE, CFG, data, RECIPE, 1, seed=3, progress=False)
    assert torch.equal(torch.get_rng_state(), before)
    m2, _ = train_supernet(SPACE, CFG, data, RECIPE, 1, seed=3, progress=False)
    m3, _ = train_supernet(SPACE, CFG, data, RECIPE, 1, seed=4, progress=False)
    p1, p2, p3 = params_of(m1), params_of(m2), params_of(m3)
    assert all(torch.equal(p1[k], p2[k]) for k in p1)
    assert not all(torch.equal(p1[k], p3[k]) for k in p1)


def _manual_step(paths_and_batches, scale, seed, recipe):
    """One SGD step by hand: gradients of every (arch, x, y) summed with ``scale``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = SPACE.supernet(CFG)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr_at(recipe, 0.0), momentum=recipe.momentum,
                          nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)
    opt.zero_grad(set_to_none=True)
    for arch, x, y in paths_and_batches:
        (F.cross_entropy(model(x, arch), y) * scale).backward()
    nn.utils.clip_grad_norm_([p for p in model.parameters()], recipe.grad_clip)
    opt.step()
    return model


def _first_batch(data, seed, bs):
    perm = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))
    idx = perm[:bs]
    return data.train_x[idx], data.train_y[idx]


def test_multipath_sums_gradients_of_k_paths():
    data, seed, k = toy_data(n_train=64), 5, 3
    model, _ = train_supernet(SPACE, CFG, data, RECIPE, 1, strategy="multipath", paths=k, seed=seed,
                              max_steps_per_epoch=1, progress=False)
    archs = MultiPathSampler(SPACE, k).next_paths(random.Random(seed))
    x, y = _first_batch(data, seed, RECIPE.batch_size)
    ref = _manual_step([(a, x, y) for a in archs], 1.0, seed, RECIPE)
    got, want = params_of(model), params_of(ref)
    for name in got:
        assert torch.allclose(got[name], want[name], atol=1e-6), name


def test_parallel_emulation_averages_shards():
    data, seed, k = toy_data(n_train=64), 6, 2
    model, _ = train_supernet(SPACE, CFG, data, RECIPE, 1, strategy="parallel", paths=k, seed=seed,
                              max_steps_per_epoch=1, progress=False)
    rng = random.Random(seed)
    archs = [SPACE.sample(rng) for _ in range(k)]
    x, y = _first_batch(data, seed, RECIPE.batch_size)
    xs, ys = torch.tensor_split(x, k), torch.tensor_split(y, k)
    ref = _manual_step([(a, xs[i], ys[i]) for i, a in enumerate(archs)], 1.0 / k, seed, RECIPE)
    got, want = params_of(model), params_of(ref)
    for name in got:
        if "running" in name or "num_batches" in name:
            continue
        assert torch.allclose(got[name], want[name], atol=1e-6), name


def test_recipe_gpus_means_parallel_shards():
    data = toy_data(n_train=64)
    r4 = dataclasses.replace(RECIPE, gpus=2)
    m1, _ = train_supernet(SPACE, CFG, data, r4, 1, seed=1, max_steps_per_epoch=2, progress=False)
    m2, _ = train_supernet(SPACE, CFG, data, RECIPE, 1, strategy="parallel", paths=2, seed=1,
                           max_steps_per_epoch=2, progress=False)
    p1, p2 = params_of(m1), params_of(m2)
    assert all(torch.equal(p1[k], p2[k]) for k in p1)


def test_fairnas_trains_every_op_each_step_and_fractional_epochs():
    data = toy_data(n_train=128)  # 4 steps per epoch
    model, hist = train_supernet(SPACE, CFG, data, RECIPE, parity_epochs(3, "nb101"), strategy="fairnas",
                                 seed=0, progress=False)
    assert hist["steps"].sum() == 4  # 3/3 = 1 epoch of 4 steps
    model, hist = train_supernet(SPACE, CFG, data, RECIPE, 1.5, strategy="fairnas", seed=0, progress=False)
    assert list(hist["steps"]) == [4, 2]
    # every op of every layer got trained (weights moved from their initial values)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        init = params_of(SPACE.supernet(CFG))
    trained = params_of(model)
    for name in init:
        if name.endswith("0.weight") and "layers" in name:
            assert not torch.equal(init[name], trained[name]), name


def test_parity_epochs():
    assert parity_epochs(2000, "nb201") == 400
    assert parity_epochs(1000, "nb101") == pytest.approx(1000 / 3)


def test_divergence_names_epoch_step_and_arch():
    cfg = {**CFG, "nan_op": "conv1x1"}
    with pytest.raises(DivergenceError, match=r"epoch 1, step \d+, architecture .*conv1x1"):
        train_supernet(SPACE, cfg, toy_data(n_train=64), RECIPE, 1, seed=0, progress=False)


def test_cosine_schedule_ends_at_lr_end():
    r = dataclasses.replace(RECIPE, lr=0.2, lr_end=0.01)
    assert lr_at(r, 0) == pytest.approx(0.2)
    assert lr_at(r, 0.5) == pytest.approx(0.105)
    assert lr_at(r, 1) == pytest.approx(0.01)
    assert lr_at(dataclasses.replace(r, schedule="fixed"), 0.7) == 0.2


def test_standalone_training_reports_metrics():
    arch = ToyArch(("conv3x3", "skip", "conv1x1"))
    out = train_standalone(SPACE, arch, CFG, toy_data(), RECIPE, 3, seed=0)
    assert set(out) >= {"valid", "test", "train_loss", "wall_s", "params", "flops"}
    assert out["valid"] > 50 and out["test"] > 50
    assert out["params"] == SPACE.cost(arch, CFG).params


# ---------------------------------------------------------------------------- checkpoints
CHILD = textwrap.dedent("""
    import os, signal, sys
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, {here!r})
    from test_training import SPACE, CFG, CFG_CL, RECIPE, toy_data, ToySupernet, ToyLM, ToyLMSpace, lm_data, LM_RECIPE
    from nas_core.training import train_supernet

    out, kill_at, sig, strategy, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    net = ToyLM if kind == "lm" else ToySupernet
    calls = [0]
    forward = net.forward

    def counting(self, *args, **kw):
        calls[0] += 1
        if calls[0] == kill_at:  # mid-run, mid-epoch
            os.kill(os.getpid(), getattr(signal, sig))
        return forward(self, *args, **kw)

    net.forward = counting
    if kind == "lm":
        args = (ToyLMSpace(), {{}}, lm_data(), LM_RECIPE, 3)
    else:
        args = (SPACE, CFG_CL if kind == "image_cl" else CFG, toy_data(n_train=128), RECIPE, 3)
    model, hist = train_supernet(*args, strategy=strategy, seed=11, checkpoint_path=out, progress=False)
    torch.save({{"model": model.state_dict(), "loss": list(hist["train_loss"])}}, out + ".out")
""")


def _child(tmp_path, ckpt, kill_at, sig="SIGKILL", strategy="uniform", kind="image"):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(here=str(HERE)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(script), str(ckpt), str(kill_at), sig, strategy, kind],
                          env=env, capture_output=True, text=True, timeout=120)


def _same_outputs(a, b):
    a, b = torch.load(str(a) + ".out", weights_only=True), torch.load(str(b) + ".out", weights_only=True)
    assert a["loss"] == b["loss"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


@pytest.mark.parametrize("sig,strategy,kind", [("SIGKILL", "uniform", "image"), ("SIGTERM", "fairnas", "image"),
                                               ("SIGKILL", "uniform", "image_cl")])
def test_killed_run_resumes_bit_identical(tmp_path, sig, strategy, kind):
    ref = _child(tmp_path, tmp_path / "ref.pt", 0, strategy=strategy, kind=kind)
    assert ref.returncode == 0, ref.stderr
    ckpt = tmp_path / "run.pt"
    per_step = 3 if strategy == "fairnas" else 1
    killed = _child(tmp_path, ckpt, (4 + 2) * per_step, sig=sig, strategy=strategy, kind=kind)  # epoch 2, step 2 of 4
    if sig == "SIGKILL":
        assert killed.returncode == -signal.SIGKILL
        assert torch.load(ckpt, weights_only=True)["epoch"] == 1  # last end-of-epoch save
    else:  # saved after the current step and exited cleanly
        assert killed.returncode == 143, killed.stderr
        st = torch.load(ckpt, weights_only=True)
        assert (st["epoch"], st["step"]) == (1, 2)
    resumed = _child(tmp_path, ckpt, 0, strategy=strategy, kind=kind)
    assert resumed.returncode == 0, resumed.stderr
    _same_outputs(tmp_path / "ref.pt", ckpt)


def test_language_model_sigterm_resumes_bit_identical(tmp_path):
    ref = _child(tmp_path, tmp_path / "ref.pt", 0, kind="lm")
    assert ref.returncode == 0, ref.stderr
    ckpt = tmp_path / "run.pt"
    killed = _child(tmp_path, ckpt, 45, sig="SIGTERM", kind="lm")  # epoch 2, mid-epoch (hidden state carried)
    assert killed.returncode == 143, killed.stderr
    st = torch.load(ckpt, weights_only=True)
    assert st["epoch"] == 1 and st["step"] > 0 and st["lm_hidden"] is not None
    resumed = _child(tmp_path, ckpt, 0, kind="lm")
    assert resumed.returncode == 0, resumed.stderr
    _same_outputs(tmp_path / "ref.pt", ckpt)


def test_checkpoint_of_another_run_is_refused(tmp_path):
    ckpt = tmp_path / "c.pt"
    data = toy_data(n_train=64)
    train_supernet(SPACE, CFG, data, RECIPE, 1, seed=0, checkpoint_path=ckpt, progress=False)
    # finished: loading returns without training
    _, hist = train_supernet(SPACE, CFG, data, RECIPE, 1, seed=0, checkpoint_path=ckpt, progress=False)
    assert len(hist) == 1
    with pytest.raises(ValueError, match="another run"):
        train_supernet(SPACE, CFG, data, RECIPE, 1, seed=1, checkpoint_path=ckpt, progress=False)


# ---------------------------------------------------------------------------- evaluation
def test_evaluation_is_deterministic_and_restores_bn():
    data = toy_data()
    model, _ = train_supernet(SPACE, CFG, data, RECIPE, 2, seed=0, progress=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    moms = [m.momentum for m in bn_layers(model)]
    archs = SPACE.sample_many(5, seed=2)
    kw = dict(bn_calib_steps=3, bn_calib_batch_size=50, progress=False)
    s1 = evaluate_architectures(SPACE, model, archs, data, **kw)
    s2 = evaluate_architectures(SPACE, model, list(reversed(archs)), data, **kw)
    assert s1 == list(reversed(s2))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [m.momentum for m in bn_layers(model)] == moms
    assert model.training
    # calibration matters: without it the scores use the training statistics
    s0 = evaluate_architectures(SPACE, model, archs, data, bn_calib_steps=0, bn_calib_batch_size=0, progress=False)
    assert len(s0) == 5


# ---------------------------------------------------------------------------- language models
class ToyLM(nn.Module):
    """Embedding -> one tanh/relu recurrent layer chosen by the arch -> decoder."""

    def __init__(self, vocab=20, nhid=16, arch=None):
        super().__init__()
        self.emb, self.cell, self.dec = nn.Embedding(vocab, nhid), nn.RNNCell(nhid, nhid), nn.Linear(nhid, vocab)
        self.nhid, self.arch = nhid, arch
        self.drop = nn.Dropout(0.1)

    def forward(self, tokens, hidden, arch=None, return_h=False):
        act = (arch or self.arch).ops[0]
        h, outs = hidden[0], []
        for t in range(tokens.size(0)):
            h = self.cell(self.drop(self.emb(tokens[t])), h)
            h = torch.relu(h) if act == "conv1x1" else h
            outs.append(h)
        out = torch.stack(outs)
        logp = F.log_softmax(self.dec(out), -1)
        return (logp, h[None], out, out) if return_h else (logp, h[None])

    def init_hidden(self, bsz):
        return torch.zeros(1, bsz, self.nhid)


class ToyLMSpace(ToySpace):
    name = "toy_lm"
    task = "language_model"
    metric = "perplexity"
    higher_is_better = False

    def __init__(self):
        super().__init__(layers=1)

    def supernet(self, cfg):
        return ToyLM()

    def standalone(self, arch, cfg):
        return ToyLM(arch=arch)


def lm_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    # a repetitive stream: predictable, so perplexity falls
    base = torch.randint(0, 20, (13,), generator=g)
    stream = base.repeat(200)
    return SimpleNamespace(train=stream[:1600], valid=stream[1600:2100], test=stream[2100:], vocab_size=20)


LM_RECIPE = Recipe(batch_size=8, lr=2.0, lr_end=2.0, schedule="fixed", optimizer="sgd_asgd", momentum=0,
                   weight_decay=1e-6, grad_clip=0.25, bptt=10, variable_bptt=True, nonmono=1, eval_batch_size=4,
                   test_batch_size=2, tar_beta=1e-3)


def test_language_model_supernet_and_asgd_switch(monkeypatch):
    space, data = ToyLMSpace(), lm_data()
    model, hist = train_supernet(space, {}, data, LM_RECIPE, 2, seed=0, progress=False)
    assert hist["valid_ppl"].iloc[-1] < 20  # far below the vocabulary size
    # DARTS's rule: switch once the validation loss is worse than the best of all but the last `nonmono`
    ppl = iter([10.0, 9.0, 11.0, 12.0, 13.0])
    monkeypatch.setattr(training._Trainer, "_lm_validate", lambda self, epoch: next(ppl))
    model, hist = train_supernet(space, {}, data, LM_RECIPE, 5, seed=0, max_steps_per_epoch=2, progress=False)
    assert list(hist["optimizer"]) == ["sgd", "sgd", "sgd", "asgd", "asgd"]


def test_language_model_standalone():
    space = ToyLMSpace()
    arch = ToyArch(("conv3x3",))
    out = train_standalone(space, arch, {}, lm_data(), dataclasses.replace(LM_RECIPE, nonmono=5), 2, seed=0)
    assert 1 < out["valid"] < 20 and 1 < out["test"] < 20


# ---------------------------------------------------------------------------- recipes, profiles
def test_supernet_recipes_are_table2():
    # batch, lr, decay, end lr, momentum, nesterov, wd, clip, aux, ls, cutout, drop path, bn bs, bn steps, gpus
    want = {
        "nb101": (256, 0.1, "cosine", 0, 0.9, False, 1e-4, 5, 0, 0, 0, 0, 400, 25, 1),
        "nb201": (256, 0.05, "cosine", 0, 0.9, True, 5e-4, 5, 0, 0, 0, 0, 400, 25, 1),
        "darts_cnn": (448, 0.1, "cosine", 0, 0.9, False, 3e-4, 5, 0.4, 0, 16, 0.2, 200, 100, 4),
        "proxyless": (1024, 0.2, "cosine", 0, 0.9, False, 5e-4, 0, 0, 0.1, 0, 0, 400, 25, 8),
        "darts_rnn": (256, 40, "fixed", 40, 0, False, 8e-7, 0.1, 0, 0, 0, 0, 0, 0, 1),
    }
    fields = ("batch_size", "lr", "schedule", "lr_end", "momentum", "nesterov", "weight_decay", "grad_clip",
              "aux_weight", "label_smoothing", "cutout", "drop_path", "bn_calib_batch_size", "bn_calib_steps", "gpus")
    for space, values in want.items():
        r = SUPERNET_RECIPES[space]
        assert tuple(getattr(r, f) for f in fields) == values, space
    assert SUPERNET_RECIPES["darts_rnn"].optimizer == "sgd_asgd"
    assert all(SUPERNET_RECIPES[s].optimizer == "sgd" for s in want if s != "darts_rnn")
    t = recipe_table()
    assert list(t.columns) == ["NB-101", "NB-201", "DARTS-C", "Proxyless", "DARTS-P"]
    assert t.loc["Batch size", "DARTS-C"] == "448*" and t.loc["Batch size", "Proxyless"] == "1024*"
    assert t.loc["Weight decay", "DARTS-P"] == "8e-07" and t.loc["Cutout", "DARTS-P"] == "-"
    assert t.loc["Optimizer", "DARTS-P"] == "SGD/ASGD" and t.loc["Nesterov", "NB-201"] == "yes"


def test_standalone_recipes():
    assert STANDALONE_RECIPES["nb201"].epochs == 200 and STANDALONE_RECIPES["nb201"].nesterov
    assert STANDALONE_RECIPES["nb101"].optimizer == "rmsprop" and STANDALONE_RECIPES["nb101"].epochs == 108
    assert STANDALONE_RECIPES["darts_cnn"].batch_size == 96 and STANDALONE_RECIPES["darts_cnn"].epochs == 600
    assert STANDALONE_RECIPES["darts_rnn"].lr == 20 and STANDALONE_RECIPES["darts_rnn"].grad_clip == 0.25


def test_profiles_change_budgets_not_recipe_kinds():
    assert check_profile("cpu") == "cpu"
    with pytest.raises(ValueError, match="smoke, cpu, paper"):
        check_profile("gpu")
    for space in SUPERNET_RECIPES:
        for profile in PROFILES:
            b = budget(space, profile)
            r = training.recipe_for(space, profile)
            base = SUPERNET_RECIPES[space]
            for f in ("lr", "optimizer", "schedule", "momentum", "nesterov", "weight_decay", "grad_clip"):
                assert getattr(r, f) == getattr(base, f)
            assert b.n_gt_archs <= b.n_eval_archs
    assert budget("nb201", "paper").ladder[-1] == 4000 and budget("nb101", "paper").ladder[-1] == 16000
    t = budget_table()
    assert len(t) == 15 and {"space", "profile", "ladder (epochs)"} <= set(t.columns)
    with pytest.raises(ValueError, match="budget fields"):
        dataclasses.replace(budget("nb201", "cpu"), recipe_overrides={"lr": 1.0})


def test_tf_rmsprop_matches_tensorflow_formula():
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = training.TFRMSprop([p], lr=0.1, decay=0.9, momentum=0.9, eps=1.0, weight_decay=0.0)
    p.grad = torch.tensor([0.5, 1.0])
    opt.step()
    ms = 0.9 * 1 + 0.1 * torch.tensor([0.25, 1.0])
    assert torch.allclose(p.detach(), torch.tensor([1.0, -2.0]) - 0.1 * torch.tensor([0.5, 1.0]) / (ms + 1).sqrt())


def test_bf16_autocast_and_bad_arguments():
    data = toy_data(n_train=64)
    _, hist = train_supernet(SPACE, CFG, data, RECIPE, 1, seed=0, amp=True, progress=False)
    assert math.isfinite(hist["train_loss"].iloc[0])
    with pytest.raises(ValueError, match="unknown strategy"):
        train_supernet(SPACE, CFG, data, RECIPE, 1, strategy="spos", progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train_supernet(SPACE, CFG, data, RECIPE, -1, progress=False)


# ---------------------------------------------------------------------------- channels-last memory format
def _is_channels_last(model):
    convs = [p for p in model.parameters() if p.dim() == 4]
    return bool(convs) and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)


def test_channels_last_trains_and_scores_deterministically():
    data, archs = toy_data(), SPACE.sample_many(5, seed=2)
    kw = dict(bn_calib_steps=2, bn_calib_batch_size=50, progress=False, channels_last=True)
    runs = []
    for _ in range(2):
        model, hist = train_supernet(SPACE, CFG_CL, data, RECIPE, 2, seed=3, progress=False)
        assert _is_channels_last(model)
        runs.append((params_of(model), list(hist["train_loss"]), evaluate_architectures(SPACE, model, archs, data, **kw)))
    (w1, l1, s1), (w2, l2, s2) = runs
    assert l1 == l2 and s1 == s2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    # scoring converts a supernet that comes in the default layout (one restored from a checkpoint)
    fresh = SPACE.supernet(CFG)
    fresh.load_state_dict(w1)
    assert evaluate_architectures(SPACE, fresh, archs, data, **kw) == s1 and _is_channels_last(fresh)


def test_channels_last_is_refused_for_language_models_stand_alone_and_other_values():
    lm = ToyLMSpace()
    with pytest.raises(ValueError, match="darts_rnn is a language model"):
        study.supernet_result_name("darts_rnn", "smoke", 1, cfg_overrides={"memory_format": "channels_last"})
    with pytest.raises(ValueError, match="is for image spaces"):
        train_supernet(lm, {"memory_format": "channels_last"}, lm_data(), LM_RECIPE, 1, progress=False)
    with pytest.raises(ValueError, match="is for image spaces"):
        evaluate_architectures(lm, ToyLM(), [ToyArch(("conv3x3",))], lm_data(), bn_calib_steps=0,
                               bn_calib_batch_size=0, progress=False, channels_last=True)
    with pytest.raises(ValueError, match="stand-alone training keeps the default layout"):
        train_standalone(SPACE, ToyArch(("conv3x3", "skip", "conv1x1")), CFG_CL, toy_data(), RECIPE, 1)
    with pytest.raises(ValueError, match="'channels_last' or left out"):
        train_supernet(SPACE, {**CFG, "memory_format": None}, toy_data(), RECIPE, 1, progress=False)


def test_channels_last_sigterm_resumes_bit_identical_on_nb201_smoke(tmp_path, monkeypatch):
    """The real space at the smoke profile (4 steps an epoch): SIGTERM in epoch 2, step 2, in this
    process; the rerun resumes in the channels-last layout and ends as the uninterrupted run."""
    space = get_space("nb201")
    cfg = study.supernet_config("nb201", "smoke", {"memory_format": "channels_last"})
    data, recipe = data_mod.load(cfg), training.recipe_for("nb201", "smoke")
    kw = dict(seed=5, progress=False, max_steps_per_epoch=budget("nb201", "smoke").max_steps_per_epoch)
    ref, ref_hist = train_supernet(space, cfg, data, recipe, 2, checkpoint_path=tmp_path / "ref.pt", **kw)
    forward, calls = Nb201Supernet.forward, [0]

    def sigterm_at_sixth_step(self, *args):
        calls[0] += 1
        if calls[0] == 6:
            os.kill(os.getpid(), signal.SIGTERM)
        return forward(self, *args)

    ckpt = tmp_path / "run.pt"
    with monkeypatch.context() as m, pytest.raises(training.TrainingInterrupted):
        m.setattr(Nb201Supernet, "forward", sigterm_at_sixth_step)
        train_supernet(space, cfg, data, recipe, 2, checkpoint_path=ckpt, **kw)
    st = torch.load(ckpt, weights_only=True)
    assert (st["epoch"], st["step"]) == (1, 2)
    model, hist = train_supernet(space, cfg, data, recipe, 2, checkpoint_path=ckpt, **kw)
    assert _is_channels_last(model)
    assert list(hist["train_loss"]) == list(ref_hist["train_loss"])
    want = params_of(ref)
    assert all(torch.equal(v, want[k]) for k, v in params_of(model).items())
    # a default-layout run refuses this checkpoint (its config differs)
    with pytest.raises(ValueError, match="another run"):
        train_supernet(space, study.supernet_config("nb201", "smoke"), data, recipe, 2, checkpoint_path=ckpt, **kw)
