"""Record, data set and split types of the labelled (external) data sets.

A :class:`LabeledDataset` is a sequence of :class:`LabeledRecord`: plain arrays (atomic
numbers, Cartesian positions in Å, cell in Å), scalar ``targets``, array ``labels`` (forces,
stresses, phonon bands) and ``units`` for every label. ``record.atoms`` gives an ASE
``Atoms`` (energy/forces/stress on a ``SinglePointCalculator``) and ``record.structure`` a
pymatgen ``Structure`` (``Molecule`` for non-periodic records); both are built on each
access, and neither ASE nor pymatgen is imported before that.

Splits: every data set has a deterministic within-file ``split`` (80/10/10 train/val/test).
A record goes to a part by the rank of ``sha256("<seed>:<record id>")``, so the split
depends on neither numpy's RNG nor the file order, and ``split_hash`` identifies it (see
:func:`hashed_split`). The split helpers :func:`split_indices` and :func:`split_hash` are
shared with the shipped sets (:mod:`companion.data.shipped`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.errors import DataError

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Molecule, Structure

    from companion.data.entry import DatasetEntry

__all__ = [
    "SPLIT_NAMES",
    "LabeledDataset",
    "LabeledRecord",
    "read_arrays",
    "hashed_split",
    "mlearn_stress_to_ase",
    "split_hash",
    "split_indices",
]

SPLIT_NAMES = ("train", "val", "test")  # split codes 0, 1, 2
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
KBAR_TO_GPA = 0.1  # 1 kB = 0.1 GPa


def split_indices(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Turn per-record split codes (0 train, 1 val, 2 test) into sorted index arrays.

    Args:
        codes: Integer split code per record, shape [n_records].

    Returns:
        ``{"train": idx, "val": idx, "test": idx}``, each an int64 array, ascending.
    """
    codes = np.asarray(codes)
    return {name: np.flatnonzero(codes == k).astype(np.int64) for k, name in
            enumerate(SPLIT_NAMES)}


def split_hash(split: Mapping[str, np.ndarray]) -> str:
    """sha256 identifying a split, to record next to a trained model.

    The hash covers, for ``train``, ``val`` and ``test`` in this order, the name, the count
    and the indices as little-endian int64.

    Args:
        split: ``{"train", "val", "test"}`` -> index arrays.

    Returns:
        64-character hex digest.
    """
    h = hashlib.sha256()
    for name in SPLIT_NAMES:
        idx = np.asarray(split[name], dtype="<i8")
        h.update(f"{name}:{idx.size}:".encode())
        h.update(idx.tobytes())
    return h.hexdigest()


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
        entry: DatasetEntry,
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


def read_arrays(path: str | Path, format_version: int) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file written by this package (no pickles), after checking
    its ``format_version``.

    Raises:
        DataError: unreadable file, or another format version.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if int(arrays.get("format_version", -1)) != format_version:
        raise DataError(f"{path}: format version {arrays.get('format_version')}, "
                        f"expected {format_version}")
    return arrays
