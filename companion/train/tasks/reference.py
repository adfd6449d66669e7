r"""Per-element reference energies and the energy scale of a potential, from a training set.

Total energies are huge (ethanol: -4209.6 eV) and almost all of it is the energy of the
isolated atoms. A potential therefore learns

.. math::
    E = \sum_i \big(E^0_{Z_i} + \mu\big) + \sigma\, \tilde E(\text{structure})

with :math:`E^0_Z` the isolated-atom energies of the data set where it has them, else a
least-squares fit of :math:`E_k \approx \sum_Z n_{kZ} E^0_Z` over the training set;
:math:`\mu` the mean remaining energy per atom; :math:`\sigma` the root mean square force
component (eV/Å times 1 Å), so that the network's output :math:`\tilde E` and its gradients
are of order one. :func:`atomic_reference` computes these statistics; the
:class:`~companion.train.tasks.energy_force.EnergyForceTask` writes them into the model's
per-species :class:`~companion.nn.ScaleShift` (shift :math:`E^0_Z + \mu`, scale
:math:`\sigma`), which is then the only place the model's units live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from companion.train.config import TrainConfig

__all__ = ["AtomicReference", "atomic_reference", "fit_atomic_energies"]


@dataclass(frozen=True)
class AtomicReference:
    """The statistics :func:`atomic_reference` computes from a training set.

    Attributes:
        atomic_energies: Z -> :math:`E^0_Z` (eV).
        source: ``"isolated"`` (the data set's isolated atoms), ``"fit"`` (least squares on
            the training set) or ``"none"``.
        shift: :math:`\\mu`, mean energy per atom left after the reference (eV/atom).
        scale: :math:`\\sigma` (eV): RMS force component of the training set times 1 Å.
    """

    atomic_energies: Mapping[int, float] = field(default_factory=dict)
    source: str = "none"
    shift: float = 0.0
    scale: float = 1.0

    def per_species_shift(self, species: Sequence[int]) -> dict[int, float]:
        """Z -> :math:`E^0_Z + \\mu` (eV) for each of ``species`` (0 + μ if not known)."""
        return {int(z): self.atomic_energies.get(int(z), 0.0) + self.shift for z in species}

    def to_dict(self) -> dict[str, Any]:
        """Plain types (``torch.load(weights_only=True)`` reads them); Z keys as strings."""
        return {"atomic_energies": {str(z): float(e) for z, e in self.atomic_energies.items()},
                "source": self.source, "shift": float(self.shift), "scale": float(self.scale)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AtomicReference:
        return cls({int(z): float(e) for z, e in d["atomic_energies"].items()},
                   str(d["source"]), float(d["shift"]), float(d["scale"]))


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


def numbers_of(dataset: Dataset) -> list[np.ndarray]:
    """Atomic numbers of every structure of a dataset (without building graphs if it can)."""
    if hasattr(dataset, "numbers"):
        return [dataset.numbers(k) for k in range(len(dataset))]
    return [dataset[k].z.numpy() for k in range(len(dataset))]


def energies_and_forces(dataset: Dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """Total energies [n] (eV) and all force components (eV/Å) of a dataset."""
    targets = getattr(dataset, "targets", None)
    forces_of = getattr(dataset, "forces_of", None)
    if targets is not None and forces_of is not None:
        forces = [forces_of(k) for k in range(len(dataset))]
        return np.asarray(targets, dtype=np.float64), np.concatenate(forces).reshape(-1)
    graphs = [dataset[k] for k in range(len(dataset))]
    energy = np.array([float(g.energy.reshape(-1)[0]) for g in graphs])
    forces = [g.forces.double().numpy() for g in graphs if "forces" in g]
    return energy, (np.concatenate(forces).reshape(-1) if forces else None)


def atomic_reference(train_set: Dataset, config: TrainConfig) -> AtomicReference:
    """The :class:`AtomicReference` of a training set (module docstring).

    ``config.atomic_energies``: ``"isolated"`` (the dataset's ``atomic_energies``; error if
    an element lacks one), ``"fit"`` (least squares), ``"none"``, or ``"auto"`` (isolated
    when every element has one, else fit). With ``normalize_targets=False``, shift 0, scale 1.
    """
    numbers = numbers_of(train_set)
    energy, forces = energies_and_forces(train_set)
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
    return AtomicReference(ref, mode, shift, scale)
