"""Neighbor lists against an independent brute-force enumeration of periodic images."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from companion.graphs import neighbor_list

BORDER = 1e-7  # Å: pairs this close to the cutoff are ambiguous in floating point


def brute_force(frac: np.ndarray, cell: np.ndarray, cutoff: float) -> set[tuple]:
    """Every (dst, src, shift) with 0 < |r_src + shift @ cell - r_dst| < cutoff, by enumeration.

    Positions are fractional in [0, 1), so images up to ceil(cutoff / height) + 1 cells away
    along each axis are enough (height = distance between opposite faces of the cell).
    """
    pos = frac @ cell
    volume = abs(np.linalg.det(cell))
    heights = [volume / np.linalg.norm(np.cross(cell[(a + 1) % 3], cell[(a + 2) % 3]))
               for a in range(3)]
    reach = [int(np.ceil(cutoff / h)) + 1 for h in heights]
    shifts = np.array(list(itertools.product(*(range(-r, r + 1) for r in reach))))
    images = shifts @ cell  # [n_shifts, 3]
    found = set()
    for i, j in itertools.product(range(len(pos)), repeat=2):
        d = np.linalg.norm(pos[j] + images - pos[i], axis=1)
        for s in np.flatnonzero((d < cutoff - BORDER) & (d > 1e-12)):
            found.add((i, j, *shifts[s]))
    return found


def listed(nl, cutoff: float) -> set[tuple]:
    keep = nl.dist < cutoff - BORDER
    return {(int(i), int(j), *map(int, s))
            for i, j, s in zip(nl.dst[keep], nl.src[keep], nl.shift[keep], strict=True)}


@st.composite
def cells(draw):
    """Random triclinic cells, often strongly skewed, with 1-4 atoms and a cutoff that may
    exceed the cell several times."""
    diag = draw(st.lists(st.floats(1.0, 5.0), min_size=3, max_size=3))
    off = draw(st.lists(st.floats(-4.0, 4.0), min_size=3, max_size=3))
    cell = np.array([[diag[0], 0, 0], [off[0], diag[1], 0], [off[1], off[2], diag[2]]])
    rot = draw(st.sampled_from([np.eye(3), np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0.0]])]))
    cell = cell @ rot
    n = draw(st.integers(1, 4))
    frac = np.array(draw(st.lists(st.lists(st.floats(0.0, 0.999), min_size=3, max_size=3),
                                  min_size=n, max_size=n)))
    cutoff = draw(st.floats(0.5, 7.0))
    volume = abs(np.linalg.det(cell))
    heights = [volume / np.linalg.norm(np.cross(cell[(a + 1) % 3], cell[(a + 2) % 3]))
               for a in range(3)]
    assume(min(heights) > 0.7)  # keeps the brute force small
    return frac, cell, cutoff


def _arrays(frac, cell):
    z = np.full(len(frac), 14)
    return z, frac @ cell, cell


@pytest.mark.parametrize("backend", ["vesin", "pymatgen"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(case=cells())
def test_matches_brute_force(backend, case):
    frac, cell, cutoff = case
    expected = brute_force(frac, cell, cutoff)
    pos = frac @ cell
    # overlapping atoms (< 0.1 Å, also with own images) are rejected by design
    assume(all(min(np.linalg.norm(pos[j] - pos[i] + np.array(s) @ cell) for s in [(0, 0, 0)])
               >= 0.1 for i in range(len(pos)) for j in range(len(pos)) if i != j))
    assume(not any(np.linalg.norm(np.array(k[2:]) @ cell + pos[k[1]] - pos[k[0]]) < 0.1
                   for k in expected))
    nl = neighbor_list(_arrays(frac, cell), cutoff, backend=backend)
    assert listed(nl, cutoff) == expected
    assert (nl.dist <= cutoff + BORDER).all()
    vec = pos[nl.src] + nl.shift @ cell - pos[nl.dst]
    np.testing.assert_allclose(nl.vec, vec, atol=1e-12)
    np.testing.assert_allclose(nl.dist, np.linalg.norm(vec, axis=1), atol=1e-12)


def test_one_atom_cell_smaller_than_cutoff():
    # simple cubic, a = 2 Å, cutoff 5 Å: lattice points with |n| <= 2.5, minus the origin
    nl = neighbor_list(([29], np.zeros((1, 3)), np.eye(3) * 2.0), 5.0)
    n = np.array(list(itertools.product(range(-3, 4), repeat=3)))
    expected = int(((n**2).sum(1) * 4.0 < 25.0).sum()) - 1
    assert len(nl) == expected == 80
    assert (nl.src == 0).all() and (nl.dst == 0).all()


def test_self_interaction_adds_one_zero_length_edge_per_atom(nacl):
    plain = neighbor_list(nacl, 3.0)
    with_self = neighbor_list(nacl, 3.0, self_interaction=True)
    assert len(with_self) == len(plain) + len(nacl)
    self_edges = (with_self.src == with_self.dst) & ~with_self.shift.any(1)
    assert self_edges.sum() == len(nacl) and (with_self.dist[self_edges] == 0).all()


def test_rock_salt_coordination(nacl):
    nl = neighbor_list(nacl, 3.0)
    assert (nl.counts(len(nacl)) == 6).all()
    np.testing.assert_allclose(nl.dist, 2.82, atol=1e-12)
    # second shell: 12 like ions at a / sqrt(2)
    assert (neighbor_list(nacl, 4.1).counts(len(nacl)) == 18).all()


def test_molecule_without_periodicity():
    from ase.build import molecule
    from pymatgen.core import Molecule

    water = molecule("H2O")
    nl = neighbor_list(water, 1.2)
    assert len(nl) == 4  # two O-H bonds, both directions
    assert not nl.shift.any()
    mol = Molecule(["O", "H", "H"], water.positions)
    assert len(neighbor_list(mol, 1.2)) == 4
    assert len(neighbor_list(mol, 1.2, backend="pymatgen")) == 4


def test_backends_agree_exactly_on_real_structure(skewed):
    a = neighbor_list(skewed, 6.0, backend="vesin")
    b = neighbor_list(skewed, 6.0, backend="pymatgen")
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.src, b.src)
    np.testing.assert_array_equal(a.dst, b.dst)
    np.testing.assert_array_equal(a.shift, b.shift)
    np.testing.assert_allclose(a.dist, b.dist, atol=1e-12)


def test_float64_even_from_float32_input(skewed):
    z = np.array([14, 8, 8])
    nl = neighbor_list((z, skewed.cart_coords.astype(np.float32), skewed.lattice.matrix), 4.0)
    assert nl.vec.dtype == np.float64 and nl.dist.dtype == np.float64


def test_slab_periodic_in_two_directions_only():
    from ase.build import fcc111

    slab = fcc111("Cu", size=(1, 1, 3), vacuum=5.0)  # pbc = (True, True, False)
    a = neighbor_list(slab, 6.0, backend="vesin")
    b = neighbor_list(slab, 6.0, backend="pymatgen")
    assert not a.shift[:, 2].any() and not b.shift[:, 2].any()
    assert {tuple(r) for r in np.column_stack([a.dst, a.src, a.shift])} == \
        {tuple(r) for r in np.column_stack([b.dst, b.src, b.shift])}
    # the top layer has fewer neighbors than the middle one (a surface)
    counts = a.counts(len(slab))
    assert counts[1] > counts[0] and counts[1] > counts[2]
