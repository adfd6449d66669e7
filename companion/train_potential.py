r"""Potential mode of the training engine: energies and forces (``TrainConfig(task="potential")``).

:func:`companion.train.fit` trains an interatomic potential when its config says
``task="potential"`` (or ``"auto"`` with graphs that carry ``forces``, e.g. a
:class:`~companion.graphs.potential_dataset.PotentialDataset`). The model must give total
energies, ``model(batch) -> [n_graphs]``; forces are :math:`-\partial E / \partial \mathbf r`,
from ``model.energy_and_forces(batch)`` when it has one (e.g.
:class:`~companion.models.gatv2.GATv2Potential`), else by autograd through ``model(batch)``.

**Loss** (per batch, ``w_E = energy_weight``, ``w_F = force_weight``, ``L`` the config's L1,
MSE or Huber, :math:`N_k` atoms in structure k):

.. math::
    \mathcal L = w_E\, L\Big(\frac{E_k - \hat E_k}{N_k\, \sigma}\Big)
               + w_F\, L\Big(\frac{\mathbf F_{i\alpha} - \hat{\mathbf F}_{i\alpha}}{\sigma}\Big)

(without ``per_atom_energy`` the energy term uses :math:`E_k - \hat E_k`). Training keeps the
graph of the forces (``create_graph=True``) so that the force loss reaches the parameters.

**Energy reference** (:class:`EnergyReference`, from the training split only): total energies
are huge (ethanol: -4209.6 eV) and almost all of it is the energy of the isolated atoms. The
model therefore learns

.. math::
    E = \sum_i \big(E^0_{Z_i} + \mu\big) + \sigma\, \tilde E(\text{structure})

with :math:`E^0_Z` the isolated-atom energies of the data set where it has them, else a least
squares fit of :math:`E_k \approx \sum_Z n_{kZ} E^0_Z` over the training set; :math:`\mu` the
mean remaining energy per atom; :math:`\sigma` the root mean square force component (eV/Å
times 1 Å), so that the network's output :math:`\tilde E` and its gradients are of order one.
A model with ``set_energy_reference(shift, scale)`` (GATv2) holds :math:`E^0_Z + \mu` and
:math:`\sigma` in its own buffers, so it predicts eV by itself (an ASE calculator can use it
directly); for any other model the engine applies them around it. The reference travels with
the model (``model.energy_reference``) and with every checkpoint (key ``"potential"``).

**Metrics** (per epoch and from :func:`evaluate_potential`): energy MAE and RMSE per atom
(meV/atom: :math:`|E_k - \hat E_k| / N_k`, averaged over structures) and force MAE and RMSE
over all Cartesian components (meV/Å). In the per-epoch records, ``train_mae``/``val_mae`` are
the force MAE (the energy MAE when ``force_weight`` is 0): the score that picks the best epoch
and drives early stopping.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from companion.graphs import graph_index

if TYPE_CHECKING:
    from companion.train import TrainConfig, _Trainer

__all__ = [
    "METRIC_KEYS",
    "EnergyReference",
    "EnergyForces",
    "evaluate_potential",
    "fit_atomic_energies",
    "is_potential_data",
    "make_reference",
    "predict_potential",
    "set_energy_reference",
]

MEV = 1000.0
"""meV per eV: every metric of this module is in meV/atom or meV/Å."""

METRIC_KEYS = ("energy_mae", "energy_rmse", "force_mae", "force_rmse")
"""Keys of :func:`evaluate_potential` (meV/atom, meV/atom, meV/Å, meV/Å)."""

REFERENCES = ("auto", "isolated", "fit", "none")
"""``TrainConfig.atomic_energies``: where the per-element reference energies come from."""

UPSTREAM_TEST = {"ethanol": ("load_ethanol", "test_md"), "acac": ("load_acac", "test_md_300k"),
                 "mlearn": ("load_mlearn", "test")}
"""Data sets whose upstream test file ``python -m companion train`` also evaluates on."""


# ------------------------------------------------------------------------ reference

@dataclass(frozen=True)
class EnergyReference:
    """Per-element reference energies and the scale of a potential (see module docstring).

    Attributes:
        atomic_energies: Z -> :math:`E^0_Z` (eV).
        source: ``"isolated"`` (the data set's isolated atoms), ``"fit"`` (least squares on
            the training set) or ``"none"``.
        shift: :math:`\\mu`, mean energy per atom left after the reference (eV/atom).
        scale: :math:`\\sigma` (eV): RMS force component of the training set times 1 Å.
        in_model: the model holds shift and scale itself (``set_energy_reference``).
    """

    atomic_energies: Mapping[int, float] = field(default_factory=dict)
    source: str = "none"
    shift: float = 0.0
    scale: float = 1.0
    in_model: bool = False

    def baseline(self, z: torch.Tensor) -> torch.Tensor:
        """[n_atoms] :math:`E^0_{Z_i} + \\mu` (eV, float64)."""
        table = torch.zeros(int(z.max()) + 1 if z.numel() else 1, dtype=torch.float64)
        for zz, e in self.atomic_energies.items():
            if zz < len(table):
                table[zz] = e
        return table.to(z.device)[z] + self.shift  # [n_atoms]

    def to_dict(self) -> dict[str, Any]:
        """Plain types (``torch.load(weights_only=True)`` reads them); Z keys as strings."""
        return {"atomic_energies": {str(z): float(e) for z, e in self.atomic_energies.items()},
                "source": self.source, "shift": float(self.shift), "scale": float(self.scale),
                "in_model": bool(self.in_model)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EnergyReference:
        return cls({int(z): float(e) for z, e in d["atomic_energies"].items()}, str(d["source"]),
                   float(d["shift"]), float(d["scale"]), bool(d["in_model"]))


def fit_atomic_energies(numbers: Sequence[np.ndarray], energies: np.ndarray
                        ) -> dict[int, float]:
    """Least-squares per-element energies: :math:`E_k \\approx \\sum_Z n_{kZ} E^0_Z`.

    With a single composition (every ethanol geometry is C2H6O) the system is rank deficient;
    ``numpy.linalg.lstsq`` then returns the minimum-norm solution, which still reproduces the
    mean energy exactly.

    Args:
        numbers: atomic numbers of each structure.
        energies: [n] total energies, eV.

    Returns:
        Z -> eV, for every element present.
    """
    species = sorted({int(z) for zs in numbers for z in np.asarray(zs).tolist()})
    column = {z: c for c, z in enumerate(species)}
    counts = np.zeros((len(numbers), len(species)))  # [n, n_species]
    for k, zs in enumerate(numbers):
        for z, n in zip(*np.unique(np.asarray(zs), return_counts=True), strict=True):
            counts[k, column[int(z)]] = n
    coef = np.linalg.lstsq(counts, np.asarray(energies, dtype=np.float64), rcond=None)[0]
    return {z: float(coef[column[z]]) for z in species}


def _numbers_of(dataset: Dataset) -> list[np.ndarray]:
    if hasattr(dataset, "numbers"):
        return [dataset.numbers(k) for k in range(len(dataset))]
    return [dataset[k].z.numpy() for k in range(len(dataset))]


def _energies_and_forces(dataset: Dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """Total energies [n] (eV) and all force components (eV/Å) of a dataset."""
    targets = getattr(dataset, "targets", None)
    if targets is not None and hasattr(dataset, "_forces"):
        forces = [dataset._forces[int(i)] for i in dataset.indices]
        return np.asarray(targets, dtype=np.float64), np.concatenate(forces).reshape(-1)
    graphs = [dataset[k] for k in range(len(dataset))]
    energy = np.array([float(g.energy.reshape(-1)[0]) for g in graphs])
    forces = [g.forces.double().numpy() for g in graphs if "forces" in g]
    return energy, (np.concatenate(forces).reshape(-1) if forces else None)


def make_reference(train_set: Dataset, config: TrainConfig) -> EnergyReference:
    """The :class:`EnergyReference` of a training set (module docstring).

    ``config.atomic_energies``: ``"isolated"`` (the dataset's ``atomic_energies``; error if
    an element lacks one), ``"fit"`` (least squares), ``"none"``, or ``"auto"`` (isolated
    when every element has one, else fit). With ``normalize_targets=False``, shift 0, scale 1.
    """
    numbers = _numbers_of(train_set)
    energy, forces = _energies_and_forces(train_set)
    natoms = np.array([len(z) for z in numbers], dtype=np.float64)  # [n]
    species = sorted({int(z) for zs in numbers for z in zs.tolist()})
    isolated = dict(getattr(train_set, "atomic_energies", None) or {})
    mode = config.atomic_energies
    if mode == "auto":
        mode = "isolated" if isolated and set(species) <= set(isolated) else "fit"
    if mode == "isolated":
        missing = sorted(set(species) - set(isolated))
        if missing:
            raise ValueError(f"atomic_energies='isolated': the data set has no isolated-atom "
                             f"energy for Z={missing}; use 'fit' or 'auto'.")
        ref = {int(z): float(e) for z, e in sorted(isolated.items())}
    elif mode == "fit":
        ref = fit_atomic_energies(numbers, energy)
    else:
        ref = {z: 0.0 for z in species}
    base = np.array([sum(ref[int(z)] for z in zs) for zs in numbers])  # [n], eV
    shift, scale = 0.0, 1.0
    if config.normalize_targets:
        per_atom = (energy - base) / natoms  # [n], eV/atom
        shift = float(per_atom.mean())
        if forces is not None and config.force_weight > 0 and np.any(forces):
            scale = float(np.sqrt(np.mean(forces**2)))
        else:
            residual = per_atom if config.per_atom_energy else energy - base - shift * natoms
            scale = float(residual.std()) or 1.0
    return EnergyReference(ref, mode, shift, scale)


def set_energy_reference(model: nn.Module, reference: EnergyReference) -> EnergyReference:
    """Attach ``reference`` to ``model`` (``model.energy_reference``); a model with
    ``set_energy_reference(shift, scale)`` takes :math:`E^0_Z + \\mu` and :math:`\\sigma`
    into its buffers (the returned reference then says ``in_model=True``)."""
    setter = getattr(model, "set_energy_reference", None)
    if callable(setter):
        species = getattr(getattr(model, "config", None), "species", None)
        known = set(reference.atomic_energies) if species is None else set(species)
        shift = {z: reference.atomic_energies.get(z, 0.0) + reference.shift for z in known}
        setter(shift=shift, scale=reference.scale)
        reference = dataclasses.replace(reference, in_model=True)
    model.energy_reference = reference
    return reference


def get_energy_reference(model: nn.Module) -> EnergyReference | None:
    """The model's :class:`EnergyReference`, or None (not a potential of this engine)."""
    ref = getattr(model, "energy_reference", None)
    return ref if isinstance(ref, EnergyReference) else None


