"""Line graphs (bond pairs) and bond-angle cosines against the ALIGNN reference code.

Two checks on real structures of the FLLA 2015 set (``load("mp_eform")``):

1. Against the reference package ``alignn==2026.8.11`` (Choudhary & DeCost, npj Comput.
   Mater. 7, 185, 2021), DGL-free parts only. Skipped when ``alignn`` is not installed.

   - ALIGNN's k-nearest graph (``alignn.graphs.nearest_neighbor_edges`` with
     ``use_canonize=True``, the training default, then ``build_undirected_edgedata``) against
     ``to_graph(policy="alignn", line_graph=True)``; triplets from the reference's pure-torch
     line graph (``alignn.torch_graph_builder._line_graph_edges``, DGL's ``line_graph`` with
     backtracking) and its cosines (``torch_bond_cosines``).
   - The reference's pure-PyTorch builder (``build_pure_torch_graph``, a radius graph)
     against ``to_graph(policy="radius", line_graph=True)`` at the same cutoff, 4 Å. (Its
     ``max_neighbors`` keeps a strict top k per atom, ties broken by sort order, not the
     k-nearest rule with the whole shell above, so it is compared without.)

   Differences of convention, each handled explicitly below:

   a. Direction. The reference stores ``r = pos[v] - pos[u]`` on edge ``u -> v``; we store
      ``vec = pos[src] + shift @ cell - pos[dst]`` on ``src -> dst``. Both line graphs join
      ``(a -> b)`` to ``(b -> c)``, so we compare triplets as *paths* ``(first atom, image)
      -> center -> (last atom, image)``, images taken relative to the center, derived from
      the Cartesian vectors (the reference's ``images`` of reversed edges are not negated).
   b. Lattice rounding. ``jarvis.core.lattice.Lattice`` rounds the lattice matrix to 1e-5 Å
      (``round_off=5``), and ``build_undirected_edgedata`` computes bond vectors with it, so
      its cosines differ from the exact ones by up to 7.3e-6 on these structures. Both sides
      get the rounded lattice (same Cartesian positions): then they agree to ~1e-15.
   c. Duplicate edges. ``canonize_edge`` does not fold a bond of an atom with its own image
      ``(i, i, n)`` onto ``(i, i, -n)``, so the reference keeps each such directed edge twice
      (and every triplet through it twice): 56 extra directed edges on these 24 structures.
      We compare sets and check that every duplicate is such a self-image edge.
   d. Shell ties. The reference keeps neighbors with ``d <= d_12`` in exact floating point;
      we keep the whole shell within ``SHELL_TOLERANCE`` (1e-8 Å) of ``d_12``. Where a
      crystal's symmetric shell straddles the 12th place with rounding noise (~1e-15 to
      5e-9 Å here), we keep the whole shell and the reference an arbitrary part of it. We
      check that ours is a superset whose extra bonds all lie within the tolerance of the
      12th distance of one of their atoms, and compare the triplets of the common bonds.
      With the rounded lattice, 22 of the 24 bond sets are identical (14 if we kept the
      original lattice while the reference rounds it: more near-ties then split apart).
   e. Backtracking. Both keep backtracking pairs by default (ALIGNN uses DGL's
      ``line_graph(backtracking=True)``). Ours without backtracking drops only the exact
      reverse (same image); DGL's ``backtracking=False`` compares atom indices only and would
      also drop ``a -> b -> a'`` through another image ``a'``. Checked on the radius graphs.

2. Against a brute-force enumeration (always runs): for each atom j, every ordered pair of
   the bonds at j taken from the edge list, cosines from Cartesian image positions in numpy.

Runs in a few seconds (the reference's ``alignn.graphs`` takes ~5 s to import). To run the
reference part, install the pin of the ``test`` extra (``alignn==2026.8.11``; pulls in
jarvis-tools and its dependencies, changes no pin of the course).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from companion.data import load
from companion.graphs import bond_cosines, edge_vectors, line_graph, neighbor_list, to_graph
from companion.graphs.build import SHELL_TOLERANCE

N_STRUCTURES = 24
"""Structures compared: evenly spaced over the 3938 of the FLLA set (2 to 24 atoms)."""

COS_ATOL = 1e-6
RADIUS_CUTOFF = 4.0  # Å, radius graphs of the pure-torch builder


@pytest.fixture(scope="module")
def structures() -> list[Structure]:
    ds = load("mp_eform")
    return [ds[int(i)].structure for i in np.linspace(0, len(ds) - 1, N_STRUCTURES)]


@pytest.fixture(scope="module")
def ref():
    import alignn.graphs
    import alignn.torch_graph_builder
    from jarvis.core.atoms import Atoms

    return alignn.graphs, alignn.torch_graph_builder, Atoms


def rounded_lattice(s: Structure) -> Structure:
    """The structure with the lattice the reference uses (rounded to 1e-5 Å, item b)."""
    return Structure(Lattice(np.around(s.lattice.matrix, 5)), s.species, s.cart_coords,
                     coords_are_cartesian=True)


def image(vec: np.ndarray, frm: np.ndarray, to: np.ndarray, inv_cell: np.ndarray
          ) -> np.ndarray:
    """[n, 3] integer lattice shift of ``to``'s image at ``frm + vec``."""
    return np.rint((vec - (to - frm)) @ inv_cell).astype(np.int64)


