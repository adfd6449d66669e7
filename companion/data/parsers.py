"""Pure file-format parsers of the external data sets: a file (or its text) in, arrays out.

Nothing here looks a file up, downloads or checks a checksum (that is
:mod:`companion.data.resolve`), and nothing knows which data set a file belongs to (that is
the set's module in :mod:`companion.data.sets`). Units are those of the files.

==============================  =============================================================
parser                          format
==============================  =============================================================
:func:`read_extxyz`             extended XYZ (ASE), molecules with energy and forces
:func:`isolated_atom_energies`  one-atom configurations of an extended XYZ file -> Z -> eV
:func:`structure_dict_arrays`   pymatgen ``Structure.as_dict()`` (JSON object or literal)
:func:`read_gro_topology`       GROMACS ``.gro``: residues and atom names
:func:`read_neuralil_json`      NeuralIL JSON lines (Energy, Positions, Forces, Cell-Size)
:func:`read_phonon_document`    pymatgen ``PhononBandStructureSymmLine`` + DOS JSON
:func:`parse_p1_cif`            pymatgen-written P 1 CIF text
:func:`read_csv_rows`           a CSV file with long quoted fields (perov_5)
==============================  =============================================================
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from companion.data.records import LabeledRecord
from companion.errors import DataError

__all__ = [
    "atomic_number",
    "isolated_atom_energies",
    "lattice_from_parameters",
    "parse_p1_cif",
    "read_csv_rows",
    "read_extxyz",
    "read_gro_topology",
    "read_neuralil_json",
    "read_phonon_document",
    "structure_dict_arrays",
]


def atomic_number(symbol: str) -> int:
    """Z of an element symbol.

    Raises:
        DataError: unknown symbol.
    """
    from ase.data import atomic_numbers

    try:
        return atomic_numbers[symbol]
    except KeyError:
        raise DataError(f"unknown element symbol '{symbol}'") from None


# ------------------------------------------------------------------------- extended XYZ
def _json_value(v: Any) -> Any:
    """numpy scalars/arrays from ASE ``info`` -> plain Python values."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_extxyz(path: str | Path, prefix: str) -> list[LabeledRecord]:
    """Configurations of an extended XYZ file (energy eV, forces eV/Å).

    Args:
        path: The file.
        prefix: Record ids are ``f"{prefix}:{k}"`` for the k-th configuration.

    Returns:
        One record per configuration: ``targets["energy"]`` where the file has one,
        ``labels["forces"]`` [n, 3] where it has forces, the other header fields in
        ``info``. A configuration with ``pbc="F F F"`` is non-periodic with a zero cell.
    """
    import ase.io

    records = []
    for k, atoms in enumerate(ase.io.read(str(path), index=":", format="extxyz")):
        results = dict(atoms.calc.results) if atoms.calc is not None else {}
        energy = results.get("energy", atoms.info.get("energy"))
        targets = {} if energy is None else {"energy": float(energy)}
        labels = {}
        forces = results.get("forces", atoms.arrays.get("forces"))
        if forces is not None:
            labels["forces"] = np.array(forces, dtype=np.float64).reshape(-1, 3)  # [n, 3]
        info = {key: _json_value(v) for key, v in atoms.info.items() if key != "energy"}
        pbc = bool(atoms.pbc.any())
        records.append(LabeledRecord(
            id=f"{prefix}:{k}",
            numbers=atoms.numbers.astype(np.int64),  # [n]
            positions=atoms.positions.astype(np.float64),  # [n, 3]
            cell=np.array(atoms.cell.array, dtype=np.float64) if pbc else np.zeros((3, 3)),
            pbc=pbc, targets=targets, labels=labels, info=info,
        ))
    return records


def isolated_atom_energies(path: str | Path) -> dict[int, float]:
    """Z -> isolated-atom energy (eV) from an extended XYZ file of one-atom configurations.

    Raises:
        DataError: a configuration has more than one atom or no energy.
    """
    out = {}
    for rec in read_extxyz(path, "iso"):
        if rec.n_atoms != 1 or "energy" not in rec.targets:
            raise DataError(f"{path}: expected one-atom configurations with an energy")
        out[int(rec.numbers[0])] = rec.targets["energy"]
    return out


