"""One number per graph (formation energy, band gap, log modulus): :class:`GraphTargetTask`.

The model returns [n_graphs] raw outputs; its scalar :class:`~companion.nn.ScaleShift`
(``model.scale_shift``) maps them to the target's units, ``y = std * out + mean``, with mean
and standard deviation of the training split's targets (``normalize_targets``; else the
identity). The loss compares raw outputs with ``(y - mean) / std``; metrics (MAE, RMSE, R²)
are in the target's units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from companion.nn.scale_shift import ScaleShift
from companion.train.runtime import autocast, dist_info, gather_ordered, make_loader, model_device
from companion.train.tasks.base import RunningSums, Task

__all__ = ["GraphTargetTask", "graph_output", "regression_metrics", "scale_shift_of",
           "targets_of"]


def regression_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """``{"mae", "rmse", "r2"}`` of predictions against targets (same units)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    target = np.asarray(target, dtype=np.float64).reshape(-1)
    err = pred - target  # [n]
    sst = float(((target - target.mean()) ** 2).sum()) if len(target) else 0.0
    return {"mae": float(np.abs(err).mean()) if len(err) else math.nan,
            "rmse": float(np.sqrt((err**2).mean())) if len(err) else math.nan,
            "r2": 1.0 - float((err**2).sum()) / sst if sst > 0 else math.nan}


def targets_of(dataset: Dataset) -> np.ndarray:
    """Targets of a dataset, target units ([n])."""
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return np.asarray(targets, dtype=np.float64).reshape(-1)
    return np.array([float(dataset[k].y.reshape(-1)[0]) for k in range(len(dataset))])


def graph_output(out: torch.Tensor, n_graphs: int) -> torch.Tensor:
    """Model output as [n_graphs] (accepts [n_graphs, 1]; never squeezes a batch of one)."""
    if out.dim() == 2 and out.size(1) == 1:
        out = out[:, 0]
    if out.shape != (n_graphs,):
        raise ValueError(f"the model returned shape {tuple(out.shape)} for a batch of "
                         f"{n_graphs} graphs; the engine expects [n_graphs] (one number each).")
    return out


def scale_shift_of(model: nn.Module) -> ScaleShift:
    """The model's scalar ``scale_shift``; a model without one gets one (identity), as a
    submodule, so that it is saved with the weights."""
    ss = getattr(model, "scale_shift", None)
    if ss is None:
        model.scale_shift = ss = ScaleShift(dtype=torch.float64)
    if not isinstance(ss, ScaleShift) or ss.per_species:
        raise ValueError(f"{type(model).__name__}.scale_shift is not a scalar ScaleShift; "
                         "a graph-level target needs one (companion.nn.ScaleShift()).")
    return ss


class RegressionSums(RunningSums):
    """Running sums (float64) for MAE, RMSE and R²: n, Σ|e|, Σe², Σy, Σy²."""

    def __init__(self, scale_shift: ScaleShift) -> None:
        super().__init__(5)
        self.scale_shift = scale_shift

    def add(self, out: torch.Tensor, batch: Any, loss: torch.Tensor) -> None:
        pred = self.scale_shift(out.detach().double()).cpu()  # [n_graphs], target units
        y = batch.y.reshape(-1).detach().double().cpu()  # [n_graphs]
        err = pred - y  # [n_graphs]
        self.v += torch.stack([torch.tensor(float(len(y)), dtype=torch.float64),
                               err.abs().sum(), (err**2).sum(), y.sum(), (y**2).sum()])

    def metrics(self) -> dict[str, float]:
        n, abs_err, sq_err, sy, syy = self.v.tolist()
        sst = syy - sy * sy / n if n else 0.0
        return {"mae": abs_err / n if n else math.nan,
                "rmse": math.sqrt(sq_err / n) if n else math.nan,
                "r2": 1.0 - sq_err / sst if sst > 0 else math.nan}


