"""Multi-path parallel strategy over torch.distributed (gloo, 2 CPU processes) equals its
single-process emulation: same architectures per step, same shards, averaged gradients."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_training import CFG, RECIPE, SPACE, toy_data  # noqa: E402

from nas_core.training import train_supernet, train_supernet_distributed  # noqa: E402

EPOCHS, SEED, N_TRAIN = 2, 3, 128


def _worker(rank, world, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        model, hist = train_supernet_distributed(SPACE, CFG, toy_data(n_train=N_TRAIN), RECIPE, EPOCHS, seed=SEED,
                                                 checkpoint_path=f"{out_dir}/ckpt.pt", progress=False)
        torch.save({"model": model.state_dict(), "loss": list(hist["train_loss"])}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")
def test_two_ranks_equal_single_process_emulation(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert (tmp_path / "ckpt.pt").exists()  # rank 0 checkpoints
    model, hist = train_supernet(SPACE, CFG, toy_data(n_train=N_TRAIN), RECIPE, EPOCHS, strategy="parallel", paths=2,
                                 seed=SEED, progress=False)
    emulated = model.state_dict()
    for name, p in model.named_parameters():
        assert torch.equal(r0["model"][name], r1["model"][name]), f"ranks disagree on {name}"
        assert torch.allclose(r0["model"][name], emulated[name], atol=1e-5), name
    # training loss summed over both shards matches the emulation's
    assert r0["loss"] == pytest.approx(list(hist["train_loss"]), rel=1e-5)


def test_distributed_entry_needs_a_process_group():
    with pytest.raises(RuntimeError, match="not initialised"):
        train_supernet_distributed(SPACE, CFG, toy_data(n_train=32), RECIPE, 1)
