"""A torch ``Dataset`` of crystal graphs with targets, for training with a ``DataLoader``.

:class:`GraphDataset` turns records of a :class:`~companion.data.shipped.CrystalDataset`
(anything with ``arrays(i) -> (z, pos, cell)`` and ``target(name)``) into
:class:`~companion.graphs.CrystalGraph` objects (schema: :mod:`companion.graphs.keys`) that
also carry

- ``y``: [1] float, the target in its units (a batch stacks them to [n_graphs]);
- ``idx``: [1] int64, the record index in the source dataset (a batch: [n_graphs]).

Graphs are built from the fast array path (no pymatgen) on first access and kept in a list
sized to the split when ``cache=True`` (bounded: one entry per record of the split).

Example:
    >>> from companion.data import load
    >>> from companion.graphs.dataset import GraphDataset
    >>> ds = load("mp_eform")
    >>> train = GraphDataset(ds, ds.split["train"], "formation_energy_per_atom",
    ...                      policy="cgcnn")
    >>> from torch_geometric.loader import DataLoader
    >>> batch = next(iter(DataLoader(train, batch_size=32)))   # batch.y: [32] eV/atom
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import torch
from torch.utils.data import Dataset

from companion.errors import StructureError
from companion.graphs.build import CrystalGraph, to_graph


class CachedGraphs(Dataset):
    """Base of the graph datasets: records of a source, built into graphs by :meth:`build`
    on first access and, with ``cache``, kept in a list sized to the split.

    Subclasses set ``dataset``, ``indices`` and ``cache``, call :meth:`_init_cache`, and
    implement :meth:`build`.
    """

    dataset: Any
    indices: np.ndarray
    cache: bool

    def _init_cache(self) -> None:
        self._graphs: list[CrystalGraph | None] = [None] * len(self.indices) if self.cache else []

    @property
    def split_hash(self) -> str | None:
        """sha256 of the source dataset's split (``None`` if the source has none)."""
        return getattr(self.dataset, "split_hash", None)

    @property
    def data_name(self) -> str:
        """Name of the source dataset, e.g. ``"mp_eform"``."""
        return str(getattr(self.dataset, "name", type(self.dataset).__name__))

    def __len__(self) -> int:
        return len(self.indices)

    def build(self, k: int) -> CrystalGraph:
        """Build (never from the cache) the graph of the ``k``-th record of the split."""
        raise NotImplementedError

    def __getitem__(self, k: int) -> CrystalGraph:
        k = range(len(self))[k]  # bounds check, negative indices
        if not self.cache:
            return self.build(k)
        graph = self._graphs[k]
        if graph is None:
            graph = self._graphs[k] = self.build(k)
        return graph

    def prebuild(self, progress: bool = False) -> Self:
        """Build every graph now (before ``DataLoader`` workers fork, so they share them).

        Args:
            progress: show a tqdm progress bar.

        Returns:
            ``self``.
        """
        if not self.cache:
            return self
        todo = [k for k, g in enumerate(self._graphs) if g is None]
        if progress and todo:
            from tqdm.auto import tqdm

            todo = tqdm(todo, desc="graphs", leave=False)
        for k in todo:
            self._graphs[k] = self.build(k)
        return self


class GraphDataset(CachedGraphs):
    """Graphs of a subset of a crystal dataset, with their targets.

    Args:
        dataset: source with ``arrays(i)`` and ``target(name)`` (e.g. ``load("mp_eform")``).
        indices: record indices of the split, e.g. ``dataset.split["train"]``.
        target: target name, e.g. ``"formation_energy_per_atom"``.
        policy: graph policy of :func:`~companion.graphs.to_graph` (``"radius"``,
            ``"cgcnn"``, ``"alignn"``).
        cutoff: cutoff radius, Å (default: the policy's).
        line_graph: also build ``lg_edge_index``.
        cache: keep each graph after its first construction (a list sized to ``indices``).
        max_neighbors: neighbors per atom (default: the policy's).
        **graph_options: further options of :func:`~companion.graphs.to_graph`, e.g.
            ``allow_isolated=True``.

    Attributes:
        dataset, indices, target_name, unit, graph_kwargs, targets (float64 [n], target units).
    """

    def __init__(
        self,
        dataset: Any,
        indices: Sequence[int] | np.ndarray,
        target: str,
        policy: str = "radius",
        cutoff: float | None = None,
        line_graph: bool = False,
        cache: bool = True,
        max_neighbors: int | None = None,
        **graph_options: Any,
    ) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)  # [n]
        self.target_name = target
        self.targets = np.asarray(dataset.target(target), dtype=np.float64)[self.indices]  # [n]
        self.unit = str(getattr(dataset, "units", {}).get(target, ""))
        self.graph_kwargs: dict[str, Any] = {"policy": policy, "cutoff": cutoff,
                                             "line_graph": line_graph}
        if max_neighbors is not None:
            self.graph_kwargs["max_neighbors"] = max_neighbors
        self.graph_kwargs.update(graph_options)
        self.cache = cache
        self._init_cache()

    def build(self, k: int) -> CrystalGraph:
        """Build (never from the cache) the graph of the ``k``-th record of the split."""
        i = int(self.indices[k])
        try:
            graph = to_graph(self.dataset.arrays(i), **self.graph_kwargs)
        except StructureError as exc:
            ids = getattr(self.dataset, "material_ids", None)
            name = f" ({ids[i]})" if ids is not None else ""
            raise StructureError(f"{self.data_name} record {i}{name}: {exc}") from None
        graph.y = torch.tensor([self.targets[k]], dtype=torch.get_default_dtype())  # [1]
        graph.idx = torch.tensor([i], dtype=torch.long)  # [1]
        return graph

    def __repr__(self) -> str:
        return (f"GraphDataset({self.data_name}, {len(self)} graphs, target "
                f"{self.target_name!r} [{self.unit}], {self.graph_kwargs})")
