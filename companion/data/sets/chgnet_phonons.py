"""CHGNet phonons, not DFT: phonon bands labelled by the universal potential CHGNet.

Two files shipped in ``data/``, made by ``scripts/build_phonon_teacher.py`` (provenance,
settings, versions, counts and the teacher's error against DFPT: ``data/README.md``):

==========================  =================================================================
``chgnet_phonons``          training set: crystals of ``mp_eform``, ``mp_dielectric`` and
                            ``mp_elastic`` (<= 10 atoms per cell), never one of the 69 DFPT
                            materials (by mp id or reduced formula), relaxed with CHGNet,
                            bands on the seekpath path of the relaxed cell
``chgnet_phonons_dfpt69``   the same pipeline on the 69 ``mp_phonons`` cells, bands at each
                            record's own DFPT q-points: the teacher's own error against DFPT
==========================  =================================================================

These are model labels (CHGNet 0.4.2 + phonopy finite displacements), **not DFT**: CHGNet
softens phonons (its maximum frequencies are typically lower than DFPT's); evaluate models
against ``mp_phonons``.

File format (``np.load(path, allow_pickle=False)``; no object arrays): material ``i`` owns
the atoms ``offsets[i]:offsets[i+1]`` of ``numbers`` uint8 [N] and ``positions`` float64
[N, 3] Å (relaxed); ``cell`` [n, 3, 3] Å (relaxed, rows); its q-points
``q_offsets[i]:q_offsets[i+1]`` of ``qpoints`` [Q, 3] (reduced) and ``qpoint_labels``
unicode [Q]; its frequencies ``frequencies[f_offsets[i]:f_offsets[i+1]]`` (float32) reshaped
to [n_q, 3 n_atoms] (THz, ascending per row). Per material: ``id``, ``source_set``,
``formula`` (unicode), ``imaginary`` (bool, ``min_frequency < -0.3`` THz), ``min_frequency``
(THz), ``relax_steps``, ``relax_converged``, ``energy`` (CHGNet, eV per cell), ``seconds``,
``supercell`` int [n, 3], ``split`` int8 (0 train, 1 val, -1 flagged imaginary: in no part).
Also ``metadata_json`` (versions, settings, command, date, failures), ``description``,
``split_seed`` and ``format_version``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from companion.data.entry import DatasetEntry
from companion.data.records import SPLIT_NAMES, LabeledDataset, LabeledRecord, read_arrays
from companion.data.resolve import resolve
from companion.errors import DataError

__all__ = ["DFPT69", "ENTRY", "NOT_DFT", "load_chgnet_phonons", "load_chgnet_phonons_dfpt69",
           "metadata"]

FORMAT_VERSION = 1
NOT_DFT = "CHGNet phonons, not DFT"


def _arrays(entry: DatasetEntry) -> dict[str, np.ndarray]:
    """The checksum-verified arrays of the entry's file."""
    return read_arrays(resolve(entry, entry.files[0]), FORMAT_VERSION)


def metadata(which: str = "train") -> dict[str, Any]:
    """The build metadata (versions, settings, command, date, failures) of a file.

    Args:
        which: ``"train"`` (``chgnet_phonons.npz``) or ``"dfpt69"``.
    """
    entry = {"train": ENTRY, "dfpt69": DFPT69}.get(which)
    if entry is None:
        raise DataError(f"unknown file '{which}'; choose 'train' or 'dfpt69'")
    return json.loads(str(_arrays(entry)["metadata_json"]))


def _record(a: dict[str, np.ndarray], i: int) -> LabeledRecord:
    """Material ``i`` as a record shaped like an ``mp_phonons`` record."""
    s = slice(int(a["offsets"][i]), int(a["offsets"][i + 1]))
    qs = slice(int(a["q_offsets"][i]), int(a["q_offsets"][i + 1]))
    fs = slice(int(a["f_offsets"][i]), int(a["f_offsets"][i + 1]))
    numbers = a["numbers"][s].astype(np.int64)  # [n]
    cell = a["cell"][i].copy()  # [3, 3] Å
    n_q = qs.stop - qs.start
    freq = a["frequencies"][fs].astype(np.float64).reshape(n_q, 3 * len(numbers))  # [n_q, 3n]
    labels = {"qpoints": a["qpoints"][qs].copy(),  # [n_q, 3] reduced
              "frequencies": freq.copy(),
              "reciprocal_lattice": 2 * np.pi * np.linalg.inv(cell).T}  # [3, 3] 1/Å
    info = {"material_id": "-".join(str(a["id"][i]).split("-")[:2]),  # "mp-149-Si2" -> mp-149
            "formula": str(a["formula"][i]),
            "qpoint_labels": [str(x) for x in a["qpoint_labels"][qs]],
            "source": NOT_DFT, "source_set": str(a["source_set"][i]),
            "imaginary": bool(a["imaginary"][i]),
            "min_frequency": float(a["min_frequency"][i]),
            "chgnet_energy": float(a["energy"][i]),
            "relax_steps": int(a["relax_steps"][i]),
            "relax_converged": bool(a["relax_converged"][i]),
            "supercell": a["supercell"][i].tolist()}
    return LabeledRecord(id=str(a["id"][i]), numbers=numbers,
                         positions=a["positions"][s].copy(), cell=cell, pbc=True,
                         labels=labels, info=info)


