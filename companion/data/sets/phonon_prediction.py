"""The authors' pretrained virtual-node phonon models (RyotaroOKabe/phonon_prediction).

Weights, not data: :func:`load_kmvn_weights` returns the state dict of a checkpoint, read
with ``torch.load(weights_only=True, map_location="cpu")`` (the files were saved on CUDA).
:class:`companion.models.kmvn.KMVN` loads it with ``load_authors_state_dict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from companion.data.entry import DatasetEntry
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.resolve import resolve
from companion.errors import DataError

__all__ = ["ENTRY", "EXAMPLES", "MODELS", "kmvn_training_config", "load_kmvn_examples",
           "load_kmvn_weights"]

MODELS = {
    "kmvn_241026-182158": "the repository's default k-MVN (123,208 parameters)",
    "kmvn_230103-023724": "the paper-era k-MVN",
    "mvn_241026-182014": "MVN: Gamma-point frequencies only",
    "vvn_241026-180553": "VVN: vector virtual nodes",
}
"""Checkpoints in ``models/`` and what they are."""

EXAMPLES = ("mp-149", "mp-2059", "mp-2534", "mp-30", "mp-7577")
"""The structures of the authors' ``cif_folder/`` (mp-149 is an 8-atom conventional Si)."""


def _checkpoint(model: str) -> dict[str, Any]:
    if model not in MODELS:
        raise DataError(f"unknown checkpoint {model!r}; choose one of {', '.join(MODELS)}")
    path = resolve(ENTRY, f"models/{model}.torch")
    return torch.load(path, weights_only=True, map_location="cpu")


def load_kmvn_weights(model: str = "kmvn_241026-182158") -> dict[str, torch.Tensor]:
    """The state dict of one of the authors' checkpoints (float64 tensors, e3nn 0.5.0 names).

    Args:
        model: a name of :data:`MODELS`.

    Raises:
        DataError: unknown name, or the file is missing / fails its checksum.
    """
    return dict(_checkpoint(model)["state"])


def kmvn_training_config(model: str = "kmvn_241026-182158") -> dict[str, Any]:
    """The checkpoint's ``conf_dict`` (hyperparameters) and its training ``history``.

    Returns:
        ``{"conf_dict": dict or None (the 230103 files have none), "history": list}``.
    """
    ckpt = _checkpoint(model)
    return {"conf_dict": ckpt.get("conf_dict"), "history": ckpt.get("history", [])}


def load_kmvn_examples() -> LabeledDataset:
    """The five example structures of the authors' notebooks (``cif_folder/*.cif``).

    Returns:
        Periodic records (ids ``mp-149`` ...), read with pymatgen; no labels.
    """
    from pymatgen.core import Structure

    records = []
    for mp_id in EXAMPLES:
        s = Structure.from_file(str(resolve(ENTRY, f"cif_folder/{mp_id}.cif")))
        records.append(LabeledRecord(
            id=mp_id, numbers=np.array(s.atomic_numbers), positions=s.cart_coords,
            cell=s.lattice.matrix, pbc=True,
            info={"material_id": mp_id, "formula": s.composition.formula.replace(" ", "")}))
    return LabeledDataset("kmvn_examples", records, entry=ENTRY, source="cif_folder/*.cif")


ENTRY = DatasetEntry(
    name="kmvn_weights",
    load=load_kmvn_weights,
    description=(
        "The authors' pretrained virtual-node phonon models (torch.save zip files: 'state', "
        "a float64 state dict of e3nn 0.5.0 modules, 'history', and for the 241026 files "
        "'conf_dict'), and the five example CIFs of their notebooks. load() returns the "
        "state dict of kmvn_241026-182158 (final training BandLoss 0.00401); trained on "
        "the Petretto et al. DFPT database (90/10 split)."
    ),
    repo="RyotaroOKabe/phonon_prediction",
    commit="78815766ac9b5719c198c5fdf965c1449343bf84",
    files=("LICENSE", *(f"models/{m}.torch" for m in MODELS),
           *(f"cif_folder/{m}.cif" for m in EXAMPLES)),
    license="MIT",
    citation=(
        "R. Okabe, A. Chotrattanapituk, A. Boonkird, N. Andrejevic, X. Fu, T. S. Jaakkola, "
        "Q. Song, T. Nguyen, N. Drucker, S. Mu, Y. Wang, B. Liao, Y. Cheng, M. Li, "
        "'Virtual node graph neural network for full phonon prediction', Nature "
        "Computational Science 4, 522 (2024), arXiv:2301.02197; training data: G. Petretto "
        "et al., Sci. Data 5, 180065 (2018)"
    ),
    units={"frequencies": "1000 cm^-1 (the models' output unit; x 1000 for cm^-1)",
           "weights": "float64 state dict"},
)
