"""The one training loop: :func:`fit` runs any :class:`~companion.train.tasks.Task`.

Per epoch: train on shuffled batches (the task's loss; optimizer, schedule, gradient clipping
and mixed precision from :class:`TrainConfig`), reduce the task's running metrics over DDP
processes, validate, keep the best weights by the task's score, write a checkpoint, and call
the callbacks. An interrupted run resumes to the same weights (bitwise on CPU).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from companion.train.checkpoint import (
    CHECKPOINT,
    FORMAT,
    PREVIOUS,
    check_compatible,
    load_checkpoint,
    run_identity,
    save_checkpoint,
)
from companion.train.config import History, TrainConfig
from companion.train.optim import WeightAverage, make_optimizer, make_scheduler
from companion.train.runtime import (
    all_gather,
    autocast,
    barrier,
    broadcast,
    deterministic_algorithms,
    dist_info,
    make_loader,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
    train_sampler,
)
from companion.train.tasks import Task, task_for

__all__ = ["Callback", "fit"]

Callback = Callable[[History], bool | None]
"""Called after each epoch (after its checkpoint) with the history; True stops the run."""


class Trainer:
    """The state of one run; :func:`fit` is ``Trainer(...).run()``."""

    def __init__(self, model: nn.Module, train_set: Dataset, val_set: Dataset | None,
                 config: TrainConfig, task: Task, callbacks: Sequence[Callback],
                 meta: Mapping[str, Any] | None) -> None:
        self.config, self.task, self.callbacks = config, task, list(callbacks)
        self.train_set, self.val_set = train_set, val_set
        self.rank, self.world = dist_info()
        self.device = resolve_device(config.device)
        seed_everything(config.seed)
        task.prepare(model, train_set)  # the model's output scale and shift
        self.model = model.to(self.device)
        self.loader_gen = torch.Generator()
        self.loader_gen.manual_seed(config.seed)
        self.sampler, self.loader = self._train_loader()
        self.optimizer = make_optimizer(self.model, config)
        self.swa = WeightAverage() if config.swa_epochs > 0 else None
        self.scheduler = make_scheduler(self.optimizer, config, len(self.loader))
        self.history, self.best, self.start = History(), None, 1
        self.identity = run_identity(model, train_set, val_set, config, meta)
        if config.resume and config.checkpoint_dir:
            self._resume(Path(config.checkpoint_dir))
        self.net = self._wrap(task.module(self.model))

    def _train_loader(self):
        per_rank, rest = divmod(self.config.batch_size, self.world)
        if rest:
            raise ValueError(f"batch_size {self.config.batch_size} (global) is not divisible "
                             f"by the {self.world} processes.")
        sampler = train_sampler(len(self.train_set), self.config.seed)
        if self.config.num_workers > 0 and hasattr(self.train_set, "prebuild"):
            self.train_set.prebuild()
        return sampler, make_loader(self.train_set, per_rank, sampler, self.loader_gen,
                                    self.config.num_workers)

    def _wrap(self, module: nn.Module) -> nn.Module:
        if self.world == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def _resume(self, directory: Path) -> None:
        if not ((directory / CHECKPOINT).is_file() or (directory / PREVIOUS).is_file()):
            return  # nothing to resume: a fresh run
        ckpt = load_checkpoint(directory)
        check_compatible(ckpt, self.identity, self.model, str(directory / CHECKPOINT))
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.task.load_state_dict(ckpt["task"])
        self.history = History.from_dict(ckpt["history"])
        self.best = ckpt["best"]
        states = ckpt["rng"]
        set_rng_state(states[self.rank] if len(states) == self.world else states[0],
                      self.loader_gen)
        self.start = int(ckpt["epoch"]) + 1
        if self.swa is not None and ckpt.get("swa") is not None:
            self.swa.load_state_dict(ckpt["swa"])

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        self.net.train()
        self.sampler.set_epoch(epoch)
        sums, lr = self.task.sums(self.model), self.optimizer.param_groups[0]["lr"]
        batches = self.loader
        if self.config.progress and self.rank == 0:
            from tqdm.auto import tqdm

            batches = tqdm(batches, desc=f"epoch {epoch}", leave=False)
        for batch in batches:
            batch = batch.to(self.device)
            with autocast(self.device, self.config.amp):
                out = self.task.forward(self.net, batch)
            loss = self.task.loss(self.model, out, batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
            lr = self.optimizer.param_groups[0]["lr"]
            self.optimizer.step()
            self.scheduler.step()
            if self.swa is not None and epoch > self.config.epochs - self.config.swa_epochs:
                self.swa.update(self.model)
            sums.add(out, batch, loss.detach())
        sums.all_reduce(self.device)
        metrics = sums.metrics()
        return ({f"train_{k}": v for k, v in metrics.items()}
                | {"train_mae": self.task.score(metrics), "lr": lr})

    def _epoch(self, epoch: int) -> dict[str, float]:
        t0 = time.perf_counter()
        record: dict[str, float] = {"epoch": epoch, **self._train_epoch(epoch)}
        if self.val_set is not None:
            val = self.task.evaluate(self.model, self.val_set, self.loader.batch_size,
                                     self.device, self.config.amp)
            record |= {f"val_{k}": v for k, v in val.items()} | {
                "val_mae": self.task.score(val)}
        record["time_s"] = time.perf_counter() - t0
        record = broadcast(record)
        self.history.epochs.append(record)
        score = record.get("val_mae", record["train_mae"])
        if score < self.history.best_val_mae or self.best is None:
            self.history.best_epoch, self.history.best_val_mae = epoch, score
            self.best = {"epoch": epoch, "val_mae": score, "model": {
                k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}}
        return record

    def _payload(self, epoch: int) -> dict[str, Any]:
        import companion

        states = all_gather(rng_state(self.loader_gen))  # every process's RNG state
        return {
            "format": FORMAT, "epoch": epoch, **self.identity,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": states, "task": self.task.state_dict(),
            "history": self.history.to_dict(), "best": self.best,
            "swa": None if self.swa is None else self.swa.state_dict(),
            "n_params": sum(p.numel() for p in self.model.parameters()),
            "world_size": self.world,
            "versions": {"torch": str(torch.__version__), "companion": companion.__version__},
        }

    def _save(self, epoch: int) -> None:
        if not self.config.checkpoint_dir:
            return
        payload = self._payload(epoch)  # every process: the RNG states are gathered
        if self.rank == 0:
            save_checkpoint(payload, self.config.checkpoint_dir)
        barrier()

    def _patience_exhausted(self) -> bool:
        p = self.config.patience
        return p > 0 and len(self.history) > 0 and (
            self.history.epochs[-1]["epoch"] - self.history.best_epoch >= p)

    def _callbacks_stop(self) -> bool:
        stop = False
        if self.rank == 0:
            for callback in self.callbacks:
                stop = bool(callback(self.history)) or stop
        return bool(broadcast(stop))

    def run(self) -> History:
        epochs = range(self.start, self.config.epochs + 1)
        if self.config.progress and self.rank == 0:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc="training", unit="epoch",
                          initial=self.start - 1, total=self.config.epochs)
        for epoch in epochs:
            if self._patience_exhausted():
                self.history.stopped_early = True
                break
            record = self._epoch(epoch)
            self._save(epoch)
            if hasattr(epochs, "set_postfix"):
                epochs.set_postfix({k: f"{v:.4g}" for k, v in record.items()
                                    if k in ("train_mae", "val_mae")})
            if self._callbacks_stop():
                break
        if hasattr(epochs, "close"):
            epochs.close()
        if self._patience_exhausted() and len(self.history) < self.config.epochs:
            self.history.stopped_early = True
        if self.config.restore_best and self.best is not None:
            self.model.load_state_dict(self.best["model"])
        if self.swa is not None and self.swa.count > 0:
            self._finish_swa()
        return self.history

    def _finish_swa(self) -> None:
        """End with the averaged weights and record their validation score."""
        self.swa.apply(self.model)
        if self.val_set is not None:
            val = self.task.evaluate(self.model, self.val_set, self.loader.batch_size,
                                     self.device, self.config.amp)
            self.history.swa_val_mae = float(broadcast(self.task.score(val)))


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset | None = None,
        config: TrainConfig | None = None, callbacks: Sequence[Callback] = (),
        meta: Mapping[str, Any] | None = None, task: Task | None = None) -> History:
    """Train ``model`` on ``train_set``, validating on ``val_set`` after each epoch.

    The task (default: :func:`~companion.train.tasks.task_for` the config and the data)
    first sets the model's output scale and shift from ``train_set`` only. After each epoch
    the task's validation score (``val_mae``) decides the best epoch and early stopping; with
    ``config.checkpoint_dir`` a checkpoint is written, and ``config.resume`` continues from
    it (same weights as an uninterrupted run, bitwise on CPU). Under ``torchrun`` (a process
    group initialized, see :func:`~companion.train.runtime.init_distributed`) the model is
    wrapped in ``DistributedDataParallel``; ``batch_size`` stays the global batch.

    Args:
        model: maps a batch to its outputs (e.g. [n_graphs] raw values).
        train_set: labelled graphs (e.g. :class:`~companion.graphs.dataset.GraphDataset`).
        val_set: labelled graphs; None: the best epoch is the lowest training score.
        config: :class:`TrainConfig` (defaults if None).
        callbacks: called as ``callback(history)`` after each epoch; True stops the run
            (e.g. :class:`companion.viz.training.LossCurve`).
        meta: extra identity recorded in the checkpoint (overrides model name, split hash..).
        task: the :class:`~companion.train.tasks.Task` to run (default: chosen as above).

    Returns:
        The :class:`History`; the model ends on ``config.device`` with the best weights
        (``restore_best``) or their average over the last epochs (``swa_epochs``), its
        ``scale_shift`` set, ready for :func:`predict`.

    Raises:
        CheckpointError: resuming from a checkpoint of another model, config or split.
    """
    config = config or TrainConfig()
    task = task or task_for(train_set, config)
    deterministic = config.deterministic
    if deterministic is None:
        deterministic = resolve_device(config.device).type == "cpu"
    with deterministic_algorithms(deterministic):
        return Trainer(model, train_set, val_set, config, task, callbacks, meta).run()
