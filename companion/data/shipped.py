"""The data sets shipped in ``data/`` as compressed arrays, and their loader.

Three Materials Project sets converted from the ``matminer==0.3.9`` source distribution by
``scripts/build_shipped_data.py`` (provenance, licenses and citations: ``data/README.md``):

=================  =======  =========================================================
name               records  targets (units)
=================  =======  =========================================================
``mp_eform``       3938     formation_energy_per_atom, e_above_hull (eV/atom)
``mp_dielectric``  1056     band_gap (eV), n, poly_electronic, poly_total (dimensionless)
``mp_elastic``     1181     K_VRH, G_VRH (GPa); log10_K_VRH, log10_G_VRH (log10 GPa)
=================  =======  =========================================================

Each file holds, per record, the material id, reduced formula, atomic numbers, fractional
coordinates and lattice (rows = lattice vectors, Å), the targets, and a stored 80/10/10
train/val/test split (seeded permutation, seed 0). Atoms of all records are concatenated;
record ``i`` owns atoms ``offsets[i]:offsets[i + 1]``. The loader checks each file's sha256
against ``companion/data/registry.txt`` and the split against its stored hash.

Example:
    >>> from companion.data import load
    >>> ds = load("mp_eform")
    >>> z, pos, cell = ds.arrays(0)          # fast path, no pymatgen: [n], [n, 3] Å, [3, 3] Å
    >>> ds[0].structure                      # pymatgen Structure, built on access
    >>> y = ds.target("formation_energy_per_atom")[ds.split["train"]]   # eV/atom
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from companion.data.records import SPLIT_NAMES, read_arrays, split_hash, split_indices
from companion.data.resolve import REGISTRY, checksum, repo_data_dir, sha256_file
from companion.errors import DataError

if TYPE_CHECKING:
    from ase import Atoms
    from pymatgen.core import Structure

__all__ = [
    "SHIPPED",
    "SPLIT_NAMES",
    "CrystalDataset",
    "CrystalRecord",
    "load_shipped",
    "split_hash",
    "split_indices",
]

SHIPPED = ("mp_eform", "mp_dielectric", "mp_elastic")
FORMAT_VERSION = 1
_META_KEYS = ("description", "citation", "upstream_reference", "source", "license")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


class CrystalRecord:
    """One crystal of a :class:`CrystalDataset` (a light view; pymatgen/ASE built on access).

    Attributes:
        index: Position in the dataset.
    """

    def __init__(self, dataset: CrystalDataset, index: int) -> None:
        self._ds = dataset
        self.index = index

    @property
    def material_id(self) -> str:
        """Materials Project id, e.g. ``"mp-10"``."""
        return str(self._ds.material_ids[self.index])

    @property
    def formula(self) -> str:
        """Reduced formula, e.g. ``"As"``."""
        return str(self._ds.formulas[self.index])

    @property
    def targets(self) -> dict[str, float]:
        """Target name -> value (units in ``dataset.units``)."""
        return {k: float(v[self.index]) for k, v in self._ds._targets.items()}

    @property
    def split(self) -> str:
        """``"train"``, ``"val"`` or ``"test"``."""
        return SPLIT_NAMES[int(self._ds._split_codes[self.index])]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(z [n] int64, pos [n, 3] Å, cell [3, 3] Å)``, see ``CrystalDataset.arrays``."""
        return self._ds.arrays(self.index)

    @functools.cached_property
    def structure(self) -> Structure:
        """pymatgen ``Structure`` (built on first access)."""
        from pymatgen.core import Lattice, Structure

        ds, i = self._ds, self.index
        sl = slice(ds._offsets[i], ds._offsets[i + 1])
        return Structure(Lattice(ds._lattice[i]), ds._z[sl].tolist(), ds._frac[sl],
                         coords_are_cartesian=False)

    @functools.cached_property
    def atoms(self) -> Atoms:
        """ASE ``Atoms`` (periodic; ``info`` holds material_id, formula and the targets)."""
        from ase import Atoms

        z, pos, cell = self.arrays()
        info: dict[str, Any] = {"material_id": self.material_id, "formula": self.formula}
        info.update(self.targets)
        return Atoms(numbers=z, positions=pos, cell=cell, pbc=True, info=info)

    def __repr__(self) -> str:
        t = ", ".join(f"{k}={v:.6g}" for k, v in self.targets.items())
        n = int(self._ds._n_atoms[self.index])
        return f"CrystalRecord({self.material_id}, {self.formula}, {n} atoms, {t})"


