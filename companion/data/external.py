"""Loaders of the external data sets of :mod:`companion.data.registry`.

Every loader resolves its files with :func:`companion.data.resolve.resolve` (``data/``, user
cache, ``COMPANION_DATA_DIRS``, checksummed download) and returns a :class:`LabeledDataset`:
a sequence of :class:`LabeledRecord` with plain arrays (atomic numbers, Cartesian positions
in Å, cell in Å), scalar ``targets``, array ``labels`` (forces, stresses, phonon bands) and
``units`` for every label. ``record.atoms`` gives an ASE ``Atoms`` (energy/forces/stress on a
``SinglePointCalculator``) and ``record.structure`` a pymatgen ``Structure`` (``Molecule``
for non-periodic records); both are built on each access.

=====================  ==================================  ====================================
loader                 upstream splits (``split=``)        records
=====================  ==================================  ====================================
``load_ethanol``       train, test_md, ... (see function)  1000 train / 1000 MD test, 9 atoms
``load_3bpa``          train_300k, train_mixedt            500 each, 27 atoms
``load_acac``          train_300k, test_md_300k, ...       500 train, 15 atoms
``load_ean``           (validation only)                   75 boxes of 225 atoms
``load_mlearn``        train, test (per element)           e.g. Si 214 / 25
``load_mp_phonons``    —                                   69 DFPT phonon documents
``load_matcalc``       —                                   3953 (elasticity), 1170 (C_V)
``load_perov_5``       val, test                           3787 / 3785, 5 atoms
=====================  ==================================  ====================================

Splits: besides the upstream files, every dataset has a deterministic within-file
``split`` (80/10/10 train/val/test). A record goes to a part by the rank of
``sha256("<seed>:<record id>")``, so the split depends on neither numpy's RNG nor the file
order, and ``split_hash`` identifies it (see :func:`hashed_split`). Where the upstream has a
test file (ethanol, acac, mlearn, perov_5), report final numbers on that file.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import io
import json
import math
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.data import registry
from companion.data.resolve import resolve
from companion.data.shipped import SPLIT_NAMES, split_hash, split_indices
from companion.errors import DataError

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Molecule, Structure

__all__ = [
    "LabeledDataset",
    "LabeledRecord",
    "hashed_split",
    "lattice_from_parameters",
    "load_3bpa",
    "load_acac",
    "load_ean",
    "load_ethanol",
    "load_matcalc",
    "load_mlearn",
    "load_mp_phonons",
    "load_perov_5",
    "parse_p1_cif",
]

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
KBAR_TO_GPA = 0.1  # 1 kB = 0.1 GPa


def _z_of(symbol: str) -> int:
    from ase.data import atomic_numbers

    try:
        return atomic_numbers[symbol]
    except KeyError:
        raise DataError(f"unknown element symbol '{symbol}'") from None


# ---------------------------------------------------------------------------------------------
# records and datasets
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LabeledRecord:
    """One labelled configuration (molecule, MD box or crystal).

    Attributes:
        id: Stable identifier, unique within its dataset (used by the split).
        numbers: Atomic numbers, int64 [n].
        positions: Cartesian positions, float64 [n, 3], Å.
        cell: Lattice vectors as rows, float64 [3, 3], Å; zeros for molecules.
        pbc: Periodic (crystal / MD box) or not (molecule).
        targets: Scalar labels, name -> float (units in the dataset's ``units``).
        labels: Array labels, e.g. ``forces`` [n, 3] eV/Å, ``virial_stress`` [6] kB.
        info: Other metadata from the file (config type, description, ...).
        cif: The record's CIF text where the upstream stores one (perov_5), else None.
    """

    id: str
    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray
    pbc: bool
    targets: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, np.ndarray] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)
    cif: str | None = None

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return len(self.numbers)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(z int64 [n], pos float64 [n, 3] Å, cell float64 [3, 3] Å)`` (copies)."""
        return self.numbers.copy(), self.positions.copy(), self.cell.copy()

    @property
    def atoms(self) -> Atoms:
        """A new ASE ``Atoms``; energy, forces and stress on a ``SinglePointCalculator``.

        ``stress`` is converted to ASE's convention (eV/Å³, Voigt ``xx yy zz yz xz xy``,
        positive = tensile) when the record has ``virial_stress``; other targets and
        ``info`` go to ``atoms.info``.
        """
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        atoms = Atoms(numbers=self.numbers, positions=self.positions,
                      cell=self.cell if self.pbc else None, pbc=self.pbc)
        results: dict[str, Any] = {}
        if "energy" in self.targets:
            results["energy"] = self.targets["energy"]
        if "forces" in self.labels:
            results["forces"] = np.array(self.labels["forces"])
        if "virial_stress" in self.labels:
            results["stress"] = mlearn_stress_to_ase(self.labels["virial_stress"])
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        atoms.info.update({"id": self.id, **dict(self.info)})
        atoms.info.update({k: v for k, v in self.targets.items() if k != "energy"})
        return atoms

    @property
    def structure(self) -> Structure | Molecule:
        """A new pymatgen ``Structure`` (periodic) or ``Molecule`` (non-periodic)."""
        if self.pbc:
            from pymatgen.core import Lattice, Structure

            return Structure(Lattice(self.cell), self.numbers.tolist(), self.positions,
                             coords_are_cartesian=True)
        from pymatgen.core import Molecule

        return Molecule(self.numbers.tolist(), self.positions)

    def __repr__(self) -> str:
        parts = [f"{k}={v:.6g}" for k, v in self.targets.items()]
        parts += [f"{k}{list(np.shape(v))}" for k, v in self.labels.items()]
        return f"LabeledRecord({self.id!r}, {self.n_atoms} atoms" + "".join(
            f", {p}" for p in parts) + ")"


def mlearn_stress_to_ase(virial_kbar: np.ndarray) -> np.ndarray:
    """Convert a VASP/mlearn virial stress to ASE's stress.

    Args:
        virial_kbar: [6] in kB, order ``xx yy zz xy yz xz``, positive = compressive (VASP).

    Returns:
        [6] in eV/Å³, ASE Voigt order ``xx yy zz yz xz xy``, positive = tensile.
    """
    from ase.units import GPa

    s = np.asarray(virial_kbar, dtype=np.float64)
    return -KBAR_TO_GPA * GPa * s[[0, 1, 2, 4, 5, 3]]


def hashed_split(ids: Sequence[str], seed: int = 0,
                 fractions: tuple[float, float, float] = SPLIT_FRACTIONS) -> np.ndarray:
    """Deterministic split codes (0 train, 1 val, 2 test) from hashed record ids.

    Records are ranked by ``sha256(f"{seed}:{id}")``; the first ``round(f_train n)`` are
    train, the next ``round(f_val n)`` val, the rest test. The result does not depend on the
    record order or on numpy's random generator.

    Args:
        ids: Unique record ids.
        seed: Seed mixed into the hash.
        fractions: (train, val, test) fractions summing to 1.

    Returns:
        int8 [n] split codes.
    """
    n = len(ids)
    if len(set(ids)) != n:
        raise DataError("record ids must be unique to split by hash")
    keys = [hashlib.sha256(f"{seed}:{i}".encode()).hexdigest() for i in ids]
    order = sorted(range(n), key=keys.__getitem__)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    codes = np.zeros(n, dtype=np.int8)
    codes[order[n - n_val - n_test : n - n_test]] = 1
    codes[order[n - n_test :]] = 2
    return codes


class LabeledDataset(Sequence[LabeledRecord]):
    """A list of :class:`LabeledRecord` with units, citation and a deterministic split.

    Attributes:
        name: Data set name, e.g. ``"ethanol/train"``.
        records: The records.
        units: Label name -> unit (targets, array labels, positions).
        citation: What to cite.
        description: What the data are.
        license: License of the data.
        source: Files the data were read from (path relative to the repository mirror).
        atomic_energies: Isolated-atom reference energies, Z -> eV (molecule sets), else {}.
        info: Data-set level metadata (e.g. the EAN residue of every atom).
        split_seed: Seed of :func:`hashed_split`.
    """

    def __init__(
        self,
        name: str,
        records: Sequence[LabeledRecord],
        *,
        entry: registry.DatasetEntry,
        source: str,
        atomic_energies: Mapping[int, float] | None = None,
        info: Mapping[str, Any] | None = None,
        split_seed: int = 0,
        split_codes: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.records = list(records)
        self._entry = entry
        self.units = dict(entry.units)
        self.citation = entry.citation
        self.description = entry.description
        self.license = entry.license
        self.source = source
        self.atomic_energies = dict(atomic_energies or {})
        self.info = dict(info or {})
        self.split_seed = split_seed
        if split_codes is None:
            split_codes = hashed_split([r.id for r in self.records], seed=split_seed)
        self._split_codes = np.asarray(split_codes, dtype=np.int8)
        self._split = split_indices(self._split_codes)
        self._split_hash = split_hash(self._split)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> LabeledRecord:  # type: ignore[override]
        if not isinstance(i, int | np.integer):
            raise TypeError(f"index with an int; use dataset.subset(indices) for {type(i)}")
        return self.records[i]

    def __iter__(self) -> Iterator[LabeledRecord]:
        return iter(self.records)

    @property
    def pbc(self) -> bool:
        """True if every record is periodic."""
        return all(r.pbc for r in self.records)

    @property
    def target_names(self) -> list[str]:
        """Names of the scalar targets (of the first record)."""
        return list(self.records[0].targets) if self.records else []

    def target(self, name: str) -> np.ndarray:
        """One scalar target of every record, float64 [n_records].

        Raises:
            DataError: unknown target.
        """
        try:
            return np.array([r.targets[name] for r in self.records], dtype=np.float64)
        except KeyError:
            raise DataError(f"{self.name} has no target '{name}'; targets: "
                            f"{', '.join(self.target_names) or '(none)'}") from None

    def label(self, name: str) -> list[np.ndarray]:
        """One array label (e.g. ``forces``) of every record.

        Raises:
            DataError: a record lacks the label.
        """
        try:
            return [r.labels[name] for r in self.records]
        except KeyError:
            raise DataError(f"{self.name}: not every record has the label '{name}'") from None

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(z int64 [n], pos float64 [n, 3] Å, cell float64 [3, 3] Å)`` of record ``i``."""
        return self.records[i].arrays()

    @property
    def split(self) -> dict[str, np.ndarray]:
        """``{"train", "val", "test"}`` -> ascending int64 index arrays (:func:`hashed_split`)."""
        return {k: v.copy() for k, v in self._split.items()}

    @property
    def split_hash(self) -> str:
        """sha256 of the split indices; record it with a checkpoint."""
        return self._split_hash

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabeledDataset:
        """A new dataset with the given records (in order); each keeps its split label."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = [int(i) for i in np.asarray(idx, dtype=np.int64).reshape(-1)]
        return LabeledDataset(
            self.name, [self.records[i] for i in idx], entry=self._entry, source=self.source,
            atomic_energies=self.atomic_energies, info=self.info, split_seed=self.split_seed,
            split_codes=self._split_codes[idx] if idx else np.zeros(0, np.int8),
        )

    def __repr__(self) -> str:
        sizes = sorted({r.n_atoms for r in self.records})
        size = (f"{sizes[0]}-{sizes[-1]} atoms" if len(sizes) > 1 else
                f"{sizes[0]} atoms" if sizes else "empty")
        lab = sorted({k for r in self.records[:1] for k in (*r.targets, *r.labels)})
        units = ", ".join(f"{k} [{self.units.get(k, '?')}]" for k in lab)
        counts = "/".join(str(len(self._split[s])) for s in SPLIT_NAMES)
        kind = "periodic" if self.pbc else "molecular"
        return (f"LabeledDataset('{self.name}': {len(self)} {kind} records, {size}; {units}; "
                f"split train/val/test {counts}, sha256 {self._split_hash[:12]})")


# ---------------------------------------------------------------------------------------------
# shared parsing helpers
# ---------------------------------------------------------------------------------------------
def _structure_dict_arrays(d: Mapping[str, Any] | str, where: str):
    """(numbers [n], positions [n, 3] Å, cell [3, 3] Å) of a pymatgen ``Structure.as_dict()``.

    A string is read with :func:`ast.literal_eval` (never ``eval``).

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
        numbers.append(_z_of(species[0]["element"]))
        frac.append(site["abc"])
    frac_arr = np.array(frac, dtype=np.float64).reshape(-1, 3)  # [n, 3]
    return np.array(numbers, dtype=np.int64), frac_arr @ cell, cell


def _json_value(v: Any) -> Any:
    """numpy scalars/arrays from ASE ``info`` -> plain Python values."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _read_extxyz(path: Path, prefix: str) -> list[LabeledRecord]:
    """Molecules from an extended XYZ file (energy eV, forces eV/Å, non-periodic)."""
    import ase.io

    records = []
    for k, atoms in enumerate(ase.io.read(str(path), index=":", format="extxyz")):
        results = dict(atoms.calc.results) if atoms.calc is not None else {}
        energy = results.get("energy", atoms.info.get("energy"))
        targets = {} if energy is None else {"energy": float(energy)}
        labels = {}
        forces = results.get("forces", atoms.arrays.get("forces"))
        if forces is not None:
            labels["forces"] = np.array(forces, dtype=np.float64).reshape(-1, 3)
        info = {key: _json_value(v) for key, v in atoms.info.items() if key != "energy"}
        pbc = bool(atoms.pbc.any())
        records.append(LabeledRecord(
            id=f"{prefix}:{k}",
            numbers=atoms.numbers.astype(np.int64),
            positions=atoms.positions.astype(np.float64),
            cell=np.array(atoms.cell.array, dtype=np.float64) if pbc else np.zeros((3, 3)),
            pbc=pbc, targets=targets, labels=labels, info=info,
        ))
    return records


def _atomic_energies(path: Path) -> dict[int, float]:
    """Z -> isolated-atom energy (eV) from a file of one-atom configurations."""
    out = {}
    for rec in _read_extxyz(path, "iso"):
        if rec.n_atoms != 1 or "energy" not in rec.targets:
            raise DataError(f"{path}: expected one-atom configurations with an energy")
        out[int(rec.numbers[0])] = rec.targets["energy"]
    return out


def _choose(split: str, files: Mapping[str, str], what: str) -> str:
    key = split.lower()
    if key not in files:
        raise DataError(f"{what}: unknown split '{split}'; choose one of {', '.join(files)}")
    return key


def _load_molecules(name: str, split: str, files: Mapping[str, str], iso: str,
                    unavailable: str = "") -> LabeledDataset:
    entry = registry.get(name)
    key = _choose(split, files, f"{name}{unavailable}")
    path = resolve(entry, files[key])
    records = _read_extxyz(path, f"{name}/{key}")
    iso_energies = _atomic_energies(resolve(entry, iso))
    return LabeledDataset(f"{name}/{key}", records, entry=entry, source=files[key],
                          atomic_energies=iso_energies)


# ---------------------------------------------------------------------------------------------
# molecules (BOTNet data sets)
# ---------------------------------------------------------------------------------------------
_ETHANOL_FILES = {
    "train": "dataset_ethanol/train.xyz",
    "test_md": "dataset_ethanol/test_MD.xyz",
    "test_h_removal": "dataset_ethanol/test_H_removal.xyz",
    "test_dimers": "dataset_ethanol/test_dimers.xyz",
    "test_norm_mode_874": "dataset_ethanol/test_norm_mode_874.xyz",
    "test_norm_mode_3005": "dataset_ethanol/test_norm_mode_3005.xyz",
    "train_eth_meth": "dataset_ethanol/train_eth_meth.xyz",
    "test_eth_meth": "dataset_ethanol/test_eth_meth.xyz",
}
_BPA_FILES = {
    "train_300k": "dataset_3BPA/train_300K.xyz",
    "train_mixedt": "dataset_3BPA/train_mixedT.xyz",
}
_ACAC_FILES = {
    "train_300k": "dataset_acac/train_300K.xyz",
    "train_600k": "dataset_acac/train_600K.xyz",
    "test_md_300k": "dataset_acac/test_MD_300K.xyz",
    "test_md_600k": "dataset_acac/test_MD_600K.xyz",
    "test_dihedral": "dataset_acac/test_dihedral.xyz",
    "test_h_transfer": "dataset_acac/test_H_transfer.xyz",
}


def load_ethanol(split: str = "train") -> LabeledDataset:
    """Ethanol (rMD17 geometries), DFT PBE/def2-SVP energies and forces.

    Args:
        split: ``train`` (1000), ``test_md`` (1000), ``test_h_removal``, ``test_dimers``
            (energies only), ``test_norm_mode_874``, ``test_norm_mode_3005``,
            ``train_eth_meth``, ``test_eth_meth`` (case-insensitive).

    Returns:
        Non-periodic records: ``targets["energy"]`` (eV, total), ``labels["forces"]``
        [9, 3] (eV/Å); ``atomic_energies`` from ``isolated_atoms.xyz`` (eV).
    """
    return _load_molecules("ethanol", split, _ETHANOL_FILES, "dataset_ethanol/isolated_atoms.xyz")


def load_3bpa(split: str = "train_300k") -> LabeledDataset:
    """3BPA (27 atoms), DFT energies (eV) and forces (eV/Å); 500 configurations per file.

    Args:
        split: ``train_300k`` or ``train_mixedt`` (300/600/1200 K). The upstream test sets
            are not in the mirror.
    """
    return _load_molecules("3bpa", split, _BPA_FILES, "dataset_3BPA/iso_atoms.xyz",
                           " (the upstream test sets are not available here)")


def load_acac(split: str = "train_300k") -> LabeledDataset:
    """Acetylacetone (15 atoms), DFT (UHF PBE+D3) energies (eV) and forces (eV/Å).

    Args:
        split: ``train_300k``, ``train_600k`` (500 each), ``test_md_300k``, ``test_md_600k``,
            ``test_dihedral``, ``test_h_transfer``.
    """
    return _load_molecules("acac", split, _ACAC_FILES, "dataset_acac/isolated_atoms.xyz")


# ---------------------------------------------------------------------------------------------
# EAN ionic liquid
# ---------------------------------------------------------------------------------------------
_EAN_GRO = "auxiliary_files/EAN_md_initial.gro"
_EAN_JSON = "data_sets/EAN/validation_original.json"
_EAN_RESIDUES = {"EA": ("NHHHCHHCHHH", +1), "NO3R": ("NOOO", -1)}  # elements, formal charge
_EAN_N_ATOMS = 225
_BOND_MAX = 1.7  # Å: an H or O farther than this from its residue's N/C means a wrong order


def _read_gro_topology(path: Path) -> dict[str, np.ndarray]:
    """Residue ids/names, atom names and elements of a GROMACS .gro file."""
    lines = path.read_text().splitlines()
    n = int(lines[1])
    rows = lines[2 : 2 + n]
    res_id = np.array([int(r[0:5]) for r in rows], dtype=np.int64)
    res_name = np.array([r[5:10].strip() for r in rows])
    atom_name = np.array([r[10:15].strip() for r in rows])
    element = np.array([re.sub(r"\d+$", "", a) for a in atom_name])
    return {"residue_id": res_id, "residue_name": res_name, "atom_name": atom_name,
            "element": element}


def _check_ean_topology(top: dict[str, np.ndarray]) -> np.ndarray:
    """Verify 15 EA + 15 NO3 with the documented atom order; return formal charges per atom."""
    if len(top["element"]) != _EAN_N_ATOMS:
        raise DataError(f"EAN topology has {len(top['element'])} atoms, expected {_EAN_N_ATOMS}")
    charges = np.zeros(_EAN_N_ATOMS)
    counts = {"EA": 0, "NO3R": 0}
    for rid in np.unique(top["residue_id"]):
        sel = np.flatnonzero(top["residue_id"] == rid)
        rname = str(top["residue_name"][sel[0]])
        if rname not in _EAN_RESIDUES or "".join(top["element"][sel]) != _EAN_RESIDUES[rname][0]:
            raise DataError(f"EAN residue {rid} ({rname}): unexpected atoms "
                            f"{''.join(top['element'][sel])}")
        counts[rname] += 1
        charges[sel[0]] = _EAN_RESIDUES[rname][1]  # formal charge on the residue's first atom
    if counts != {"EA": 15, "NO3R": 15} or charges.sum() != 0:
        raise DataError(f"EAN: expected 15 cations + 15 anions (neutral box), got {counts}")
    return charges


def _check_ean_geometry(pos: np.ndarray, box: np.ndarray, top: dict[str, np.ndarray],
                        where: str) -> None:
    """Each H / O must sit next to an N or C of its own residue (minimum image)."""
    el, rid = top["element"], top["residue_id"]
    heavy = np.flatnonzero(np.isin(el, ["N", "C"]))
    light = np.flatnonzero(np.isin(el, ["H", "O"]))
    d = pos[light][:, None, :] - pos[heavy][None, :, :]  # [n_light, n_heavy, 3]
    d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=-1)  # [n_light, n_heavy]
    nearest = r.argmin(axis=1)
    ok = (rid[heavy[nearest]] == rid[light]) & (r.min(axis=1) < _BOND_MAX)
    if not ok.all():
        bad = light[~ok][:5]
        raise DataError(f"{where}: atoms {bad.tolist()} are not bonded within their residue; "
                        "the species order from EAN_md_initial.gro does not fit the positions")


def load_ean() -> LabeledDataset:
    """EAN ionic liquid (NeuralIL / JAT): 75 DFT boxes of 15 ion pairs (225 atoms).

    Species come from ``EAN_md_initial.gro`` (15 ethylammonium N H H H C H H C H H H, then
    15 nitrate N O O O). The loader verifies the 225-atom topology, a neutral box (formal
    charges +1/-1; the file's ``Charges`` are all zero), and, for every configuration, that
    each H and O lies within 1.7 Å of an N or C of its own ion (minimum image in the cubic
    box), which would fail if the species order did not match the positions.

    Returns:
        Periodic records: ``targets["energy"]`` (eV per box), ``labels["forces"]``
        [225, 3] (eV/Å), cubic ``cell`` (Å); ``info`` holds the residue of every atom and
        the formal charges.
    """
    entry = registry.get("ean")
    top = _read_gro_topology(resolve(entry, _EAN_GRO))
    formal = _check_ean_topology(top)
    numbers = np.array([_z_of(str(e)) for e in top["element"]], dtype=np.int64)
    records = []
    with open(resolve(entry, _EAN_JSON), encoding="utf-8") as fh:
        for k, line in enumerate(fh):
            if not line.strip():
                continue
            d = json.loads(line)
            pos = np.array(d["Positions"], dtype=np.float64)  # [225, 3]
            forces = np.array(d["Forces"], dtype=np.float64)  # [225, 3]
            box = np.array(d["Cell-Size"], dtype=np.float64)  # [3]
            if int(d.get("Natoms", len(pos))) != _EAN_N_ATOMS or pos.shape != (225, 3) \
                    or forces.shape != (225, 3):
                raise DataError(f"EAN line {k + 1}: expected {_EAN_N_ATOMS} atoms")
            if abs(float(np.sum(d.get("Charges", [0.0])))) > 1e-6:
                raise DataError(f"EAN line {k + 1}: net charge {np.sum(d['Charges'])}")
            _check_ean_geometry(pos, box, top, f"EAN line {k + 1}")
            records.append(LabeledRecord(
                id=f"validation:{k}", numbers=numbers, positions=pos, cell=np.diag(box),
                pbc=True, targets={"energy": float(d["Energy"])}, labels={"forces": forces},
                info={"date": d.get("Date", "")},
            ))
    info = {"residue_id": top["residue_id"], "residue_name": top["residue_name"],
            "atom_name": top["atom_name"], "formal_charge": formal}
    return LabeledDataset("ean/validation", records, entry=entry, source=_EAN_JSON, info=info)


# ---------------------------------------------------------------------------------------------
# mlearn elemental crystals
# ---------------------------------------------------------------------------------------------
_MLEARN_ELEMENTS = ("Si", "Ge", "Li", "Mo", "Cu", "Ni")


def load_mlearn(element: str = "Si", split: str = "train") -> LabeledDataset:
    """mlearn elemental data (DFT PBE): structures, energies, forces, virial stresses.

    Args:
        element: ``Si``, ``Ge``, ``Li``, ``Mo`` (train and test) or ``Cu``, ``Ni`` (test
            only in the mirror).
        split: ``train`` (``training.json``) or ``test`` (``test.json``).

    Returns:
        Periodic records: ``targets["energy"]`` (eV per cell), ``targets["energy_per_atom"]``
        (eV/atom), ``labels["forces"]`` [n, 3] (eV/Å), ``labels["virial_stress"]`` [6]
        (kB, VASP order xx yy zz xy yz xz, positive = compressive); ``info`` has the
        upstream group (AIMD-NVT, Elastic, Surface, Vacancy) and description.
    """
    if element not in _MLEARN_ELEMENTS:
        raise DataError(f"mlearn: unknown element '{element}'; choose one of "
                        f"{', '.join(_MLEARN_ELEMENTS)}")
    fname = {"train": "training.json", "test": "test.json"}.get(split.lower())
    if fname is None:
        raise DataError(f"mlearn: unknown split '{split}'; choose 'train' or 'test'")
    entry = registry.get("mlearn")
    rel = f"data/{element}/{fname}"
    if rel not in {f.path for f in entry.files}:
        raise DataError(f"mlearn: the {element} training set is not available in the mirror "
                        "(only test.json); use split='test' or another element")
    with open(resolve(entry, rel), encoding="utf-8") as fh:
        docs = json.load(fh)
    records = []
    for k, doc in enumerate(docs):
        numbers, pos, cell = _structure_dict_arrays(doc["structure"], f"mlearn {rel}[{k}]")
        out = doc["outputs"]
        forces = np.array(out["forces"], dtype=np.float64).reshape(-1, 3)  # [n, 3]
        if len(forces) != len(numbers) or int(doc.get("num_atoms", len(numbers))) != len(numbers):
            raise DataError(f"mlearn {rel}[{k}]: atom counts disagree")
        energy = float(out["energy"])
        records.append(LabeledRecord(
            id=f"{element}/{split.lower()}:{k}", numbers=numbers, positions=pos, cell=cell,
            pbc=True, targets={"energy": energy, "energy_per_atom": energy / len(numbers)},
            labels={"forces": forces,
                    "virial_stress": np.array(out["virial_stress"], dtype=np.float64)},
            info={"group": doc.get("group", ""), "description": doc.get("description", ""),
                  "tag": doc.get("tag", "")},
        ))
    return LabeledDataset(f"mlearn/{element}/{split.lower()}", records, entry=entry, source=rel)


# ---------------------------------------------------------------------------------------------
# Materials Project DFPT phonons (ffonons)
# ---------------------------------------------------------------------------------------------
def _qpoint_labels(qpoints: np.ndarray, labels: Mapping[str, Sequence[float]]) -> list[str]:
    """High-symmetry label of each q-point ('' if none), matched in fractional coordinates."""
    out = [""] * len(qpoints)
    for name, frac in labels.items():
        hit = np.flatnonzero(np.abs(qpoints - np.asarray(frac)).max(axis=1) < 1e-5)
        for i in hit:
            out[i] = name
    return out


def load_mp_phonons(material_ids: Sequence[str] | None = None, *,
                    eigendisplacements: bool = False) -> LabeledDataset:
    """Materials Project DFPT phonon band structures (PBEsol), one record per document.

    Files are read one at a time and only compact arrays are kept, so memory stays at about
    one decompressed document (eigendisplacements are dropped unless asked for).

    Args:
        material_ids: Restrict to these ids (``"mp-149"``, matching every file of that id,
            or a full file stem such as ``"mp-23485-Ag2Hg1I4"``); None loads all 69.
        eigendisplacements: Also keep the complex eigendisplacements,
            ``labels["eigendisplacements"]`` [n_q, 3 n, n, 3] (memory heavy).

    Returns:
        Periodic records with ``labels``: ``qpoints`` [n_q, 3] (fractional reciprocal),
        ``frequencies`` [n_q, 3 n] (THz; row = q-point, column = branch),
        ``reciprocal_lattice`` [3, 3] (1/Å, with 2π), ``dos_frequencies`` and
        ``dos_densities`` [n_dos]; ``info`` has ``material_id``, ``formula``,
        ``qpoint_labels`` (one string per q-point, '' if none) and ``has_nac``.
        ``targets`` is empty.
    """
    entry = registry.get("mp_phonons")
    wanted = None if material_ids is None else set(material_ids)
    chosen = []
    for f in entry.files:
        stem = Path(f.path).name.removesuffix(".json.gz").removesuffix("-mp")
        mp_id = "-".join(stem.split("-")[:2])
        if wanted is None or stem in wanted or mp_id in wanted:
            chosen.append((f.path, stem, mp_id))
    if wanted is not None:
        found = {s for _, s, _ in chosen} | {m for _, _, m in chosen}
        missing = sorted(wanted - found)
        if missing:
            raise DataError(f"mp_phonons: no document for {missing}; ids are like 'mp-149'")
    records = []
    for rel, stem, mp_id in chosen:
        with gzip.open(resolve(entry, rel), "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        bs = doc["phonon_bandstructure"]
        numbers, pos, cell = _structure_dict_arrays(bs["structure"], rel)
        qpoints = np.array(bs["qpoints"], dtype=np.float64)  # [n_q, 3]
        freqs = np.array(bs["bands"], dtype=np.float64).T  # [n_q, 3 n]
        if freqs.shape != (len(qpoints), 3 * len(numbers)):
            raise DataError(f"{rel}: bands of shape {freqs.shape} for {len(numbers)} atoms")
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
        info = {"material_id": mp_id, "formula": stem.split("-", 2)[2],
                "qpoint_labels": _qpoint_labels(qpoints, bs["labels_dict"]),
                "has_nac": bool(bs.get("has_nac", False))}
        del doc, bs
        records.append(LabeledRecord(id=stem, numbers=numbers, positions=pos, cell=cell,
                                     pbc=True, labels=labels, info=info))
    return LabeledDataset("mp_phonons", records, entry=entry, source="data/mp/*.json.gz")


# ---------------------------------------------------------------------------------------------
# matcalc benchmark sets
# ---------------------------------------------------------------------------------------------
_MATCALC = {
    "elasticity": ("matcalc_elasticity", ("bulk_modulus_vrh", "shear_modulus_vrh")),
    "heat_capacity": ("matcalc_heat_capacity", ("heat_capacity",)),
}


def load_matcalc(name: str = "elasticity") -> LabeledDataset:
    """matcalc benchmark data: binary crystals with moduli or heat capacity.

    Args:
        name: ``elasticity`` (3953 MP structures; ``bulk_modulus_vrh``, ``shear_modulus_vrh``
            in GPa and their ``log10_`` versions) or ``heat_capacity`` (1170 Alexandria
            structures; ``heat_capacity`` at 300 K in J/(K mol) per mole of the given cell).

    Returns:
        Periodic records; ``info`` has ``material_id`` and ``formula``. A structure stored as
        a Python-literal string is parsed with :func:`ast.literal_eval` (never ``eval``);
        one stored as a JSON object is used directly. A non-positive modulus would get a NaN
        log10 target (with a warning); none occur in the pinned files.
    """
    if name not in _MATCALC:
        raise DataError(f"matcalc: unknown set '{name}'; choose one of {', '.join(_MATCALC)}")
    reg_name, keys = _MATCALC[name]
    entry = registry.get(reg_name)
    rel = entry.files[0].path
    with gzip.open(resolve(entry, rel), "rt", encoding="utf-8") as fh:
        docs = json.load(fh)
    records, n_bad = [], 0
    for k, doc in enumerate(docs):
        numbers, pos, cell = _structure_dict_arrays(doc["structure"], f"{rel}[{k}]")
        targets = {key: float(doc[key]) for key in keys}
        if name == "elasticity":
            for key in keys:
                v = targets[key]
                targets[f"log10_{key}"] = math.log10(v) if v > 0 else math.nan
                n_bad += not v > 0
        records.append(LabeledRecord(
            id=str(doc["mp_id"]), numbers=numbers, positions=pos, cell=cell, pbc=True,
            targets=targets, info={"material_id": str(doc["mp_id"]),
                                   "formula": str(doc.get("formula", ""))},
        ))
    if n_bad:
        warnings.warn(f"matcalc {name}: {n_bad} non-positive moduli; their log10 target is NaN",
                      stacklevel=2)
    return LabeledDataset(f"matcalc/{name}", records, entry=entry, source=rel)


# ---------------------------------------------------------------------------------------------
# perov_5 (CDVAE)
# ---------------------------------------------------------------------------------------------
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
    return np.array([va, vb, vc], dtype=np.float64)


_CIF_NUMBER = re.compile(r"^([-+]?[\d.]+(?:[eE][-+]?\d+)?)")


def _cif_float(token: str) -> float:
    m = _CIF_NUMBER.match(token)  # drops a standard uncertainty such as 4.03(2)
    if m is None:
        raise DataError(f"not a CIF number: {token!r}")
    return float(m.group(1))


def parse_p1_cif(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimal reader of the pymatgen-written P1 CIFs of perov_5 (no symmetry expansion).

    Args:
        text: CIF text with one data block, space group P 1, one ``_atom_site_`` loop.

    Returns:
        ``(numbers int64 [n], frac float64 [n, 3], cell float64 [3, 3] Å)``.

    Raises:
        DataError: not P 1, partial occupancy, or a missing field.
    """
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
    group = tags.get("_symmetry_space_group_name_H-M", tags.get("_space_group_name_H-M_alt"))
    if group is None or group.replace(" ", "") != "P1":
        raise DataError(f"only P 1 CIFs are read here, got space group {group!r}")
    try:
        cell = lattice_from_parameters(*(_cif_float(tags[f"_cell_{k}"]) for k in (
            "length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma")))
        col = {n: j for j, n in enumerate(loop_names)}
        frac = np.array([[_cif_float(r[col[f"_atom_site_fract_{x}"]]) for x in "xyz"]
                         for r in rows], dtype=np.float64).reshape(-1, 3)
        symbols = [r[col["_atom_site_type_symbol"]] for r in rows]
        occ = [_cif_float(r[col["_atom_site_occupancy"]]) if "_atom_site_occupancy" in col
               else 1.0 for r in rows]
    except (KeyError, IndexError) as exc:
        raise DataError(f"incomplete CIF: missing {exc}") from exc
    if any(abs(o - 1.0) > 1e-8 for o in occ):
        raise DataError("partial occupancy in CIF; only ordered structures load")
    numbers = np.array([_z_of(re.sub(r"[\d+-]+$", "", s)) for s in symbols], dtype=np.int64)
    return numbers, frac, cell


def load_perov_5(split: str = "val") -> LabeledDataset:
    """perov_5 cubic perovskites (CDVAE splits): CIF structures with formation heats and gaps.

    Args:
        split: ``val`` (3787) or ``test`` (3785); the training split is not in the mirror.

    Returns:
        Periodic 5-atom records; ``targets``: ``heat_all``, ``heat_ref`` (eV, CMR
        definitions), ``dir_gap``, ``ind_gap`` (GLLB-SC, eV); ``record.cif`` holds the
        upstream CIF text (``record.structure`` is built from the parsed arrays, which match
        pymatgen's reading of that CIF).
    """
    files = {"val": "data/perov_5/val.csv", "test": "data/perov_5/test.csv"}
    key = _choose(split, files, "perov_5 (the training split is not available here)")
    entry = registry.get("perov_5")
    text = resolve(entry, files[key]).read_text(encoding="utf-8")
    csv.field_size_limit(1 << 30)
    records = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        numbers, frac, cell = parse_p1_cif(row["cif"])
        records.append(LabeledRecord(
            id=str(row["material_id"]), numbers=numbers, positions=frac @ cell, cell=cell,
            pbc=True, targets={k: float(row[k]) for k in ("heat_all", "heat_ref", "dir_gap",
                                                          "ind_gap")},
            info={"formula": row["formula"], "material_id": str(row["material_id"])},
            cif=row["cif"],
        ))
    return LabeledDataset(f"perov_5/{key}", records, entry=entry, source=files[key])
