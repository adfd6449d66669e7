"""Models of the course, one per file: config dataclass, layers, model, read top to bottom.

- :mod:`companion.models.cgcnn`: CGCNN (Xie & Grossman, PRL 120, 145301, 2018), with the
  authors' pretrained weights (:func:`~companion.models.cgcnn.load_pretrained`).
"""

from companion.models.cgcnn import CGCNN, CGCNNConfig, CGCNNConv, load_pretrained

__all__ = ["CGCNN", "CGCNNConfig", "CGCNNConv", "load_pretrained"]
