"""Self-checks for notebook 01, "crystals as graphs".

Each ``check_*`` prints a green "correct" or a hint and never raises (see
:mod:`companion.exercises`). Expected values are computed here, at check time, with
:mod:`companion.graphs`, from structures built from their textbook lattice parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from companion.exercises import check, correct, hint, not_answered, unanswered

ROCKSALT_A = 5.64
"""Å, lattice constant of NaCl (conventional cubic cell)."""

RUTILE_CELLPAR = (4.594, 4.594, 2.959, 90.0, 90.0, 90.0)
"""Å and degrees: tetragonal cell of rutile TiO2 (Burdett et al., JACS 109, 3639, 1987)."""

RUTILE_U = 0.305
"""Fractional coordinate u of O at (u, u, 0) in rutile."""

MINIMUM_IMAGE_CHOICES = {
    "a": "The cell is triclinic: in a cell whose angles are all 90° the minimum-image "
         "count would be right for any cutoff.",
    "b": "With a cutoff larger than half the cell width, one atom j has several periodic "
         "images within the cutoff (and i has images of itself), but the minimum-image "
         "convention keeps at most one image of each j.",
    "c": "Rounding the fractional coordinates loses precision: in float64 the count "
         "would be right.",
    "d": "The minimum-image count double counts: it finds both i -> j and j -> i.",
}
"""Choices of the minimum-image exercise (answer with the letter)."""


def rocksalt(a: float = ROCKSALT_A) -> Any:
    """Primitive cell of rock-salt NaCl (ASE ``Atoms``; atom 0 is Na, atom 1 is Cl)."""
    from ase.build import bulk

    return bulk("NaCl", "rocksalt", a=a)


def rutile() -> Any:
    """Conventional cell of rutile TiO2 (ASE ``Atoms``, 2 Ti then 4 O)."""
    from ase.spacegroup import crystal

    return crystal(["Ti", "O"], basis=[(0, 0, 0), (RUTILE_U, RUTILE_U, 0)], spacegroup=136,
                   cellpar=list(RUTILE_CELLPAR))


# ---------------------------------------------------------------- exercise 1: rock salt


@check
def check_rocksalt_neighbors(answer: int, cutoff: float = 4.0, a: float = ROCKSALT_A) -> bool:
    """Exercise 1: neighbors of a Na ion in rock salt (lattice constant ``a``) within ``cutoff``.

    Args:
        answer: your count (an integer).
        cutoff: the cutoff of the exercise, Å.
        a: the lattice constant, Å.
    """
    from companion.graphs import neighbor_list

    structure = rocksalt(a)
    nl = neighbor_list(structure, cutoff)
    expected = int(nl.counts(len(structure))[0])  # atom 0 is Na
    mine = nl.dst == 0
    n_cl = int((structure.numbers[nl.src[mine]] == 17).sum())
    n_na = expected - n_cl
    if int(answer) == expected and float(answer) == int(answer):
        shells = np.unique(np.round(nl.dist[mine], 3))
        return correct(f"{n_cl} Cl and {n_na} Na, at {', '.join(f'{d:g}' for d in shells)} Å.")
    if int(answer) == n_cl:
        return hint(f"{answer} is the first shell only (Cl at a/2 = {a / 2:.2f} Å). How far "
                    f"are the nearest Na ions (a/√2 = {a / np.sqrt(2):.2f} Å)? Compare with "
                    f"the cutoff of {cutoff:g} Å.")
    if int(answer) == n_na:
        return hint("those are the Na ions of the second shell; the first shell (Cl) counts too.")
    if int(answer) == expected + 1:
        return hint("an atom is not its own neighbor (self_interaction=False).")
    return hint("build the cell with companion.exercises.ch01.rocksalt(), call "
                f"neighbor_list(cell, {cutoff:g}) and count the pairs whose center (dst) is "
                "atom 0 (Na): .counts(len(cell))[0].")


# ------------------------------------------------- exercise 2: when is k-NN symmetric?


def is_symmetric(graph: Any) -> bool:
    """True if every edge ``j -> i`` (shift S) has its reverse ``i -> j`` (shift -S)."""
    src, dst = (row.tolist() for row in graph.edge_index)
    shift = graph.edge_shift.round().long().tolist()
    forward = {(a, b, *s) for a, b, s in zip(src, dst, shift, strict=True)}
    backward = {(b, a, *(-v for v in s)) for a, b, s in zip(src, dst, shift, strict=True)}
    return forward == backward


def knn_asymmetry_cutoff(structure: Any, k: int, max_cutoff: float = 8.0,
                         eps: float = 1e-4) -> float:
    """Shortest distance d (Å) at which ``to_graph(s, "radius", cutoff, max_neighbors=k)`` is
    no longer symmetric: symmetric for every cutoff below d, not symmetric at d (+ ``eps``).
    The graph only changes when the cutoff crosses a pair distance, so those are tried."""
    from companion.graphs import neighbor_list, to_graph

    nl = neighbor_list(structure, max_cutoff)
    for d in np.unique(np.round(nl.dist, 6)):
        graph = to_graph(structure, "radius", cutoff=float(d) + eps, max_neighbors=k)
        if not is_symmetric(graph):
            return float(d)
    return float("inf")


@check
def check_symmetric_cutoff(answer: float, k: int = 6, tol: float = 0.01) -> bool:
    """Exercise 2: the cutoff (Å) below which the k-NN graph of rutile is symmetric.

    Args:
        answer: your cutoff in Å: the graph is symmetric below it and not at it.
        k: neighbors per atom (``max_neighbors``).
        tol: accepted error, Å.
    """
    from companion.graphs import to_graph

    structure = rutile()
    expected = knn_asymmetry_cutoff(structure, k)
    answer = float(answer)
    if abs(answer - expected) <= tol:
        return correct(f"at {expected:.3f} Å the {k}-nearest list of O cuts through a shell "
                       "of equally distant neighbors; which of them are kept depends on the "
                       "atom order, so j can keep i while i drops j. ALIGNN's policy keeps the "
                       "whole shell and symmetrizes.")
    graph = to_graph(structure, "radius", cutoff=answer, max_neighbors=k, allow_isolated=True)
    if answer < expected:
        return hint(f"at {answer:g} Å the graph is symmetric indeed, but it stays symmetric "
                    "for larger cutoffs too. Scan the cutoff upwards (the graph only changes "
                    "when the cutoff crosses a pair distance) and test each graph with "
                    "companion.exercises.ch01.is_symmetric or your own test.")
    if not is_symmetric(graph):
        return hint(f"at {answer:g} Å the graph is already not symmetric. Look at the sorted "
                    "distances of each atom's neighbors: where does the k-th neighbor of an "
                    "O atom fall?")
    return hint(f"the graph is symmetric at {answer:g} Å but not at every cutoff below it: "
                "look for the first (smallest) cutoff at which symmetry breaks.")


# --------------------------------------------------------- exercise 3: a bond angle


def _rutile_angle_graph() -> Any:
    from companion.graphs import to_graph

    return to_graph(rutile(), "radius", cutoff=2.0, line_graph=True, backtracking=False)


@check
def check_bond_angle(answer: float, graph: Any = None, triplet: int = 0,
                     tol: float = 0.01) -> bool:
    """Exercise 3: the angle (degrees) of line-graph triplet ``triplet`` of ``graph``.

    Args:
        answer: your angle in degrees, computed by hand from the two edge vectors.
        graph: a graph with ``lg_edge_index`` (default: rutile, cutoff 2 Å, no backtracking).
        triplet: the triplet (column of ``lg_edge_index``).
        tol: accepted error, degrees.
    """
    from companion.graphs import bond_cosines, edge_vectors

    graph = _rutile_angle_graph() if graph is None else graph
    vec, _ = edge_vectors(graph)
    cos = float(bond_cosines(vec.double(), graph.lg_edge_index)[triplet])
    expected = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    answer = float(answer)
    if abs(answer - expected) <= tol:
        return correct(f"θ = {expected:.2f}° (cos θ = {cos:.4f}), as bond_cosines gives.")
    if abs(answer - (180.0 - expected)) <= tol:
        return hint("you got 180° - θ: both vectors must start at the shared atom j. "
                    "vec[e1] points j -> k, but vec[e2] points i -> j: use -vec[e2].")
    if abs(answer - np.radians(expected)) <= 1e-3 or abs(answer - np.arccos(cos)) <= 1e-3:
        return hint("that is the angle in radians; give degrees (np.degrees).")
    if abs(answer - cos) <= 1e-3:
        return hint("that is cos θ; give the angle itself in degrees (np.degrees(np.arccos)).")
    return hint("take e1, e2 = lg_edge_index[:, t]; vec = pos[src] + shift @ cell - pos[dst] "
                "for each; cos θ = (v1 · (-v2)) / (|v1| |v2|); θ in degrees.")


# -------------------------------------------------- exercise 4: CGCNN's edge count


def _cgcnn_test_structures() -> list[Any]:
    """Structures with 1, 2, 3, 6 and 16 atoms, one with sparse neighborhoods (padding)."""
    from ase import Atoms
    from ase.build import bulk

    sparse = Atoms("Ar3", positions=[[0, 0, 0], [0, 0, 3.8], [0, 0, 7.6]],
                   cell=[20.0, 20.0, 20.0], pbc=True)  # a chain in a big box: 2 real neighbors
    return [bulk("Cu", "fcc", a=3.61), rocksalt(), rutile(),
            bulk("Si", "diamond", a=5.43, cubic=True).repeat((1, 1, 2)), sparse]


@check
def check_cgcnn_edges(answer: Callable[[int], int]) -> bool | None:
    """Exercise 4: a function ``n_atoms -> number of edges`` of the CGCNN policy.

    Args:
        answer: your function of the number of atoms (padding edges included).
    """
    from companion.graphs import to_graph

    if not callable(answer):
        return hint("give a function, e.g. `lambda n_atoms: ...` or a def.")
    rows = []  # (formula, n_atoms, edges of the policy, real edges, your answer)
    for structure in _cgcnn_test_structures():
        graph = to_graph(structure, "cgcnn")
        got = answer(len(structure))
        if unanswered(got):
            return not_answered()
        rows.append((structure.get_chemical_formula(), len(structure), graph.num_edges,
                     int((~graph.edge_pad).sum()), got))
    wrong = [r for r in rows if r[4] != r[2]]
    if wrong:
        formula, n, expected, real, got = wrong[0]
        atoms = f"{n} atom" + ("s" if n > 1 else "")
        if all(r[4] == r[3] for r in wrong):
            return hint(f"for {formula} ({atoms}) you gave {got}, the number of real bonds; "
                        "CGCNN adds padding edges until every atom has max_neighbors (look at "
                        "graph.edge_pad).")
        if all(2 * r[4] == r[2] for r in rows):
            return hint("edges are directed: each atom receives its own 12 messages.")
        return hint(f"for {formula} ({atoms}) the policy gives {expected} edges, your "
                    f"function {got}. How many edges does each atom receive, whatever its "
                    "neighborhood?")
    return correct("12 N: every atom gets exactly max_neighbors = 12 incoming edges; where "
                   "fewer than 12 neighbors lie within 8 Å, padding edges fill the gap.")


# ------------------------------------------------- exercise 5: minimum image


@check
def check_minimum_image(answer: str) -> bool:
    """Exercise 5: why the minimum-image count is wrong (a letter of ``MINIMUM_IMAGE_CHOICES``)."""
    letter = str(answer).strip().lower().strip("()")
    if letter not in MINIMUM_IMAGE_CHOICES:
        return hint(f"answer with one letter: {', '.join(MINIMUM_IMAGE_CHOICES)}.")
    if letter == "b":
        return correct("the minimum-image convention assumes each atom has at most one image "
                       "within the cutoff, true only when the cutoff is below half the "
                       "smallest perpendicular width of the cell. A neighbor list searches "
                       "all the images (vesin, pymatgen's find_points_in_spheres).")
    reasons = {
        "a": "the naive count would also be wrong in a small cubic cell: take a 3 Å simple "
             "cubic cell and a 5 Å cutoff. How many images of the atom itself lie within 5 Å?",
        "c": "the count is an integer mismatch, far larger than any rounding error: look at "
             "how many images of the same j the neighbor list found.",
        "d": "both methods count directed pairs (i -> j and j -> i). Count, per j, how many "
             "images the neighbor list found within the cutoff.",
    }
    return hint(reasons[letter])


__all__ = [
    "MINIMUM_IMAGE_CHOICES",
    "check_bond_angle",
    "check_cgcnn_edges",
    "check_minimum_image",
    "check_rocksalt_neighbors",
    "check_symmetric_cutoff",
    "is_symmetric",
    "knn_asymmetry_cutoff",
    "rocksalt",
    "rutile",
]
