"""3D views of a crystal with nglview: unit cell, periodic images, bonds.

The view is built from plain arrays (:func:`companion.graphs.as_atoms_arrays`), so any
pymatgen ``Structure``, ASE ``Atoms`` or ``(z, pos, cell)`` tuple works. Two ways to show
what lies beyond the unit cell:

- ``boundary=True`` (default): also draw the images of atoms that sit on a face, edge or
  corner of the cell (as VESTA does), so a rock-salt cell shows all 27 ions of its cube.
- ``supercell=(n1, n2, n3)``: repeat the cell ``n1 x n2 x n3`` times (the unit cell outline
  is still the one of the primitive repeat unit, so you see what is periodic).

Bonds are drawn as cylinders between displayed atoms: every pair closer than
``bond_tolerance`` times the nearest-neighbor distance of either atom (a drawing heuristic,
not a chemical statement). Pass ``graph=`` (a :class:`~companion.graphs.CrystalGraph` or
:class:`~companion.graphs.NeighborList`) to draw the edges of a graph instead, from each
center atom to the periodic image of its neighbor.

nglview is imported inside the functions, so ``import companion.viz`` stays light.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.graphs.arrays import cell_edges, edge_arrays
from companion.graphs.atoms import AtomsArrays, as_atoms_arrays

if TYPE_CHECKING:
    import nglview

VIEW_CLASS = "companion-structure-view"
"""CSS class of every structure view (the browser tests find the widget by it)."""

CELL_RADIUS = 0.04
"""Å, radius of the cylinders that outline the unit cell."""

BOUNDARY_TOL = 1e-3
"""Fractional-coordinate tolerance for an atom to count as lying on a cell face."""










def periodic_images(
    obj: Any,
    supercell: tuple[int, int, int] = (1, 1, 1),
    boundary: bool = True,
    tol: float = BOUNDARY_TOL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Atoms to draw: the cell repeated ``supercell`` times, plus images on the boundary.

    Args:
        obj: any structure accepted by :func:`companion.graphs.as_atoms_arrays`.
        supercell: repetitions along the three lattice vectors.
        boundary: add the images of atoms within ``tol`` of a face of the (super)cell.
        tol: fractional tolerance for "on the face".

    Returns:
        index [n_shown] (atom of the unit cell), shift [n_shown, 3] (integer lattice
        translation of its stored position) and pos [n_shown, 3] (Cartesian, Å). The first
        ``n_atoms`` rows are the atoms themselves, in order, wrapped into the cell.
    """
    atoms = as_atoms_arrays(obj)
    n = len(atoms)
    reps = np.array(supercell, dtype=np.int64) if atoms.periodic else np.ones(3, np.int64)
    if reps.shape != (3,) or (reps < 1).any():
        raise ValueError(f"supercell must be three positive integers, got {supercell!r}.")
    if not atoms.periodic:
        return np.arange(n), np.zeros((n, 3), np.int64), atoms.pos.copy()
    frac = atoms.pos @ np.linalg.inv(atoms.cell)  # [n_atoms, 3]
    wrap = np.where(atoms.pbc, -np.floor(frac), 0).astype(np.int64)  # [n_atoms, 3] into cell
    ranges = [range(-1, r + 1) if boundary and p else range(r if p else 1)
              for r, p in zip(reps, atoms.pbc, strict=True)]
    shifts = np.array(list(product(*ranges)), dtype=np.int64)  # [n_shifts, 3]
    idx = np.repeat(np.arange(n), len(shifts))  # [n_atoms * n_shifts]
    sh = np.tile(shifts, (n, 1))  # [n_atoms * n_shifts, 3]
    if boundary:
        f = frac[idx] + wrap[idx] + sh  # [n_atoms * n_shifts, 3]
        lo = np.where(atoms.pbc, -tol, -np.inf)
        hi = np.where(atoms.pbc, reps + tol, np.inf)
        keep = ((f >= lo) & (f <= hi)).all(axis=1)
        idx, sh = idx[keep], sh[keep]
    home = (sh == 0).all(axis=1)  # each atom once, wrapped into the cell: listed first
    order = np.lexsort((np.arange(len(idx)), idx, ~home))
    idx, sh = idx[order], sh[order] + wrap[idx[order]]
    pos = atoms.pos[idx] + sh @ atoms.cell  # [n_shown, 3]
    return idx, sh, pos


def nearest_distances(obj: Any) -> np.ndarray:
    """[n_atoms] distance from each atom to its nearest neighbor, periodic images included, Å."""
    from companion.graphs import neighbor_list

    atoms = as_atoms_arrays(obj)
    n = len(atoms)
    if n == 1 and not atoms.periodic:
        return np.full(1, np.inf)
    cutoff = 3.0
    while True:
        nl = neighbor_list(atoms, cutoff)
        if len(nl) and nl.counts(n).min() > 0:
            start = np.searchsorted(nl.dst, np.arange(n))  # [n_atoms] nearest comes first
            return nl.dist[start]
        cutoff *= 2


