"""Optimizers, per-step learning-rate schedules and loss functions of :class:`TrainConfig`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as fn
from torch import nn

from companion.train.config import TrainConfig

__all__ = ["lr_factor", "make_loss", "make_optimizer", "make_scheduler"]

ONECYCLE_DIV = 25.0
"""One-cycle schedule: the learning rate starts at ``lr / 25`` (torch's ``div_factor``)..."""
ONECYCLE_FINAL_DIV = 1e4
"""...and ends at ``lr / 25 / 1e4`` (torch's ``final_div_factor``)."""
ONECYCLE_WARMUP = 0.3
"""Fraction of the steps spent rising when ``warmup_epochs`` is 0 (torch's ``pct_start``)."""


def make_optimizer(params: Iterable[nn.Parameter], config: TrainConfig
                   ) -> torch.optim.Optimizer:
    """AdamW or SGD (with momentum) as the config says."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def lr_factor(step: int, total: int, warmup: int, schedule: str,
              steps_per_epoch: int = 1) -> float:
    """Learning rate of optimizer step ``step`` (0-based) as a fraction of the peak.

    Args:
        step: optimizer step.
        total: steps of the whole run.
        warmup: warmup steps.
        schedule: one of :data:`~companion.train.config.SCHEDULES` (see :class:`TrainConfig`).
        steps_per_epoch: steps per epoch (the time scale of ``"invsqrt"``).
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
        scale = max(warmup, steps_per_epoch, 1)
        return math.sqrt(scale / (scale + s))
    return 1.0


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` of :func:`lr_factor` (its state is plain numbers)."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        return lr_factor(step, total, warmup, config.schedule, steps_per_epoch)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_loss(config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Mean L1, MSE or Huber loss over the elements of a batch."""
    if config.loss == "mse":
        return fn.mse_loss
    if config.loss == "huber":
        return lambda out, y: fn.huber_loss(out, y, delta=config.huber_delta)
    return fn.l1_loss
