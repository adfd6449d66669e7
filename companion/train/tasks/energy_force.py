r"""Energies and forces of an interatomic potential: :class:`EnergyForceTask`.

The model gives total energies, ``model(batch) -> [n_graphs]`` (eV); forces are
:math:`-\partial E / \partial \mathbf r`, from ``model.energy_and_forces(batch)`` when it has
one (e.g. :class:`~companion.models.gatv2.GATv2Potential`), else by autograd through
``model(batch)``. The model's units live in its per-species
:class:`~companion.nn.ScaleShift` (``model.scale_shift``), set by :meth:`prepare` from the
training split (:mod:`~companion.train.tasks.reference`): a model with ``energy_and_forces``
applies it itself (so it predicts eV alone, e.g. inside an ASE calculator); for any other
model the task attaches one and applies it around the model.

**Loss** (per batch, ``w_E = energy_weight``, ``w_F = force_weight``, ``L`` the config's L1,
MSE or Huber, :math:`N_k` atoms in structure k, :math:`\sigma` the reference scale):

.. math::
    \mathcal L = w_E\, L\Big(\frac{E_k - \hat E_k}{N_k\, \sigma}\Big)
               + w_F\, L\Big(\frac{\mathbf F_{i\alpha} - \hat{\mathbf F}_{i\alpha}}{\sigma}\Big)

(without ``per_atom_energy`` the energy term uses :math:`E_k - \hat E_k`). Training keeps the
graph of the forces (``create_graph=True``) so that the force loss reaches the parameters.

**Metrics**: energy MAE and RMSE per atom (meV/atom: :math:`|E_k - \hat E_k| / N_k`, averaged
over structures) and force MAE and RMSE over all Cartesian components (meV/Å). The score that
picks the best epoch is the force MAE (the energy MAE when ``force_weight`` is 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset
from torch_geometric.utils import scatter

from companion.graphs import graph_index
from companion.nn.scale_shift import ScaleShift
from companion.train.config import TrainConfig
from companion.train.runtime import autocast, dist_info, make_loader, model_device
from companion.train.tasks.base import RunningSums, Task
from companion.train.tasks.reference import AtomicReference, atomic_reference

__all__ = ["METRIC_KEYS", "EnergyForceTask", "EnergyForces", "evaluate_potential",
           "predict_potential"]

MEV = 1000.0
"""meV per eV: every metric of this module is in meV/atom or meV/Å."""

METRIC_KEYS = ("energy_mae", "energy_rmse", "force_mae", "force_rmse")
"""Keys of :func:`evaluate_potential` (meV/atom, meV/atom, meV/Å, meV/Å)."""


class EnergyForces(nn.Module):
    """``batch -> (energy [n_graphs] eV, forces [n_atoms, 3] eV/Å)`` of a potential.

    Forces come from ``model.energy_and_forces`` if the model has it (the model applies its
    own ``scale_shift``), else from autograd through ``model(batch)``, scaled and shifted
    here by ``model.scale_shift`` (per structure: the mean of its atoms' scales, the sum of
    their shifts). The graph of the derivatives is kept in training mode (a force loss trains
    the parameters). One module, so that DDP sees the whole computation as one ``forward``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        create = self.model.training
        with torch.enable_grad():
            if hasattr(self.model, "energy_and_forces"):
                out = self.model.energy_and_forces(batch, create_graph=create)
                return out["energy"], out["forces"]  # [n_graphs], [n_atoms, 3]
            pos = batch.pos.detach().requires_grad_(True)  # [n_atoms, 3]
            moved = batch.clone()
            moved.pos = pos
            energy = self.model(moved).reshape(-1)  # [n_graphs]
            forces = -torch.autograd.grad(energy.sum(), pos, create_graph=create)[0]
        ss, graph = self.model.scale_shift, graph_index(batch)  # [n_atoms]
        rows = ss.index(batch.z)  # [n_atoms]
        scale = scatter(ss.scale[rows].double(), graph, dim=0, dim_size=len(energy),
                        reduce="mean")  # [n_graphs]
        base = torch.zeros(len(energy), dtype=torch.float64, device=energy.device)
        base.index_add_(0, graph, ss.shift[rows].double())  # [n_graphs]
        energy = energy.double() * scale + base  # [n_graphs]
        forces = forces * scale[graph].to(forces.dtype)[:, None]  # [n_atoms, 3]
        return energy, forces