def is_potential_data(dataset: Any) -> bool:
    """True for a dataset of graphs with ``forces`` or a labelled set with a forces label."""
    records = getattr(dataset, "records", None)
    if records is not None:
        return bool(records) and "forces" in getattr(records[0], "labels", {})
    if hasattr(dataset, "forces_name"):
        return True
    try:
        return len(dataset) > 0 and "forces" in dataset[0]
    except Exception:
        return False


# ------------------------------------------------------------------- energy + forces

class EnergyForces(nn.Module):
    """``batch -> (energy [n_graphs] eV, forces [n_atoms, 3] eV/Å)`` of a potential.

    Forces come from ``model.energy_and_forces`` if the model has it, else from autograd
    through ``model(batch)``; the graph of the derivatives is kept in training mode (so that
    a force loss trains the parameters). A reference that is not in the model is applied
    here. Wrapping the whole computation in one module lets DDP see it as one ``forward``.
    """

    def __init__(self, model: nn.Module, reference: EnergyReference) -> None:
        super().__init__()
        self.model, self.reference = model, reference

    def forward(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        create = self.model.training
        with torch.enable_grad():
            if hasattr(self.model, "energy_and_forces"):
                out = self.model.energy_and_forces(batch, create_graph=create)
                energy, forces = out["energy"], out["forces"]  # [n_graphs], [n_atoms, 3]
            else:
                pos = batch.pos.detach().requires_grad_(True)  # [n_atoms, 3]
                moved = batch.clone()
                moved.pos = pos
                energy = self.model(moved).reshape(-1)  # [n_graphs]
                forces = -torch.autograd.grad(energy.sum(), pos, create_graph=create)[0]
        if not self.reference.in_model:
            graph = graph_index(batch)  # [n_atoms]
            base = torch.zeros(len(energy), dtype=torch.float64, device=energy.device)
            base.index_add_(0, graph, self.reference.baseline(batch.z))  # [n_graphs]
            energy = energy.double() * self.reference.scale + base  # [n_graphs]
            forces = forces * self.reference.scale  # [n_atoms, 3]
        return energy, forces


def _natoms(batch: Any) -> torch.Tensor:
    """[n_graphs] atoms per structure (float64)."""
    n = getattr(batch, "natoms", None)
    if n is None:
        n = torch.bincount(graph_index(batch), minlength=batch.num_graphs)
    return n.reshape(-1).double()


class PotentialSums:
    """Float64 running sums for energy (per atom) and force errors, all-reducible under DDP:
    structures, Σ|e|, Σe², force components, Σ|f|, Σf², Σ loss·structures."""

    def __init__(self) -> None:
        self.v = torch.zeros(7, dtype=torch.float64)  # [7]

    def add(self, energy: torch.Tensor, forces: torch.Tensor, batch: Any,
            loss: float = 0.0) -> None:
        e = (energy.detach().double() - batch.energy.reshape(-1).double()).cpu()  # [n_graphs]
        e = e / _natoms(batch).cpu()  # [n_graphs], eV/atom
        f = (forces.detach().double() - batch.forces.double()).reshape(-1).cpu()  # [3 n_atoms]
        self.v += torch.tensor([len(e), float(e.abs().sum()), float((e**2).sum()), len(f),
                                float(f.abs().sum()), float((f**2).sum()), loss * len(e)],
                               dtype=torch.float64)

    def all_reduce(self, device: torch.device) -> None:
        from companion.train import dist, dist_info

        if dist_info()[1] > 1:
            v = self.v.to(device)
            dist.all_reduce(v)
            self.v = v.cpu()

    def metrics(self) -> dict[str, float]:
        """``energy_mae``, ``energy_rmse`` (meV/atom), ``force_mae``, ``force_rmse``
        (meV/Å), ``loss``."""
        n, e_abs, e_sq, m, f_abs, f_sq, loss = self.v.tolist()
        nan = math.nan
        return {"energy_mae": MEV * e_abs / n if n else nan,
                "energy_rmse": MEV * math.sqrt(e_sq / n) if n else nan,
                "force_mae": MEV * f_abs / m if m else nan,
                "force_rmse": MEV * math.sqrt(f_sq / m) if m else nan,
                "loss": loss / n if n else nan}


def score_of(metrics: Mapping[str, float], config: TrainConfig) -> float:
    """The number that picks the best epoch: force MAE (meV/Å), or the energy MAE
    (meV/atom) when forces are not trained."""
    return metrics["force_mae"] if config.force_weight > 0 else metrics["energy_mae"]


def potential_loss(energy: torch.Tensor, forces: torch.Tensor, batch: Any,
                   reference: EnergyReference, config: TrainConfig, loss_fn: Any
                   ) -> torch.Tensor:
    """The weighted energy + force loss of the module docstring (normalized units)."""
    e_err = (energy.double() - batch.energy.reshape(-1).double()) / reference.scale
    if config.per_atom_energy:
        e_err = e_err / _natoms(batch)  # [n_graphs]
    f_err = (forces - batch.forces) / reference.scale  # [n_atoms, 3]
    e_err, f_err = e_err.float(), f_err.float()
    loss = config.energy_weight * loss_fn(e_err, torch.zeros_like(e_err))
    if config.force_weight > 0:
        loss = loss + config.force_weight * loss_fn(f_err, torch.zeros_like(f_err))
    return loss


# ----------------------------------------------------------------- trainer hooks

def setup(trainer: _Trainer) -> None:
    """At the start of :func:`companion.train.fit`: reference from the training split,
    attached to the model; the module DDP wraps (forces in its forward)."""
    trainer.reference = set_energy_reference(trainer.model,
                                             make_reference(trainer.train_set, trainer.config))
    trainer.forces_module = EnergyForces(trainer.model, trainer.reference)


def restore(trainer: _Trainer, ckpt: Mapping[str, Any]) -> None:
    """Resume: the reference of the checkpoint (the model's buffers come with its weights)."""
    saved = ckpt.get("potential")
    if saved:
        trainer.reference = EnergyReference.from_dict(saved)
        trainer.model.energy_reference = trainer.reference
        trainer.forces_module.reference = trainer.reference


def train_epoch(trainer: _Trainer, epoch: int) -> dict[str, float]:
    """One pass over the training set; ``train_*`` metrics of the epoch's batches."""
    from companion.train import _autocast

    config = trainer.config
    trainer.net.train()
    trainer.sampler.set_epoch(epoch)
    sums, lr = PotentialSums(), trainer.optimizer.param_groups[0]["lr"]
    batches = trainer.loader
    if config.progress and trainer.rank == 0:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc=f"epoch {epoch}", leave=False)
    for batch in batches:
        batch = batch.to(trainer.device)
        with _autocast(trainer.device, config.amp):
            energy, forces = trainer.net(batch)  # [n_graphs] eV, [n_atoms, 3] eV/Å
        loss = potential_loss(energy, forces, batch, trainer.reference, config,
                              trainer.loss_fn)
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(trainer.net.parameters(), config.grad_clip)
        lr = trainer.optimizer.param_groups[0]["lr"]
        trainer.optimizer.step()
        trainer.scheduler.step()
        sums.add(energy, forces, batch, float(loss.detach()))
    sums.all_reduce(trainer.device)
    metrics = sums.metrics()
    return ({f"train_{k}": v for k, v in metrics.items()}
            | {"train_mae": score_of(metrics, config), "lr": lr})


