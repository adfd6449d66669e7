"""Checkpoints: atomic writes with a sha256 sidecar, ``weights_only`` reads, and the check
that a checkpoint belongs to the run about to resume from it.

Layout (``torch.load(path, weights_only=True)`` reads it: tensors, numbers, strings, lists
and dicts only): ``format`` (:data:`FORMAT`), ``epoch``, ``model_name``, ``model_config``,
``train_config``, ``split_hash``, ``data`` (data set, target, unit, graph options),
``model`` (state dict, including the model's output ``scale_shift`` buffers),
``optimizer``, ``scheduler``, ``rng`` (one entry per process: torch, numpy, python, cuda,
DataLoader generator), ``task`` (the task's state, e.g. the atomic reference energies of a
potential), ``history``, ``best`` (epoch, val_mae, model state), ``n_params``,
``world_size``, ``versions``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from companion.errors import CompanionError
from companion.train.config import TrainConfig

__all__ = ["CHECKPOINT", "FORMAT", "PREVIOUS", "CheckpointError", "check_compatible",
           "export_weights", "load_checkpoint", "plain", "save_checkpoint", "write_durable"]

CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"
FORMAT = "companion.train/2"
"""Version 2: the model holds its output scale and shift (``scale_shift`` buffers)."""
OLD_FORMATS = ("companion.train/1",)
"""Formats this version refuses, with the fix (retrain) named."""
RESUME_FREE = ("resume", "checkpoint_dir", "num_workers", "progress", "device", "deterministic")
"""TrainConfig fields that may differ between a run and the checkpoint it resumes."""


class CheckpointError(CompanionError, ValueError):
    """A checkpoint that is missing, corrupt, or from another model, config or split."""


def plain(x: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python, recursively (comparable, JSON-ready)."""
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, write: Callable[[Any], None]) -> None:
    """Open ``path`` for binary writing, ``write(file)``, flush and fsync."""
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _is_intact(path: Path) -> bool:
    """The file matches its sha256 sidecar (or, without one, torch can load it)."""
    if not path.is_file():
        return False
    side = _sidecar(path)
    if side.is_file():
        return side.read_text().split()[0] == _sha256(path)
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return True


def save_checkpoint(payload: Mapping[str, Any], directory: str | Path) -> Path:
    """Write ``directory/checkpoint.pt`` atomically, keeping the one before.

    The new file is written and fsynced under a temporary name with its sha256 sidecar;
    then an intact ``checkpoint.pt`` becomes ``checkpoint.prev.pt`` and the new file takes
    its place (``os.replace``). A crash at any point leaves a loadable checkpoint; a corrupt
    ``checkpoint.pt`` is never rotated over a good previous one. Payload: module docstring.

    Returns:
        The path of the new checkpoint.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    main, prev = directory / CHECKPOINT, directory / PREVIOUS
    tmp = directory / f".{CHECKPOINT}.{os.getpid()}.tmp"
    write_durable(tmp, lambda f: torch.save(dict(payload), f))
    digest = _sha256(tmp)
    tmp_side = _sidecar(tmp)
    write_durable(tmp_side, lambda f: f.write(f"{digest}  {CHECKPOINT}\n".encode()))
    if _is_intact(main):
        _sidecar(prev).unlink(missing_ok=True)
        os.replace(main, prev)
        if _sidecar(main).is_file():
            os.replace(_sidecar(main), _sidecar(prev))
    os.replace(tmp, main)
    os.replace(tmp_side, _sidecar(main))
    _fsync_dir(directory)
    return main


def _read_verified(path: Path) -> dict[str, Any]:
    side = _sidecar(path)
    if side.is_file():
        expected, actual = side.read_text().split()[0], _sha256(path)
        if expected != actual:
            raise CheckpointError(f"{path}: sha256 {actual[:12]}... does not match "
                                  f"{side.name} ({expected[:12]}...): truncated or corrupt.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        why = next((ln for ln in lines if "WeightsUnpickler error" in ln), lines[0] if lines
                   else "")
        raise CheckpointError(f"{path}: cannot be read ({type(exc).__name__}: {why}).") from None
    fmt = ckpt.get("format") if isinstance(ckpt, dict) else None
    if fmt in OLD_FORMATS:
        raise CheckpointError(
            f"{path}: written by an older companion ({fmt}: target normalizer and energy "
            f"reference outside the model); this version ({FORMAT}) keeps them in the "
            "model's scale_shift buffers and cannot use it. Retrain: run the same "
            "`python -m companion train` command (or fit) again, into a new folder.")
    if fmt != FORMAT:
        raise CheckpointError(f"{path}: not a checkpoint of companion.train ({FORMAT}).")
    return ckpt


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``, verifying its sha256.

    Args:
        path: a run folder (reads ``checkpoint.pt``, else ``checkpoint.prev.pt``) or a file.

    Returns:
        The payload (module docstring).

    Raises:
        CheckpointError: no intact checkpoint (the message says what is wrong with each).
    """
    path = Path(path)
    candidates = [path / CHECKPOINT, path / PREVIOUS] if path.is_dir() else [path]
    if not path.is_dir() and path.name == CHECKPOINT:
        candidates.append(path.with_name(PREVIOUS))
    problems = []
    for candidate in candidates:
        if not candidate.is_file():
            problems.append(f"{candidate}: no such file.")
            continue
        try:
            ckpt = _read_verified(candidate)
        except CheckpointError as exc:
            problems.append(str(exc))
            continue
        if problems:  # the newest one is missing or corrupt: say so, use the previous
            warnings.warn(f"{' '.join(problems)} Using {candidate} (epoch {ckpt['epoch']}) "
                          "instead.", stacklevel=2)
        return ckpt
    raise CheckpointError("no usable checkpoint: " + " ".join(problems))


