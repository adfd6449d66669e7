"""Phonon records as pymatgen objects, and band paths for new structures from seekpath.

- :func:`band_structure` and :func:`phonon_dos` turn an ``mp_phonons`` record (see
  :func:`companion.data.sets.mp_phonons.load_mp_phonons`) into pymatgen's
  ``PhononBandStructureSymmLine`` (q-points, labels, frequencies in THz, eigendisplacements)
  and ``PhononDos``.
- :func:`qpoint_path` gives a high-symmetry path for any crystal with seekpath (Hinuma et
  al., Comput. Mater. Sci. 128, 140 (2017)), in reduced coordinates of the *given* cell's
  reciprocal lattice. seekpath's own ``point_coords`` refer to its standardized primitive
  cell; ``get_explicit_k_path_orig_cell`` converts them back to the input cell, which is
  what a model evaluated on that cell needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from companion.errors import DataError

__all__ = ["band_structure", "label_ticks", "phonon_dos", "qpoint_path"]


def _label(name: str) -> str:
    return "\\Gamma" if name.upper() in ("GAMMA", "G", "\\GAMMA") else name


def band_structure(record: Any) -> Any:
    """pymatgen ``PhononBandStructureSymmLine`` of an ``mp_phonons`` record.

    Eigendisplacements are included if the record was loaded with
    ``eigendisplacements=True``.
    """
    from pymatgen.core import Lattice
    from pymatgen.phonon.bandstructure import PhononBandStructureSymmLine

    lab = record.labels
    if "frequencies" not in lab or "qpoints" not in lab:
        raise DataError(f"record {record.id!r} has no phonon bands (load it from mp_phonons)")
    labels_dict: dict[str, np.ndarray] = {}
    for q, name in zip(lab["qpoints"], record.info.get("qpoint_labels", []), strict=False):
        if name:
            labels_dict[name] = q
    eig = lab.get("eigendisplacements")  # [n_q, 3n, n, 3]
    return PhononBandStructureSymmLine(
        qpoints=lab["qpoints"], frequencies=lab["frequencies"].T,
        lattice=Lattice(lab["reciprocal_lattice"]), labels_dict=labels_dict,
        structure=record.structure,
        eigendisplacements=None if eig is None else eig.transpose(1, 0, 2, 3),
        has_nac=bool(record.info.get("has_nac", False)),
    )


def phonon_dos(record: Any) -> Any:
    """pymatgen ``PhononDos`` of an ``mp_phonons`` record (THz, states/THz per cell)."""
    from pymatgen.phonon.dos import PhononDos

    return PhononDos(record.labels["dos_frequencies"], record.labels["dos_densities"])


def qpoint_path(structure: Any, reference_distance: float = 0.025
                ) -> dict[str, Any]:
    """A seekpath high-symmetry path in reduced coordinates of this cell's reciprocal lattice.

    Args:
        structure: anything :func:`companion.graphs.as_atoms_arrays` reads (periodic).
        reference_distance: spacing of the q-points in 1/Å (seekpath's units, with 2π).

    Returns:
        ``qpoints`` [n_q, 3], ``labels`` (one string per q-point, '' if none; Gamma as
        ``\\Gamma``), ``distance`` [n_q] (cumulative path length, 1/Å), ``segments``
        (list of (start, stop) index pairs of continuous pieces).
    """
    import seekpath

    from companion.graphs.atoms import as_atoms_arrays

    atoms = as_atoms_arrays(structure)
    if not atoms.periodic:
        raise DataError("qpoint_path needs a periodic crystal")
    frac = atoms.pos @ np.linalg.inv(atoms.cell)  # [n, 3] fractional (not Cartesian!)
    res = seekpath.get_explicit_k_path_orig_cell(
        (atoms.cell.tolist(), frac.tolist(), atoms.z.tolist()),
        reference_distance=reference_distance)
    return {"qpoints": np.asarray(res["explicit_kpoints_rel"], dtype=np.float64),
            "labels": [_label(x) for x in res["explicit_kpoints_labels"]],
            "distance": np.asarray(res["explicit_kpoints_linearcoord"], dtype=np.float64),
            "segments": [tuple(s) for s in res["explicit_segments"]]}


def label_ticks(labels: list[str], distance: np.ndarray) -> tuple[list[float], list[str]]:
    """Tick positions and texts for a band plot; consecutive labels at one position (a
    break in the path) are joined as ``"X|U"``."""
    ticks: list[float] = []
    texts: list[str] = []
    for d, name in zip(distance, labels, strict=True):
        if not name:
            continue
        if ticks and abs(ticks[-1] - d) < 1e-9:
            if texts[-1] != name:
                texts[-1] = f"{texts[-1]}|{name}"
            continue
        ticks.append(float(d))
        texts.append(name)
    return ticks, texts