def validate(trainer: _Trainer) -> dict[str, float]:
    """``val_*`` metrics (eval mode) and ``val_mae``, the selection score."""
    metrics = evaluate_potential(trainer.model, trainer.val_set, trainer.loader.batch_size,
                                 trainer.device, trainer.config.amp)
    return {f"val_{k}": v for k, v in metrics.items()} | {
        "val_mae": score_of(metrics, trainer.config)}


# ------------------------------------------------------------- evaluate / predict

def _run(model: nn.Module, dataset: Dataset, batch_size: int, device: torch.device | None,
         amp: bool, keep: bool) -> tuple[PotentialSums, dict[str, Any]]:
    """Errors over ``dataset`` (each DDP process every K-th structure, then all-reduced);
    with ``keep``, the predictions too (single process only)."""
    from companion.train import _autocast, _loader, _model_device, dist_info

    reference = get_energy_reference(model) or EnergyReference(in_model=True)
    device = device or _model_device(model)
    rank, world = dist_info()
    part = Subset(dataset, list(range(rank, len(dataset), world))) if world > 1 else dataset
    module = EnergyForces(model, reference)
    was_training = model.training
    model.eval()
    sums, kept = PotentialSums(), {"energy": [], "forces": [], "natoms": []}
    labelled = len(part) > 0 and "forces" in part[0]
    try:
        for batch in _loader(part, batch_size):
            batch = batch.to(device)
            with _autocast(device, amp):
                energy, forces = module(batch)  # [n_graphs], [n_atoms, 3]
            if labelled:
                sums.add(energy, forces, batch)
            if keep:
                counts = _natoms(batch).long().tolist()
                kept["energy"].append(energy.detach().double().cpu().numpy())
                kept["forces"] += list(torch.split(forces.detach().double().cpu(), counts))
                kept["natoms"] += counts
    finally:
        model.train(was_training)
    sums.all_reduce(device)
    return sums, kept


