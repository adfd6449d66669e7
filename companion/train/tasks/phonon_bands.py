"""Full phonon band structures, one set of bands per material: :class:`PhononBandTask`.

The model (e.g. :class:`companion.models.kmvn.KMVN`) maps a batch of
:class:`~companion.graphs.virtual_nodes.KMVNGraph` to a list of [n_q, 3N] frequencies in its
own unit (the authors' 1000 cm^-1, :func:`companion.nn.phonons.to_thz`). Each graph carries
its q-points and its true bands ``bands`` (THz, flattened to [n_q 3N] so that materials of
different sizes batch). The loss is the authors' ``BandLoss``, per material
``mean((|w_pred - w_true| / max|w_true|)^2)``, averaged over the materials of a batch;
metrics are that mean (``band_loss``) and the band MAE in THz (``mae``, over all q-points
and branches of all materials, each entry weighted equally).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from companion.nn.phonons import band_loss, to_thz
from companion.train.runtime import make_loader, model_device
from companion.train.tasks.base import RunningSums, Task

__all__ = ["BandSums", "PhononBandTask", "band_graphs", "every_kth_qpoint", "true_bands"]


def band_graphs(records: Sequence[Any], cutoff: float = 4.0,
                dtype: torch.dtype = torch.float64) -> list[Any]:
    """k-MVN graphs of phonon records (``labels["qpoints"]``, ``labels["frequencies"]``
    in THz, e.g. ``load("mp_phonons")``), with their bands as targets."""
    from companion.graphs.virtual_nodes import kmvn_graph

    graphs = []
    for r in records:
        g = kmvn_graph(r.structure, cutoff=cutoff, qpoints=r.labels["qpoints"], dtype=dtype)
        g.bands = torch.as_tensor(r.labels["frequencies"], dtype=dtype).reshape(-1)
        g.material_id = str(r.id)
        graphs.append(g)
    return graphs


def true_bands(batch: Any) -> list[torch.Tensor]:
    """The true bands of a batch, one [n_q, 3N] tensor (THz) per material."""
    n_q = batch.n_qpoints.tolist()
    n_atoms = _atoms_per_material(batch, len(n_q))
    sizes = [q * 3 * n for q, n in zip(n_q, n_atoms, strict=True)]
    return [b.reshape(q, -1) for b, q in zip(torch.split(batch.bands, sizes), n_q,
                                             strict=True)]


def every_kth_qpoint(batch: Any, k: int, offset: int = 0) -> None:
    """Keep q-points ``offset, offset + k, ...`` of every material of a batch (in place:
    ``qpoints``, ``n_qpoints`` and ``bands``); a material with fewer than ``offset + 1``
    q-points keeps its last one."""
    n_q = batch.n_qpoints.tolist()
    keep_q, keep_b, counts = [], [], []
    q0 = b0 = 0
    for n_atoms, n in zip(_atoms_per_material(batch, len(n_q)), n_q, strict=True):
        idx = torch.arange(min(offset, n - 1), n, k, device=batch.qpoints.device)  # [n_keep]
        width = 3 * n_atoms
        keep_q.append(q0 + idx)
        keep_b.append((b0 + idx[:, None] * width + torch.arange(width, device=idx.device)
                       ).reshape(-1))  # [n_keep 3N]
        counts.append(len(idx))
        q0, b0 = q0 + n, b0 + n * width
    batch.qpoints = batch.qpoints[torch.cat(keep_q)]
    batch.bands = batch.bands[torch.cat(keep_b)]
    batch.n_qpoints = torch.tensor(counts, dtype=batch.n_qpoints.dtype,
                                   device=batch.n_qpoints.device)


def _atoms_per_material(batch: Any, n_materials: int) -> list[int]:
    if getattr(batch, "batch", None) is None:
        return [batch.num_nodes]
    return torch.bincount(batch.batch, minlength=n_materials).tolist()


class BandSums(RunningSums):
    """Running sums (float64): materials, Σ BandLoss, band entries, Σ|error| (THz)."""

    def __init__(self) -> None:
        super().__init__(4)

    def add(self, out: list[torch.Tensor], batch: Any, loss: torch.Tensor) -> None:
        for pred, true in zip(out, true_bands(batch), strict=True):
            p, t = to_thz(pred.detach().double()).cpu(), true.double().cpu()
            self.v += torch.tensor([1.0, float(band_loss(p, t)), float(t.numel()),
                                    float((p - t).abs().sum())], dtype=torch.float64)

    def metrics(self) -> dict[str, float]:
        n, bl, m, abs_err = self.v.tolist()
        return {"band_loss": bl / n if n else math.nan, "mae": abs_err / m if m else math.nan}


class PhononBandTask(Task):
    """Phonon bands per material: ``BandLoss`` to train, BandLoss and MAE (THz) to report."""

    name = "phonon_bands"

    def prepare(self, model: nn.Module, train_set: Dataset) -> None:
        """Nothing to set: the model's output unit is fixed (1000 cm^-1)."""
        return None

    def forward(self, net: nn.Module, batch: Any) -> list[torch.Tensor]:
        """The bands of a batch; in training with ``config.band_qpoint_stride = k > 1`` only
        every k-th q-point of each material, from a random offset (the batch is changed in
        place, so the loss and the running sums see the same q-points)."""
        k = self.config.band_qpoint_stride
        if k > 1 and net.training:
            every_kth_qpoint(batch, k, int(torch.randint(k, ())))
        return net(batch)

    def loss(self, model: nn.Module, out: list[torch.Tensor], batch: Any) -> torch.Tensor:
        losses = [band_loss(to_thz(p), t.to(p.dtype)) for p, t in
                  zip(out, true_bands(batch), strict=True)]
        return torch.stack(losses).mean()

    def sums(self, model: nn.Module) -> BandSums:
        return BandSums()

    def per_material(self, model: nn.Module, dataset: Dataset, batch_size: int = 8,
                     device: torch.device | None = None) -> list[dict[str, Any]]:
        """Per material: ``material_id``, ``pred`` and ``true`` [n_q, 3N] (THz, numpy),
        ``band_loss`` and ``mae`` (THz)."""
        device = device or model_device(model)
        was_training = model.training
        model.eval()
        rows = []
        with torch.no_grad():
            for batch in make_loader(dataset, batch_size):
                batch = batch.to(device)
                for k, (p, t) in enumerate(zip(model(batch), true_bands(batch), strict=True)):
                    p, t = to_thz(p.double()).cpu(), t.double().cpu()
                    rows.append({"material_id": batch.material_id[k] if hasattr(
                        batch, "material_id") else str(len(rows)),
                        "pred": p.numpy(), "true": t.numpy(),
                        "band_loss": float(band_loss(p, t)),
                        "mae": float((p - t).abs().mean())})
        model.train(was_training)
        return rows

    def evaluate(self, model: nn.Module, dataset: Dataset, batch_size: int = 8,
                 device: torch.device | None = None, amp: bool = False,
                 progress: bool = False) -> dict[str, float]:
        rows = self.per_material(model, dataset, batch_size, device)
        n_entries = sum(r["true"].size for r in rows)
        return {"band_loss": float(np.mean([r["band_loss"] for r in rows])),
                "mae": float(sum(r["mae"] * r["true"].size for r in rows) / n_entries)}

    def predict(self, model: nn.Module, dataset: Dataset, batch_size: int = 8,
                device: torch.device | None = None, amp: bool = False,
                progress: bool = False) -> np.ndarray:
        """An object array of per-material bands ([n_q, 3N] THz each), dataset order."""
        rows = self.per_material(model, dataset, batch_size, device)
        out = np.empty(len(rows), dtype=object)
        out[:] = [r["pred"] for r in rows]
        return out

    def dataset(self, source: Any, indices: Sequence[int] | np.ndarray | None,
                graph_kwargs: Mapping[str, Any], target: str | None) -> Dataset:
        records = source.records if hasattr(source, "records") else list(source)
        if indices is None:
            indices = range(len(records))
        return band_graphs([records[int(i)] for i in indices],
                           cutoff=float(graph_kwargs.get("cutoff", 4.0)))

    def target(self, source: Any, target: str | None) -> str:
        return target or "frequencies"

    def summary(self, source: Any, target: str) -> dict[str, Any]:
        return {"task": self.name, "unit": "THz"}

    def screening(self, model: nn.Module) -> dict[str, Any]:
        """One number per structure: the highest frequency at Gamma, THz (the same as the
        authors' k-MVN in the catalogue, ``kmvn/max-gamma-frequency``)."""
        from companion.models.pretrained import (
            kmvn_gamma_arrays,
            kmvn_graph_from_arrays,
            max_gamma_frequency,
        )

        return {"target": "highest phonon frequency at Gamma", "unit": "THz",
                "output": max_gamma_frequency, "graph_arrays": kmvn_gamma_arrays,
                "from_arrays": kmvn_graph_from_arrays}

    def prediction_table(self, model: nn.Module, test_set: Any, amp: bool = False
                         ) -> tuple[list[str], list[list[str]]]:
        rows = self.per_material(model, test_set)
        return (["material_id", "band_loss", "mae_thz"],
                [[r["material_id"], f"{r['band_loss']:.6g}", f"{r['mae']:.6g}"] for r in rows])
