"""Phonon algebra: the 3 x 3 block basis, H(q) by einsum, frequencies, BandLoss."""

from __future__ import annotations

import math

import numpy as np
import torch
from e3nn import o3

from companion.nn.phonons import (
    BandLoss,
    band_loss,
    dynamical_matrix,
    frequencies_faithful,
    frequencies_physical,
    irreps_to_block_basis,
    real_space_blocks,
    to_thz,
)


def test_block_basis_orthonormal_and_parts():
    b = irreps_to_block_basis()
    gram = torch.einsum("kab,lab->kl", b, b)
    assert torch.allclose(gram, torch.eye(9, dtype=torch.float64), rtol=0, atol=1e-15)
    assert torch.allclose(b[1:4], -b[1:4].transpose(1, 2))  # 1e: antisymmetric
    assert torch.allclose(b[4:], b[4:].transpose(1, 2))  # 2e: symmetric ...
    assert torch.allclose(torch.einsum("kaa->k", b[4:]), torch.zeros(5, dtype=torch.float64))


def test_block_basis_transforms_as_e3nn_irreps():
    """R B(c) R^T = B(D(R) c): the basis matches e3nn's 0e + 1e + 2e conventions."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(3)
        rot = o3.rand_matrix()
        d = o3.Irreps("0e+1e+2e").D_from_matrix(rot)
    finally:
        torch.set_default_dtype(before)
    b = irreps_to_block_basis()
    c = torch.randn(9, dtype=torch.float64)
    lhs = rot @ torch.einsum("k,kab->ab", c, b) @ rot.T
    rhs = torch.einsum("k,kab->ab", d @ c, b)
    assert (lhs - rhs).abs().max() < 1e-12


def test_real_space_blocks_layout():
    n, n_s = 2, 3
    blocks = torch.arange(n * n * n_s * 9, dtype=torch.float64).reshape(-1, 3, 3)
    h = real_space_blocks(blocks, n, n_s)
    for s in range(n_s):
        for j in range(n):
            for i in range(n):
                assert torch.equal(h[s, 3 * j:3 * j + 3, 3 * i:3 * i + 3],
                                   blocks[s * n * n + j * n + i])


def test_dynamical_matrix_matches_the_sum():
    g = torch.Generator().manual_seed(0)
    hs = torch.randn(5, 6, 6, generator=g, dtype=torch.float64)
    shifts = torch.tensor([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, -1], [0, -1, 1]])
    q = torch.rand(4, 3, generator=g, dtype=torch.float64)
    h = dynamical_matrix(hs, shifts, q)
    ref = sum(hs[s].to(torch.complex128)
              * torch.exp(2j * math.pi * (q @ shifts[s].double()))[:, None, None]
              for s in range(5))
    assert (h - ref).abs().max() < 1e-13


def test_frequencies():
    lam = torch.tensor([[-4.0, 0.0, 1e-20, 9.0]], dtype=torch.float64)
    h = torch.diag_embed(lam).to(torch.complex128)
    assert torch.allclose(frequencies_physical(h), torch.tensor([[-2.0, 0.0, 0.0, 3.0]],
                                                                dtype=torch.float64))
    # faithful: Re sqrt(lambda + eps), eps = min |lambda| > 0 over the batch / 100
    w = frequencies_faithful(h)
    eps = 1e-22
    expect = np.sort(np.sqrt(lam.numpy()[0].astype(complex) + eps).real)
    assert np.allclose(w.numpy()[0], expect)


def test_band_loss_and_units():
    true = torch.tensor([[0.0, 2.0], [1.0, 4.0]])
    pred = torch.tensor([[0.4, 2.0], [1.0, 2.0]])
    assert float(band_loss(pred, true)) == pytest_approx((0.1**2 + 0.5**2) / 4)
    assert float(BandLoss()([pred, true], [true, true])) == pytest_approx(
        (0.1**2 + 0.5**2) / 8)
    assert float(to_thz(torch.tensor(1.0))) == pytest_approx(1000 / 33.35640951981521)


def pytest_approx(x):
    import pytest

    return pytest.approx(x, rel=1e-6)
