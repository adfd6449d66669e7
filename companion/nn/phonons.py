"""Phonon algebra shared by the virtual-node models: 3 x 3 blocks from irreps, the dynamical
matrix ``H(q)``, frequencies from its eigenvalues, and the authors' ``BandLoss``.

Okabe et al., Nat. Comput. Sci. 4, 522 (2024), arXiv:2301.02197.

A 3 x 3 real tensor splits into irreducible parts, ``1 (x) 1 = 0 + 1 + 2``: the isotropic
part (``0e``, 1 number), the antisymmetric part (``1e``, 3) and the symmetric traceless part
(``2e``, 5). :func:`irreps_to_block_basis` writes the 9 unit-norm basis matrices in e3nn's
component order (``1e`` as ``(x, y, z)``; ``2e`` as ``(xz, xy, 2y^2 - x^2 - z^2, yz,
z^2 - x^2)``, e3nn's ``l = 2`` order, whose polar axis is ``y``).

Units: the authors train on frequencies in cm^-1 divided by 1000 (:data:`OUTPUT_UNIT_CM1`);
:data:`CM1_PER_THZ` converts.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["CM1_PER_THZ", "OUTPUT_UNIT_CM1", "BandLoss", "band_loss", "dynamical_matrix",
           "frequencies_faithful", "frequencies_physical", "irreps_to_block_basis",
           "real_space_blocks", "to_thz"]

CM1_PER_THZ = 33.35640951981521
"""cm^-1 per THz (1 THz / c)."""

OUTPUT_UNIT_CM1 = 1000.0
"""The authors' frequency unit in cm^-1: their targets are frequencies (cm^-1) / 1000."""


def to_thz(freq: torch.Tensor) -> torch.Tensor:
    """Frequencies in the authors' unit (1000 cm^-1) -> THz."""
    return freq * (OUTPUT_UNIT_CM1 / CM1_PER_THZ)