class CrystalDataset(Sequence[CrystalRecord]):
    """Crystals with targets, backed by flat arrays (see the module docstring for the layout).

    Attributes:
        name: Data set name, e.g. ``"mp_eform"``.
        units: Target name -> unit string.
        citation: Full citation text (the data set's paper and the Materials Project).
        description: One-line description.
        license: License of the data.
        source: Where the file was converted from (PyPI sdist and its sha256).
        split_seed: Seed of the permutation that made the split.
        source_indices: Index of each record in the shipped file (differs after ``subset``).
        pbc: Always True (periodic crystals).
    """

    pbc = True

    def __init__(
        self,
        name: str,
        arrays: Mapping[str, np.ndarray],
        source_indices: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.material_ids = _readonly(np.asarray(arrays["material_id"]))
        self.formulas = _readonly(np.asarray(arrays["formula"]))
        self._n_atoms = _readonly(np.asarray(arrays["n_atoms"], dtype=np.int32))
        self._offsets = _readonly(np.asarray(arrays["offsets"], dtype=np.int64))
        self._z = _readonly(np.asarray(arrays["z"], dtype=np.uint8))
        self._frac = _readonly(np.asarray(arrays["frac"], dtype=np.float64))
        self._lattice = _readonly(np.asarray(arrays["lattice"], dtype=np.float64))
        names = [str(t) for t in arrays["target_names"]]
        units = [str(u) for u in arrays["target_units"]]
        self._targets = {t: _readonly(np.asarray(arrays[t], dtype=np.float64)) for t in names}
        self.units = dict(zip(names, units, strict=True))
        self._split_codes = _readonly(np.asarray(arrays["split"], dtype=np.int8))
        self.split_seed = int(arrays["split_seed"])
        for key in _META_KEYS:
            setattr(self, key, str(arrays[key]) if key in arrays else "")
        self._meta = {k: arrays[k] for k in ("target_names", "target_units", "split_seed",
                                             *_META_KEYS) if k in arrays}
        n = len(self.material_ids)
        if source_indices is None:
            source_indices = np.arange(n, dtype=np.int64)
        self.source_indices = _readonly(np.asarray(source_indices, dtype=np.int64))
        if not (len(self._offsets) == n + 1 and self._offsets[-1] == len(self._z)
                and len(self._lattice) == n and len(self._split_codes) == n):
            raise DataError(f"{name}: inconsistent array lengths")
        self._split = {k: _readonly(v) for k, v in split_indices(self._split_codes).items()}
        self._split_hash = split_hash(self._split)

    # -- sequence protocol -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.material_ids)

    def __getitem__(self, i: int) -> CrystalRecord:  # type: ignore[override]
        if not isinstance(i, int | np.integer):
            raise TypeError(f"index with an int; use dataset.subset(indices) for {type(i)}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} records")
        return CrystalRecord(self, int(i) % n)

    def __iter__(self) -> Iterator[CrystalRecord]:
        return (CrystalRecord(self, i) for i in range(len(self)))

    # -- arrays ------------------------------------------------------------------------
    @property
    def target_names(self) -> list[str]:
        """Names of the targets, in file order."""
        return list(self._targets)

    def target(self, name: str) -> np.ndarray:
        """All values of one target (read-only float64 array [n_records]).

        Raises:
            DataError: unknown target (the message lists the available ones).
        """
        try:
            return self._targets[name]
        except KeyError:
            raise DataError(
                f"{self.name} has no target '{name}'; targets: {', '.join(self._targets)}"
            ) from None

    @property
    def n_atoms(self) -> np.ndarray:
        """Number of atoms per record (int32 [n_records])."""
        return self._n_atoms

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fast path for graph construction; builds no pymatgen or ASE object.

        Args:
            i: Record index.

        Returns:
            ``z`` atomic numbers, int64 [n]; ``pos`` Cartesian positions, float64 [n, 3] Å
            (``frac @ cell``); ``cell`` lattice vectors as rows, float64 [3, 3] Å.
        """
        i = range(len(self))[i]  # bounds check and negative indices
        sl = slice(self._offsets[i], self._offsets[i + 1])
        cell = self._lattice[i].copy()  # [3, 3]
        z = self._z[sl].astype(np.int64)  # [n]
        pos = self._frac[sl] @ cell  # [n, 3]
        return z, pos, cell

    # -- split ---------------------------------------------------------------------------
    @property
    def split(self) -> dict[str, np.ndarray]:
        """Stored split: ``{"train", "val", "test"}`` -> ascending int64 index arrays."""
        return dict(self._split)

    @property
    def split_hash(self) -> str:
        """sha256 of the split indices (:func:`split_hash`); record it with a checkpoint."""
        return self._split_hash

    # -- subsets -----------------------------------------------------------------------------
    def subset(self, indices: Sequence[int] | np.ndarray) -> CrystalDataset:
        """A new dataset with the given records, in the given order.

        Args:
            indices: Integer indices, or a boolean mask of length ``len(self)``.

        Returns:
            A :class:`CrystalDataset`; each record keeps its split label, so ``split`` of the
            subset indexes the subset; ``source_indices`` maps back to the shipped file.
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise IndexError(f"boolean mask of shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"subset indices out of range for {len(self)} records")
        idx = idx % max(len(self), 1)
        counts = self._n_atoms[idx]  # [m]
        offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])  # [m + 1]
        atom = (np.repeat(self._offsets[idx] - offsets[:-1], counts)
                + np.arange(offsets[-1], dtype=np.int64))  # [n_atoms_subset]
        arrays: dict[str, Any] = dict(self._meta)
        arrays.update(
            material_id=self.material_ids[idx], formula=self.formulas[idx], n_atoms=counts,
            offsets=offsets, z=self._z[atom], frac=self._frac[atom],
            lattice=self._lattice[idx], split=self._split_codes[idx],
        )
        arrays.update({t: v[idx] for t, v in self._targets.items()})
        return CrystalDataset(self.name, arrays, source_indices=self.source_indices[idx])

    def __repr__(self) -> str:
        n = self._n_atoms
        sizes = f"{n.min()}-{n.max()} atoms" if len(n) else "empty"
        tgt = ", ".join(f"{k} [{u}]" for k, u in self.units.items())
        counts = "/".join(str(len(self._split[s])) for s in SPLIT_NAMES)
        return (f"CrystalDataset('{self.name}': {len(self)} crystals, {sizes}; targets {tgt}; "
                f"split train/val/test {counts} (seed {self.split_seed}, "
                f"sha256 {self._split_hash[:12]}))")