def natoms_of(batch: Any) -> torch.Tensor:
    """[n_graphs] atoms per structure (float64)."""
    n = getattr(batch, "natoms", None)
    if n is None:
        n = torch.bincount(graph_index(batch), minlength=batch.num_graphs)
    return n.reshape(-1).double()


class PotentialSums(RunningSums):
    """Float64 running sums for energy (per atom) and force errors: structures, Σ|e|, Σe²,
    force components, Σ|f|, Σf², Σ loss·structures."""

    def __init__(self) -> None:
        super().__init__(7)

    def add(self, out: tuple[torch.Tensor, torch.Tensor], batch: Any,
            loss: torch.Tensor | float = 0.0) -> None:
        energy, forces = out
        e = (energy.detach().double() - batch.energy.reshape(-1).double()).cpu()  # [n_graphs]
        e = e / natoms_of(batch).cpu()  # [n_graphs], eV/atom
        f = (forces.detach().double() - batch.forces.double()).reshape(-1).cpu()  # [3 n_atoms]
        self.v += torch.tensor([len(e), float(e.abs().sum()), float((e**2).sum()), len(f),
                                float(f.abs().sum()), float((f**2).sum()),
                                float(loss) * len(e)], dtype=torch.float64)

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


def _run(model: nn.Module, dataset: Dataset, batch_size: int, device: torch.device | None,
         amp: bool, keep: bool) -> tuple[PotentialSums, dict[str, Any]]:
    """Errors over ``dataset``; without ``keep`` each DDP process takes every K-th structure
    and the sums are all-reduced; with ``keep`` (predictions) this process does them all."""
    device = device or model_device(model)
    rank, world = (0, 1) if keep else dist_info()
    part = Subset(dataset, list(range(rank, len(dataset), world))) if world > 1 else dataset
    module = EnergyForces(model)
    was_training = model.training
    model.eval()
    sums, kept = PotentialSums(), {"energy": [], "forces": [], "natoms": []}
    labelled = len(part) > 0 and "forces" in part[0]
    try:
        for batch in make_loader(part, batch_size):
            batch = batch.to(device)
            with autocast(device, amp):
                energy, forces = module(batch)  # [n_graphs], [n_atoms, 3]
            if labelled:
                sums.add((energy, forces), batch)
            if keep:
                counts = natoms_of(batch).long().tolist()
                kept["energy"].append(energy.detach().double().cpu().numpy())
                kept["forces"] += list(torch.split(forces.detach().double().cpu(), counts))
                kept["natoms"] += counts
    finally:
        model.train(was_training)
    if not keep:
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
    """Energies and forces of a potential for every structure of ``dataset`` (this process
    does them all, also under DDP).

    Returns:
        ``{"energy": float64 [n] eV, "forces": list of float64 [n_atoms, 3] eV/Å,
        "natoms": int64 [n]}`` in dataset order.
    """
    device = torch.device(device) if isinstance(device, str) else device
    kept = _run(model, dataset, batch_size, device, False, keep=True)[1]
    energy = np.concatenate(kept["energy"]) if kept["energy"] else np.zeros(0)
    return {"energy": energy, "forces": [f.numpy() for f in kept["forces"]],
            "natoms": np.asarray(kept["natoms"], dtype=np.int64)}