def irreps_to_block_basis(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The 9 basis matrices ``B_k`` [9, 3, 3] with ``block = sum_k c_k B_k``.

    ``c = (c_0e | c_1e (3) | c_2e (5))``; every ``B_k`` has unit Frobenius norm:
    ``B_0 = I / sqrt 3``; ``B_{1+k}[a, b] = epsilon_{kab} / sqrt 2``; the five ``2e`` ones
    are symmetric and traceless, in e3nn's ``l = 2`` order.
    """
    b = torch.zeros(9, 3, 3, dtype=torch.float64)  # [9, 3, 3]
    b[0] = torch.eye(3, dtype=torch.float64) / math.sqrt(3.0)
    for k, (a, c) in enumerate([(1, 2), (2, 0), (0, 1)]):  # epsilon_{k a c} = +1
        b[1 + k, a, c], b[1 + k, c, a] = 1 / math.sqrt(2.0), -1 / math.sqrt(2.0)
    r2 = 1 / math.sqrt(2.0)
    b[4, 0, 2] = b[4, 2, 0] = r2  # xz
    b[5, 0, 1] = b[5, 1, 0] = r2  # xy
    b[6] = torch.diag(torch.tensor([-1.0, 2.0, -1.0], dtype=torch.float64)) / math.sqrt(6.0)
    b[7, 1, 2] = b[7, 2, 1] = r2  # yz
    b[8, 0, 0], b[8, 2, 2] = -r2, r2  # z^2 - x^2
    return b.to(dtype)


def real_space_blocks(blocks: torch.Tensor, n_atoms: int, n_shifts: int) -> torch.Tensor:
    """Arrange virtual-node blocks into real-space matrices ``H_s``.

    Args:
        blocks: [N^2 n_s, 3, 3], virtual node ``k = s N^2 + j N + i`` holding
            ``H_s[3j:3j+3, 3i:3i+3]``.
        n_atoms: ``N``.
        n_shifts: ``n_s``.

    Returns:
        [n_s, 3N, 3N].
    """
    n = n_atoms
    h = blocks.reshape(n_shifts, n, n, 3, 3).permute(0, 1, 3, 2, 4)  # [n_s, N, 3, N, 3]
    return h.reshape(n_shifts, 3 * n, 3 * n)


def dynamical_matrix(hs: torch.Tensor, shifts: torch.Tensor, qpoints: torch.Tensor
                     ) -> torch.Tensor:
    """``H(q) = sum_s H_s exp(2 pi i q.s)`` for every q-point, as one einsum.

    Args:
        hs: [n_s, 3N, 3N] real or complex.
        shifts: [n_s, 3] integer translations ``s``.
        qpoints: [n_q, 3] reduced coordinates of the same cell's reciprocal lattice.

    Returns:
        [n_q, 3N, 3N] complex.
    """
    real = qpoints.dtype if qpoints.is_floating_point() else torch.float64
    phase = 2 * math.pi * qpoints.to(real) @ shifts.to(real).T  # [n_q, n_s]
    cplx = torch.complex64 if real == torch.float32 else torch.complex128
    return torch.einsum("qs,sab->qab", torch.polar(torch.ones_like(phase), phase),
                        hs.to(cplx))  # [n_q, 3N, 3N]


def frequencies_faithful(h: torch.Tensor) -> torch.Tensor:
    """The authors' frequencies: ``Re sqrt(lambda + eps)``, sorted, per q-point.

    ``lambda`` are the eigenvalues of the (non-Hermitian) ``H(q)`` from the general
    solver; ``eps`` is 1/100 of the smallest nonzero ``|lambda|`` over *all* q-points passed
    together, so a frequency depends on which q-points are evaluated with it.

    Args:
        h: [n_q, 3N, 3N] complex.

    Returns:
        [n_q, 3N] real, ascending.
    """
    lam = torch.linalg.eigvals(h)  # [n_q, 3N]
    mag = lam.abs()
    nonzero = mag[mag > 0]
    eps = nonzero.min() / 100 if nonzero.numel() else torch.tensor(1e-8, dtype=mag.dtype)
    return torch.sort(torch.sqrt(lam + eps).real, dim=-1).values


def frequencies_physical(h: torch.Tensor) -> torch.Tensor:
    """Frequencies of a Hermitian ``H(q)``: ``sign(lambda) sqrt(|lambda|)``, ascending.

    Imaginary (unstable) modes come out as negative frequencies, the phonopy convention.
    Eigenvalues within rounding of zero (``|lambda| < 1e-12 max |lambda|``, per q-point) are
    set to 0, so an acoustic mode at Gamma is 0 rather than ``+-1e-8`` of the largest
    frequency (the square root amplifies rounding noise of ``lambda``).

    Args:
        h: [n_q, 3N, 3N] complex Hermitian (symmetrized here against rounding).

    Returns:
        [n_q, 3N] real.
    """
    lam = torch.linalg.eigvalsh(0.5 * (h + h.conj().transpose(-1, -2)))  # [n_q, 3N]
    noise = 1e-12 * lam.abs().amax(dim=-1, keepdim=True)  # [n_q, 1]
    lam = torch.where(lam.abs() < noise, torch.zeros_like(lam), lam)
    return torch.sign(lam) * lam.abs().sqrt()


def band_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """The authors' ``BandLoss`` of one material: ``mean ((|w_pred - w_true| / max|w_true|)^2)``.

    Args:
        pred, true: [n_q, 3N] frequencies (any one unit; the loss is unit-free).
    """
    return (((pred - true).abs() / true.abs().max()) ** 2).mean()


class BandLoss(nn.Module):
    """``BandLoss`` averaged over materials (each material normalized by its own max)."""

    def forward(self, pred: list[torch.Tensor], true: list[torch.Tensor]) -> torch.Tensor:
        """Args: ``pred``, ``true``: one [n_q, 3N] tensor per material."""
        if len(pred) != len(true):
            raise ValueError(f"BandLoss: {len(pred)} predicted materials, {len(true)} true")
        return torch.stack([band_loss(p, t) for p, t in zip(pred, true, strict=True)]).mean()