def load_shipped(name: str, *, directory: str | Path | None = None) -> CrystalDataset:
    """Load a shipped data set, verifying its checksum and stored split.

    Args:
        name: One of :data:`SHIPPED`.
        directory: Folder to read ``<name>.npz`` from (default: the repository's ``data/``).
            The file is always checked against the checksum registry
            (``companion/data/registry.txt``).

    Returns:
        The :class:`CrystalDataset`.

    Raises:
        DataError: unknown name, missing file, checksum mismatch, or a corrupt split.
    """
    if name not in SHIPPED:
        raise DataError(f"unknown shipped data set '{name}'; available: {', '.join(SHIPPED)}")
    folder = Path(directory) if directory is not None else repo_data_dir()
    path = folder / f"{name}.npz"
    if not path.is_file():
        raise DataError(f"{path} is missing; rebuild it with `make data` "
                        "(scripts/build_shipped_data.py)")
    expected = checksum(path.name)
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"refusing {path}: sha256 {actual} does not match {expected} from "
            f"{REGISTRY}; the file is corrupt or was changed. "
            "Restore it (git checkout data/) or rebuild it with `make data`."
        )
    arrays = read_arrays(path, FORMAT_VERSION)
    ds = CrystalDataset(name, arrays)
    if ds.split_hash != str(arrays["split_sha256"]):
        raise DataError(f"{path}: split does not match its stored sha256")
    return ds
