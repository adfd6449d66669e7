"""Graph construction: policies, invariances, batching and line graphs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from companion.graphs import bond_cosines, edge_vectors, line_graph, neighbor_list, to_graph
from tests.conftest import random_rotation


def per_atom_distances(obj, cutoff: float) -> list[np.ndarray]:
    nl = neighbor_list(obj, cutoff)
    return [np.sort(nl.dist[nl.dst == i]) for i in range(len(obj))]


# ---------------------------------------------------------------- invariances

def test_rotation_and_translation_invariance(skewed, rng):
    rot = random_rotation(rng)
    moved = Structure(Lattice(skewed.lattice.matrix @ rot.T), skewed.species,
                      skewed.cart_coords @ rot.T + np.array([3.3, -7.1, 0.4]),
                      coords_are_cartesian=True)
    for a, b in zip(per_atom_distances(skewed, 5.0), per_atom_distances(moved, 5.0),
                    strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)
    ga, gb = to_graph(skewed, "cgcnn"), to_graph(moved, "cgcnn")
    torch.testing.assert_close(edge_vectors(ga)[1], edge_vectors(gb)[1], atol=1e-5, rtol=0)


def test_permutation_invariance(skewed, rng):
    perm = rng.permutation(len(skewed))
    permuted = Structure(skewed.lattice, [skewed.species[p] for p in perm],
                         skewed.frac_coords[perm])
    before, after = per_atom_distances(skewed, 5.0), per_atom_distances(permuted, 5.0)
    for new, old in enumerate(perm):
        np.testing.assert_allclose(after[new], before[old], atol=1e-10)


@pytest.mark.parametrize("scaling", [[2, 1, 1], [1, 2, 3]])
def test_supercell_has_the_same_per_atom_distances(skewed, scaling):
    big = skewed.make_supercell(scaling, in_place=False)
    small = per_atom_distances(skewed, 6.0)
    for site, dists in zip(big, per_atom_distances(big, 6.0), strict=True):
        twin = int(np.argmin([np.linalg.norm((site.frac_coords @ np.diag(scaling) - f + 0.5)
                                             % 1 - 0.5) for f in skewed.frac_coords]))
        np.testing.assert_allclose(dists, small[twin], atol=1e-9)


def test_other_choice_of_cell_same_distances(skewed):
    # a unimodular change of basis (a, b, c) -> (a, a + b, c - b) describes the same crystal
    m = np.array([[1, 0, 0], [1, 1, 0], [0, -1, 1]])
    other = Structure(Lattice(m @ skewed.lattice.matrix), skewed.species, skewed.cart_coords,
                      coords_are_cartesian=True, to_unit_cell=True)
    for a, b in zip(per_atom_distances(skewed, 6.0), per_atom_distances(other, 6.0),
                    strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)


# ---------------------------------------------------------------- policies

def test_radius_policy_edges_match_neighbor_list(nacl):
    g = to_graph(nacl, "radius", cutoff=3.0)
    assert g.edge_index.shape == (2, 48) and g.z.tolist() == [11] * 4 + [17] * 4
    assert g.cell.shape == (1, 3, 3) and g.pbc.shape == (1, 3)
    vec, dist = edge_vectors(g)
    torch.testing.assert_close(dist, torch.full((48,), 2.82), atol=1e-5, rtol=0)
    # messages j -> i: row 1 is the center, every center has 6 neighbors
    assert torch.bincount(g.edge_index[1]).tolist() == [6] * 8


def test_radius_policy_max_neighbors_keeps_nearest(nacl):
    g = to_graph(nacl, "radius", cutoff=4.5, max_neighbors=6)
    assert torch.bincount(g.edge_index[1]).tolist() == [6] * 8
    torch.testing.assert_close(edge_vectors(g)[1].max(), torch.tensor(2.82), atol=1e-5, rtol=0)


def test_cgcnn_policy_is_strictly_12_and_pads_like_the_original():
    # a sparse cell: each atom has only 6 neighbors within 8 Å
    lonely = Structure(Lattice.cubic(7.5), ["Cs"], [[0, 0, 0]])
    g = to_graph(lonely, "cgcnn")
    assert g.edge_index.shape[1] == 12
    assert g.edge_pad.sum() == 6
    assert (g.edge_index[0][g.edge_pad] == 0).all()  # padding points at atom 0, as in CGCNN
    assert (g.edge_shift[g.edge_pad] == 0).all()


def test_cgcnn_policy_on_dense_cell(nacl):
    g = to_graph(nacl, "cgcnn")
    assert g.edge_index.shape[1] == 12 * len(nacl) and not g.edge_pad.any()
    assert torch.bincount(g.edge_index[1]).tolist() == [12] * len(nacl)


def test_alignn_policy_keeps_whole_12th_shell_and_is_symmetric():
    # bcc: 8 first + 6 second neighbors; the 12th neighbor is in the 6-fold shell -> 14 kept
    bcc = Structure(Lattice.cubic(3.3), ["Fe", "Fe"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    g = to_graph(bcc, "alignn")
    assert torch.bincount(g.edge_index[1]).tolist() == [14, 14]
    edges = {(int(s), int(d), *map(int, sh)) for (s, d), sh in
             zip(g.edge_index.T.tolist(), g.edge_shift.tolist(), strict=True)}
    assert all((d, s, -a, -b, -c) in edges for s, d, a, b, c in edges)
    assert len(edges) == g.edge_index.shape[1]  # each directed edge once


def test_alignn_policy_raises_cutoff_until_12_neighbors():
    lonely = Structure(Lattice.cubic(7.5), ["Cs"], [[0, 0, 0]])
    g = to_graph(lonely, "alignn")  # 6 neighbors within 8 Å; 12 + 6 + ... after raising
    assert g.edge_index.shape[1] >= 12


def test_alignn_policy_symmetrizes_asymmetric_knn(skewed):
    knn = to_graph(skewed, "radius", cutoff=8.0, max_neighbors=12)
    sym = to_graph(skewed, "alignn")
    assert sym.edge_index.shape[1] >= knn.edge_index.shape[1]


def test_molecule_graph():
    from ase.build import molecule

    g = to_graph(molecule("CH3CH2OH"), "radius", cutoff=1.6)
    assert not g.pbc.any() and torch.count_nonzero(g.cell) == 0
    assert (g.edge_shift == 0).all() and g.edge_index.shape[1] == 16  # 8 bonds, both ways
    assert to_graph(molecule("H2O"), "alignn").edge_index.shape[1] == 6  # all pairs


def test_dtype_option(nacl):
    g = to_graph(nacl, dtype=torch.float64)
    assert g.pos.dtype == g.cell.dtype == g.edge_shift.dtype == torch.float64


# ---------------------------------------------------------------- line graphs

def test_line_graph_pairs_share_the_middle_atom(skewed):
    g = to_graph(skewed, "radius", cutoff=3.5, line_graph=True)
    e1, e2 = g.lg_edge_index
    assert (g.edge_index[1][e1] == g.edge_index[0][e2]).all()  # target of e1 = source of e2
    deg = torch.bincount(g.edge_index[0], minlength=3)
    assert len(e1) == int(deg[g.edge_index[1]].sum())  # every e2 leaving j, for every e1


def test_line_graph_without_backtracking_removes_only_reversed_edges(skewed):
    g = to_graph(skewed, "radius", cutoff=3.5)
    full = line_graph(g.edge_index, g.edge_shift, backtracking=True)
    nobt = line_graph(g.edge_index, g.edge_shift, backtracking=False)
    removed = {tuple(p) for p in full.T.tolist()} - {tuple(p) for p in nobt.T.tolist()}
    assert len(removed) == g.edge_index.shape[1]  # each edge has exactly one reverse
    vec, _ = edge_vectors(g)
    cos = bond_cosines(vec, torch.as_tensor(np.array(sorted(removed)).T))
    torch.testing.assert_close(cos, torch.ones(len(removed)), atol=1e-5, rtol=0)


def test_one_atom_cell_line_graph_keeps_other_images():
    # a single atom: all bonds go to its own images; only exact reverses are backtracking
    sc = Structure(Lattice.cubic(2.5), ["Po"], [[0, 0, 0]])
    g = to_graph(sc, "radius", cutoff=2.6, line_graph=True, backtracking=False)
    assert g.edge_index.shape[1] == 6 and g.lg_edge_index.shape[1] == 6 * 5
    cos = bond_cosines(edge_vectors(g)[0], g.lg_edge_index)
    assert sorted(set(np.round(cos.numpy(), 6).tolist())) == [-1.0, 0.0]  # 180° and 90°


def test_bond_angles_of_water():
    from ase.build import molecule

    g = to_graph(molecule("H2O"), "radius", cutoff=1.2, line_graph=True, backtracking=False)
    cos = bond_cosines(edge_vectors(g)[0], g.lg_edge_index)
    # without backtracking the only pairs are (H1 -> O, O -> H2) and (H2 -> O, O -> H1):
    # both give the H-O-H angle at O
    water = molecule("H2O")
    v1, v2 = water.positions[1] - water.positions[0], water.positions[2] - water.positions[0]
    expected = v1 @ v2 / np.linalg.norm(v1) / np.linalg.norm(v2)
    torch.testing.assert_close(cos, torch.full_like(cos, float(expected)), atol=1e-6, rtol=0)


def test_bond_angles_invariant_under_rotation_translation_and_image(skewed, rng):
    rot = random_rotation(rng)
    moved = Structure(Lattice(skewed.lattice.matrix @ rot.T), skewed.species,
                      skewed.cart_coords @ rot.T + 5.0, coords_are_cartesian=True)
    # translating one atom by a lattice vector changes its image labels, not the angles
    frac = moved.frac_coords.copy()
    frac[1] += [1, -2, 0]
    moved = Structure(moved.lattice, moved.species, frac)
    cos = [bond_cosines(edge_vectors(g)[0], g.lg_edge_index)
           for g in (to_graph(s, "alignn", line_graph=True, dtype=torch.float64)
                     for s in (skewed, moved))]
    # edges of equal length may be listed in another order: compare the sorted angles
    torch.testing.assert_close(cos[0].sort().values, cos[1].sort().values, atol=1e-9, rtol=0)


# ---------------------------------------------------------------- batching

def test_batching_offsets_edges_and_line_graph(nacl, skewed):
    graphs = [to_graph(s, "alignn", line_graph=True) for s in (nacl, skewed, nacl)]
    batch = next(iter(DataLoader(graphs, batch_size=3)))
    n_edges = [g.edge_index.shape[1] for g in graphs]
    n_atoms = [g.num_nodes for g in graphs]
    assert batch.cell.shape == (3, 3, 3)
    second = slice(graphs[0].lg_edge_index.shape[1],
                   graphs[0].lg_edge_index.shape[1] + graphs[1].lg_edge_index.shape[1])
    assert (batch.lg_edge_index[:, second] == graphs[1].lg_edge_index + n_edges[0]).all()
    assert (batch.edge_index[:, n_edges[0]:n_edges[0] + n_edges[1]]
            == graphs[1].edge_index + n_atoms[0]).all()
    # per-graph geometry is unchanged by batching (each edge uses its own graph's cell)
    vec_b, _ = edge_vectors(batch)
    vec_1, _ = edge_vectors(graphs[1])
    torch.testing.assert_close(vec_b[n_edges[0]:n_edges[0] + n_edges[1]], vec_1)
    cos_b = bond_cosines(vec_b, batch.lg_edge_index)[second]
    torch.testing.assert_close(cos_b, bond_cosines(vec_1, graphs[1].lg_edge_index))


def test_batch_of_one(nacl):
    g = to_graph(nacl, "cgcnn", line_graph=True)
    b = Batch.from_data_list([g])
    torch.testing.assert_close(edge_vectors(b)[0], edge_vectors(g)[0])
