r"""Smooth cutoff envelopes and the Bessel radial basis of interatomic potentials.

A potential that only sees neighbors within a cutoff radius :math:`r_c` must let every
neighbor's influence fade out before it leaves the sphere: otherwise the energy jumps when an
atom crosses :math:`r_c` (molecular dynamics then does not conserve energy). An envelope
:math:`u(r)` with

.. math::
    u(0) = 1, \qquad u(r_c) = 0, \qquad u'(r_c) = 0, \qquad u(r) = 0 \ \text{for}\ r \ge r_c

multiplies every edge's contribution: the energy is then continuous across the cutoff, and so
are the forces (its first derivative). Two envelopes:

- :class:`PolynomialEnvelope` (DimeNet: Klicpera, Groß & Günnemann, "Directional Message
  Passing for Molecular Graphs", ICLR 2020, Eq. 8), with :math:`x = r / r_c` and exponent
  :math:`p` (DimeNet uses p = 6)::

      u(x) = 1 - (p+1)(p+2)/2 x^p + p(p+2) x^(p+1) - p(p+1)/2 x^(p+2)

  value, first *and second* derivative vanish at :math:`r_c`, and the first p - 1
  derivatives vanish at r = 0, so short bonds are not damped.
- :class:`CosineCutoff` (Behler & Parrinello, PRL 98, 146401, 2007):
  ``u(r) = (cos(pi r / r_c) + 1) / 2``; value and first derivative vanish at :math:`r_c`.

And :class:`BesselBasis` (DimeNet, Eq. 7), a radial basis that is itself zero at the cutoff::

    e_n(r) = sqrt(2 / r_c) sin(n pi r / r_c) / r,    n = 1..K

Shapes: every module maps distances ``[...]`` (Å) to ``[...]`` (envelopes) or
``[..., K]`` (basis). Beyond the cutoff every envelope is exactly 0, also in float32, where a
distance recomputed from positions may come out slightly longer than the float64 neighbor
search found it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def polynomial_envelope(dist: torch.Tensor, cutoff: float, exponent: int = 6) -> torch.Tensor:
    """DimeNet's polynomial envelope ``u(r)`` (module docstring), 0 for ``r >= cutoff``.

    Args:
        dist: [...] distances, Å.
        cutoff: r_c, Å.
        exponent: p (>= 2); value and first two derivatives vanish at the cutoff.

    Returns:
        [...] envelope values in [0, 1].
    """
    p = float(exponent)
    x = dist / cutoff  # [...]
    xp = x.pow(exponent)  # [...]
    u = 1.0 + xp * (-(p + 1) * (p + 2) / 2 + x * (p * (p + 2) - x * p * (p + 1) / 2))  # [...]
    return torch.where(x < 1.0, u, torch.zeros_like(u))  # [...]


def cosine_cutoff(dist: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Behler's cosine cutoff ``(cos(pi r / r_c) + 1) / 2``, 0 for ``r >= cutoff``.

    Args:
        dist: [...] distances, Å.
        cutoff: r_c, Å.

    Returns:
        [...] envelope values in [0, 1].
    """
    u = 0.5 * (torch.cos(dist * (math.pi / cutoff)) + 1.0)  # [...]
    return torch.where(dist < cutoff, u, torch.zeros_like(u))  # [...]


class PolynomialEnvelope(nn.Module):
    """DimeNet's polynomial envelope (Klicpera et al., ICLR 2020, Eq. 8) as a module.

    Args:
        cutoff: r_c, Å.
        exponent: p (DimeNet: 6).

    Shapes:
        [...] distances (Å) -> [...] values in [0, 1].
    """

    def __init__(self, cutoff: float, exponent: int = 6) -> None:
        super().__init__()
        if cutoff <= 0 or exponent < 2:
            raise ValueError(f"need cutoff > 0 and exponent >= 2, got {cutoff}, {exponent}.")
        self.cutoff = float(cutoff)
        self.exponent = int(exponent)

    def forward(self, dist: torch.Tensor) -> torch.Tensor:
        return polynomial_envelope(dist, self.cutoff, self.exponent)  # [...]

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, exponent={self.exponent}"


class CosineCutoff(nn.Module):
    """Behler's cosine cutoff (Behler & Parrinello, PRL 98, 146401, 2007) as a module.

    Args:
        cutoff: r_c, Å.

    Shapes:
        [...] distances (Å) -> [...] values in [0, 1].
    """

    def __init__(self, cutoff: float) -> None:
        super().__init__()
        if cutoff <= 0:
            raise ValueError(f"need cutoff > 0, got {cutoff}.")
        self.cutoff = float(cutoff)

    def forward(self, dist: torch.Tensor) -> torch.Tensor:
        return cosine_cutoff(dist, self.cutoff)  # [...]

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}"


ENVELOPES = ("polynomial", "cosine")
"""Names accepted by :func:`make_envelope`."""


def make_envelope(name: str, cutoff: float, exponent: int = 6) -> nn.Module:
    """``"polynomial"`` (:class:`PolynomialEnvelope`) or ``"cosine"`` (:class:`CosineCutoff`)."""
    if name == "polynomial":
        return PolynomialEnvelope(cutoff, exponent)
    if name == "cosine":
        return CosineCutoff(cutoff)
    raise ValueError(f"unknown envelope {name!r}; choose one of {ENVELOPES}.")


class BesselBasis(nn.Module):
    r"""DimeNet's radial Bessel basis (Klicpera et al., ICLR 2020, Eq. 7).

    .. math::
        e_n(r) = \sqrt{2 / r_c}\; \frac{\sin(n \pi r / r_c)}{r}, \qquad n = 1, \dots, K

    the zeroth-order spherical Bessel functions that vanish at :math:`r_c` (the radial
    solutions of a particle in a sphere). The frequencies :math:`n \pi / r_c` are fixed
    (DimeNet makes them trainable; fixed keeps the basis interpretable) and computed in the
    dtype of the distances, so the functions vanish at the cutoff to that precision.

    Args:
        cutoff: r_c, Å.
        n_basis: K, number of functions.

    Shapes:
        [...] distances (Å, > 0) -> [..., K] (1/Å^(3/2)).
    """

    def __init__(self, cutoff: float, n_basis: int = 8) -> None:
        super().__init__()
        if cutoff <= 0 or n_basis < 1:
            raise ValueError(f"need cutoff > 0 and n_basis >= 1, got {cutoff}, {n_basis}.")
        self.cutoff = float(cutoff)
        self.n_basis = int(n_basis)

    def forward(self, dist: torch.Tensor) -> torch.Tensor:
        n = torch.arange(1, self.n_basis + 1, dtype=dist.dtype, device=dist.device)  # [K]
        r = dist.unsqueeze(-1)  # [..., 1]
        norm = math.sqrt(2.0 / self.cutoff)
        return norm * torch.sin(n * (math.pi / self.cutoff) * r) / r  # [..., K]

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, n_basis={self.n_basis}"