# ------------------------------------------------------------------- pymatgen structures
def structure_dict_arrays(d: Mapping[str, Any] | str,
                          where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of a pymatgen ``Structure.as_dict()``.

    Args:
        d: The dict, or its Python-literal text (read with :func:`ast.literal_eval`, never
            ``eval``).
        where: Where the structure comes from, for error messages.

    Returns:
        ``(numbers int64 [n], positions float64 [n, 3] Å, cell float64 [3, 3] Å)``.

    Raises:
        DataError: a partially occupied or mixed site.
    """
    if isinstance(d, str):
        d = ast.literal_eval(d)
    cell = np.array(d["lattice"]["matrix"], dtype=np.float64)  # [3, 3]
    numbers, frac = [], []
    for site in d["sites"]:
        species = site["species"]
        if len(species) != 1 or abs(float(species[0].get("occu", 1.0)) - 1.0) > 1e-8:
            raise DataError(f"{where}: disordered site {species}; only ordered structures load")
        numbers.append(atomic_number(species[0]["element"]))
        frac.append(site["abc"])
    frac_arr = np.array(frac, dtype=np.float64).reshape(-1, 3)  # [n, 3]
    return np.array(numbers, dtype=np.int64), frac_arr @ cell, cell


# ------------------------------------------------------------------------------- NeuralIL
def read_gro_topology(path: str | Path) -> dict[str, np.ndarray]:
    """Residue ids and names, atom names and elements of a GROMACS ``.gro`` file.

    Returns:
        ``residue_id`` int64 [n], ``residue_name``, ``atom_name``, ``element`` unicode [n]
        (the element is the atom name without its trailing digits).
    """
    lines = Path(path).read_text().splitlines()
    n = int(lines[1])
    rows = lines[2 : 2 + n]
    res_id = np.array([int(r[0:5]) for r in rows], dtype=np.int64)
    res_name = np.array([r[5:10].strip() for r in rows])
    atom_name = np.array([r[10:15].strip() for r in rows])
    element = np.array([re.sub(r"\d+$", "", a) for a in atom_name])
    return {"residue_id": res_id, "residue_name": res_name, "atom_name": atom_name,
            "element": element}


def read_neuralil_json(path: str | Path) -> Iterator[dict[str, Any]]:
    """Configurations of a NeuralIL JSON-lines file, one JSON object per line.

    Yields:
        ``{"line", "energy" (eV), "positions" [n, 3] (Å), "forces" [n, 3] (eV/Å),
        "box" [3] (Å, orthorhombic cell lengths), "natoms", "net_charge", "date"}``;
        blank lines are skipped (``line`` counts from 1).
    """
    with open(path, encoding="utf-8") as fh:
        for k, line in enumerate(fh, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            pos = np.array(d["Positions"], dtype=np.float64)  # [n, 3]
            yield {
                "line": k,
                "energy": float(d["Energy"]),
                "positions": pos,
                "forces": np.array(d["Forces"], dtype=np.float64),  # [n, 3]
                "box": np.array(d["Cell-Size"], dtype=np.float64),  # [3]
                "natoms": int(d.get("Natoms", len(pos))),
                "net_charge": float(np.sum(d.get("Charges", [0.0]))),
                "date": d.get("Date", ""),
            }


# -------------------------------------------------------------------------------- phonons
def _qpoint_labels(qpoints: np.ndarray, labels: Mapping[str, Sequence[float]]) -> list[str]:
    """High-symmetry label of each q-point ('' if none), matched in fractional coordinates."""
    out = [""] * len(qpoints)
    for name, frac in labels.items():
        hit = np.flatnonzero(np.abs(qpoints - np.asarray(frac)).max(axis=1) < 1e-5)
        for i in hit:
            out[i] = name
    return out


def read_phonon_document(doc: Mapping[str, Any], where: str, *,
                         eigendisplacements: bool = False) -> dict[str, Any]:
    """Arrays of a phonon document: pymatgen ``PhononBandStructureSymmLine`` and DOS dicts.

    Args:
        doc: The parsed JSON with keys ``phonon_bandstructure`` and ``phonon_dos``.
        where: Where the document comes from, for error messages.
        eigendisplacements: Also return the complex eigendisplacements (memory heavy).

    Returns:
        ``numbers``, ``positions``, ``cell`` (as :func:`structure_dict_arrays`), ``labels``:
        ``qpoints`` [n_q, 3] (fractional reciprocal), ``frequencies`` [n_q, 3 n] (THz; row =
        q-point, column = branch), ``reciprocal_lattice`` [3, 3] (1/Å, with 2π),
        ``dos_frequencies`` and ``dos_densities`` [n_dos] (and ``eigendisplacements``
        [n_q, 3 n, n, 3] complex if asked); ``qpoint_labels`` (one string per q-point) and
        ``has_nac``.

    Raises:
        DataError: the bands do not have 3 n branches.
    """
    bs = doc["phonon_bandstructure"]
    numbers, pos, cell = structure_dict_arrays(bs["structure"], where)
    qpoints = np.array(bs["qpoints"], dtype=np.float64)  # [n_q, 3]
    freqs = np.array(bs["bands"], dtype=np.float64).T  # [n_q, 3 n]
    if freqs.shape != (len(qpoints), 3 * len(numbers)):
        raise DataError(f"{where}: bands of shape {freqs.shape} for {len(numbers)} atoms")
    labels = {
        "qpoints": qpoints,
        "frequencies": freqs,
        "reciprocal_lattice": np.array(bs["lattice_rec"]["matrix"], dtype=np.float64),
        "dos_frequencies": np.array(doc["phonon_dos"]["frequencies"], dtype=np.float64),
        "dos_densities": np.array(doc["phonon_dos"]["densities"], dtype=np.float64),
    }
    if eigendisplacements:
        ev = bs["eigendisplacements"]
        eig = np.array(ev["real"]) + 1j * np.array(ev["imag"])  # [3 n, n_q, n, 3]
        labels["eigendisplacements"] = np.ascontiguousarray(eig.transpose(1, 0, 2, 3))
    return {"numbers": numbers, "positions": pos, "cell": cell, "labels": labels,
            "qpoint_labels": _qpoint_labels(qpoints, bs["labels_dict"]),
            "has_nac": bool(bs.get("has_nac", False))}


# ------------------------------------------------------------------------------------ CIF
def lattice_from_parameters(a: float, b: float, c: float,
                            alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Lattice vectors (rows, Å) from lengths (Å) and angles (degrees).

    Same orientation convention as pymatgen's ``Lattice.from_parameters``: ``c`` along z,
    ``a`` in the xz plane.
    """
    ar, br, gr = np.radians([alpha, beta, gamma])
    val = (np.cos(ar) * np.cos(br) - np.cos(gr)) / (np.sin(ar) * np.sin(br))
    gamma_star = np.arccos(np.clip(val, -1.0, 1.0))
    va = [a * np.sin(br), 0.0, a * np.cos(br)]
    vb = [-b * np.sin(ar) * np.cos(gamma_star), b * np.sin(ar) * np.sin(gamma_star),
          b * np.cos(ar)]
    vc = [0.0, 0.0, float(c)]
    return np.array([va, vb, vc], dtype=np.float64)  # [3, 3]


_CIF_NUMBER = re.compile(r"^([-+]?[\d.]+(?:[eE][-+]?\d+)?)")


def _cif_float(token: str) -> float:
    m = _CIF_NUMBER.match(token)  # drops a standard uncertainty such as 4.03(2)
    if m is None:
        raise DataError(f"not a CIF number: {token!r}")
    return float(m.group(1))


def _cif_tags_and_sites(text: str) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """Single-valued tags, and the names and rows of the ``_atom_site_`` loop."""
    tags: dict[str, str] = {}
    lines = text.splitlines()
    loop_names: list[str] = []
    rows: list[list[str]] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line == "loop_":
            names, i = [], i + 1
            while i < len(lines) and lines[i].strip().startswith("_"):
                names.append(lines[i].strip())
                i += 1
            body = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(
                    ("_", "loop_", "data_")):
                body.append(lines[i].split())
                i += 1
            if names and names[0].startswith("_atom_site_"):
                loop_names, rows = names, body
            continue
        if line.startswith("_"):
            key, _, value = line.partition(" ")
            tags[key] = value.strip().strip("'\"")
        i += 1
    return tags, loop_names, rows


def parse_p1_cif(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimal reader of the pymatgen-written P 1 CIFs of perov_5 (no symmetry expansion).

    Args:
        text: CIF text with one data block, space group P 1, one ``_atom_site_`` loop.

    Returns:
        ``(numbers int64 [n], frac float64 [n, 3], cell float64 [3, 3] Å)``.

    Raises:
        DataError: not P 1, partial occupancy, or a missing field.
    """
    tags, loop_names, rows = _cif_tags_and_sites(text)
    group = tags.get("_symmetry_space_group_name_H-M", tags.get("_space_group_name_H-M_alt"))
    if group is None or group.replace(" ", "") != "P1":
        raise DataError(f"only P 1 CIFs are read here, got space group {group!r}")
    try:
        cell = lattice_from_parameters(*(_cif_float(tags[f"_cell_{k}"]) for k in (
            "length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma")))
        col = {n: j for j, n in enumerate(loop_names)}
        frac = np.array([[_cif_float(r[col[f"_atom_site_fract_{x}"]]) for x in "xyz"]
                         for r in rows], dtype=np.float64).reshape(-1, 3)  # [n, 3]
        symbols = [r[col["_atom_site_type_symbol"]] for r in rows]
        occ = [_cif_float(r[col["_atom_site_occupancy"]]) if "_atom_site_occupancy" in col
               else 1.0 for r in rows]
    except (KeyError, IndexError) as exc:
        raise DataError(f"incomplete CIF: missing {exc}") from exc
    if any(abs(o - 1.0) > 1e-8 for o in occ):
        raise DataError("partial occupancy in CIF; only ordered structures load")
    numbers = np.array([atomic_number(re.sub(r"[\d+-]+$", "", s)) for s in symbols],
                       dtype=np.int64)
    return numbers, frac, cell


# ------------------------------------------------------------------------------------ CSV
def read_csv_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header line; fields may hold quoted multi-line text."""
    text = Path(path).read_text(encoding="utf-8")
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(text, newline="")))
