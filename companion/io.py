"""Reading structures from files, with errors that name the file, the problem and the fix.

- :func:`read_structure`: one crystal from one file (pymatgen: CIF, POSCAR/CONTCAR, ...).
- :func:`read_frames`: every structure in one file, pymatgen or ASE (an extended XYZ or an
  ASE trajectory holds many frames).
- :func:`expand_inputs`: files, folders and glob patterns -> the files to read.
"""

from __future__ import annotations

import glob
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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


SITE_TOLERANCE = 1e-4
"""Fractional distance under which pymatgen's CIF parser merges two sites; a P1 file with
such a pair goes to the full parser (:func:`read_p1_cif`)."""

IDEAL_FRACTIONS = (1 / 3, 2 / 3)
"""Fractional coordinates that pymatgen's CIF parser restores from their rounded values
(relative tolerance :data:`SITE_TOLERANCE`, its default ``frac_tolerance``)."""

_ELEMENT = re.compile(r"[A-Z][a-z]?")


def _column(block: Mapping[str, Any], key: str) -> list[str]:
    value = block[key]
    return [value] if isinstance(value, str) else list(value)


def _p1_sites(path: str | Path) -> tuple[list[float], list[str], np.ndarray] | None:
    """Cell parameters ``[a, b, c, alpha, beta, gamma]``, element symbols and fractional
    coordinates [n_atoms, 3] as written in a one-block P1 CIF of whole sites; else None."""
    from pymatgen.core import Element
    from pymatgen.io.cif import CifFile, str2float

    try:
        blocks = list(CifFile.from_str(Path(path).read_text()).data.values())
        if len(blocks) != 1:
            return None
        block = blocks[0].data
        ops = block.get("_symmetry_equiv_pos_as_xyz",
                        block.get("_space_group_symop_operation_xyz"))
        if ops is None or [o.replace(" ", "").lower()
                           for o in ([ops] if isinstance(ops, str) else ops)] != ["x,y,z"]:
            return None
        if any(key.startswith(("_atom_site_moment", "_atom_site_attached")) for key in block):
            return None
        cell = [str2float(block[f"_cell_{k}"]) for k in ("length_a", "length_b", "length_c",
                                                         "angle_alpha", "angle_beta",
                                                         "angle_gamma")]
        symbols = _column(block, "_atom_site_type_symbol" if "_atom_site_type_symbol" in block
                          else "_atom_site_label")
        frac = np.array([[str2float(v) for v in _column(block, f"_atom_site_fract_{c}")]
                         for c in "xyz"]).T  # [n_atoms, 3]
        occupancy = (_column(block, "_atom_site_occupancy")
                     if "_atom_site_occupancy" in block else [])
        if any(str2float(o) != 1.0 for o in occupancy) or frac.shape != (len(symbols), 3):
            return None
        if not all(_ELEMENT.fullmatch(sym) and Element(sym).Z for sym in symbols):
            return None
    except Exception:  # the tokenizer raises many types: the full parser says what is wrong
        return None
    return cell, symbols, frac


def _pymatgen_order(symbols: list[str]) -> tuple[list[int], bool]:
    """pymatgen's order of the sites of a CIF (it matters: the 12 nearest neighbours of the
    CGCNN and ALIGNN graphs break ties by site index) and whether it still needs
    ``get_sorted_structure``. pymatgen groups the sites by composition (a stable sort), then
    sorts them by (electronegativity, symbol): with finite electronegativities one stable sort
    of the file's order by that key; with a NaN (noble gases) its own two sorts."""
    from pymatgen.core import Composition, Element

    with warnings.catch_warnings():  # "No Pauling electronegativity for Ne"
        warnings.simplefilter("ignore")
        key = {sym: (Element(sym).X, sym) for sym in set(symbols)}
    if all(np.isfinite(x) for x, _ in key.values()):
        return sorted(range(len(symbols)), key=lambda i: key[symbols[i]]), False
    comps = {sym: Composition({Element(sym): 1.0}) for sym in key}
    return sorted(range(len(symbols)), key=lambda i: comps[symbols[i]]), True


def read_p1_cif(path: str | Path):
    """A CIF of one data block in space group P1 (the symmetry operation ``x, y, z`` only),
    every site one element with occupancy 1, read about 3x faster than pymatgen's full
    parser: pymatgen's tokenizer (``CifFile``), the lattice from ``Lattice.from_parameters``,
    fractional coordinates restored to 1/3 and 2/3 (:data:`IDEAL_FRACTIONS`) and wrapped into
    [0, 1), the sites in pymatgen's order, all as pymatgen does. Screening files written by
    pymatgen, ASE or the Materials Project are of this kind.

    Returns:
        A pymatgen ``Structure``: the same lattice and sites, in the same order, as
        ``Structure.from_file`` (all 3938 ``mp_eform`` structures written by CifWriter
        compare equal, bit for bit); or None for any other CIF (symmetry operations,
        partial occupancy, oxidation states, magnetic moments, sites closer than
        :data:`SITE_TOLERANCE`, anything unexpected): read it with the full parser.
    """
    from pymatgen.core import Element, Lattice, Structure

    sites = _p1_sites(path)
    if sites is None:
        return None
    cell, symbols, frac = sites
    for ideal in IDEAL_FRACTIONS:  # 0.3333 -> 1/3, as pymatgen (its frac_tolerance)
        frac = np.where(np.abs(frac / ideal - 1) <= SITE_TOLERANCE, ideal, frac)
    frac = frac - np.floor(frac)  # [n_atoms, 3], in [0, 1)
    delta = frac[:, None] - frac[None]  # [n_atoms, n_atoms, 3]
    delta -= np.round(delta)
    close = (np.abs(delta) < SITE_TOLERANCE).all(-1)  # [n_atoms, n_atoms]
    if close.sum() > len(symbols) or not np.isfinite(frac).all():
        return None  # pymatgen would merge sites
    order, resort = _pymatgen_order(symbols)
    structure = Structure(Lattice.from_parameters(*cell), [Element(symbols[i]).Z for i in order],
                          frac[order])
    return structure.get_sorted_structure() if resort else structure


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
            fast = read_p1_cif(path) if path.suffix.lower() == ".cif" else None
            frames = [fast if fast is not None else read_structure(path, validate=False)]
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
