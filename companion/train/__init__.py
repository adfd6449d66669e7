"""The one training engine for every model of the course.

Modules, each importing only those above it (no private name crosses a file):

- :mod:`~companion.train.config`: :class:`TrainConfig` (every choice of a run), :class:`History`.
- :mod:`~companion.train.runtime`: devices, seeds and random states, loaders, autocast, DDP.
- :mod:`~companion.train.optim`: optimizers, learning-rate schedules, losses.
- :mod:`~companion.train.tasks`: what is learned: the :class:`Task` interface,
  :class:`GraphTargetTask` (one number per graph), :class:`EnergyForceTask` (energies and
  forces), and how one is chosen (:func:`task_for`, :func:`task_of`).
- :mod:`~companion.train.checkpoint`: atomic checkpoints with a sha256 sidecar,
  ``weights_only`` loading, the check that a checkpoint belongs to the run.
- :mod:`~companion.train.loop`: :func:`fit`, the same for every task: train, validate each
  epoch, keep the best weights, checkpoint, resume to the same weights (bitwise on CPU),
  DDP under ``torchrun``.
- :mod:`~companion.train.inference`: :func:`predict`, :func:`evaluate`, :class:`Predictor`,
  :func:`load_for_inference`, :func:`load_predictor` (a catalogue name or a run).
- :mod:`~companion.train.run`: :func:`train_model`, what ``python -m companion train`` runs.

A model owns its output units: a :class:`~companion.nn.ScaleShift` (``model.scale_shift``
buffers) that the task sets from the training split (target mean and std; per-species atomic
reference energies and the force scale for potentials), so a checkpoint alone says what the
model predicts.
"""

from companion.train.checkpoint import (
    CHECKPOINT,
    FORMAT,
    PREVIOUS,
    CheckpointError,
    check_compatible,
    load_checkpoint,
    save_checkpoint,
)
from companion.train.config import SCHEDULES, History, TrainConfig
from companion.train.inference import (
    Predictor,
    evaluate,
    load_for_inference,
    load_predictor,
    predict,
)
from companion.train.loop import Callback, fit
from companion.train.optim import lr_factor, make_loss, make_optimizer, make_scheduler
from companion.train.run import FAST_SIZES, train_model
from companion.train.runtime import (
    dist_info,
    fast_mode,
    init_distributed,
    resolve_device,
    seed_everything,
)
from companion.train.tasks import (
    METRIC_KEYS,
    AtomicReference,
    EnergyForceTask,
    GraphTargetTask,
    Task,
    atomic_reference,
    evaluate_potential,
    fit_atomic_energies,
    predict_potential,
    regression_metrics,
    task_for,
    task_of,
)

__all__ = [
    "CHECKPOINT", "FAST_SIZES", "FORMAT", "METRIC_KEYS", "PREVIOUS", "SCHEDULES",
    "AtomicReference", "Callback", "CheckpointError", "EnergyForceTask", "GraphTargetTask",
    "History", "Predictor", "Task", "TrainConfig", "atomic_reference", "check_compatible",
    "dist_info", "evaluate", "evaluate_potential", "fast_mode", "fit", "fit_atomic_energies",
    "init_distributed", "load_checkpoint", "load_for_inference", "load_predictor",
    "lr_factor", "make_loss",
    "make_optimizer", "make_scheduler", "predict", "predict_potential", "regression_metrics",
    "resolve_device", "save_checkpoint", "seed_everything", "task_for", "task_of",
    "train_model",
]
