"""Self-checks of notebook 05: right answers pass, wrong ones get a hint, none raise."""

from __future__ import annotations

import math

import numpy as np
import torch

from companion.exercises import ch05
from companion.models.crystalformer_attention import box_translations, real_alpha
from tests.conftest import assert_correct, assert_hint, verdict


def test_doubled_cell(capsys):
    a, sigma = 2.0, 1.4
    small = ch05.one_atom_alpha(a, sigma)
    # the same number from the supercell: 8 atoms at (0/1) * a, images of the 2a cell
    rel = torch.tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)],
                       dtype=torch.float64) * a  # [8, 3]
    d2 = ((rel[:, None] + box_translations(8) * 2 * a) ** 2).sum(-1)  # [8, R]
    alpha = real_alpha(d2, torch.full((8, 1), 1 / (2 * sigma**2), dtype=torch.float64))
    assert abs(float(torch.logsumexp(alpha[:, 0], 0)) - small) < 1e-12
    assert_correct(verdict(capsys, ch05.check_doubled_cell, small))
    assert_hint(verdict(capsys, ch05.check_doubled_cell, ch05.one_atom_alpha(2 * a, sigma)),
                "supercell")
    assert_hint(verdict(capsys, ch05.check_doubled_cell, 0.3), "3 log")


def test_sigma_bound(capsys):
    assert_correct(verdict(capsys, ch05.check_sigma_bound, "a"))
    assert_correct(verdict(capsys, ch05.check_sigma_bound, " (A) "))
    for letter in "bcd":
        assert_hint(verdict(capsys, ch05.check_sigma_bound, letter))
    assert_hint(verdict(capsys, ch05.check_sigma_bound, "e"), "letter")


def test_image_count(capsys):
    radius = 3.5 * 1.4 / math.sqrt(0.5)
    grid = np.arange(-4, 5)
    n = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)
    expected = int(((2.0 * n) ** 2).sum(-1).__le__(radius**2).sum())
    assert ch05.images_within(2.0, radius) == expected == 179
    assert_correct(verdict(capsys, ch05.check_image_count, expected))
    assert_hint(verdict(capsys, ch05.check_image_count, expected - 1), "self")
    assert_hint(verdict(capsys, ch05.check_image_count, 343), "sphere")
    assert_hint(verdict(capsys, ch05.check_image_count, 100), "6.930")
