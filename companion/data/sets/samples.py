"""Small fixtures in ``data/``, cut from registered sets: ``ethanol_sample``, ``ean_sample``.

They let the potential, calculator and MD tests run on a fresh clone without
``COMPANION_DATA_DIRS``. ``scripts/build_fixtures.py`` makes them from the registered
upstream files (resolved as usual, so checksummed) and records what it took in each file's
``source``. Loading one gives the same :class:`~companion.data.records.LabeledDataset` as the
full set: the same record fields, ids, units, citation and (ethanol) isolated-atom energies;
only the within-file split differs, because it is drawn over the records present.

=====================  ===========================================================  ========
name                   content                                                      cut from
=====================  ===========================================================  ========
``ethanol_sample``     the first 50 configurations of ``dataset_ethanol/train.xyz``  ethanol
``ean_sample``         the first box (225 atoms) of ``validation_original.json``     ean
=====================  ===========================================================  ========

File format (``np.load(path, allow_pickle=False)``; no object arrays): ``id`` unicode [n];
``offsets`` int64 [n+1] (record ``i`` owns atoms ``offsets[i]:offsets[i+1]``); ``numbers``
uint8 [N]; ``positions`` float64 [N, 3] Å; ``cell`` float64 [n, 3, 3] Å; ``pbc`` bool [n];
``target__<name>`` float64 [n]; ``label__<name>`` float64 [N, ...] (per-atom labels);
``info__<key>`` [n] (scalar record info); ``dataset_info__<key>`` (data-set info arrays);
``atomic_energies`` float64 [k, 2] (Z, eV); ``name``, ``source`` unicode 0-d;
``split_seed``, ``format_version`` int64 0-d.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from companion.data.entry import DatasetEntry, choose_split
from companion.data.records import LabeledDataset, LabeledRecord, read_arrays
from companion.data.resolve import resolve
from companion.data.sets import ean, ethanol
from companion.errors import DataError

__all__ = ["EAN_SAMPLE", "ETHANOL_SAMPLE", "load_ean_sample", "load_ethanol_sample",
           "read_records_npz", "write_records_npz"]

FORMAT_VERSION = 1


def _per_record(records: list[LabeledRecord], what: str) -> dict[str, np.ndarray]:
    """``target__``, ``label__`` and ``info__`` arrays; every record must have the same keys."""
    first = records[0]
    out: dict[str, np.ndarray] = {}
    for r in records:
        if (set(r.targets), set(r.labels), set(r.info)) != (
                set(first.targets), set(first.labels), set(first.info)) or r.cif is not None:
            raise DataError(f"{what}: records differ in their fields; cannot store them")
    for k in first.targets:
        out[f"target__{k}"] = np.array([r.targets[k] for r in records], dtype=np.float64)
    for k in first.labels:
        arrays = [np.asarray(r.labels[k], dtype=np.float64) for r in records]
        if any(len(a) != r.n_atoms for a, r in zip(arrays, records, strict=True)):
            raise DataError(f"{what}: label '{k}' is not per atom; cannot store it")
        out[f"label__{k}"] = np.concatenate(arrays)
    for k in first.info:
        values = [r.info[k] for r in records]
        if not all(isinstance(v, str | int | float | bool) for v in values):
            raise DataError(f"{what}: info '{k}' is not a scalar; cannot store it")
        out[f"info__{k}"] = np.array(values)
    return out


def write_records_npz(path: str | Path, dataset: LabeledDataset, *, source: str) -> None:
    """Write a :class:`LabeledDataset` as a compressed ``.npz`` (format above), reproducibly.

    Every zip member gets the same fixed timestamp, so identical arrays give identical bytes.

    Args:
        path: Output file.
        dataset: The records to store (with their atomic energies and data-set info).
        source: What the records were cut from (upstream files, their sha256, which records).
    """
    records = list(dataset)
    n_atoms = np.array([r.n_atoms for r in records], dtype=np.int64)
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "name": np.array(dataset.name),
        "source": np.array(source),
        "split_seed": np.array(dataset.split_seed, dtype=np.int64),
        "id": np.array([r.id for r in records]),
        "offsets": np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64),
        "numbers": np.concatenate([r.numbers for r in records]).astype(np.uint8),
        "positions": np.concatenate([r.positions for r in records]).astype(np.float64),
        "cell": np.stack([r.cell for r in records]).astype(np.float64),
        "pbc": np.array([r.pbc for r in records], dtype=bool),
        "atomic_energies": np.array(sorted(dataset.atomic_energies.items()),
                                    dtype=np.float64).reshape(-1, 2),
        **_per_record(records, dataset.name),
    }
    for k, v in dataset.info.items():
        arrays[f"dataset_info__{k}"] = np.asarray(v)
    if any(a.dtype.hasobject for a in arrays.values()):
        raise DataError(f"{dataset.name}: an array would need pickling")
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)
    tmp.replace(path)


def read_records_npz(path: str | Path) -> dict[str, Any]:
    """Read a file of :func:`write_records_npz`.

    Returns:
        ``records`` (list of :class:`LabeledRecord`), ``atomic_energies`` (Z -> eV),
        ``info`` (data-set info arrays), ``name``, ``source``, ``split_seed``.

    Raises:
        DataError: unreadable file or another format version.
    """
    a = read_arrays(path, FORMAT_VERSION)
    off = a["offsets"]
    records = []
    for i, rid in enumerate(a["id"].tolist()):
        s = slice(int(off[i]), int(off[i + 1]))
        records.append(LabeledRecord(
            id=rid,
            numbers=a["numbers"][s].astype(np.int64),  # [n]
            positions=a["positions"][s].copy(),  # [n, 3]
            cell=a["cell"][i].copy(),  # [3, 3]
            pbc=bool(a["pbc"][i]),
            targets={k.removeprefix("target__"): float(v[i]) for k, v in a.items()
                     if k.startswith("target__")},
            labels={k.removeprefix("label__"): v[s].copy() for k, v in a.items()
                    if k.startswith("label__")},
            info={k.removeprefix("info__"): v[i].item() for k, v in a.items()
                  if k.startswith("info__")},
        ))
    return {
        "records": records,
        "atomic_energies": {int(z): float(e) for z, e in a["atomic_energies"]},
        "info": {k.removeprefix("dataset_info__"): v for k, v in a.items()
                 if k.startswith("dataset_info__")},
        "name": str(a["name"]),
        "source": str(a["source"]),
        "split_seed": int(a["split_seed"]),
    }


def _load(entry: DatasetEntry, split: str) -> LabeledDataset:
    fname = entry.files[0]
    d = read_records_npz(resolve(entry, fname))
    return LabeledDataset(f"{entry.name}/{split}", d["records"], entry=entry, source=fname,
                          atomic_energies=d["atomic_energies"], info=d["info"],
                          split_seed=d["split_seed"])


def load_ethanol_sample(split: str = "train") -> LabeledDataset:
    """50 ethanol configurations (the first of ``dataset_ethanol/train.xyz``), from ``data/``.

    Args:
        split: ``train`` only (the sample has no test file).

    Returns:
        Like ``load_ethanol("train")`` restricted to its first 50 records: non-periodic,
        ``targets["energy"]`` (eV), ``labels["forces"]`` [9, 3] (eV/Å), ``info`` from the
        XYZ header, ``atomic_energies`` from ``isolated_atoms.xyz`` (eV).
    """
    return _load(ETHANOL_SAMPLE, choose_split(split, {"train": ""}, "ethanol_sample"))


def load_ean_sample() -> LabeledDataset:
    """One EAN box (225 atoms; the first configuration of the validation file), from ``data/``.

    Returns:
        Like ``load_ean()`` restricted to its first record: periodic, ``targets["energy"]``
        (eV per box), ``labels["forces"]`` [225, 3] (eV/Å), cubic ``cell`` (Å); ``info``
        holds the residue of every atom and the formal charges.
    """
    return _load(EAN_SAMPLE, "validation")


ETHANOL_SAMPLE = DatasetEntry(
    name="ethanol_sample",
    load=load_ethanol_sample,
    description=("Test fixture: the first 50 configurations of the ethanol training set "
                 "(energies and forces) with the isolated-atom energies. " +
                 ethanol.ENTRY.description),
    files=("ethanol_sample.npz",),
    license=ethanol.ENTRY.license,
    citation=ethanol.ENTRY.citation,
    units=ethanol.ENTRY.units,
    source=(f"configurations 0-49 of dataset_ethanol/train.xyz and dataset_ethanol/"
            f"isolated_atoms.xyz of {ethanol.ENTRY.repo}@{ethanol.ENTRY.commit}, converted by "
            "scripts/build_fixtures.py"),
)

EAN_SAMPLE = DatasetEntry(
    name="ean_sample",
    load=load_ean_sample,
    description="Test fixture: one 225-atom box of the EAN set. " + ean.ENTRY.description,
    files=("ean_sample.npz",),
    license=ean.ENTRY.license,
    citation=ean.ENTRY.citation,
    units=ean.ENTRY.units,
    source=(f"configuration 0 (line 1) of {ean.VALIDATION} with the species of {ean.GRO}, "
            f"{ean.ENTRY.repo}@{ean.ENTRY.commit}, converted by scripts/build_fixtures.py"),
)
