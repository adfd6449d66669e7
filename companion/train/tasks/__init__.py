"""The tasks the training loop runs, and how one is chosen.

- :class:`~companion.train.tasks.base.Task`: the interface (prepare a model's output scale
  and shift, loss of a batch, running metrics, score, checkpoint state, evaluate, predict).
- :class:`~companion.train.tasks.graph_target.GraphTargetTask`: one number per graph.
- :class:`~companion.train.tasks.energy_force.EnergyForceTask`: energies and forces.
- :class:`~companion.train.tasks.phonon_bands.PhononBandTask`: phonon bands per material
  (the authors' ``BandLoss``; k-MVN).

:func:`task_for` picks one from ``TrainConfig.task`` and the data (graphs with ``forces``:
energies and forces); :func:`task_of` from a trained model (a per-species ``scale_shift``:
a potential). A new kind of target is a new :class:`Task` subclass, given to
:func:`companion.train.fit` as ``task=``; add it to :data:`TASKS` to select it by name.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torch_geometric.data.data import BaseData

from companion.nn.scale_shift import ScaleShift
from companion.train.config import TrainConfig
from companion.train.tasks.base import RunningSums, Task
from companion.train.tasks.energy_force import (
    METRIC_KEYS,
    EnergyForces,
    EnergyForceTask,
    evaluate_potential,
    predict_potential,
)
from companion.train.tasks.graph_target import GraphTargetTask, regression_metrics
from companion.train.tasks.phonon_bands import PhononBandTask
from companion.train.tasks.reference import (
    AtomicReference,
    atomic_reference,
    fit_atomic_energies,
)

__all__ = ["METRIC_KEYS", "TASKS", "AtomicReference", "EnergyForceTask", "EnergyForces",
           "GraphTargetTask", "PhononBandTask", "RunningSums", "Task", "atomic_reference",
           "evaluate_potential", "fit_atomic_energies", "has_bands", "has_forces",
           "predict_potential", "regression_metrics", "task_for", "task_of"]

TASKS: dict[str, type[Task]] = {"scalar": GraphTargetTask, "potential": EnergyForceTask,
                                "phonon_bands": PhononBandTask}
"""``TrainConfig.task`` name -> task class."""


def has_forces(dataset: Any) -> bool:
    """True for data with forces: a labelled set whose records carry a ``forces`` label, a
    :class:`~companion.graphs.potential_dataset.PotentialDataset`, or graphs with ``forces``;
    False for crystals with targets only (a shipped set, graphs without ``forces``).

    Raises:
        TypeError: a first item that is neither a graph nor a record (set ``TrainConfig.task``).
        whatever reading the first item raises: a broken data set is an error, never a
            silent fallback to another task.
    """
    records = getattr(dataset, "records", None)
    if records is not None:
        return bool(records) and "forces" in getattr(records[0], "labels", {})
    if hasattr(dataset, "forces_name"):
        return True
    if len(dataset) == 0:
        return False
    first = dataset[0]
    if isinstance(first, BaseData):
        return "forces" in first
    if hasattr(first, "labels"):
        return "forces" in first.labels
    if hasattr(first, "targets"):  # a crystal record with targets only
        return False
    raise TypeError(f"cannot tell whether {type(dataset).__name__} holds forces (its first "
                    f"item is a {type(first).__name__}); set TrainConfig.task to 'scalar' or "
                    "'potential'.")


def task_for(data: Any, config: TrainConfig | None = None) -> Task:
    """The task of a run: ``config.task`` by name, or (``"auto"``) from the data."""
    config = config or TrainConfig()
    name = config.task
    if name == "auto":
        name = ("phonon_bands" if has_bands(data) else
                "potential" if has_forces(data) else "scalar")
    return TASKS[name](config)


def has_bands(dataset: Any) -> bool:
    """True for phonon records (labels ``qpoints`` and ``frequencies``, e.g. ``mp_phonons``)
    or graphs carrying ``bands``."""
    records = getattr(dataset, "records", None)
    if records is not None:
        labels = getattr(records[0], "labels", {}) if records else {}
        return "qpoints" in labels and "frequencies" in labels
    if len(dataset) == 0:
        return False
    first = dataset[0]
    return isinstance(first, BaseData) and "bands" in first


def task_of(model: nn.Module, config: TrainConfig | None = None) -> Task:
    """The task a model was built for: its class's ``task`` name if it has one (k-MVN:
    ``"phonon_bands"``); else energies and forces if its ``scale_shift`` is per species,
    else one number per graph."""
    named = getattr(model, "task", None)  # a model made for one task says so (k-MVN)
    if isinstance(named, str) and named in TASKS:
        return TASKS[named](config)
    ss = getattr(model, "scale_shift", None)
    per_species = isinstance(ss, ScaleShift) and ss.per_species
    return (EnergyForceTask if per_species else GraphTargetTask)(config)
