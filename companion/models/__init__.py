"""Models of the course, one per file: config dataclass, layers, model, read top to bottom.

- :mod:`companion.models.cgcnn`: CGCNN (Xie & Grossman, PRL 120, 145301, 2018), with the
  authors' pretrained weights (:func:`~companion.models.cgcnn.load_pretrained`).
- :mod:`companion.models.alignn`: ALIGNN (Choudhary & DeCost, npj Comput. Mater. 7, 185,
  2021): edge-gated convolutions on the atom graph and on its line graph (bond angles).
"""

from companion.models.alignn import (
    ALIGNN,
    ALIGNNConfig,
    ALIGNNLayer,
    EdgeGatedGraphConv,
    count_parameters,
)
from companion.models.cgcnn import CGCNN, CGCNNConfig, CGCNNConv, load_pretrained

__all__ = [
    "ALIGNN",
    "ALIGNNConfig",
    "ALIGNNLayer",
    "CGCNN",
    "CGCNNConfig",
    "CGCNNConv",
    "EdgeGatedGraphConv",
    "count_parameters",
    "load_pretrained",
]