def evaluate_potential(model: nn.Module, dataset: Dataset, batch_size: int = 64,
                       device: torch.device | str | None = None, amp: bool = False
                       ) -> dict[str, float]:
    """Energy and force errors of a potential on graphs with ``energy`` and ``forces``.

    Returns:
        ``{"energy_mae", "energy_rmse"}`` in meV/atom and ``{"force_mae", "force_rmse"}`` in
        meV/Å (all components), identical on every DDP process.
    """
    device = torch.device(device) if isinstance(device, str) else device
    metrics = _run(model, dataset, batch_size, device, amp, keep=False)[0].metrics()
    return {k: metrics[k] for k in METRIC_KEYS}


def predict_potential(model: nn.Module, dataset: Dataset, batch_size: int = 64,
                      device: torch.device | str | None = None) -> dict[str, Any]:
    """Energies and forces of a potential for every structure of ``dataset`` (one process).

    Returns:
        ``{"energy": float64 [n] eV, "forces": list of float64 [n_atoms, 3] eV/Å,
        "natoms": int64 [n]}`` in dataset order.
    """
    device = torch.device(device) if isinstance(device, str) else device
    kept = _run(model, dataset, batch_size, device, False, keep=True)[1]
    energy = np.concatenate(kept["energy"]) if kept["energy"] else np.zeros(0)
    return {"energy": energy, "forces": [f.numpy() for f in kept["forces"]],
            "natoms": np.asarray(kept["natoms"], dtype=np.int64)}


