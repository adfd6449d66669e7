"""Models of the course, one per file: config dataclass, layers, model, read top to bottom.

- :mod:`companion.models.cgcnn`: CGCNN (Xie & Grossman, PRL 120, 145301, 2018), with the
  authors' pretrained weights (:func:`~companion.models.cgcnn.load_pretrained`).
- :mod:`companion.models.alignn`: ALIGNN (Choudhary & DeCost, npj Comput. Mater. 7, 185,
  2021): edge-gated convolutions on the atom graph and on its line graph (bond angles).
- :mod:`companion.models.gatv2`: a JAT-style attention interatomic potential (GATv2
  attention, Brody et al. 2022; Hödl 2022): energies, forces and stress by autograd.
- :mod:`companion.models.crystalformer`: Crystalformer (Taniai et al., ICLR 2024): attention
  over every periodic image, with the weight decaying as a Gaussian of the distance.
"""

from companion.models.alignn import (
    ALIGNN,
    ALIGNNConfig,
    ALIGNNLayer,
    EdgeGatedGraphConv,
    count_parameters,
)
from companion.models.cgcnn import CGCNN, CGCNNConfig, CGCNNConv, load_pretrained
from companion.models.crystalformer import Crystalformer, CrystalformerConfig
from companion.models.gatv2 import GATv2Config, GATv2Layer, GATv2Potential, envelope_softmax

__all__ = [
    "ALIGNN",
    "ALIGNNConfig",
    "ALIGNNLayer",
    "CGCNN",
    "CGCNNConfig",
    "CGCNNConv",
    "Crystalformer",
    "CrystalformerConfig",
    "EdgeGatedGraphConv",
    "GATv2Config",
    "GATv2Layer",
    "GATv2Potential",
    "count_parameters",
    "envelope_softmax",
    "load_pretrained",
]
