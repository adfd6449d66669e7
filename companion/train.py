"""The one training loop for every model of the course.

A model is any ``nn.Module`` whose ``forward(batch)`` returns one number per graph
([n_graphs], in units of the *normalized* target); data are torch datasets of graphs that
carry ``y`` ([1] per graph, in the target's units), e.g.
:class:`companion.graphs.dataset.GraphDataset`.

- :class:`TrainConfig`: every choice of a run (optimizer, schedule, loss, early stopping,
  seed, device, mixed precision, checkpoints).
- :func:`fit`: train, validate each epoch, keep the best weights, write a checkpoint each
  epoch, resume an interrupted run to the same weights (bitwise on CPU). Runs under
  ``torchrun`` with PyTorch DDP when a process group is initialized.
- :func:`evaluate` -> ``{"mae", "rmse", "r2"}`` and :func:`predict` -> predictions, both in
  the target's units.
- :func:`train_model`: what ``python -m companion train`` does (data -> graphs -> model ->
  fit -> metrics.json, checkpoint.pt, test_predictions.csv).
- :func:`load_for_inference` -> :class:`Predictor` (``python -m companion predict``).

Target normalization: the model learns :math:`(y - \\mu) / \\sigma` with :math:`\\mu,
\\sigma` from the training split only; the :class:`Normalizer` travels with the model
(``model.target_normalizer``, and CGCNN's ``target_mean``/``target_std`` buffers) and with
every checkpoint.

Potential mode (``TrainConfig(task="potential")``, or ``"auto"`` with graphs that carry
``forces``): energies and forces of an interatomic potential, with per-element reference
energies instead of the :class:`Normalizer`; see :mod:`companion.train_potential`.

Checkpoint layout (``torch.load(path, weights_only=True)`` reads it: tensors, numbers,
strings, lists and dicts only): see :func:`save_checkpoint`.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as fn
from torch import nn
from torch.utils.data import Dataset, Sampler, Subset

from companion import train_potential as _potential
from companion.errors import CompanionError

__all__ = [
    "CheckpointError",
    "History",
    "Normalizer",
    "Predictor",
    "TrainConfig",
    "evaluate",
    "fit",
    "load_checkpoint",
    "load_for_inference",
    "predict",
    "save_checkpoint",
    "train_model",
]

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "invsqrt", "none")
LOSSES = ("l1", "mse", "huber")
DEVICES = ("auto", "cpu", "cuda", "mps")
TASKS = ("auto", "scalar", "potential")
ATOMIC_ENERGIES = ("auto", "isolated", "fit", "none")
CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"
FORMAT = "companion.train/1"
ONECYCLE_DIV = 25.0
"""One-cycle schedule: the learning rate starts at ``lr / 25`` (torch's ``div_factor``)..."""
ONECYCLE_FINAL_DIV = 1e4
"""...and ends at ``lr / 25 / 1e4`` (torch's ``final_div_factor``)."""
ONECYCLE_WARMUP = 0.3
"""Fraction of the steps spent rising when ``warmup_epochs`` is 0 (torch's ``pct_start``)."""
FAST_SIZES = {"train": 256, "val": 64, "test": 64}
"""Records per split in FAST mode (``--fast`` or ``COMPANION_FAST=1``): the first of each."""
RESUME_FREE = ("resume", "checkpoint_dir", "num_workers", "progress", "device", "deterministic")
"""TrainConfig fields that may differ between a run and the checkpoint it resumes."""


class CheckpointError(CompanionError, ValueError):
    """A checkpoint that is missing, corrupt, or from another model, config or split."""


# ----------------------------------------------------------------------------- config

@dataclass
class TrainConfig:
    """Every choice of a training run.

    Attributes:
        epochs: passes over the training set.
        batch_size: graphs per optimizer step, over all DDP processes together (each of
            ``K`` processes takes ``batch_size / K``).
        lr: peak learning rate.
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay.
        optimizer: ``"adamw"`` or ``"sgd"`` (with ``momentum``).
        momentum: SGD momentum.
        schedule: per-step learning-rate schedule: ``"onecycle"`` (cosine up from lr/25 over
            ``warmup_epochs``, or 30 % of the steps, then cosine down to lr/2.5e5),
            ``"cosine"`` (linear warmup, cosine to 0), ``"invsqrt"`` (linear warmup, then
            ``lr sqrt(T / (T + s))`` with ``T`` = max(warmup, one epoch) steps), ``"none"``
            (linear warmup, constant).
        warmup_epochs: warmup length in epochs (may be fractional).
        grad_clip: maximum gradient norm; 0 turns clipping off.
        loss: ``"l1"``, ``"mse"`` or ``"huber"`` (``huber_delta``), on normalized targets.
        huber_delta: Huber threshold, in units of the target's standard deviation.
        patience: stop after this many epochs without a lower validation MAE; 0 = never.
        normalize_targets: learn ``(y - mean) / std`` (training split statistics).
        restore_best: end with the weights of the epoch with the lowest validation MAE.
        seed: seeds torch, numpy, Python and the data order.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
        deterministic: ``torch.use_deterministic_algorithms`` during the run (restored
            after). None: on for CPU, off on accelerators (speed). Needed for bitwise
            reproducible CPU runs: the backward of ``x[index]`` (index_put with accumulate)
            otherwise adds in an order that depends on thread timing when cores are busy.
        amp: bf16 autocast on CUDA (ignored elsewhere).
        num_workers: DataLoader worker processes.
        checkpoint_dir: folder for ``checkpoint.pt`` (and ``checkpoint.prev.pt``); None:
            no checkpoints.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one.
        progress: show tqdm progress bars.
        task: ``"scalar"`` (one number per graph, ``y``), ``"potential"`` (energy + forces,
            :mod:`companion.train_potential`) or ``"auto"`` (potential if the graphs carry
            ``forces``).
        energy_weight: potential mode: weight of the energy term of the loss.
        force_weight: potential mode: weight of the force term (0: energies only).
        per_atom_energy: potential mode: the energy term compares energies per atom.
        atomic_energies: potential mode: per-element reference energies, ``"isolated"``
            (the data set's isolated atoms), ``"fit"`` (least squares on the training set),
            ``"none"``, or ``"auto"`` (isolated if available, else fit).
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    momentum: float = 0.9
    schedule: str = "onecycle"
    warmup_epochs: float = 0.0
    grad_clip: float = 0.0
    loss: str = "l1"
    huber_delta: float = 1.0
    patience: int = 0
    normalize_targets: bool = True
    restore_best: bool = True
    seed: int = 0
    device: str = "auto"
    deterministic: bool | None = None
    amp: bool = False
    num_workers: int = 0
    checkpoint_dir: str | None = None
    resume: bool = False
    progress: bool = True
    task: str = "auto"
    energy_weight: float = 1.0
    force_weight: float = 10.0
    per_atom_energy: bool = True
    atomic_energies: str = "auto"

    def __post_init__(self) -> None:
        for name, allowed in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                              ("loss", LOSSES), ("device", DEVICES), ("task", TASKS),
                              ("atomic_energies", ATOMIC_ENERGIES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name}={getattr(self, name)!r}; choose one of "
                                 f"{', '.join(allowed)}.")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"need epochs >= 1, batch_size >= 1, lr > 0; got {self.epochs}, "
                             f"{self.batch_size}, {self.lr}.")
        if self.checkpoint_dir is not None:
            self.checkpoint_dir = str(self.checkpoint_dir)
        elif self.resume:
            raise ValueError("TrainConfig.resume needs checkpoint_dir (the folder to resume).")
        if self.energy_weight < 0 or self.force_weight < 0 or \
                self.energy_weight + self.force_weight <= 0:
            raise ValueError(f"need energy_weight, force_weight >= 0, not both 0; got "
                             f"{self.energy_weight}, {self.force_weight}.")


# ------------------------------------------------------------------------ normalizer

@dataclass(frozen=True)
class Normalizer:
    """Target normalization: the model predicts ``(y - mean) / std``.

    Attributes:
        mean: mean of the training targets, target units.
        std: standard deviation of the training targets, target units.
    """

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def from_targets(cls, y: np.ndarray | torch.Tensor) -> Normalizer:
        """Mean and standard deviation (1 if the targets are constant) of ``y``."""
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        std = float(y.std())
        return cls(float(y.mean()), std if std > 0 else 1.0)

    def norm(self, y: torch.Tensor) -> torch.Tensor:
        """Target units -> normalized."""
        return (y - self.mean) / self.std

    def denorm(self, y: torch.Tensor) -> torch.Tensor:
        """Normalized -> target units."""
        return y * self.std + self.mean

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}


def set_normalizer(model: nn.Module, normalizer: Normalizer) -> None:
    """Attach ``normalizer`` to ``model`` (``model.target_normalizer``; also fills the
    ``target_mean``/``target_std`` buffers of models that have them, e.g. CGCNN)."""
    model.target_normalizer = normalizer
    for name, value in (("target_mean", normalizer.mean), ("target_std", normalizer.std)):
        buffer = getattr(model, name, None)
        if isinstance(buffer, torch.Tensor):
            with torch.no_grad():
                buffer.fill_(value)


def get_normalizer(model: nn.Module) -> Normalizer:
    """The model's :class:`Normalizer` (identity if it has none)."""
    norm = getattr(model, "target_normalizer", None)
    if isinstance(norm, Normalizer):
        return norm
    mean, std = getattr(model, "target_mean", None), getattr(model, "target_std", None)
    if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
        return Normalizer(float(mean), float(std))
    return Normalizer()


# -------------------------------------------------------------------------- history

@dataclass
class History:
    """Per-epoch records of a run.

    Each record: ``epoch``; ``train_mae``, ``train_rmse``, ``train_r2`` (over the epoch's
    training forward passes, train mode); ``val_mae``, ``val_rmse``, ``val_r2`` (eval mode
    after the epoch); ``lr`` (of the epoch's last step); ``time_s`` (wall time). Errors are in
    the target's units. ``history["val_mae"]`` gives one column. Potential mode records
    ``{train,val}_{energy,force}_{mae,rmse}`` (meV/atom, meV/Å), ``train_loss``, and
    ``train_mae``/``val_mae`` = the force MAE (:mod:`companion.train_potential`).
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_mae: float = math.inf
    stopped_early: bool = False

    def __getitem__(self, key: str) -> list[float]:
        return [r[key] for r in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls([dict(r) for r in d["epochs"]], int(d["best_epoch"]),
                   float(d["best_val_mae"]), bool(d["stopped_early"]))


# ----------------------------------------------------------------- devices and seeds

def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of this process (``(0, 1)`` without a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _seed_worker(worker_id: int) -> None:
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


# ------------------------------------------------------- optimizers, schedules, losses

def make_optimizer(params: Iterable[nn.Parameter], config: TrainConfig
                   ) -> torch.optim.Optimizer:
    """AdamW or SGD (with momentum) as the config says."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def lr_factor(step: int, total: int, warmup: int, schedule: str,
              steps_per_epoch: int = 1) -> float:
    """Learning rate of optimizer step ``step`` (0-based) as a fraction of the peak.

    Args:
        step: optimizer step.
        total: steps of the whole run.
        warmup: warmup steps.
        schedule: one of :data:`SCHEDULES` (see :class:`TrainConfig`).
        steps_per_epoch: steps per epoch (the time scale of ``"invsqrt"``).
    """
    if schedule == "onecycle":
        up = warmup if warmup > 0 else max(1, int(ONECYCLE_WARMUP * total))
        start, end = 1 / ONECYCLE_DIV, 1 / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV)
        if step < up:
            return start + (1 - start) * (1 - math.cos(math.pi * step / up)) / 2
        t = min(1.0, (step - up) / max(1, total - up))
        return end + (1 - end) * (1 + math.cos(math.pi * t)) / 2
    if step < warmup:
        return (step + 1) / warmup
    s = step - warmup
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, total - warmup))))
    if schedule == "invsqrt":
        scale = max(warmup, steps_per_epoch, 1)
        return math.sqrt(scale / (scale + s))
    return 1.0


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` of :func:`lr_factor` (its state is plain numbers)."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        return lr_factor(step, total, warmup, config.schedule, steps_per_epoch)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_loss(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Mean L1, MSE or Huber loss over the graphs of a batch."""
    if config.loss == "mse":
        return fn.mse_loss
    if config.loss == "huber":
        return lambda out, y: fn.huber_loss(out, y, delta=config.huber_delta)
    return fn.l1_loss


# -------------------------------------------------------------------------- metrics

def regression_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """``{"mae", "rmse", "r2"}`` of predictions against targets (same units)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    target = np.asarray(target, dtype=np.float64).reshape(-1)
    err = pred - target  # [n]
    sst = float(((target - target.mean()) ** 2).sum()) if len(target) else 0.0
    return {"mae": float(np.abs(err).mean()) if len(err) else math.nan,
            "rmse": float(np.sqrt((err**2).mean())) if len(err) else math.nan,
            "r2": 1.0 - float((err**2).sum()) / sst if sst > 0 else math.nan}


class _Sums:
    """Running sums (float64) for MAE, RMSE and R²: n, Σ|e|, Σe², Σy, Σy²."""

    def __init__(self) -> None:
        self.v = torch.zeros(5, dtype=torch.float64)  # [5]

    def add(self, pred: torch.Tensor, y: torch.Tensor) -> None:
        pred, y = pred.detach().double().cpu(), y.detach().double().cpu()
        err = pred - y  # [n_graphs]
        self.v += torch.stack([torch.tensor(float(len(y)), dtype=torch.float64),
                               err.abs().sum(), (err**2).sum(), y.sum(), (y**2).sum()])

    def all_reduce(self, device: torch.device) -> None:
        if dist_info()[1] > 1:  # float64 sums of all processes (NCCL needs a CUDA tensor)
            v = self.v.to(device)
            dist.all_reduce(v)
            self.v = v.cpu()

    def metrics(self) -> dict[str, float]:
        n, abs_err, sq_err, sy, syy = self.v.tolist()
        sst = syy - sy * sy / n if n else 0.0
        return {"mae": abs_err / n if n else math.nan,
                "rmse": math.sqrt(sq_err / n) if n else math.nan,
                "r2": 1.0 - sq_err / sst if sst > 0 else math.nan}


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


def _loader(dataset: Dataset, batch_size: int, sampler: Sampler | None = None,
            generator: torch.Generator | None = None, num_workers: int = 0):
    """A PyG DataLoader that never draws from the global torch RNG (own generator)."""
    from torch_geometric.loader import DataLoader

    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False,
                      num_workers=num_workers, worker_init_fn=_seed_worker,
                      generator=generator if generator is not None else torch.Generator())


def _targets(dataset: Dataset) -> np.ndarray:
    """Targets of a dataset, target units ([n])."""
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return np.asarray(targets, dtype=np.float64).reshape(-1)
    return np.array([float(dataset[k].y.reshape(-1)[0]) for k in range(len(dataset))])


def _output(out: torch.Tensor, n_graphs: int) -> torch.Tensor:
    """Model output as [n_graphs] (accepts [n_graphs, 1]; never squeezes a batch of one)."""
    if out.dim() == 2 and out.size(1) == 1:
        out = out[:, 0]
    if out.shape != (n_graphs,):
        raise ValueError(f"the model returned shape {tuple(out.shape)} for a batch of "
                         f"{n_graphs} graphs; the engine expects [n_graphs] (one number each).")
    return out


def _autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _model_device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


# ------------------------------------------------------------------ predict/evaluate

@torch.no_grad()
def _predict_arrays(model: nn.Module, dataset: Dataset, batch_size: int,
                    device: torch.device | None, amp: bool,
                    progress: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Denormalized predictions and targets ([n] each, dataset order). Under DDP each
    process predicts every K-th graph and all processes receive all predictions."""
    device = device or _model_device(model)
    normalizer, (rank, world) = get_normalizer(model), dist_info()
    positions = np.arange(rank, len(dataset), world)  # [n_local]
    part = Subset(dataset, positions.tolist()) if world > 1 else dataset
    was_training = model.training
    model.eval()
    preds, ys = [], []
    batches = _loader(part, batch_size)
    if progress and rank == 0:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="predict", leave=False)
    for batch in batches:
        batch = batch.to(device)
        with _autocast(device, amp):
            out = _output(model(batch), batch.num_graphs)  # [n_graphs]
        preds.append(normalizer.denorm(out.double()).cpu().numpy())
        if "y" in batch:
            ys.append(batch.y.double().reshape(-1).cpu().numpy())
    model.train(was_training)
    pred = np.concatenate(preds) if preds else np.zeros(0)
    y = np.concatenate(ys) if len(ys) == len(preds) and ys else None
    if world > 1:
        return _gather_ordered(positions, pred, y, len(dataset))
    return pred, y


def _gather_ordered(positions: np.ndarray, pred: np.ndarray, y: np.ndarray | None,
                    n: int) -> tuple[np.ndarray, np.ndarray | None]:
    parts: list[Any] = [None] * dist_info()[1]
    dist.all_gather_object(parts, (positions, pred, y))
    full_pred, full_y = np.zeros(n), np.zeros(n)
    for pos, p, t in parts:
        full_pred[pos] = p
        if t is not None:
            full_y[pos] = t
    return full_pred, (full_y if y is not None else None)


def predict(model: nn.Module, dataset: Dataset, batch_size: int = 256,
            device: torch.device | str | None = None, amp: bool = False,
            progress: bool = False) -> np.ndarray:
    """Predictions of ``model`` on every graph of ``dataset``, in the target's units.

    Args:
        model: trained model (its :class:`Normalizer` undoes the target normalization).
        dataset: graphs (``y`` not needed).
        batch_size: graphs per forward pass (per process under DDP).
        device: default: the device of the model's parameters.
        amp: bf16 autocast on CUDA.
        progress: progress bar.

    Returns:
        float64 [n_graphs], in dataset order.
    """
    device = torch.device(device) if isinstance(device, str) else device
    if _potential.get_energy_reference(model) is not None:  # a potential: energies, eV
        return _potential.predict_potential(model, dataset, batch_size, device)["energy"]
    return _predict_arrays(model, dataset, batch_size, device, amp, progress)[0]


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 256,
             device: torch.device | str | None = None, amp: bool = False,
             progress: bool = False) -> dict[str, float]:
    """MAE, RMSE (target units) and R² of ``model`` on a dataset of graphs with ``y``.

    Returns:
        ``{"mae": ..., "rmse": ..., "r2": ...}`` (identical on every DDP process); for a
        potential trained in potential mode, :func:`companion.train_potential.
        evaluate_potential`'s ``{"energy_mae", "energy_rmse", "force_mae", "force_rmse"}``.
    """
    device = torch.device(device) if isinstance(device, str) else device
    if _potential.get_energy_reference(model) is not None:
        return _potential.evaluate_potential(model, dataset, batch_size, device, amp)
    pred, y = _predict_arrays(model, dataset, batch_size, device, amp, progress)
    if y is None:
        raise ValueError("evaluate needs graphs with targets (y); use predict() otherwise.")
    return regression_metrics(pred, y)


# ---------------------------------------------------------------------- checkpoints

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, write: Callable[[Any], None]) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _is_intact(path: Path) -> bool:
    """The file matches its sha256 sidecar (or, without one, torch can load it)."""
    if not path.is_file():
        return False
    side = _sidecar(path)
    if side.is_file():
        return side.read_text().split()[0] == _sha256(path)
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return True


def save_checkpoint(payload: Mapping[str, Any], directory: str | Path) -> Path:
    """Write ``directory/checkpoint.pt`` atomically, keeping the one before.

    The new file is written and fsynced under a temporary name with its sha256 sidecar;
    then an intact ``checkpoint.pt`` becomes ``checkpoint.prev.pt`` and the new file takes
    its place (``os.replace``). A crash at any point leaves a loadable checkpoint; a corrupt
    ``checkpoint.pt`` is never rotated over a good previous one.

    Payload keys written by :func:`fit`: ``format``, ``epoch``, ``model_name``,
    ``model_config``, ``train_config``, ``split_hash``, ``data`` (data set, target, unit,
    graph options), ``model`` (state dict), ``optimizer``, ``scheduler``, ``rng`` (one entry
    per process: torch, numpy, python, cuda, DataLoader generator), ``normalizer``,
    ``potential`` (the :class:`~companion.train_potential.EnergyReference`, potential mode;
    else None), ``history``, ``best`` (epoch, val_mae, model state), ``n_params``, ``world_size``,
    ``versions``.

    Returns:
        The path of the new checkpoint.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    main, prev = directory / CHECKPOINT, directory / PREVIOUS
    tmp = directory / f".{CHECKPOINT}.{os.getpid()}.tmp"
    _write_durable(tmp, lambda f: torch.save(dict(payload), f))
    digest = _sha256(tmp)
    tmp_side = _sidecar(tmp)
    _write_durable(tmp_side, lambda f: f.write(f"{digest}  {CHECKPOINT}\n".encode()))
    if _is_intact(main):
        _sidecar(prev).unlink(missing_ok=True)
        os.replace(main, prev)
        if _sidecar(main).is_file():
            os.replace(_sidecar(main), _sidecar(prev))
    os.replace(tmp, main)
    os.replace(tmp_side, _sidecar(main))
    _fsync_dir(directory)
    return main


def _read_verified(path: Path) -> dict[str, Any]:
    side = _sidecar(path)
    if side.is_file():
        expected, actual = side.read_text().split()[0], _sha256(path)
        if expected != actual:
            raise CheckpointError(f"{path}: sha256 {actual[:12]}... does not match "
                                  f"{side.name} ({expected[:12]}...): truncated or corrupt.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = next((ln for ln in lines if "WeightsUnpickler error" in ln), lines[0] if lines
                   else "")
        raise CheckpointError(f"{path}: cannot be read ({type(exc).__name__}: {why}).") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a checkpoint of companion.train ({FORMAT}).")
    return ckpt


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``, verifying its sha256.

    Args:
        path: a run folder (reads ``checkpoint.pt``, else ``checkpoint.prev.pt``) or a file.

    Returns:
        The payload (see :func:`save_checkpoint`).

    Raises:
        CheckpointError: no intact checkpoint (the message says what is wrong with each).
    """
    path = Path(path)
    candidates = [path / CHECKPOINT, path / PREVIOUS] if path.is_dir() else [path]
    if not path.is_dir() and path.name == CHECKPOINT:
        candidates.append(path.with_name(PREVIOUS))
    problems = []
    for candidate in candidates:
        if not candidate.is_file():
            problems.append(f"{candidate}: no such file.")
            continue
        try:
            ckpt = _read_verified(candidate)
        except CheckpointError as exc:
            problems.append(str(exc))
            continue
        if problems:  # the newest one is missing or corrupt: say so, use the previous
            warnings.warn(f"{' '.join(problems)} Using {candidate} (epoch {ckpt['epoch']}) "
                          "instead.", stacklevel=2)
        return ckpt
    raise CheckpointError("no usable checkpoint: " + " ".join(problems))


def _plain(x: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python, recursively (comparable, JSON-ready)."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _differences(a: Any, b: Any, prefix: str) -> list[str]:
    """``"key: checkpoint A, this run B"`` for every leaf where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key, "<absent>"), b.get(key, "<absent>"),
                                f"{prefix}.{key}")
        return out
    return [] if a == b else [f"{prefix}: checkpoint {a!r}, this run {b!r}"]


def check_compatible(ckpt: Mapping[str, Any], identity: Mapping[str, Any],
                     model: nn.Module, where: str = "the checkpoint") -> None:
    """Refuse a checkpoint of another model, config, data or split (all differences named).

    Args:
        ckpt: the loaded checkpoint.
        identity: ``model_name``, ``model_config``, ``train_config``, ``split_hash``, ``data``
            of this run.
        model: the model about to receive the weights (shapes are checked).
        where: the checkpoint's path, for the message.

    Raises:
        CheckpointError: naming each differing field.
    """
    diffs = []
    for key in ("model_name", "model_config", "train_config", "split_hash", "data"):
        theirs, ours = _plain(ckpt.get(key)), _plain(identity.get(key))
        if key == "train_config":  # fields newer than the checkpoint: their defaults
            theirs = {**_plain(dataclasses.asdict(TrainConfig())), **(theirs or {})}
            theirs = {k: v for k, v in theirs.items() if k not in RESUME_FREE}
            ours = {k: v for k, v in (ours or {}).items() if k not in RESUME_FREE}
        diffs += _differences(theirs, ours, key)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if not diffs and shapes != saved:
        bad = sorted(set(shapes) ^ set(saved)) or [k for k in shapes if shapes[k] != saved[k]]
        diffs.append(f"model weights: {len(bad)} tensors differ, e.g. {bad[:3]}")
    if diffs:
        raise CheckpointError(
            f"refusing {where} (epoch {ckpt.get('epoch')}): it belongs to a different run; "
            f"{'; '.join(diffs)}. Use the same settings to resume, or start a fresh run "
            "(another output folder, or without --resume).")


# ------------------------------------------------------------------------------ fit

Callback = Callable[[History], bool | None]
"""Called after each epoch (after its checkpoint) with the history; True stops the run."""


def _describe_model(model: nn.Module) -> tuple[str, dict[str, Any]]:
    from companion.models.registry import model_config, name_of

    return name_of(model), _plain(model_config(model))


def _split_identity(train_set: Dataset, val_set: Dataset | None) -> str | None:
    """sha256 of the source split and the train/val indices actually used."""
    parts = [getattr(train_set, "split_hash", None)]
    for ds in (train_set, val_set):
        idx = getattr(ds, "indices", None)
        parts.append(None if idx is None else hashlib.sha256(
            np.asarray(idx, dtype="<i8").tobytes()).hexdigest())
    if all(p is None for p in parts):
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _data_identity(train_set: Dataset) -> dict[str, Any]:
    return _plain({"name": getattr(train_set, "data_name", None),
                   "target": getattr(train_set, "target_name", None),
                   "unit": getattr(train_set, "unit", None),
                   "graph": getattr(train_set, "graph_kwargs", None)})


def _broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process (identity without DDP)."""
    if dist_info()[1] == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class _Trainer:
    """The state of one run; :func:`fit` is ``_Trainer(...).run()``."""

    def __init__(self, model: nn.Module, train_set: Dataset, val_set: Dataset | None,
                 config: TrainConfig, callbacks: Sequence[Callback],
                 meta: Mapping[str, Any] | None) -> None:
        self.config, self.callbacks = config, list(callbacks)
        self.train_set, self.val_set = train_set, val_set
        self.rank, self.world = dist_info()
        self.device = resolve_device(config.device)
        seed_everything(config.seed)
        self.model = model.to(self.device)
        self.potential = config.task == "potential" or (
            config.task == "auto" and _potential.is_potential_data(train_set))
        self.reference = None
        if self.potential:  # energies + forces: per-element references, no Normalizer
            self.normalizer = Normalizer()
            _potential.setup(self)
        else:
            self.normalizer = (Normalizer.from_targets(_targets(train_set))
                               if config.normalize_targets else Normalizer())
        set_normalizer(self.model, self.normalizer)
        self.loader_gen = torch.Generator()
        self.loader_gen.manual_seed(config.seed)
        self.sampler, self.loader = self._train_loader()
        self.optimizer = make_optimizer(self.model.parameters(), config)
        self.scheduler = make_scheduler(self.optimizer, config, len(self.loader))
        self.loss_fn = make_loss(config)
        self.history, self.best, self.start = History(), None, 1
        name, model_cfg = _describe_model(model)
        self.identity = {"model_name": name, "model_config": model_cfg,
                         "train_config": _plain(dataclasses.asdict(config)),
                         "split_hash": _split_identity(train_set, val_set),
                         "data": _data_identity(train_set), **dict(meta or {})}
        if config.resume and config.checkpoint_dir:
            self._resume(Path(config.checkpoint_dir))
        self.net = self._wrap()

    def _train_loader(self):
        per_rank, rest = divmod(self.config.batch_size, self.world)
        if rest:
            raise ValueError(f"batch_size {self.config.batch_size} (global) is not divisible "
                             f"by the {self.world} processes.")
        if self.world > 1:
            from torch.utils.data.distributed import DistributedSampler

            sampler = DistributedSampler(self.train_set, self.world, self.rank, shuffle=True,
                                         seed=self.config.seed)
        else:
            sampler = EpochSampler(len(self.train_set), self.config.seed)
        if self.config.num_workers > 0 and hasattr(self.train_set, "prebuild"):
            self.train_set.prebuild()
        return sampler, _loader(self.train_set, per_rank, sampler, self.loader_gen,
                                self.config.num_workers)

    def _wrap(self) -> nn.Module:
        module = self.forces_module if self.potential else self.model
        if self.world == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def _resume(self, directory: Path) -> None:
        if not ((directory / CHECKPOINT).is_file() or (directory / PREVIOUS).is_file()):
            return  # nothing to resume: a fresh run
        ckpt = load_checkpoint(directory)
        check_compatible(ckpt, self.identity, self.model, str(directory / CHECKPOINT))
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.normalizer = Normalizer(**ckpt["normalizer"])
        set_normalizer(self.model, self.normalizer)
        if self.potential:
            _potential.restore(self, ckpt)
        self.history = History.from_dict(ckpt["history"])
        self.best = ckpt["best"]
        states = ckpt["rng"]
        set_rng_state(states[self.rank] if len(states) == self.world else states[0],
                      self.loader_gen)
        self.start = int(ckpt["epoch"]) + 1

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        if self.potential:
            return _potential.train_epoch(self, epoch)
        self.net.train()
        self.sampler.set_epoch(epoch)
        sums, lr = _Sums(), self.optimizer.param_groups[0]["lr"]
        batches = self.loader
        if self.config.progress and self.rank == 0:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"epoch {epoch}", leave=False)
        for batch in batches:
            batch = batch.to(self.device)
            y = batch.y.reshape(-1)  # [n_graphs], target units
            with _autocast(self.device, self.config.amp):
                out = _output(self.net(batch), batch.num_graphs)  # [n_graphs]
            loss = self.loss_fn(out.float(), self.normalizer.norm(y).float())
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
            lr = self.optimizer.param_groups[0]["lr"]
            self.optimizer.step()
            self.scheduler.step()
            sums.add(self.normalizer.denorm(out.detach().double()), y)
        sums.all_reduce(self.device)
        return {f"train_{k}": v for k, v in sums.metrics().items()} | {"lr": lr}

    def _epoch(self, epoch: int) -> dict[str, float]:
        t0 = time.perf_counter()
        record: dict[str, float] = {"epoch": epoch, **self._train_epoch(epoch)}
        if self.val_set is not None and self.potential:
            record |= _potential.validate(self)
        elif self.val_set is not None:
            val = evaluate(self.model, self.val_set, self.loader.batch_size, self.device,
                           self.config.amp)
            record |= {f"val_{k}": v for k, v in val.items()}
        record["time_s"] = time.perf_counter() - t0
        record = _broadcast(record)
        self.history.epochs.append(record)
        score = record.get("val_mae", record["train_mae"])
        if score < self.history.best_val_mae or self.best is None:
            self.history.best_epoch, self.history.best_val_mae = epoch, score
            self.best = {"epoch": epoch, "val_mae": score, "model": {
                k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}}
        return record

    def _payload(self, epoch: int) -> dict[str, Any]:
        states = [rng_state(self.loader_gen)]
        if self.world > 1:
            states = [None] * self.world
            dist.all_gather_object(states, rng_state(self.loader_gen))
        import companion

        return {
            "format": FORMAT, "epoch": epoch, **self.identity,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": states, "normalizer": self.normalizer.to_dict(),
            "potential": self.reference.to_dict() if self.reference is not None else None,
            "history": self.history.to_dict(), "best": self.best,
            "n_params": sum(p.numel() for p in self.model.parameters()),
            "world_size": self.world,
            "versions": {"torch": str(torch.__version__), "companion": companion.__version__},
        }

    def _save(self, epoch: int) -> None:
        if not self.config.checkpoint_dir:
            return
        payload = self._payload(epoch)  # every process: the RNG states are gathered
        if self.rank == 0:
            save_checkpoint(payload, self.config.checkpoint_dir)
        if self.world > 1:
            dist.barrier()

    def _patience_exhausted(self) -> bool:
        p = self.config.patience
        return p > 0 and len(self.history) > 0 and (
            self.history.epochs[-1]["epoch"] - self.history.best_epoch >= p)

    def _callbacks_stop(self) -> bool:
        stop = False
        if self.rank == 0:
            for callback in self.callbacks:
                stop = bool(callback(self.history)) or stop
        return bool(_broadcast(stop))

    def run(self) -> History:
        epochs = range(self.start, self.config.epochs + 1)
        if self.config.progress and self.rank == 0:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc="training", unit="epoch",
                          initial=self.start - 1, total=self.config.epochs)
        for epoch in epochs:
            if self._patience_exhausted():
                self.history.stopped_early = True
                break
            record = self._epoch(epoch)
            self._save(epoch)
            if hasattr(epochs, "set_postfix"):
                epochs.set_postfix({k: f"{v:.4g}" for k, v in record.items()
                                    if k in ("train_mae", "val_mae")})
            if self._callbacks_stop():
                break
        if hasattr(epochs, "close"):
            epochs.close()
        if self._patience_exhausted() and len(self.history) < self.config.epochs:
            self.history.stopped_early = True
        if self.config.restore_best and self.best is not None:
            self.model.load_state_dict(self.best["model"])
        return self.history


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset | None = None,
        config: TrainConfig | None = None, callbacks: Sequence[Callback] = (),
        meta: Mapping[str, Any] | None = None) -> History:
    """Train ``model`` on ``train_set``, validating on ``val_set`` after each epoch.

    The model learns the normalized target (:class:`Normalizer` from ``train_set`` only),
    with the optimizer, schedule and loss of ``config``. After each epoch the validation
    MAE decides the best epoch and early stopping; with ``config.checkpoint_dir`` a
    checkpoint is written (:func:`save_checkpoint`), and ``config.resume`` continues from it
    (same weights as an uninterrupted run, bitwise on CPU). Under ``torchrun`` (a process
    group initialized, see :func:`init_distributed`) the model is wrapped in
    ``DistributedDataParallel``; ``batch_size`` stays the global batch.

    Args:
        model: maps a batch to [n_graphs] outputs (normalized target).
        train_set: graphs with ``y`` (e.g. :class:`~companion.graphs.dataset.GraphDataset`).
        val_set: graphs with ``y``; None: the best epoch is the lowest training MAE.
        config: :class:`TrainConfig` (defaults if None).
        callbacks: called as ``callback(history)`` after each epoch; True stops the run
            (e.g. :class:`companion.viz.training.LossCurve`).
        meta: extra identity recorded in the checkpoint (overrides model name, split hash..).

    Returns:
        The :class:`History`; the model ends on ``config.device`` with the best weights
        (``restore_best``) and its normalizer attached, ready for :func:`predict`.

    Raises:
        CheckpointError: resuming from a checkpoint of another model, config or split.
    """
    config = config or TrainConfig()
    deterministic = config.deterministic
    if deterministic is None:
        deterministic = resolve_device(config.device).type == "cpu"
    with deterministic_algorithms(deterministic):
        return _Trainer(model, train_set, val_set, config, callbacks, meta).run()


# --------------------------------------------------------------------- inference

class Predictor:
    """A trained model with what it needs to predict from structures.

    Attributes:
        model: the model (eval mode). normalizer: its :class:`Normalizer`.
        graph_kwargs: options of :func:`companion.graphs.to_graph` the model was trained on.
        target, unit: what it predicts. model_name: registry name. checkpoint: its source.
    """

    def __init__(self, model: nn.Module, graph_kwargs: Mapping[str, Any], target: str = "",
                 unit: str = "", model_name: str = "", checkpoint: dict | None = None) -> None:
        self.model = model.eval()
        self.normalizer = get_normalizer(model)
        self.graph_kwargs = {k: v for k, v in dict(graph_kwargs).items() if v is not None}
        self.target, self.unit, self.model_name = target, unit, model_name
        self.checkpoint = checkpoint or {}

    def graph(self, structure: Any):
        """The graph of a structure (pymatgen, ASE, arrays, or a file path)."""
        from companion.graphs import to_graph

        if isinstance(structure, str | Path):
            from companion.io import read_structure

            structure = read_structure(structure)
        return to_graph(structure, **self.graph_kwargs)

    def predict_graphs(self, graphs: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        """Predictions ([n], target units) for prebuilt graphs."""
        return predict(self.model, list(graphs), batch_size)

    def predict_structures(self, structures: Sequence[Any], batch_size: int = 64
                           ) -> np.ndarray:
        """Predictions ([n], target units) for pymatgen Structures, ASE Atoms, ``(z, pos,
        cell)`` arrays or structure files (read by :func:`companion.io.read_structure`).

        Raises:
            StructureError: a file or structure that cannot become a graph (named).
        """
        return self.predict_graphs([self.graph(s) for s in structures], batch_size)

    def __repr__(self) -> str:
        return (f"Predictor({self.model_name}: {self.target} [{self.unit}], graphs "
                f"{self.graph_kwargs})")


def load_for_inference(path: str | Path, device: str = "cpu", best: bool = True
                       ) -> Predictor:
    """Rebuild a trained model from a run folder (or checkpoint file).

    Args:
        path: the ``--out`` folder of ``python -m companion train``, or a checkpoint file.
        device: where to put the model.
        best: the weights of the best validation epoch (else those of the last epoch).

    Raises:
        CheckpointError: no intact checkpoint, or a model name this version does not know.
    """
    from companion.models.registry import build_model

    ckpt = load_checkpoint(path)
    try:
        model = build_model(ckpt["model_name"], ckpt["model_config"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: cannot rebuild the model: {exc}") from None
    state = ckpt["best"]["model"] if best and ckpt.get("best") else ckpt["model"]
    model.load_state_dict(state)
    set_normalizer(model, Normalizer(**ckpt["normalizer"]))
    if ckpt.get("potential"):  # a potential: its reference energies (buffers: in the weights)
        model.energy_reference = _potential.EnergyReference.from_dict(ckpt["potential"])
    data = ckpt.get("data") or {}
    return Predictor(model.to(resolve_device(device)), data.get("graph") or {},
                     data.get("target") or "", data.get("unit") or "", ckpt["model_name"],
                     ckpt)


# ------------------------------------------------------------------------- runs

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


def _splits(dataset: Any, fast: bool) -> dict[str, np.ndarray]:
    split = dataset.split
    if fast:
        split = {k: v[:FAST_SIZES[k]] for k, v in split.items()}
    return split


def _write_outputs(out: Path, metrics: dict[str, Any], test_set: Any,
                   test_pred: np.ndarray) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".metrics.json.tmp"
    _write_durable(tmp, lambda f: f.write(json.dumps(metrics, indent=2).encode()))
    os.replace(tmp, out / "metrics.json")
    ds = test_set.dataset
    tmp = out / ".test_predictions.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["material_id", "formula", "target", "prediction"])
        for i, y, p in zip(test_set.indices, test_set.targets, test_pred, strict=True):
            w.writerow([str(ds.material_ids[i]), str(ds.formulas[i]), f"{y:.8g}", f"{p:.8g}"])
    os.replace(tmp, out / "test_predictions.csv")


def train_model(model_name: str, data: str = "mp_eform", target: str | None = None,
                out: str | Path | None = None, model_config: Mapping[str, Any] | None = None,
                config: TrainConfig | None = None, fast: bool | None = None
                ) -> dict[str, Any]:
    """What ``python -m companion train`` does: data -> graphs -> model -> :func:`fit`.

    Trains on the stored split of a shipped data set, evaluates the best epoch's weights on
    train/val/test, and (process 0 only) writes ``out/metrics.json``,
    ``out/test_predictions.csv`` and the checkpoints ``out/checkpoint.pt`` (+ previous).

    Args:
        model_name: registry name (:func:`companion.models.registry.model_names`).
        data: data set name for :func:`companion.data.load` (one with a split).
        target: target name (default: the data set's first).
        out: output folder (also the checkpoint folder unless ``config`` names one).
        model_config: model hyperparameters (plain dict).
        config: :class:`TrainConfig`.
        fast: FAST mode (the first 256/64/64 records of the splits); default from
            ``COMPANION_FAST``.

    Returns:
        The metrics (the contents of ``metrics.json``; identical on every DDP process).
    """
    from companion.data import load
    from companion.graphs.dataset import GraphDataset
    from companion.models.registry import build_model, graph_kwargs

    t0 = time.perf_counter()
    config = dataclasses.replace(config or TrainConfig())
    if out is not None and config.checkpoint_dir is None:
        config.checkpoint_dir = str(out)
    fast = fast_mode() if fast is None else fast
    rank, world = init_distributed(config.device)
    dataset = load(data)
    split = _splits(dataset, fast)
    if config.task == "potential" or (config.task == "auto" and
                                      _potential.is_potential_data(dataset)):
        return _potential.train_potential_model(model_name, data, dataset, split, out,
                                                model_config, config, fast)
    target = target or dataset.target_names[0]
    seed_everything(config.seed)
    model = build_model(model_name, model_config or {})
    gk = graph_kwargs(model_name, model_config)
    sets = {k: GraphDataset(dataset, split[k], target, **gk) for k in ("train", "val", "test")}
    history = fit(model, sets["train"], sets["val"], config,
                  meta={"model_name": model_name})
    t_fit = time.perf_counter() - t0
    scores = {k: evaluate(model, s, amp=config.amp) for k, s in sets.items()}
    test_pred = predict(model, sets["test"], amp=config.amp)
    metrics = _metrics_record(model_name, model, data, target, dataset, split, fast, scores,
                              history, config, world, time.perf_counter() - t0, t_fit)
    metrics = _broadcast(metrics)
    if rank == 0 and out is not None:
        _write_outputs(Path(out), metrics, sets["test"], test_pred)
    if world > 1:
        dist.barrier()
    return metrics


def _metrics_record(model_name: str, model: nn.Module, data: str, target: str, dataset: Any,
                    split: Mapping[str, np.ndarray], fast: bool,
                    scores: Mapping[str, dict[str, float]], history: History,
                    config: TrainConfig, world: int, wall: float, t_fit: float
                    ) -> dict[str, Any]:
    import torch_geometric

    import companion
    from companion.data.shipped import split_hash
    from companion.models.registry import model_config

    device = resolve_device(config.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return _plain({
        "model": model_name, "model_config": model_config(model),
        "n_params": sum(p.numel() for p in model.parameters()),
        "data": data, "target": target, "unit": dataset.units.get(target, ""),
        "split_hash": split_hash(split), "fast": fast,
        **{f"n_{k}": len(v) for k, v in split.items()},
        **{k: scores[k] for k in ("train", "val", "test")},
        "epochs_run": len(history), "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
        "wall_time_s": round(wall, 3), "train_time_s": round(t_fit, 3),
        "device": str(device), "device_name": name, "world_size": world,
        "amp": bool(config.amp and device.type == "cuda"),
        "train_config": dataclasses.asdict(config), "history": history.epochs,
        "versions": {"torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
                     "companion": companion.__version__},
    })