def load_chgnet_phonons(include_imaginary: bool = False,
                        split: str | None = None) -> LabeledDataset:
    """CHGNet phonons, not DFT: the model-labelled phonon training set (``data/``).

    Args:
        include_imaginary: Also return materials flagged imaginary (min frequency < -0.3
            THz); they belong to no split part.
        split: None (all), ``"dfpt"`` (the test set of this training set: the 69 DFPT
            materials of ``mp_phonons``, real DFT, never in the teacher set; what
            ``python -m companion train --data chgnet_phonons`` evaluates on), or
            ``"train"`` or ``"val"`` (the stored seeded 90/10 split over the
            non-imaginary materials).

    Returns:
        Periodic records like ``mp_phonons``: ``labels`` ``qpoints`` [n_q, 3] (reduced
        coordinates of the relaxed cell), ``frequencies`` [n_q, 3n] (THz, ascending per row),
        ``reciprocal_lattice`` [3, 3] (1/Å, with 2π); ``info`` ``material_id``, ``formula``,
        ``qpoint_labels``, ``source`` (``"CHGNet phonons, not DFT"``), ``source_set``,
        ``imaginary``, ``min_frequency``, ``chgnet_energy`` (eV/cell), relaxation details.
        Positions and cell are CHGNet-relaxed. ``split`` of the data set is the stored one.

    Raises:
        DataError: unknown split, or a missing/corrupt file (rebuild with the script).
    """
    if split == "dfpt":
        from companion.data.sets.mp_phonons import load_mp_phonons

        return load_mp_phonons()
    if split is not None and split not in SPLIT_NAMES[:2]:
        raise DataError(f"chgnet_phonons: unknown split '{split}'; choose 'train', 'val', "
                        "'dfpt' or None (all)")
    a = _arrays(ENTRY)
    codes = a["split"].astype(np.int8)  # [n] 0 train, 1 val, -1 imaginary
    keep = np.ones(len(codes), dtype=bool) if include_imaginary else ~a["imaginary"]
    if split is not None:
        keep &= codes == SPLIT_NAMES.index(split)
    idx = np.flatnonzero(keep)
    name = "chgnet_phonons" + (f"/{split}" if split else "")
    return LabeledDataset(name, [_record(a, int(i)) for i in idx], entry=ENTRY,
                          source=ENTRY.files[0], split_seed=int(a["split_seed"]),
                          split_codes=codes[idx], info={"description": NOT_DFT})


def load_chgnet_phonons_dfpt69() -> LabeledDataset:
    """CHGNet phonons, not DFT, on the 69 ``mp_phonons`` cells at their own DFPT q-points.

    Returns:
        One record per ``mp_phonons`` record (same ``id``, e.g. ``"mp-149-Si2"``, same
        q-points and branch count), CHGNet-relaxed structure; every record is in ``test``.
        Compare with :func:`companion.data.teacher.teacher_error`.
    """
    a = _arrays(DFPT69)
    n = len(a["id"])
    return LabeledDataset("chgnet_phonons_dfpt69", [_record(a, i) for i in range(n)],
                          entry=DFPT69, source=DFPT69.files[0], split_seed=0,
                          split_codes=np.full(n, SPLIT_NAMES.index("test"), dtype=np.int8),
                          info={"description": NOT_DFT})


_UNITS = {"frequencies": "THz (CHGNet phonons, not DFT)",
          "qpoints": "fractional coordinates of the reciprocal lattice",
          "reciprocal_lattice": "1/Å (includes 2π)", "positions": "Å",
          "chgnet_energy": "eV per cell"}
_CITATION = ("B. Deng, P. Zhong, K. Jun, J. Riebesell, K. Han, C. J. Bartel, G. Ceder, "
             "'CHGNet as a pretrained universal neural network potential for charge-informed "
             "atomistic modelling', Nat. Mach. Intell. 5, 1031 (2023); A. Togo, L. Chaput, "
             "T. Tadano, I. Tanaka, 'Implementation strategies in phonopy and phono3py', "
             "J. Phys.: Condens. Matter 35, 353001 (2023); structures from A. Jain et al., "
             "APL Mater. 1, 011002 (2013) via matminer")
_LICENSE = "CC BY 4.0 (derived from Materials Project structures); CHGNet model BSD-3-Clause"

ENTRY = DatasetEntry(
    name="chgnet_phonons",
    load=load_chgnet_phonons,
    test_split="dfpt",
    description=(f"{NOT_DFT}: phonon band structures labelled by the universal potential "
                 "CHGNet 0.4.2 (CHGNet relaxation with symmetry kept, phonopy 0.01 Å finite "
                 "displacements on >= 10 Å supercells) for crystals of <= 10 atoms from the "
                 "shipped mp_eform / mp_dielectric / mp_elastic sets, excluding the 69 DFPT "
                 "materials of mp_phonons (by id and formula). A training set for CPU "
                 "models; model labels, not DFT."),
    files=("chgnet_phonons.npz",),
    license=_LICENSE,
    citation=_CITATION,
    units=_UNITS,
    source=("scripts/build_phonon_teacher.py from data/mp_eform.npz, mp_dielectric.npz, "
            "mp_elastic.npz (CHGNet 0.4.2, phonopy 4.10.0)"),
)

DFPT69 = DatasetEntry(
    name="chgnet_phonons_dfpt69",
    load=load_chgnet_phonons_dfpt69,
    description=(f"{NOT_DFT}: the CHGNet-teacher pipeline on the 69 mp_phonons cells, bands at "
                 "their own DFPT q-points, to measure the teacher's error against DFPT. Model "
                 "labels, not DFT."),
    files=("chgnet_phonons_dfpt69.npz",),
    license=_LICENSE,
    citation=_CITATION,
    units=_UNITS,
    source=("scripts/build_phonon_teacher.py --dfpt from the janosh/ffonons mp_phonons "
            "documents (CHGNet 0.4.2, phonopy 4.10.0)"),
)
