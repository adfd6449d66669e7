"""DDP: two CPU processes (gloo) train like one process with the same global batch.

Why they agree: the single-process sampler draws the permutation DistributedSampler draws
(seed + epoch), so each global batch of B graphs is the union of the two per-process
batches of B/2; DDP averages the two half-batch mean gradients, which is the full-batch mean
gradient. The model has no batch statistics (no batch norm) and no dropout. What remains is
float32 rounding: a different summation order (two sums of B/2 then an average instead of one
sum of B) changes gradients by ~1e-7 relative, and 6 AdamW steps with lr <= 3e-3 can carry
that to ~1e-7 in the weights. The tolerances below (weights: 1e-5 absolute; metrics: 1e-5
relative) are two orders above that and far below a real difference (one step moves weights
by ~lr = 3e-3; a wrong batch composition changes the metrics in the 3rd digit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from companion.data import load
from companion.graphs.dataset import GraphDataset
from companion.train import CHECKPOINT, PREVIOUS, evaluate, fit, load_checkpoint
from tests.train.test_loop import TARGET, TINY_GRAPH, one_thread, quiet, tiny  # noqa: F401 (fixture)

N_TRAIN, N_VAL = 96, 30  # 96 = 3 global batches of 32: no padding by DistributedSampler
WEIGHT_ATOL = 1e-5
METRIC_RTOL = 1e-5


def _sets():
    ds = load("mp_eform")
    return (GraphDataset(ds, ds.split["train"][:N_TRAIN], TARGET, **TINY_GRAPH),
            GraphDataset(ds, ds.split["val"][:N_VAL], TARGET, **TINY_GRAPH))


def _config(checkpoint_dir: str):
    return quiet(epochs=2, batch_size=32, lr=3e-3, schedule="cosine", warmup_epochs=0.5,
                 checkpoint_dir=checkpoint_dir)


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    """One DDP process: join the group through a file (no port), train, save its result."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    try:
        train, val = _sets()
        model = tiny()
        history = fit(model, train, val, _config(f"{out}/ckpt"))
        torch.save({"state": model.state_dict(), "history": history.to_dict(),
                    "val": evaluate(model, val)}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    # identical on both processes: weights, per-epoch metrics (times included), final scores
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    assert r0["history"] == r1["history"] and r0["val"] == r1["val"]
    # only process 0 wrote checkpoints; they hold both processes' RNG states
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == sorted([CHECKPOINT, CHECKPOINT + ".sha256", PREVIOUS, PREVIOUS + ".sha256"])
    ckpt = load_checkpoint(tmp_path / "ckpt")
    assert ckpt["world_size"] == 2 and len(ckpt["rng"]) == 2 and ckpt["epoch"] == 2

    train, val = _sets()
    single = tiny()
    history = fit(single, train, val, _config(str(tmp_path / "single")))
    diff = max((single.state_dict()[k] - v).abs().max().item() for k, v in r0["state"].items())
    print(f"max |w_ddp - w_single| = {diff:.3g}")
    assert diff < WEIGHT_ATOL
    pairs = zip(r0["history"]["epochs"], history.epochs, strict=True)
    rel = max(abs(a[k] / b[k] - 1) for a, b in pairs for k in ("train_mae", "val_mae"))
    print(f"max relative metric difference = {rel:.3g}")
    for ddp_rec, rec in zip(r0["history"]["epochs"], history.epochs, strict=True):
        for key in ("train_mae", "train_rmse", "val_mae", "val_rmse", "lr"):
            assert ddp_rec[key] == pytest.approx(rec[key], rel=METRIC_RTOL), key
    assert r0["val"]["mae"] == pytest.approx(evaluate(single, val)["mae"], rel=METRIC_RTOL)


@pytest.mark.slow
def test_torchrun_command_line(tmp_path):
    """`torchrun --nproc_per_node 2 -m companion train` (CGCNN, FAST): one set of files.
    (``--standalone`` lets torchrun pick a free port.)"""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "companion", "train", "--model", "cgcnn", "--fast", "--epochs", "1",
           "--batch-size", "32", "--out", str(out), "--quiet", "--config",
           '{"atom_fea_len": 8, "n_conv": 1, "h_fea_len": 8}']
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("test   MAE") == 1  # only process 0 prints
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["n_train"] == 256
    assert (out / "test_predictions.csv").is_file() and (out / CHECKPOINT).is_file()