class GraphTargetTask(Task):
    """One number per graph (``y``): L1/MSE/Huber on normalized targets; MAE, RMSE, R²."""

    name = "scalar"

    def prepare(self, model: nn.Module, train_set: Dataset) -> None:
        self.calibrate(model, train_set)
        ss = scale_shift_of(model)
        if self.config.normalize_targets:
            y = targets_of(train_set)
            std = float(y.std())
            ss.set(scale=std if std > 0 else 1.0, shift=float(y.mean()))
        else:
            ss.set(scale=1.0, shift=0.0)

    def forward(self, net: nn.Module, batch: Any) -> torch.Tensor:
        return graph_output(net(batch), batch.num_graphs)  # [n_graphs]

    def loss(self, model: nn.Module, out: torch.Tensor, batch: Any) -> torch.Tensor:
        y = batch.y.reshape(-1)  # [n_graphs], target units
        return self.loss_fn(out.float(), model.scale_shift.inverse(y).float())

    def sums(self, model: nn.Module) -> RegressionSums:
        return RegressionSums(model.scale_shift)

    def predictions(self, model: nn.Module, dataset: Dataset, batch_size: int = 256,
                    device: torch.device | None = None, amp: bool = False,
                    progress: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions and targets ([n] each, target units, dataset order). Under DDP each
        process predicts every K-th graph and all processes receive all predictions."""
        device = device or model_device(model)
        ss = getattr(model, "scale_shift", None)
        rank, world = dist_info()
        positions = np.arange(rank, len(dataset), world)  # [n_local]
        part = Subset(dataset, positions.tolist()) if world > 1 else dataset
        was_training = model.training
        model.eval()
        preds, ys = [], []
        batches = make_loader(part, batch_size)
        if progress and rank == 0:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc="predict", leave=False)
        with torch.no_grad():
            for batch in batches:
                batch = batch.to(device)
                with autocast(device, amp):
                    out = graph_output(model(batch), batch.num_graphs).double()  # [n_graphs]
                preds.append((ss(out) if ss is not None else out).cpu().numpy())
                if "y" in batch:
                    ys.append(batch.y.double().reshape(-1).cpu().numpy())
        model.train(was_training)
        pred = np.concatenate(preds) if preds else np.zeros(0)
        y = np.concatenate(ys) if len(ys) == len(preds) and ys else None
        if world > 1:
            return gather_ordered(positions, pred, y, len(dataset))
        return pred, y

    def evaluate(self, model: nn.Module, dataset: Dataset, batch_size: int = 256,
                 device: torch.device | None = None, amp: bool = False,
                 progress: bool = False) -> dict[str, float]:
        pred, y = self.predictions(model, dataset, batch_size, device, amp, progress)
        if y is None:
            raise ValueError("evaluate needs graphs with targets (y); use predict() otherwise.")
        return regression_metrics(pred, y)

    def predict(self, model: nn.Module, dataset: Dataset, batch_size: int = 256,
                device: torch.device | None = None, amp: bool = False,
                progress: bool = False) -> np.ndarray:
        return self.predictions(model, dataset, batch_size, device, amp, progress)[0]

    def dataset(self, source: Any, indices: Sequence[int] | np.ndarray | None,
                graph_kwargs: Mapping[str, Any], target: str | None) -> Dataset:
        from companion.graphs.dataset import GraphDataset

        if indices is None:
            indices = np.arange(len(source))
        return GraphDataset(source, indices, target or source.target_names[0], **graph_kwargs)

    def prediction_table(self, model: nn.Module, test_set: Any, amp: bool = False
                         ) -> tuple[list[str], list[list[str]]]:
        pred = self.predict(model, test_set, amp=amp)
        ds = test_set.dataset
        rows = [[str(ds.material_ids[i]), str(ds.formulas[i]), f"{y:.8g}", f"{p:.8g}"]
                for i, y, p in zip(test_set.indices, test_set.targets, pred, strict=True)]
        return ["material_id", "formula", "target", "prediction"], rows