# ---------------------------------------------------------------------- CLI runs

def _upstream_test(data: str, fast: bool) -> tuple[str, Any] | None:
    if data not in UPSTREAM_TEST:
        return None
    from companion.data import external

    func, split = UPSTREAM_TEST[data]
    test = getattr(external, func)(split=split)
    if fast:
        test = test.subset(np.arange(min(len(test), 64)))
    return split, test


def train_potential_model(model_name: str, data: str, dataset: Any, split: Mapping[str, Any],
                          out: str | Path | None, model_config: Mapping[str, Any] | None,
                          config: TrainConfig, fast: bool) -> dict[str, Any]:
    """:func:`companion.train.train_model` for data with forces: graphs of the model's radius,
    energy + force training, metrics on train/val/test (and the upstream test file of
    ethanol, acac and mlearn: :data:`UPSTREAM_TEST`), ``out/metrics.json``,
    ``out/test_predictions.csv`` and the checkpoints."""
    from companion.graphs.potential_dataset import PotentialDataset
    from companion.models.registry import build_model, graph_kwargs
    from companion.train import (
        _broadcast,
        _metrics_record,
        dist,
        dist_info,
        fit,
        seed_everything,
    )

    t0 = time.perf_counter()
    rank, world = dist_info()
    model_config = dict(model_config or {})
    species = sorted({int(z) for r in dataset.records for z in r.numbers.tolist()})
    if "species" not in model_config and _has_field(model_name, "species"):
        model_config["species"] = species  # the elements of the data set
    seed_everything(config.seed)
    model = build_model(model_name, model_config)
    gk = {k: v for k, v in graph_kwargs(model_name, model_config).items()
          if k not in ("policy", "line_graph")}
    cutoff = gk.pop("cutoff", 5.0)
    sets = {k: PotentialDataset(dataset, split[k], cutoff=cutoff, **gk)
            for k in ("train", "val", "test")}
    upstream = _upstream_test(data, fast)
    if upstream is not None:
        sets[upstream[0]] = PotentialDataset(upstream[1], cutoff=cutoff, **gk)
    history = fit(model, sets["train"], sets["val"], config, meta={"model_name": model_name})
    t_fit = time.perf_counter() - t0
    scores = {k: evaluate_potential(model, s, amp=config.amp) for k, s in sets.items()}
    test_key = upstream[0] if upstream is not None else "test"
    metrics = _metrics_record(model_name, model, data, "energy", dataset, split, fast,
                              scores, history, config, world, time.perf_counter() - t0, t_fit)
    metrics.update(task="potential", unit="meV/atom (energy), meV/Å (forces)",
                   test_set=test_key, energy_reference=model.energy_reference.to_dict(),
                   **({upstream[0]: scores[upstream[0]], f"n_{upstream[0]}": len(upstream[1])}
                      if upstream is not None else {}))
    metrics = _broadcast(metrics)
    if rank == 0 and out is not None:
        pred = predict_potential(model, sets[test_key])
        _write_outputs(Path(out), metrics, sets[test_key], pred)
    if world > 1:
        dist.barrier()
    return metrics


