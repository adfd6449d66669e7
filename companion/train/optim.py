"""Optimizers, per-step learning-rate schedules and loss functions of :class:`TrainConfig`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as fn
from torch import nn

from companion.train.config import TrainConfig

__all__ = ["WeightAverage", "lr_factor", "make_loss", "make_optimizer", "make_scheduler",
           "parameter_groups"]

ONECYCLE_DIV = 25.0
"""One-cycle schedule: the learning rate starts at ``lr / 25`` (torch's ``div_factor``)..."""
ONECYCLE_FINAL_DIV = 1e4
"""...and ends at ``lr / 25 / 1e4`` (torch's ``final_div_factor``)."""
ONECYCLE_WARMUP = 0.3
"""Fraction of the steps spent rising when ``warmup_epochs`` is 0 (torch's ``pct_start``)."""


NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.SyncBatchNorm)
"""Modules whose parameters ``decay_biases=False`` exempts from weight decay."""


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """The trainable parameters, in one group or (``decay_biases=False``) two: biases and
    normalization weights without weight decay, the rest with ``config.weight_decay``."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            exempt = not config.decay_biases and (
                name.endswith("bias") or isinstance(module, NORM_LAYERS))
            (no_decay if exempt else decay).append(p)
    groups = [{"params": decay, "weight_decay": config.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def make_optimizer(params: nn.Module | Iterable[nn.Parameter], config: TrainConfig
                   ) -> torch.optim.Optimizer:
    """AdamW (``beta1``, ``beta2``) or SGD (with momentum) as the config says; given a
    model, over :func:`parameter_groups` (trainable parameters only)."""
    groups = parameter_groups(params, config) if isinstance(params, nn.Module) else params
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay,
                             betas=(config.beta1, config.beta2))


def lr_factor(step: int, total: int, warmup: int, schedule: str,
              steps_per_epoch: int = 1, schedule_steps: int = 0) -> float:
    """Learning rate of optimizer step ``step`` (0-based) as a fraction of the peak.

    Args:
        step: optimizer step.
        total: steps of the whole run.
        warmup: warmup steps.
        schedule: one of :data:`~companion.train.config.SCHEDULES` (see :class:`TrainConfig`).
        steps_per_epoch: steps per epoch (the time scale of ``"invsqrt"``...).
        schedule_steps: ...unless this is positive (``T`` of ``"invsqrt"``).
    """
    if schedule == "onecycle":
        up = warmup if warmup > 0 else max(1, int(ONECYCLE_WARMUP * total))
        start, end = 1 / ONECYCLE_DIV, 1 / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV)
        if step < up:
            return start + (1 - start) * (1 - math.cos(math.pi * step / up)) / 2
        t = min(1.0, (step - up) / max(1, total - up))
        return end + (1 - end) * (1 + math.cos(math.pi * t)) / 2
    if step < warmup:
        return (step + 1) / warmup
    s = step - warmup
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, total - warmup))))
    if schedule == "invsqrt":
        scale = schedule_steps if schedule_steps > 0 else max(warmup, steps_per_epoch, 1)
        return math.sqrt(scale / (scale + s))
    return 1.0


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` of :func:`lr_factor` (its state is plain numbers)."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        return lr_factor(step, total, warmup, config.schedule, steps_per_epoch,
                         config.schedule_steps)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_loss(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Mean L1, MSE or Huber loss over the elements of a batch."""
    if config.loss == "mse":
        return fn.mse_loss
    if config.loss == "huber":
        return lambda out, y: fn.huber_loss(out, y, delta=config.huber_delta)
    return fn.l1_loss


class WeightAverage:
    """Stochastic weight averaging (Izmailov et al., UAI 2018): the running mean of the
    trainable parameters over the steps it is updated (as ``torch.optim.swa_utils.
    AveragedModel``'s default), kept in float64 on the CPU.

    Example:
        >>> avg = WeightAverage(); avg.update(model)  # after optimizer steps
        >>> avg.apply(model)                           # the model gets the mean
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Add the model's current trainable parameters to the mean."""
        self.count += 1
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            value = p.detach().to("cpu", torch.float64)
            if name not in self.mean:
                self.mean[name] = value.clone()
            else:
                self.mean[name] += (value - self.mean[name]) / self.count

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Copy the mean into the model's parameters (no-op before any update)."""
        params = dict(model.named_parameters())
        for name, value in self.mean.items():
            params[name].copy_(value.to(params[name].dtype))

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": dict(self.mean)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count, self.mean = int(state["count"]), dict(state["mean"])
