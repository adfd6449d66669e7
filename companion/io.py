"""Reading structures from files, with errors that name the file, the problem and the fix.

- :func:`read_structure`: one crystal from one file (pymatgen: CIF, POSCAR/CONTCAR, ...).
- :func:`read_frames`: every structure in one file, pymatgen or ASE (an extended XYZ or an
  ASE trajectory holds many frames).
- :func:`expand_inputs`: files, folders and glob patterns -> the files to read.
"""

from __future__ import annotations

import glob
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from companion.errors import StructureError
from companion.graphs.atoms import as_atoms_arrays


def _read_pymatgen(path: Path):
    """The first structure of a file, as ``Structure.from_file`` reads it; a CIF through
    ``CifParser(check_cif=False)`` (the same structure, about 1.7x faster: without the
    comparison of the atom sites with ``_chemical_formula_sum``, which only warns)."""
    from pymatgen.core import Structure

    if path.suffix.lower() in (".cif", ".mcif"):
        from pymatgen.io.cif import CifParser

        return CifParser(path, check_cif=False).parse_structures(primitive=False)[0]
    return Structure.from_file(path)


def read_structure(path: str | Path, validate: bool = True):
    """Read a crystal structure (CIF, POSCAR, ... anything pymatgen reads) from a file.

    Args:
        path: the file.
        validate: also run the graph checks (ordered sites, real elements, finite
            coordinates, no overlapping atoms), so a bad file fails here with its name.

    Returns:
        A pymatgen ``Structure``.

    Raises:
        StructureError: missing, empty, malformed or unusable file.
    """
    path = Path(path)
    if not path.is_file():
        raise StructureError(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise StructureError(f"{path}: the file is empty.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            structure = _read_pymatgen(path)
        except Exception as exc:  # pymatgen raises many types for a broken file
            notes = dict.fromkeys(str(w.message).strip() for w in caught)  # unique, in order
            detail = "; ".join(list(notes)[:2])
            raise StructureError(
                f"{path}: could not be read as a crystal structure ({type(exc).__name__}: "
                f"{exc}{'; ' + detail if detail else ''}). Check that it is a complete CIF "
                "(cell parameters _cell_length_a.., and an atom_site loop) or a POSCAR."
            ) from None
    if len(structure) == 0:
        raise StructureError(f"{path}: the file holds a structure with no atoms.")
    if validate:
        from companion.graphs.neighbors import neighbor_list

        try:
            as_atoms_arrays(structure)
            neighbor_list(structure, 0.5)  # the overlap check (atoms closer than 0.1 Å)
        except StructureError as exc:
            raise StructureError(f"{path}: {exc}") from None
    return structure


ASE_SUFFIXES = frozenset({".xyz", ".extxyz", ".traj", ".db", ".xsf", ".pdb", ".gen",
                          ".in", ".lammps", ".data", ".gpaw", ".nc", ".res", ".cfg"})
"""Suffixes read with ASE (``ase.io.read(path, index=":")``: every frame); names starting
with XDATCAR or OUTCAR too. Everything else is read with pymatgen first (as
:func:`read_structure`), then with ASE if pymatgen cannot."""

STRUCTURE_SUFFIXES = frozenset({".cif", ".mcif", ".vasp", ".poscar", ".json", ".cssr",
                                ".xml", ".gz", ".bz2", ".xz"}) | ASE_SUFFIXES
"""File suffixes taken from a folder (a file named on the command line is always read)."""

STRUCTURE_PREFIXES = ("POSCAR", "CONTCAR", "XDATCAR", "OUTCAR", "vasprun")
"""File-name prefixes taken from a folder (VASP files have no suffix)."""


def _ase_first(path: Path) -> bool:
    return path.suffix.lower() in ASE_SUFFIXES or path.name.startswith(("XDATCAR", "OUTCAR"))


def _read_ase(path: Path) -> list[Any]:
    """Every frame of a file, as ASE Atoms (raises what ASE raises)."""
    from ase.io import read

    frames = read(path, index=":")
    return list(frames) if isinstance(frames, list) else [frames]


def read_frames(path: str | Path) -> list[Any]:
    """Every structure in a file: pymatgen ``Structure`` (CIF, POSCAR/CONTCAR, vasprun ...)
    or ASE ``Atoms`` (extended XYZ, ASE trajectories, XDATCAR ...: one per frame).

    Not checked for graphs: :func:`companion.graphs.to_graph` checks each frame (bad ones
    raise a :class:`StructureError` that names the problem).

    Raises:
        StructureError: missing, empty or unreadable file (named, with each reader's reason).
    """
    path = Path(path)
    if not path.is_file():
        raise StructureError(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise StructureError(f"{path}: the file is empty.")
    if _ase_first(path):
        try:
            frames = _read_ase(path)
        except Exception as exc:  # ASE raises many types for a broken file
            raise StructureError(f"{path}: ASE could not read it ({type(exc).__name__}: "
                                 f"{exc}); check the file or convert it to CIF.") from None
    else:
        try:
            frames = [read_structure(path, validate=False)]
        except StructureError as pymatgen_error:
            try:
                frames = _read_ase(path)
            except Exception:  # both failed: pymatgen's message names the usual fix
                frames = []
            if not frames or any(len(f) == 0 for f in frames):
                raise pymatgen_error from None
    if not frames or any(len(f) == 0 for f in frames):
        raise StructureError(f"{path}: the file holds a structure with no atoms.")
    return frames


def _is_structure_file(path: Path) -> bool:
    name = path.name
    return (not name.startswith(".") and path.is_file()
            and (path.suffix.lower() in STRUCTURE_SUFFIXES
                 or name.startswith(STRUCTURE_PREFIXES)))


def expand_inputs(inputs: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """The files to read from files, folders and glob patterns, in the order given.

    A folder gives its structure files (:data:`STRUCTURE_SUFFIXES`,
    :data:`STRUCTURE_PREFIXES`; sorted, not recursive); a pattern with ``*``, ``?`` or
    ``[`` gives its matches, sorted (``**`` recurses); a file is taken as named. A file
    given twice is read once.

    Returns:
        ``(files, unmatched)``: the files, and the inputs that named nothing (a pattern
        without match, a path that does not exist, an empty folder).
    """
    files: dict[Path, None] = {}
    unmatched: list[str] = []
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if _is_structure_file(p))
        elif any(c in text for c in "*?[") and not path.exists():
            found = sorted(Path(p) for p in glob.glob(text, recursive=True)
                           if Path(p).is_file())
        else:
            found = [path] if path.exists() else []
        if not found:
            unmatched.append(text)
        files.update(dict.fromkeys(found))
    return list(files), unmatched


def formula_of(numbers: Sequence[int]) -> str:
    """Reduced formula (pymatgen's convention, e.g. ``"Fe2O3"``) from atomic numbers."""
    from pymatgen.core import Composition, Element

    counts: dict[str, int] = {}
    for z in numbers:
        symbol = Element.from_Z(int(z)).symbol
        counts[symbol] = counts.get(symbol, 0) + 1
    return Composition(counts).reduced_formula