def _has_field(model_name: str, name: str) -> bool:
    from companion.models.registry import _REGISTRY

    spec = _REGISTRY.get(model_name)
    if spec is None or not spec.module:
        return False
    import importlib

    cls = getattr(importlib.import_module(spec.module), spec.config_class)
    return name in {f.name for f in dataclasses.fields(cls)}


def _write_outputs(out: Path, metrics: Mapping[str, Any], test_set: Any,
                   pred: Mapping[str, Any]) -> None:
    from companion.train import _write_durable

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".metrics.json.tmp"
    _write_durable(tmp, lambda f: f.write(json.dumps(metrics, indent=2).encode()))
    os.replace(tmp, out / "metrics.json")
    records = test_set.dataset.records
    tmp = out / ".test_predictions.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "n_atoms", "energy_eV", "predicted_energy_eV",
                    "force_mae_meV_per_A"])
        for k, i in enumerate(test_set.indices):
            forces = test_set._forces[int(i)]
            f_mae = MEV * float(np.abs(pred["forces"][k] - forces).mean())
            w.writerow([records[int(i)].id, int(pred["natoms"][k]), f"{test_set.targets[k]:.8f}",
                        f"{pred['energy'][k]:.8f}", f"{f_mae:.3f}"])
    os.replace(tmp, out / "test_predictions.csv")
