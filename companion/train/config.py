"""Every choice of a training run (:class:`TrainConfig`) and its per-epoch record
(:class:`History`)."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ATOMIC_ENERGIES", "DEVICES", "LOSSES", "OPTIMIZERS", "SCHEDULES", "TASKS",
           "History", "TrainConfig", "field_help"]

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "invsqrt", "none")
LOSSES = ("l1", "mse", "huber")
DEVICES = ("auto", "cpu", "cuda", "mps")
TASKS = ("auto", "scalar", "potential", "phonon_bands")
ATOMIC_ENERGIES = ("auto", "isolated", "fit", "none")
CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "loss": LOSSES,
           "device": DEVICES, "task": TASKS, "atomic_energies": ATOMIC_ENERGIES}
"""TrainConfig fields with a fixed set of values (the command line offers them as choices)."""


@dataclass
class TrainConfig:
    """Every choice of a training run.

    Attributes:
        epochs: passes over the training set.
        batch_size: graphs per optimizer step, over all DDP processes together (each of
            ``K`` processes takes ``batch_size / K``).
        lr: peak learning rate.
        weight_decay: decoupled (AdamW) or L2 (SGD) weight decay.
        decay_biases: False: biases and the weights of normalization layers get no weight
            decay (a common transformer rule; Crystalformer's recipe).
        beta1: AdamW's first-moment decay.
        beta2: AdamW's second-moment decay.
        optimizer: ``"adamw"`` or ``"sgd"`` (with ``momentum``).
        momentum: SGD momentum.
        schedule: per-step learning-rate schedule: ``"onecycle"`` (cosine up from lr/25 over
            ``warmup_epochs``, or 30 % of the steps, then cosine down to lr/2.5e5),
            ``"cosine"`` (linear warmup, cosine to 0), ``"invsqrt"`` (linear warmup, then
            ``lr sqrt(T / (T + s))`` with ``T`` = ``schedule_steps``, or max(warmup, one
            epoch) steps when that is 0), ``"none"`` (linear warmup, constant).
        schedule_steps: ``T`` of the ``"invsqrt"`` schedule in optimizer steps (0: see above).
        warmup_epochs: warmup length in epochs (may be fractional).
        grad_clip: maximum gradient norm; 0 turns clipping off.
        loss: ``"l1"``, ``"mse"`` or ``"huber"`` (``huber_delta``), on normalized targets.
        huber_delta: Huber threshold, in units of the target's standard deviation.
        patience: stop after this many epochs without a lower validation MAE; 0 = never.
        normalize_targets: set the model's output scale and shift from the training split
            (mean and std of the targets; atomic reference energies for potentials).
        restore_best: end with the weights of the epoch with the lowest validation MAE.
        swa_epochs: stochastic weight averaging: average the weights after every step of the
            last ``swa_epochs`` epochs and end with that average (instead of the best
            epoch); 0 turns it off.
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
        task: ``"scalar"`` (one number per graph, ``y``), ``"potential"`` (energies and
            forces), ``"phonon_bands"`` (bands per material, BandLoss) or ``"auto"``
            (potential if the graphs carry ``forces``, else scalar); see
            :mod:`companion.train.tasks`.
        energy_weight: potential task: weight of the energy term of the loss.
        force_weight: potential task: weight of the force term (0: energies only).
        per_atom_energy: potential task: the energy term compares energies per atom.
        atomic_energies: potential task: per-element reference energies, ``"isolated"``
            (the data set's isolated atoms), ``"fit"`` (least squares on the training set),
            ``"none"``, or ``"auto"`` (isolated if available, else fit).
        band_qpoint_stride: phonon task: train on every k-th q-point of each material (a
            random offset per batch, so over a few epochs every q-point is used);
            validation and test use all q-points. The eigen-solver is most of a step's cost.
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    decay_biases: bool = True
    beta1: float = 0.9
    beta2: float = 0.999
    optimizer: str = "adamw"
    momentum: float = 0.9
    schedule: str = "onecycle"
    schedule_steps: int = 0
    warmup_epochs: float = 0.0
    grad_clip: float = 0.0
    loss: str = "l1"
    huber_delta: float = 1.0
    patience: int = 0
    normalize_targets: bool = True
    restore_best: bool = True
    swa_epochs: int = 0
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
    band_qpoint_stride: int = 1

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name}={getattr(self, name)!r}; choose one of "
                                 f"{', '.join(allowed)}.")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"need epochs >= 1, batch_size >= 1, lr > 0; got {self.epochs}, "
                             f"{self.batch_size}, {self.lr}.")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError(f"need 0 <= beta1, beta2 < 1; got {self.beta1}, {self.beta2}.")
        if self.swa_epochs < 0 or self.schedule_steps < 0:
            raise ValueError(f"need swa_epochs >= 0 and schedule_steps >= 0; got "
                             f"{self.swa_epochs}, {self.schedule_steps}.")
        if self.checkpoint_dir is not None:
            self.checkpoint_dir = str(self.checkpoint_dir)
        elif self.resume:
            raise ValueError("TrainConfig.resume needs checkpoint_dir (the folder to resume).")
        if self.band_qpoint_stride < 1:
            raise ValueError(f"need band_qpoint_stride >= 1; got {self.band_qpoint_stride}.")
        if self.energy_weight < 0 or self.force_weight < 0 or \
                self.energy_weight + self.force_weight <= 0:
            raise ValueError(f"need energy_weight, force_weight >= 0, not both 0; got "
                             f"{self.energy_weight}, {self.force_weight}.")


def field_help(cls: type = TrainConfig) -> dict[str, str]:
    """Field name -> its description in the ``Attributes:`` section of ``cls``'s docstring
    (one line, whitespace collapsed); the command line's ``--help`` shows these."""
    doc = (cls.__doc__ or "").split("Attributes:", 1)[-1]
    names = {f.name for f in dataclasses.fields(cls)}
    out: dict[str, str] = {}
    current = None
    for line in doc.splitlines():
        match = re.match(r"\s{8}(\w+): (.*)", line)
        if match and match.group(1) in names:
            current = match.group(1)
            out[current] = match.group(2)
        elif current and line.strip():
            out[current] += " " + line.strip()
    return out


@dataclass
class History:
    """Per-epoch records of a run.

    Each record: ``epoch``; ``train_*`` (over the epoch's training forward passes, train
    mode) and ``val_*`` (eval mode after the epoch) metrics of the task; ``train_mae`` and
    ``val_mae``, the task's score (lower is better: it picks the best epoch and drives early
    stopping); ``lr`` (of the epoch's last step); ``time_s`` (wall time). A graph-level
    target records ``{train,val}_{mae,rmse,r2}`` in the target's units; energies and forces
    record ``{train,val}_{energy,force}_{mae,rmse}`` (meV/atom, meV/Å), ``train_loss``, and
    ``train_mae``/``val_mae`` = the force MAE. ``history["val_mae"]`` gives one column.
    ``swa_val_mae``: the validation score of the averaged weights (``swa_epochs``).
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_mae: float = math.inf
    stopped_early: bool = False
    swa_val_mae: float | None = None

    def __getitem__(self, key: str) -> list[float]:
        return [r[key] for r in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        swa = d.get("swa_val_mae")
        return cls([dict(r) for r in d["epochs"]], int(d["best_epoch"]),
                   float(d["best_val_mae"]), bool(d["stopped_early"]),
                   None if swa is None else float(swa))
