"""What the training loop asks of a task (:class:`Task`), and float64 running sums.

A task knows what a model learns: how to set the model's output scale and shift from the
training split, the loss of a batch, the metrics of an epoch, the score that picks the best
epoch, and how to evaluate and predict. :func:`companion.train.fit` runs any task the same
way; a new kind of target (e.g. phonon bands, a per-material band loss) is a new subclass,
passed as ``fit(..., task=MyTask(config))``, without touching the loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from companion.train.config import TrainConfig
from companion.train.optim import make_loss
from companion.train.runtime import all_reduce_sum

__all__ = ["RunningSums", "Task"]


class RunningSums:
    """A float64 vector of running sums, added to per batch and summed over DDP processes.

    Subclasses define ``add(out, batch, loss)`` and ``metrics() -> dict``.
    """

    def __init__(self, size: int) -> None:
        self.v = torch.zeros(size, dtype=torch.float64)  # [size]

    def add(self, out: Any, batch: Any, loss: torch.Tensor) -> None:
        raise NotImplementedError

    def all_reduce(self, device: torch.device) -> None:
        """Sum over all processes (identity for one)."""
        self.v = all_reduce_sum(self.v, device)

    def metrics(self) -> dict[str, float]:
        raise NotImplementedError


class Task(ABC):
    """One kind of target: the loss, metrics and output units of a training run.

    Args:
        config: the run's :class:`TrainConfig` (loss function, weights, normalization).

    Attributes:
        name: ``TrainConfig.task`` value and the ``"task"`` of metrics.json.
        config: the config.
        loss_fn: :func:`~companion.train.optim.make_loss` of the config.
    """

    name = ""

    def __init__(self, config: TrainConfig | None = None) -> None:
        self.config = config or TrainConfig()
        self.loss_fn = make_loss(self.config)

    # ------------------------------------------------------------------ training
    @abstractmethod
    def prepare(self, model: nn.Module, train_set: Dataset) -> None:
        """Set the model's output scale and shift from the training split (before the
        first step; a resumed run then loads the saved buffers and :meth:`load_state_dict`)."""

    def calibrate(self, model: nn.Module, train_set: Dataset) -> None:
        """For a model with frozen data-dependent statistics (``needs_calibration`` True,
        e.g. Crystalformer's width normalization): ``model.calibrate(batch)`` on one batch
        of ``batch_size`` training graphs drawn with the run's seed."""
        if not getattr(model, "needs_calibration", False):
            return
        from torch_geometric.data import Batch

        generator = torch.Generator().manual_seed(self.config.seed)
        n = min(self.config.batch_size, len(train_set))
        picks = torch.randperm(len(train_set), generator=generator)[:n].tolist()
        model.calibrate(Batch.from_data_list([train_set[i] for i in picks]))

    def module(self, model: nn.Module) -> nn.Module:
        """The module the loop calls (and DDP wraps): ``batch -> output``."""
        return model

    def forward(self, net: nn.Module, batch: Any) -> Any:
        """The output of the wrapped module for a batch (inside autocast)."""
        return net(batch)

    @abstractmethod
    def loss(self, model: nn.Module, out: Any, batch: Any) -> torch.Tensor:
        """The scalar training loss of a batch."""

    @abstractmethod
    def sums(self, model: nn.Module) -> RunningSums:
        """Empty running sums for an epoch's training metrics."""

    def score(self, metrics: Mapping[str, float]) -> float:
        """The number (lower is better) that picks the best epoch and drives early stopping."""
        return metrics["mae"]

    def state_dict(self) -> dict[str, Any]:
        """What the task adds to a checkpoint (plain types; ``weights_only``-loadable)."""
        return {"name": self.name}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` when resuming (nothing to restore by default)."""
        return None

    # ----------------------------------------------------------------- inference
    @abstractmethod
    def evaluate(self, model: nn.Module, dataset: Dataset, batch_size: int = 256,
                 device: torch.device | None = None, amp: bool = False,
                 progress: bool = False) -> dict[str, float]:
        """Metrics of ``model`` on a labelled dataset (identical on every DDP process)."""

    @abstractmethod
    def predict(self, model: nn.Module, dataset: Dataset, batch_size: int = 256,
                device: torch.device | None = None, amp: bool = False,
                progress: bool = False) -> np.ndarray:
        """One prediction per graph (float64 [n], dataset order, the target's units)."""

    # ----------------------------------------------------- command-line runs (run.py)
    @abstractmethod
    def dataset(self, source: Any, indices: Sequence[int] | np.ndarray | None,
                graph_kwargs: Mapping[str, Any], target: str | None) -> Dataset:
        """Graphs of some records of a loaded data set, as this task trains on them."""

    def target(self, source: Any, target: str | None) -> str:
        """The target a run trains on (default: the data set's first)."""
        return target or source.target_names[0]

    def configure(self, model_config: dict[str, Any], fields: set[str], source: Any) -> None:
        """Fill data-dependent fields of a model config in place (e.g. ``species``; none by
        default)."""
        return None

    def screening(self, model: nn.Module) -> dict[str, Any]:
        """How a trained model of this task predicts one number per structure from files
        (``python -m companion predict``): keyword arguments of
        :class:`companion.train.inference.Predictor` (``target``, ``unit``, ``output``,
        ``graph_arrays``, ``from_arrays``) that differ from the defaults; none by default."""
        return {}

    def summary(self, source: Any, target: str) -> dict[str, Any]:
        """Task-specific entries of metrics.json."""
        return {"task": self.name, "unit": getattr(source, "units", {}).get(target, "")}

    @abstractmethod
    def prediction_table(self, model: nn.Module, test_set: Any, amp: bool = False
                         ) -> tuple[list[str], list[list[str]]]:
        """Header and rows of ``test_predictions.csv`` (call on every DDP process)."""
