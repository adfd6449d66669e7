"""Predictions from trained models: :func:`predict`, :func:`evaluate`, :class:`Predictor`
and :func:`load_predictor` (a catalogue name or a run folder; what ``python -m companion
predict`` uses) with :func:`load_for_inference` (a run folder or checkpoint file).

Everything a prediction needs in the target's units is in the model: its ``scale_shift``
buffers. The task is read off the model (:func:`~companion.train.tasks.task_of`): a
per-species ``scale_shift`` is a potential (energies, eV), anything else one number per
graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from companion.data.resolve import repo_data_dir
from companion.nn.scale_shift import ScaleShift
from companion.train.checkpoint import CheckpointError, load_checkpoint
from companion.train.runtime import resolve_device
from companion.train.tasks import task_of

__all__ = ["Predictor", "evaluate", "load_for_inference", "load_predictor", "predict"]


def predict(model: nn.Module, dataset: Dataset, batch_size: int = 256,
            device: torch.device | str | None = None, amp: bool = False,
            progress: bool = False) -> np.ndarray:
    """Predictions of ``model`` on every graph of ``dataset``, in the target's units.

    Args:
        model: trained model (its ``scale_shift`` gives the target's units).
        dataset: graphs (``y`` not needed).
        batch_size: graphs per forward pass (per process under DDP).
        device: default: the device of the model's parameters.
        amp: bf16 autocast on CUDA.
        progress: progress bar.

    Returns:
        float64 [n_graphs], in dataset order (a potential: total energies, eV).
    """
    device = torch.device(device) if isinstance(device, str) else device
    return task_of(model).predict(model, dataset, batch_size, device, amp, progress)


def evaluate(model: nn.Module, dataset: Dataset, batch_size: int = 256,
             device: torch.device | str | None = None, amp: bool = False,
             progress: bool = False) -> dict[str, float]:
    """Metrics of ``model`` on a dataset of labelled graphs (identical on every DDP process).

    Returns:
        ``{"mae", "rmse", "r2"}`` in the target's units; for a potential,
        ``{"energy_mae", "energy_rmse"}`` (meV/atom) and ``{"force_mae", "force_rmse"}``
        (meV/Å).
    """
    device = torch.device(device) if isinstance(device, str) else device
    return task_of(model).evaluate(model, dataset, batch_size, device, amp, progress)


class Predictor:
    """A trained model with what it needs to predict from structures.

    Attributes:
        model: the model (eval mode; its ``scale_shift`` holds the output units).
        graph_kwargs: options of :func:`companion.graphs.to_graph` the model was trained on.
        target, unit: what it predicts. model_name: registry or catalogue name.
        checkpoint: its source (the checkpoint payload; empty for a catalogue model).
        output: ``(model, batch) -> [n_graphs]`` for a model whose prediction is not
            ``scale_shift(forward)`` (a classifier's probability); None otherwise.
        periodic: True: crystals only (a structure without a cell is refused); None: any.
        graph_arrays: ``structure -> dict of numpy arrays``, the model's graph (picklable:
            run in reader processes by :func:`companion.screening.predict_files`); default
            :func:`companion.screening.crystal_graph_arrays` with ``graph_kwargs``.
        from_arrays: ``arrays -> graph`` (a PyG ``Data``); default
            :func:`companion.screening.crystal_graph_from_arrays`.
    """

    def __init__(self, model: nn.Module, graph_kwargs: Mapping[str, Any], target: str = "",
                 unit: str = "", model_name: str = "", checkpoint: dict | None = None,
                 output: Callable[[nn.Module, Any], torch.Tensor] | None = None,
                 periodic: bool | None = None,
                 graph_arrays: Callable[[Any], dict[str, np.ndarray]] | None = None,
                 from_arrays: Callable[[dict[str, np.ndarray]], Any] | None = None) -> None:
        from companion.screening import crystal_graph_arrays, crystal_graph_from_arrays

        self.model = model.eval()
        self.graph_kwargs = {k: v for k, v in dict(graph_kwargs).items() if v is not None}
        self.target, self.unit, self.model_name = target, unit, model_name
        self.checkpoint = checkpoint or {}
        self.output, self.periodic = output, periodic
        self.graph_arrays = graph_arrays or partial(crystal_graph_arrays, **self.graph_kwargs)
        self.from_arrays = from_arrays or crystal_graph_from_arrays

    def graph(self, structure: Any):
        """The graph of a structure (pymatgen, ASE, arrays, or a file path)."""
        if isinstance(structure, str | Path):
            from companion.io import read_structure

            structure = read_structure(structure)
        return self.from_arrays(self.graph_arrays(structure))

    def predict_graphs(self, graphs: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        """Predictions ([n], float64, target units) for prebuilt graphs, in batches."""
        if self.output is None:
            return predict(self.model, list(graphs), batch_size)
        from companion.train.runtime import make_loader, model_device

        device, out = model_device(self.model), []
        with torch.no_grad():
            for batch in make_loader(list(graphs), batch_size):
                out.append(self.output(self.model, batch.to(device)).double().cpu())
        return torch.cat(out).numpy() if out else np.zeros(0)

    def predict_structures(self, structures: Sequence[Any], batch_size: int = 64
                           ) -> np.ndarray:
        """Predictions ([n], target units) for pymatgen Structures, ASE Atoms, ``(z, pos,
        cell)`` arrays or structure files (read by :func:`companion.io.read_structure`).

        Raises:
            StructureError: a file or structure that cannot become a graph (named).
        """
        return self.predict_graphs([self.graph(s) for s in structures], batch_size)

    def __repr__(self) -> str:
        return (f"Predictor({self.model_name}: {self.target} [{self.unit}], graphs "
                f"{self.graph_kwargs})")


def _attach_scale_shift(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """A model class without its own ``scale_shift`` (one the task attached in training)
    gets an empty one of the saved shape before its weights are loaded."""
    if "scale_shift.scale" not in state or hasattr(model, "scale_shift"):
        return
    saved = state["scale_shift.scale"]
    if saved.dim() == 0:
        model.scale_shift = ScaleShift(dtype=saved.dtype)
    else:
        species = state["scale_shift.numbers"].tolist()  # [n_species] atomic numbers
        model.scale_shift = ScaleShift(species, dtype=saved.dtype)


def load_for_inference(path: str | Path, device: str = "cpu", best: bool = True
                       ) -> Predictor:
    """Rebuild a trained model from a run folder (or checkpoint file).

    Args:
        path: the ``--out`` folder of ``python -m companion train``, or a checkpoint file.
        device: where to put the model.
        best: the weights of the best validation epoch (else those of the last epoch).

    Raises:
        CheckpointError: no intact checkpoint (or one of an older format: retrain), or a
            model name this version does not know.
    """
    from companion.models.registry import build_model

    ckpt = load_checkpoint(path)
    try:
        model = build_model(ckpt["model_name"], ckpt["model_config"])
    except ValueError as exc:
        raise CheckpointError(f"{path}: cannot rebuild the model: {exc}") from None
    state = ckpt["best"]["model"] if best and ckpt.get("best") else ckpt["model"]
    _attach_scale_shift(model, state)
    model.load_state_dict(state)
    data = ckpt.get("data") or {}
    how = {"target": data.get("target") or "", "unit": data.get("unit") or "",
           **task_of(model).screening(model)}
    return Predictor(model.to(resolve_device(device)), data.get("graph") or {},
                     model_name=ckpt["model_name"], checkpoint=ckpt, **how)


def load_predictor(model: str | Path, device: str = "cpu") -> Predictor:
    """A :class:`Predictor` from a catalogue name or a trained run.

    Args:
        model: a name of :data:`companion.models.pretrained.CATALOGUE`
            (``"cgcnn/formation-energy-per-atom"``; ``python -m companion models`` lists
            them), or the ``--out`` folder of ``python -m companion train`` or a checkpoint
            file (:func:`load_for_inference`, best epoch).
        device: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"``.

    Raises:
        CheckpointError: neither a catalogue name nor a path that exists (the message
            lists the names), or a checkpoint that cannot be used.
        DataError: the weights of a catalogue model are not installed (says how to).
    """
    from companion.models.pretrained import CATALOGUE
    from companion.models.registry import model_names

    entry = CATALOGUE.get(str(model))
    if entry is not None and entry.checkpoint is not None:
        path = entry.checkpoint
        if path.parent == repo_data_dir() / "checkpoints":  # shipped: check its sha256
            from companion.models.pretrained import shipped_checkpoint

            path = shipped_checkpoint(path.name)
        predictor = load_for_inference(path, device=device)
        predictor.model_name, predictor.periodic = entry.name, entry.periodic
        return predictor
    if entry is not None:
        net = entry.load().to(resolve_device(device)).eval()
        options = dict(net.config.graph_options)
        if entry.graph is None:  # to_graph's options
            options = {"line_graph": False, **options}
        return Predictor(net, options, entry.target, entry.unit, entry.name,
                         output=entry.output, periodic=entry.periodic,
                         graph_arrays=entry.graph, from_arrays=entry.from_arrays)
    if Path(model).exists():
        return load_for_inference(model, device=device)
    known = ", ".join(CATALOGUE)
    if str(model) in model_names():
        raise CheckpointError(
            f"{model!r} is an architecture without trained weights. Use a pretrained model "
            f"({known}) or train one (python -m companion train --model {model} --out RUN) "
            "and predict with --checkpoint RUN.")
    raise CheckpointError(f"{model!r} is neither a model name nor an existing run folder or "
                          f"checkpoint file. Names: {known} (python -m companion models).")
