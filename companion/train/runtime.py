"""Where and how a run executes: devices, seeds and random states, data loaders, mixed
precision, and the few distributed (DDP) collectives the engine uses.

Every function works the same without a process group (one process: the collectives are
identities), so the rest of :mod:`companion.train` never asks whether it runs under DDP.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, Sampler

__all__ = ["EpochSampler", "all_gather", "all_reduce_sum", "autocast", "barrier", "broadcast",
           "deterministic_algorithms", "dist_info", "fast_mode", "gather_ordered",
           "init_distributed", "make_loader", "model_device", "resolve_device", "rng_state",
           "seed_everything", "seed_worker", "set_rng_state", "train_sampler"]


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of this process (``(0, 1)`` without a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: str = "auto") -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes (``WORLD_SIZE`` > 1): NCCL on
    CUDA, gloo on CPU. Returns ``(rank, world_size)``; a no-op for a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        cuda = device in ("auto", "cuda") and torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist_info()


def fast_mode() -> bool:
    """True when ``COMPANION_FAST`` is set to something other than ``0``/empty."""
    return os.environ.get("COMPANION_FAST", "0") not in ("", "0")


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.

    Under DDP on CUDA each process takes ``cuda:LOCAL_RANK``.

    Raises:
        ValueError: the requested accelerator is not available.
    """
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if name == "cuda" and not cuda:
        raise ValueError("device 'cuda' requested but torch.cuda.is_available() is False "
                         f"(torch {torch.__version__}); use --device cpu or a CUDA build.")
    if name == "mps" and not mps:
        raise ValueError("device 'mps' requested but the MPS backend is not available.")
    if name == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(name)


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without any)."""
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; a no-op context otherwise."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


@contextmanager
def deterministic_algorithms(enabled: bool):
    """``torch.use_deterministic_algorithms(enabled, warn_only=True)`` inside the block, the
    previous setting after it."""
    before = (torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


# ------------------------------------------------------------------- seeds and states

def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: numpy and Python seeds from the worker's torch seed
    (``base_seed + worker_id``, the base drawn from the loader's generator)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def rng_state(loader_generator: torch.Generator | None = None) -> dict[str, Any]:
    """All random states as plain types (``weights_only``-loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, words, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": keys.tolist(), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "words": list(words), "gauss": py_gauss},
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if loader_generator is not None:
        state["loader"] = loader_generator.get_state()
    return state


def set_rng_state(state: Mapping[str, Any],
                  loader_generator: torch.Generator | None = None) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], np.asarray(n["keys"], dtype=np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["words"]), p["gauss"]))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if loader_generator is not None and "loader" in state:
        loader_generator.set_state(state["loader"])


# ---------------------------------------------------------------------- data loading

class EpochSampler(Sampler[int]):
    """Shuffled order from ``seed + epoch``: the permutation DistributedSampler uses, so a
    batch of ``B`` graphs here holds the same graphs as the ``K`` per-process batches of
    ``B / K`` under DDP, and a resumed run sees the same order as an uninterrupted one."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def make_loader(dataset: Dataset, batch_size: int, sampler: Sampler | None = None,
                generator: torch.Generator | None = None, num_workers: int = 0):
    """A PyG DataLoader that never draws from the global torch RNG (own generator)."""
    from torch_geometric.loader import DataLoader

    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False,
                      num_workers=num_workers, worker_init_fn=seed_worker,
                      generator=generator if generator is not None else torch.Generator())


def train_sampler(n: int, seed: int) -> Sampler:
    """DistributedSampler under DDP (shuffled, ``seed``), else :class:`EpochSampler`."""
    rank, world = dist_info()
    if world > 1:
        from torch.utils.data.distributed import DistributedSampler

        return DistributedSampler(range(n), world, rank, shuffle=True, seed=seed)
    return EpochSampler(n, seed)


# ----------------------------------------------------------------------- collectives

def broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process (identity without DDP)."""
    if dist_info()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    """Wait for every process (no-op without DDP)."""
    if dist_info()[1] > 1:
        dist.barrier()


def all_gather(obj: Any) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` on every process (``[obj]`` without DDP)."""
    world = dist_info()[1]
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(v: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Sum of a CPU tensor over all processes (NCCL needs it on ``device``); identity
    without DDP."""
    if dist_info()[1] == 1:
        return v
    v = v.to(device)
    dist.all_reduce(v)
    return v.cpu()


def gather_ordered(positions: np.ndarray, pred: np.ndarray, y: np.ndarray | None,
                   n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Reassemble per-process predictions (process ``r`` had ``positions``) in dataset
    order on every process."""
    full_pred, full_y = np.zeros(n), np.zeros(n)
    for pos, p, t in all_gather((positions, pred, y)):
        full_pred[pos] = p
        if t is not None:
            full_y[pos] = t
    return full_pred, (full_y if y is not None else None)
