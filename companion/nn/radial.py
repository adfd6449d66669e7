"""Radial bases: expand an interatomic distance into a smooth feature vector.

CGCNN's Gaussian distance expansion (Xie & Grossman, PRL 120, 145301, 2018)::

    e_k(d) = exp(-(d - mu_k)^2 / sigma^2),   mu_k = start + k * step,  k = 0..K-1

with centers from ``start`` to ``stop`` inclusive (CGCNN: 0 to 8 Å in steps of 0.2 Å, so
K = 41) and width ``sigma`` equal to the step unless given.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _centers(start: float, stop: float, step: float) -> np.ndarray:
    if step <= 0 or stop <= start:
        raise ValueError(f"need start < stop and step > 0, got {start}, {stop}, {step}.")
    return np.arange(start, stop + step, step)  # [n_basis] (CGCNN's np.arange convention)


def gaussian_expansion(dist: np.ndarray, start: float = 0.0, stop: float = 8.0,
                       step: float = 0.2, width: float | None = None) -> np.ndarray:
    """Numpy version of :class:`GaussianExpansion`: [...] distances (Å) -> [..., n_basis]."""
    mu = _centers(start, stop, step)  # [n_basis]
    sigma = step if width is None else width
    d = np.asarray(dist, dtype=np.float64)[..., None]  # [..., 1]
    return np.exp(-((d - mu) ** 2) / sigma**2)  # [..., n_basis]


class GaussianExpansion(nn.Module):
    """Gaussian basis of distances, as CGCNN's ``GaussianDistance``.

    Args:
        start: first center, Å.
        stop: last center, Å (inclusive).
        step: spacing of the centers, Å.
        width: Gaussian width sigma, Å (default: ``step``).

    Shapes:
        input [...] distances in Å -> output [..., n_basis].
    """

    def __init__(self, start: float = 0.0, stop: float = 8.0, step: float = 0.2,
                 width: float | None = None) -> None:
        super().__init__()
        mu = torch.as_tensor(_centers(start, stop, step), dtype=torch.get_default_dtype())
        self.register_buffer("mu", mu)  # [n_basis]
        self.sigma = float(step if width is None else width)

    @property
    def n_basis(self) -> int:
        return self.mu.numel()

    def forward(self, dist: torch.Tensor) -> torch.Tensor:
        diff = dist.unsqueeze(-1) - self.mu.to(dist.dtype)  # [..., n_basis]
        return torch.exp(-(diff**2) / self.sigma**2)  # [..., n_basis]