def paths(center: np.ndarray, first: np.ndarray, v_first: np.ndarray, last: np.ndarray,
          v_last: np.ndarray, cos: np.ndarray, s: Structure) -> dict[tuple, float]:
    """Triplets as ``(center, first, image_first, last, image_last) -> cos`` (item a).

    ``v_first``/``v_last`` [n, 3]: vectors from the center to the first/last atom's image.
    """
    pos, inv = s.cart_coords, np.linalg.inv(s.lattice.matrix)
    n_first = image(v_first, pos[center], pos[first], inv)  # [n, 3]
    n_last = image(v_last, pos[center], pos[last], inv)  # [n, 3]
    keys = np.column_stack([center, first, n_first, last, n_last])  # [n, 9]
    return {tuple(k): float(c) for k, c in zip(keys.tolist(), cos, strict=True)}


def bonds_of(u: np.ndarray, v: np.ndarray, r: np.ndarray, s: Structure) -> list[tuple]:
    """Directed bonds ``(from, to, image of to)`` of vectors ``r = to - from``."""
    pos, inv = s.cart_coords, np.linalg.inv(s.lattice.matrix)
    img = image(r, pos[u], pos[v], inv)  # [n, 3]
    return [tuple(b) for b in np.column_stack([u, v, img]).tolist()]


def ours(s: Structure, **graph_kwargs) -> tuple[list[tuple], dict[tuple, float], np.ndarray]:
    """Our bonds (center -> neighbor), triplet paths with cosines, and edge lengths."""
    g = to_graph(s, line_graph=True, dtype=torch.float64, **graph_kwargs)
    vec, dist = edge_vectors(g)  # [n_edges, 3] from dst to src's image
    cos = bond_cosines(vec, g.lg_edge_index).numpy()  # [n_triplets]
    src, dst = g.edge_index.numpy()
    e1, e2 = g.lg_edge_index.numpy()  # e1 = k -> j, e2 = j -> i: path k -> j -> i
    vec = vec.numpy()
    trip = paths(dst[e1], src[e1], vec[e1], dst[e2], -vec[e2], cos, s)
    return bonds_of(dst, src, vec, s), trip, dist.numpy()


def reference_paths(tgb, u: torch.Tensor, v: torch.Tensor, r: torch.Tensor, s: Structure
                    ) -> tuple[dict[tuple, float], int]:
    """The reference's triplets (pure-torch line graph) as paths; also their count."""
    a, b = tgb._line_graph_edges(u, v, len(s))  # lg edge (A = a -> b, B = b -> c)
    cos = tgb.torch_bond_cosines(r[a], r[b]).numpy()  # [n_triplets]
    u, v, r, a, b = u.numpy(), v.numpy(), r.numpy(), a.numpy(), b.numpy()
    assert (v[a] == u[b]).all()
    return paths(v[a], u[a], -r[a], v[b], r[b], cos, s), len(a)


def compare_cosines(mine: dict[tuple, float], theirs: dict[tuple, float]) -> float:
    assert mine.keys() == theirs.keys()
    return max(abs(mine[k] - theirs[k]) for k in theirs) if theirs else 0.0


# ------------------------------------------------------- the ALIGNN k-nearest graph

def reference_knn(ref, s: Structure):
    graphs, tgb, atoms_cls = ref
    atoms = atoms_cls(lattice_mat=s.lattice.matrix, coords=s.cart_coords,
                      elements=[sp.symbol for sp in s.species], cartesian=True)
    edges, _ = graphs.nearest_neighbor_edges(atoms=atoms, cutoff=8.0, max_neighbors=12,
                                             use_canonize=True)
    u, v, r, _ = graphs.build_undirected_edgedata(atoms=atoms, edges=edges)
    return u, v, r.to(torch.float64)


def test_alignn_knn_graph_matches_reference(ref, structures):
    torch_default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the reference casts r to the default dtype
    try:
        report = [_check_knn(ref, s) for s in structures]
    finally:
        torch.set_default_dtype(torch_default)
    assert len(report) >= 20
    exact = sum(r[0] for r in report)
    worst = max(r[1] for r in report)
    n_trip = sum(r[2] for r in report)
    assert worst < COS_ATOL, worst
    assert exact >= len(report) // 2, f"only {exact} of {len(report)} identical bond sets"
    print(f"\n{len(report)} structures, {n_trip} triplets, {exact} identical bond sets, "
          f"max |cos difference| = {worst:.2e}")


