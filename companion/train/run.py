"""What ``python -m companion train`` does: :func:`train_model` (data -> graphs -> model ->
:func:`~companion.train.loop.fit` -> metrics.json, test_predictions.csv, checkpoints)."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from companion.train.checkpoint import plain, write_durable
from companion.train.config import History, TrainConfig
from companion.train.loop import fit
from companion.train.provenance import provenance
from companion.train.runtime import (
    barrier,
    broadcast,
    fast_mode,
    init_distributed,
    resolve_device,
    seed_everything,
)
from companion.train.tasks import task_for

__all__ = ["FAST_SIZES", "train_model"]

FAST_SIZES = {"train": 256, "val": 64, "test": 64}
"""Records per split in FAST mode (``--fast`` or ``COMPANION_FAST=1``): the first of each;
also the first 64 records of an upstream test file."""


def _splits(dataset: Any, fast: bool) -> dict[str, np.ndarray]:
    split = dataset.split
    if fast:
        split = {k: v[:FAST_SIZES[k]] for k, v in split.items()}
    return split


def _upstream_test(data: str, fast: bool) -> tuple[str, Any] | None:
    """``(split name, loaded data)`` of the upstream test file of a data set, or None."""
    from companion.data import load, test_split

    name = test_split(data)
    if name is None:
        return None
    source = load(data, split=name)
    indices = np.arange(min(len(source), FAST_SIZES["test"]) if fast else len(source))
    return name, (source, indices)


def initial_weights(model: nn.Module, source: str | Path) -> None:
    """Load the weights of ``source`` into ``model`` (before fine-tuning).

    ``source`` is a catalogue name or a run folder / checkpoint
    (:func:`companion.train.inference.load_predictor`). A model that can start from another
    architecture's weights says how with a ``load_initial_state(state)`` method (VGNNA from a
    k-MVN: the attention block keeps its own initialization); otherwise the state must match
    exactly.

    Raises:
        CheckpointError: the source is unknown or its weights do not fit the model.
    """
    from companion.train.checkpoint import CheckpointError
    from companion.train.inference import load_predictor

    state = load_predictor(source).model.state_dict()
    load = getattr(model, "load_initial_state", None) or model.load_state_dict
    try:
        load(state)
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"--init {source}: its weights do not fit this model: "
                              f"{str(exc).splitlines()[0]}") from None


def train_model(model_name: str, data: str = "mp_eform", target: str | None = None,
                out: str | Path | None = None, model_config: Mapping[str, Any] | None = None,
                config: TrainConfig | None = None, fast: bool | None = None,
                command: str | None = None, init: str | Path | None = None
                ) -> dict[str, Any]:
    """What ``python -m companion train`` does: data -> graphs -> model -> :func:`fit`.

    Trains on the stored split of a data set, evaluates the best epoch's weights on
    train/val/test (and, for data sets with one, the upstream test file:
    :func:`companion.data.test_split`), and (process 0 only) writes ``out/metrics.json``,
    ``out/test_predictions.csv`` and the checkpoints ``out/checkpoint.pt`` (+ previous).

    Args:
        model_name: registry name (:func:`companion.models.registry.model_names`).
        data: data set name for :func:`companion.data.load` (one with a split).
        target: target name (default: the data set's first; energies for potentials).
        out: output folder (also the checkpoint folder unless ``config`` names one).
        model_config: model hyperparameters (plain dict).
        config: :class:`TrainConfig` (default: the model's recommended recipe,
            :func:`companion.models.registry.train_defaults`, over the plain defaults).
        fast: FAST mode (the first 256/64/64 records of the splits); default from
            ``COMPANION_FAST``.
        command: the command line, recorded in metrics.json with the versions, git commit,
            device, processes and seed (:func:`~companion.train.provenance.provenance`).
        init: start from these weights instead of random ones (fine-tuning): a pretrained
            model's name (``python -m companion models``) or a run folder / checkpoint
            (:func:`initial_weights`).

    Returns:
        The metrics (the contents of ``metrics.json``; identical on every DDP process).
    """
    from companion.data import load
    from companion.models.registry import build_model, config_fields, graph_kwargs, train_defaults

    t0 = time.perf_counter()
    config = dataclasses.replace(config or TrainConfig(**train_defaults(model_name)))
    if out is not None and config.checkpoint_dir is None:
        config.checkpoint_dir = str(out)
    fast = fast_mode() if fast is None else fast
    rank, world = init_distributed(config.device)
    dataset = load(data)
    split = _splits(dataset, fast)
    task = task_for(dataset, config)
    target = task.target(dataset, target)
    model_config = dict(model_config or {})
    task.configure(model_config, config_fields(model_name), dataset)
    seed_everything(config.seed)
    model = build_model(model_name, model_config)
    if init is not None:
        initial_weights(model, init)
    gk = graph_kwargs(model_name, model_config)
    sets = {k: task.dataset(dataset, split[k], gk, target) for k in ("train", "val", "test")}
    upstream = _upstream_test(data, fast)
    if upstream is not None:
        sets[upstream[0]] = task.dataset(*upstream[1], gk, target)
    history = fit(model, sets["train"], sets["val"], config, meta={"model_name": model_name},
                  task=task)
    t_fit = time.perf_counter() - t0
    scores = {k: task.evaluate(model, s, amp=config.amp) for k, s in sets.items() if len(s)}
    test_key = upstream[0] if upstream is not None else "test"
    table = task.prediction_table(model, sets[test_key], amp=config.amp)
    metrics = _metrics_record(model_name, model, data, target, split, fast, scores, history,
                              config, world, time.perf_counter() - t0, t_fit)
    metrics |= plain(provenance(command, resolve_device(config.device), world, config.seed))
    metrics |= task.summary(dataset, target) | {"test_set": test_key,
                                                "init": None if init is None else str(init)}
    if upstream is not None:
        metrics[f"n_{upstream[0]}"] = len(sets[upstream[0]])
    metrics = broadcast(metrics)
    if rank == 0 and out is not None:
        _write_outputs(Path(out), metrics, table)
    barrier()
    return metrics


def _metrics_record(model_name: str, model: nn.Module, data: str, target: str,
                    split: Mapping[str, np.ndarray], fast: bool,
                    scores: Mapping[str, dict[str, float]], history: History,
                    config: TrainConfig, world: int, wall: float, t_fit: float
                    ) -> dict[str, Any]:
    from companion.data.shipped import split_hash
    from companion.models.registry import model_config

    device = resolve_device(config.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return plain({
        "model": model_name, "model_config": model_config(model),
        "n_params": sum(p.numel() for p in model.parameters()),
        "data": data, "target": target,
        "split_hash": split_hash(split), "fast": fast,
        **{f"n_{k}": len(v) for k, v in split.items()},
        **dict(scores),
        "epochs_run": len(history), "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
        "wall_time_s": round(wall, 3), "train_time_s": round(t_fit, 3),
        "device": str(device), "device_name": name, "world_size": world,
        "amp": bool(config.amp and device.type == "cuda"),
        "train_config": dataclasses.asdict(config), "history": history.epochs,
    })


def _write_outputs(out: Path, metrics: Mapping[str, Any],
                   table: tuple[list[str], list[list[str]]]) -> None:
    """``metrics.json`` and ``test_predictions.csv``, each written whole then renamed."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".metrics.json.tmp"
    write_durable(tmp, lambda f: f.write(json.dumps(metrics, indent=2).encode()))
    os.replace(tmp, out / "metrics.json")
    tmp = out / ".test_predictions.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(table[0])
        w.writerows(table[1])
    os.replace(tmp, out / "test_predictions.csv")