def export_weights(run: str | Path, out: str | Path, note: str = "") -> Path:
    """Write the best epoch's weights of a run as a small file to ship (no optimizer,
    scheduler, RNG or history): ``format``, ``epoch``, ``model_name``, ``model_config``,
    ``train_config``, ``split_hash``, ``data``, ``model`` (the best weights), ``n_params``,
    ``versions``, ``note``. :func:`companion.train.load_for_inference` reads it like a
    checkpoint (it cannot resume a run).

    Returns:
        ``out``, written atomically (no sidecar: a shipped file's sha256 belongs in the
        data registry).
    """
    ckpt = load_checkpoint(run)
    best = ckpt.get("best") or {}
    keep = ("format", "model_name", "model_config", "train_config", "split_hash", "data",
            "n_params", "versions")
    payload = {k: ckpt[k] for k in keep if k in ckpt}
    payload |= {"epoch": best.get("epoch", ckpt["epoch"]),
                "model": best.get("model") or ckpt["model"], "note": note}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    write_durable(tmp, lambda f: torch.save(payload, f))
    os.replace(tmp, out)
    return out


# --------------------------------------------------------------------- run identity

def _differences(a: Any, b: Any, prefix: str) -> list[str]:
    """``"key: checkpoint A, this run B"`` for every leaf where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += _differences(a.get(key, "<absent>"), b.get(key, "<absent>"),
                                f"{prefix}.{key}")
        return out
    return [] if a == b else [f"{prefix}: checkpoint {a!r}, this run {b!r}"]


def check_compatible(ckpt: Mapping[str, Any], identity: Mapping[str, Any],
                     model: nn.Module, where: str = "the checkpoint") -> None:
    """Refuse a checkpoint of another model, config, data or split (all differences named).

    Args:
        ckpt: the loaded checkpoint.
        identity: ``model_name``, ``model_config``, ``train_config``, ``split_hash``, ``data``
            of this run (:func:`run_identity`).
        model: the model about to receive the weights (shapes are checked).
        where: the checkpoint's path, for the message.

    Raises:
        CheckpointError: naming each differing field.
    """
    diffs = []
    for key in ("model_name", "model_config", "train_config", "split_hash", "data"):
        theirs, ours = plain(ckpt.get(key)), plain(identity.get(key))
        if key == "train_config":  # fields newer than the checkpoint: their defaults
            theirs = {**plain(dataclasses.asdict(TrainConfig())), **(theirs or {})}
            theirs = {k: v for k, v in theirs.items() if k not in RESUME_FREE}
            ours = {k: v for k, v in (ours or {}).items() if k not in RESUME_FREE}
        diffs += _differences(theirs, ours, key)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    saved = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if not diffs and shapes != saved:
        bad = sorted(set(shapes) ^ set(saved)) or [k for k in shapes if shapes[k] != saved[k]]
        diffs.append(f"model weights: {len(bad)} tensors differ, e.g. {bad[:3]}")
    if diffs:
        raise CheckpointError(
            f"refusing {where} (epoch {ckpt.get('epoch')}): it belongs to a different run; "
            f"{'; '.join(diffs)}. Use the same settings to resume, or start a fresh run "
            "(another output folder, or without --resume).")


def _split_identity(train_set: Dataset, val_set: Dataset | None) -> str | None:
    """sha256 of the source split and the train/val indices actually used."""
    parts = [getattr(train_set, "split_hash", None)]
    for ds in (train_set, val_set):
        idx = getattr(ds, "indices", None)
        parts.append(None if idx is None else hashlib.sha256(
            np.asarray(idx, dtype="<i8").tobytes()).hexdigest())
    if all(p is None for p in parts):
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def run_identity(model: nn.Module, train_set: Dataset, val_set: Dataset | None,
                 config: TrainConfig, meta: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: model name and config, train config,
    split hash, data (name, target, unit, graph options); ``meta`` overrides."""
    from companion.models.registry import model_config, name_of

    data = plain({"name": getattr(train_set, "data_name", None),
                  "target": getattr(train_set, "target_name", None),
                  "unit": getattr(train_set, "unit", None),
                  "graph": getattr(train_set, "graph_kwargs", None)})
    return {"model_name": name_of(model), "model_config": plain(model_config(model)),
            "train_config": plain(dataclasses.asdict(config)),
            "split_hash": _split_identity(train_set, val_set), "data": data,
            **dict(meta or {})}