def _check_knn(ref, s: Structure) -> tuple[bool, float, int]:
    s = rounded_lattice(s)  # item b
    u, v, r = reference_knn(ref, s)
    their = bonds_of(u.numpy(), v.numpy(), r.numpy(), s)
    dup = [b for b in set(their) if their.count(b) > 1]
    assert all(b[0] == b[1] for b in dup), "reference duplicates beyond self-image edges"
    mine, my_trip, _ = ours(s, policy="alignn")
    assert len(mine) == len(set(mine)), "we keep each directed edge once"
    extra = set(mine) - set(their)
    assert set(their) <= set(mine), "a reference bond that we lack"
    if extra:  # item d: only bonds in the 12th shell's tolerance band
        nl = neighbor_list(s, 8.0)
        kth = np.array([np.sort(nl.dist[nl.dst == i])[11] for i in range(len(s))])
        pos, cell = s.cart_coords, s.lattice.matrix
        for i, j, *n in extra:
            d = np.linalg.norm(pos[j] + np.array(n) @ cell - pos[i])
            assert min(d - kth[i], d - kth[j]) <= SHELL_TOLERANCE, (i, j, n, d)
    their_trip, _ = reference_paths(ref[1], u, v, r, s)
    common = set(their)
    kept = {k: c for k, c in my_trip.items()
            if (k[0], k[1], *k[2:5]) in common and (k[0], k[5], *k[6:9]) in common}
    return not extra, compare_cosines(kept, their_trip), len(kept)


# ------------------------------------------------------- the pure-torch radius graph

def test_pure_torch_radius_graph_matches_reference(ref, structures):
    _, tgb, atoms_cls = ref
    worst, n_trip = 0.0, 0
    for s in structures:
        atoms = atoms_cls(lattice_mat=s.lattice.matrix, coords=s.cart_coords,
                          elements=[sp.symbol for sp in s.species], cartesian=True)
        g, lg = tgb.build_pure_torch_graph(
            atoms=atoms, two_body_cutoff=RADIUS_CUTOFF, max_neighbors=None,
            positions=torch.tensor(s.cart_coords, dtype=torch.float64),
            lattice=torch.tensor(s.lattice.matrix, dtype=torch.float64),
            use_matscipy_topology=False)
        r = g.edata["r"]
        their = bonds_of(g.src.numpy(), g.dst.numpy(), r.numpy(), s)
        mine, my_trip, _ = ours(s, policy="radius", cutoff=RADIUS_CUTOFF,
                                allow_isolated=True)
        assert sorted(mine) == sorted(their)  # each directed edge once on both sides
        their_trip, n = reference_paths(tgb, g.src, g.dst, r, s)
        assert n == len(their_trip) == len(my_trip)
        worst = max(worst, compare_cosines(my_trip, their_trip))
        torch.testing.assert_close(lg.edata["h"], tgb.torch_bond_cosines(
            r[lg.src], r[lg.dst]))
        n_trip += n
        # item e: without backtracking we drop exactly the pairs of a bond with its reverse
        _, nobt, _ = ours(s, policy="radius", cutoff=RADIUS_CUTOFF, backtracking=False,
                          allow_isolated=True)
        reverse = {k for k in their_trip if k[1:5] == k[5:9]}
        assert nobt.keys() == their_trip.keys() - reverse
    assert worst < COS_ATOL, worst
    print(f"\n{len(structures)} structures, {n_trip} triplets, max |cos difference| = "
          f"{worst:.2e}")


# ------------------------------------------------------- brute force (no reference)

def brute_force_paths(s: Structure, src: np.ndarray, dst: np.ndarray, shift: np.ndarray
                      ) -> dict[tuple, float]:
    """Every ordered pair of bonds at each atom j, cosines from image positions (numpy).

    Bond ``e`` (src k, dst j, shift n) puts k's image at ``pos[k] + n @ cell`` around j.
    A pair (bond to k, bond to i) at j is the path k -> j -> i.
    """
    pos, cell = s.cart_coords, s.lattice.matrix
    out: dict[tuple, float] = {}
    for j in range(len(s)):
        around = np.flatnonzero(dst == j)  # bonds whose center is j
        for e1 in around:
            a = pos[src[e1]] + shift[e1] @ cell - pos[j]
            for e2 in around:
                b = pos[src[e2]] + shift[e2] @ cell - pos[j]
                key = (j, src[e1], *shift[e1], src[e2], *shift[e2])
                out[key] = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    return out


def test_line_graph_matches_brute_force(structures):
    worst = 0.0
    for s in structures[:20]:
        g = to_graph(s, policy="alignn", line_graph=True, dtype=torch.float64)
        src, dst = g.edge_index.numpy()
        shift = np.rint(g.edge_shift.numpy()).astype(np.int64)
        _, trip, _ = ours(s, policy="alignn")
        # the edge list is symmetric, so the bonds at j are also the edges j -> i
        expected = brute_force_paths(s, src, dst, shift)
        assert len(trip) == g.lg_edge_index.shape[1] == len(expected)
        worst = max(worst, compare_cosines(trip, expected))
        nobt = line_graph(g.edge_index, g.edge_shift, backtracking=False)
        assert nobt.shape[1] == len(expected) - g.edge_index.shape[1]  # one reverse each
    assert worst < 1e-9, worst