class EnergyForceTask(Task):
    """Energies and forces (graphs with ``energy``, ``forces``, ``natoms``); module docstring.

    Attributes:
        reference: the :class:`~companion.train.tasks.reference.AtomicReference` of the
            training split (its ``scale`` :math:`\\sigma` is the loss's unit).
    """

    name = "potential"

    def __init__(self, config: TrainConfig | None = None) -> None:
        super().__init__(config)
        self.reference = AtomicReference()

    def prepare(self, model: nn.Module, train_set: Dataset) -> None:
        self.reference = ref = atomic_reference(train_set, self.config)
        ss = getattr(model, "scale_shift", None)
        if ss is None:  # a model without its own: the task applies one around it
            species = getattr(getattr(model, "config", None), "species", None)
            model.scale_shift = ss = ScaleShift(species or sorted(ref.atomic_energies))
        if not isinstance(ss, ScaleShift) or not ss.per_species:
            raise ValueError(f"{type(model).__name__}.scale_shift is not a per-species "
                             "ScaleShift; energies need one (companion.nn.ScaleShift(species)).")
        ss.set(shift=ref.per_species_shift(ss.species), scale=ref.scale)

    def module(self, model: nn.Module) -> nn.Module:
        return EnergyForces(model)

    def loss(self, model: nn.Module, out: tuple[torch.Tensor, torch.Tensor], batch: Any
             ) -> torch.Tensor:
        energy, forces = out  # [n_graphs] eV, [n_atoms, 3] eV/Å
        config, scale = self.config, self.reference.scale
        e_err = (energy.double() - batch.energy.reshape(-1).double()) / scale
        if config.per_atom_energy:
            e_err = e_err / natoms_of(batch)  # [n_graphs]
        f_err = (forces - batch.forces) / scale  # [n_atoms, 3]
        e_err, f_err = e_err.float(), f_err.float()
        loss = config.energy_weight * self.loss_fn(e_err, torch.zeros_like(e_err))
        if config.force_weight > 0:
            loss = loss + config.force_weight * self.loss_fn(f_err, torch.zeros_like(f_err))
        return loss

    def sums(self, model: nn.Module) -> PotentialSums:
        return PotentialSums()

    def score(self, metrics: Mapping[str, float]) -> float:
        return metrics["force_mae"] if self.config.force_weight > 0 else metrics["energy_mae"]

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "reference": self.reference.to_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.reference = AtomicReference.from_dict(state["reference"])

    def evaluate(self, model: nn.Module, dataset: Dataset, batch_size: int = 64,
                 device: torch.device | None = None, amp: bool = False,
                 progress: bool = False) -> dict[str, float]:
        return evaluate_potential(model, dataset, batch_size, device, amp)

    def predict(self, model: nn.Module, dataset: Dataset, batch_size: int = 64,
                device: torch.device | None = None, amp: bool = False,
                progress: bool = False) -> np.ndarray:
        return predict_potential(model, dataset, batch_size, device)["energy"]

    def dataset(self, source: Any, indices: Sequence[int] | np.ndarray | None,
                graph_kwargs: Mapping[str, Any], target: str | None) -> Dataset:
        from companion.graphs.potential_dataset import PotentialDataset

        gk = {k: v for k, v in graph_kwargs.items() if k not in ("policy", "line_graph")}
        cutoff = gk.pop("cutoff", 5.0)
        return PotentialDataset(source, indices, cutoff=cutoff, **gk)

    def target(self, source: Any, target: str | None) -> str:
        return "energy"

    def configure(self, model_config: dict[str, Any], fields: set[str], source: Any) -> None:
        if "species" not in model_config and "species" in fields:
            model_config["species"] = sorted(  # the elements of the data set
                {int(z) for r in source.records for z in r.numbers.tolist()})

    def summary(self, source: Any, target: str) -> dict[str, Any]:
        return {"task": self.name, "unit": "meV/atom (energy), meV/Å (forces)",
                "energy_reference": self.reference.to_dict()}

    def prediction_table(self, model: nn.Module, test_set: Any, amp: bool = False
                         ) -> tuple[list[str], list[list[str]]]:
        pred = predict_potential(model, test_set)
        records, rows = test_set.dataset.records, []
        for k, i in enumerate(test_set.indices):
            f_mae = MEV * float(np.abs(pred["forces"][k] - test_set.forces_of(k)).mean())
            rows.append([records[int(i)].id, str(int(pred["natoms"][k])),
                         f"{test_set.targets[k]:.8f}", f"{pred['energy'][k]:.8f}",
                         f"{f_mae:.3f}"])
        return ["id", "n_atoms", "energy_eV", "predicted_energy_eV", "force_mae_meV_per_A"], rows
