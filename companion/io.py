"""Reading structures from files, with errors that name the file, the problem and the fix."""

from __future__ import annotations

import warnings
from pathlib import Path

from companion.errors import StructureError
from companion.graphs.atoms import as_atoms_arrays


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
    from pymatgen.core import Structure

    path = Path(path)
    if not path.is_file():
        raise StructureError(f"{path}: no such file.")
    if path.stat().st_size == 0:
        raise StructureError(f"{path}: the file is empty.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            structure = Structure.from_file(path)
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
