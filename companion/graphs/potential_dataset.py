"""A torch ``Dataset`` of radius graphs labelled with energies and forces (potentials).

:class:`PotentialDataset` turns records of a
:class:`~companion.data.records.LabeledDataset` (ethanol, EAN, mlearn, ...: anything with
``arrays(i) -> (z, pos, cell)``, ``target("energy")`` and ``label("forces")``) into
:class:`~companion.graphs.CrystalGraph` objects (schema: :mod:`companion.graphs.keys`) that
also carry

- ``energy``: [1] float64, total energy in eV (a batch stacks them to [n_graphs]);
- ``forces``: [n_atoms, 3], eV/Å, in the dtype of ``pos`` (a batch concatenates them);
- ``natoms``: [1] int64, atoms in the structure (a batch: [n_graphs]);
- ``y``: [1], the energy again (eV), so that scalar tools such as ``predict`` still apply;
- ``idx``: [1] int64, the record index in the source dataset.

The energy stays in float64 whatever the graph's dtype: a total energy of -4209.6 eV in
float32 is only known to 0.5 meV. Graphs are built on first access and cached in a list
sized to the split (``cache=True``). The training engine
(:func:`companion.train.fit` with its ``EnergyForceTask``) reads these keys.

Example:
    >>> from companion.data import load
    >>> from companion.graphs.potential_dataset import PotentialDataset
    >>> data = load("ethanol", split="train")
    >>> train = PotentialDataset(data, data.split["train"], cutoff=4.0)
    >>> train[0].forces.shape                  # torch.Size([9, 3]), eV/Å
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from companion.errors import DataError, StructureError
from companion.graphs.build import CrystalGraph, to_graph
from companion.graphs.dataset import CachedGraphs

__all__ = ["PotentialDataset"]


class PotentialDataset(CachedGraphs):
    """Radius graphs of a subset of a labelled dataset, with energies and forces.

    Args:
        dataset: source with ``arrays(i)``, ``target(energy)`` and ``label(forces)`` (e.g.
            ``load("ethanol")``, ``load("ean")``, ``load("mlearn", element="Si")``).
        indices: record indices, e.g. ``dataset.split["train"]`` (default: every record).
        cutoff: radius of the graph, Å (the model's ``config.cutoff``).
        dtype: floating dtype of ``pos``, ``cell`` and ``forces`` (default: torch's).
        cache: keep each graph after its first construction.
        energy: name of the energy target (eV, total).
        forces: name of the forces label (eV/Å).
        **graph_options: further options of :func:`~companion.graphs.to_graph`; atoms
            without neighbors are allowed by default (``allow_isolated=True``: a potential
            gives them their reference energy and no force).

    Attributes:
        dataset, indices, cutoff, graph_kwargs, targets (float64 [n] total energies, eV),
        natoms (int64 [n]), atomic_energies (isolated-atom energies of the source, Z -> eV;
        empty if it has none), unit (``"eV"``), target_name (``"energy"``).
    """

    unit = "eV"

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray | None = None,
                 cutoff: float = 5.0, dtype: torch.dtype | None = None, cache: bool = True,
                 energy: str = "energy", forces: str = "forces", **graph_options: Any) -> None:
        self.dataset = dataset
        if indices is None:
            indices = np.arange(len(dataset))
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)  # [n]
        self.cutoff = float(cutoff)
        self.dtype = dtype or torch.get_default_dtype()
        self.target_name, self.forces_name = energy, forces
        self.targets = np.asarray(dataset.target(energy), dtype=np.float64)[self.indices]  # [n]
        self._forces = [np.asarray(f, dtype=np.float64) for f in dataset.label(forces)]
        self.natoms = np.array([len(self._forces[i]) for i in self.indices], dtype=np.int64)
        self.graph_kwargs: dict[str, Any] = {"policy": "radius", "cutoff": self.cutoff,
                                             "line_graph": False, "allow_isolated": True,
                                             **graph_options}
        self.cache = cache
        self._init_cache()

    @property
    def atomic_energies(self) -> dict[int, float]:
        """Isolated-atom reference energies of the source (Z -> eV), or ``{}``."""
        ref: Mapping[int, float] = getattr(self.dataset, "atomic_energies", None) or {}
        return {int(z): float(e) for z, e in ref.items()}

    def numbers(self, k: int) -> np.ndarray:
        """Atomic numbers of the ``k``-th structure (int64 [n_atoms]), without a graph."""
        return np.asarray(self.dataset.arrays(int(self.indices[k]))[0], dtype=np.int64)

    def forces_of(self, k: int) -> np.ndarray:
        """Forces of the ``k``-th structure (float64 [n_atoms, 3], eV/Å), without a graph."""
        return self._forces[int(self.indices[k])]

    def _arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(z, pos, cell, pbc)`` of source record ``i``: molecules (``record.pbc`` False, a
        zero cell) stay molecules."""
        z, pos, cell = self.dataset.arrays(i)
        records = getattr(self.dataset, "records", None)
        pbc = bool(records[i].pbc) if records is not None else bool(np.abs(cell).sum() > 0)
        return z, pos, cell, np.full(3, pbc)

    def build(self, k: int) -> CrystalGraph:
        """Build (never from the cache) the labelled graph of the ``k``-th record."""
        i = int(self.indices[k])
        try:
            graph = to_graph(self._arrays(i), dtype=self.dtype, **self.graph_kwargs)
        except StructureError as exc:
            raise StructureError(f"{self.data_name} record {i}: {exc}") from None
        forces = self._forces[i]  # [n_atoms, 3]
        if forces.shape != (graph.num_nodes, 3):
            raise DataError(f"{self.data_name} record {i}: forces of shape {forces.shape} for "
                            f"{graph.num_nodes} atoms.")
        graph.energy = torch.tensor([self.targets[k]], dtype=torch.float64)  # [1], eV
        graph.forces = torch.from_numpy(forces).to(self.dtype)  # [n_atoms, 3]
        graph.natoms = torch.tensor([graph.num_nodes], dtype=torch.long)  # [1]
        graph.y = graph.energy.clone()  # [1]
        graph.idx = torch.tensor([i], dtype=torch.long)  # [1]
        return graph

    def subset(self, positions: Sequence[int] | np.ndarray) -> PotentialDataset:
        """A dataset of some of these structures (positions ``0..len-1`` in this one);
        graphs already built are shared, not rebuilt."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        new = PotentialDataset.__new__(PotentialDataset)
        new.__dict__.update(self.__dict__)
        new.indices = self.indices[positions]
        new.targets, new.natoms = self.targets[positions], self.natoms[positions]
        new._graphs = [self._graphs[int(p)] for p in positions] if self.cache else []
        return new

    def __repr__(self) -> str:
        return (f"PotentialDataset({self.data_name}, {len(self)} graphs, energy [eV] + forces "
                f"[eV/Å], radius {self.cutoff:g} Å, {str(self.dtype).replace('torch.', '')})")