def _heuristic_bonds(pos: np.ndarray, nearest: np.ndarray, tolerance: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), a < b, of shown atoms closer than ``tolerance`` x nearest distance."""
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)  # [n_shown, n_shown]
    limit = tolerance * np.minimum(nearest[:, None], nearest[None])  # [n_shown, n_shown]
    a, b = np.nonzero(np.triu(d <= limit, k=1))
    return a, b


def _graph_segments(atoms: AtomsArrays, graph: Any) -> tuple[np.ndarray, np.ndarray]:
    """[n_edges, 3] start (center i) and end (image of neighbor j) of each graph edge."""
    src, dst, shift, _ = edge_arrays(graph)
    start = atoms.pos[dst]  # [n_edges, 3]
    end = atoms.pos[src] + shift @ atoms.cell  # [n_edges, 3]
    return start, end


def _import_nglview() -> Any:
    """nglview 3.1.4 imports the deprecated ``pkg_resources``: import it without the warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        import nglview
    return nglview


def structure_view(
    obj: Any,
    supercell: tuple[int, int, int] = (1, 1, 1),
    boundary: bool = True,
    unit_cell: bool = True,
    bonds: bool = True,
    bond_tolerance: float = 1.15,
    graph: Any = None,
    atom_scale: float = 0.3,
    bond_radius: float = 0.12,
    max_atoms: int = 2000,
) -> nglview.NGLWidget:
    """An nglview widget of a crystal or molecule.

    Args:
        obj: pymatgen ``Structure``/``Molecule``, ASE ``Atoms`` or ``(z, pos, cell)``.
        supercell: repetitions along the lattice vectors (periodic images of the cell).
        boundary: also draw images of atoms on the cell's faces, edges and corners.
        unit_cell: draw the outline of the unit cell.
        bonds: draw bonds as cylinders (heuristic, see module docstring); ignored when
            ``graph`` is given.
        bond_tolerance: a pair is bonded if closer than this times the nearest-neighbor
            distance of either atom.
        graph: draw these edges instead (a ``CrystalGraph`` or ``NeighborList`` of ``obj``):
            the neighbor images they reach are added to the view.
        atom_scale: sphere radius as a fraction of the van der Waals radius.
        bond_radius: cylinder radius, Å.
        max_atoms: refuse to draw more atoms than this (the browser would crawl).

    Returns:
        An ``nglview.NGLWidget`` with the CSS class ``companion-structure-view``.
    """
    import ase

    nglview = _import_nglview()
    atoms = as_atoms_arrays(obj)
    idx, shift, pos = periodic_images(atoms, supercell, boundary)
    if graph is not None and atoms.periodic:  # add the neighbor images the edges reach
        src, _, eshift, _ = edge_arrays(graph)
        extra = np.unique(np.column_stack([src, eshift]), axis=0)  # [n_images, 4]
        have = {(int(i), *map(int, s)) for i, s in zip(idx, shift, strict=True)}
        new = np.array([row for row in extra if tuple(int(v) for v in row) not in have],
                       dtype=np.int64).reshape(-1, 4)
        idx = np.concatenate([idx, new[:, 0]])
        shift = np.concatenate([shift, new[:, 1:]])
        pos = atoms.pos[idx] + shift @ atoms.cell  # [n_shown, 3]
    if len(idx) > max_atoms:
        raise ValueError(f"{len(idx)} atoms to draw (more than max_atoms={max_atoms}); "
                         "use a smaller supercell or a smaller cutoff.")
    shown = ase.Atoms(numbers=atoms.z[idx], positions=pos,
                      cell=atoms.cell if atoms.periodic else None, pbc=atoms.pbc)
    representations = [{"type": "spacefill", "params": {
        "sele": "all", "radiusType": "vdw", "radiusScale": atom_scale}}]
    view = nglview.NGLWidget(nglview.ASEStructure(shown), representations=representations)
    if unit_cell and atoms.periodic:  # as cylinders: NGL's "unitcell" needs symmetry data
        black = [0.1, 0.1, 0.1]
        view._add_shape([("cylinder", p.tolist(), q.tolist(), black, CELL_RADIUS)
                         for p, q in cell_edges(atoms.cell)], name="unit cell")
    if graph is not None:
        start, end = _graph_segments(atoms, graph)
    elif bonds and len(pos) > 1:
        a, b = _heuristic_bonds(pos, nearest_distances(atoms)[idx], bond_tolerance)
        start, end = pos[a], pos[b]
    else:
        start = end = np.zeros((0, 3))
    if len(start):
        gray = [0.6, 0.6, 0.6]
        shapes = [("cylinder", p.tolist(), q.tolist(), gray, bond_radius)
                  for p, q in zip(start, end, strict=True)]
        view._add_shape(shapes, name="bonds")
    view.control.spin([0.0, 1.0, 0.0], 0.5)  # radians: an oblique view, not down an axis
    view.control.spin([1.0, 0.0, 0.0], 0.35)
    view.layout.height = "400px"
    view.add_class(VIEW_CLASS)
    return view
