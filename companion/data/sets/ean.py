"""EAN (ethylammonium nitrate) ionic liquid, the NeuralIL data set: 225-atom DFT boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from companion.data.entry import DatasetEntry
from companion.data.parsers import atomic_number, read_gro_topology, read_neuralil_json
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.resolve import resolve
from companion.errors import DataError

__all__ = ["ENTRY", "check_geometry", "check_topology", "load_ean"]

GRO = "auxiliary_files/EAN_md_initial.gro"
VALIDATION = "data_sets/EAN/validation_original.json"
RESIDUES = {"EA": ("NHHHCHHCHHH", +1), "NO3R": ("NOOO", -1)}  # elements, formal charge
N_ATOMS = 225
BOND_MAX = 1.7  # Å: an H or O farther than this from its residue's N/C means a wrong order


def check_topology(top: dict[str, np.ndarray]) -> np.ndarray:
    """Verify 15 EA + 15 NO3 with the documented atom order.

    Args:
        top: :func:`~companion.data.parsers.read_gro_topology` of ``EAN_md_initial.gro``.

    Returns:
        Formal charge per atom, float64 [225] (+1 / -1 on each ion's first atom).

    Raises:
        DataError: wrong atom count, residue content, or ion count.
    """
    if len(top["element"]) != N_ATOMS:
        raise DataError(f"EAN topology has {len(top['element'])} atoms, expected {N_ATOMS}")
    charges = np.zeros(N_ATOMS)
    counts = {"EA": 0, "NO3R": 0}
    for rid in np.unique(top["residue_id"]):
        sel = np.flatnonzero(top["residue_id"] == rid)
        rname = str(top["residue_name"][sel[0]])
        if rname not in RESIDUES or "".join(top["element"][sel]) != RESIDUES[rname][0]:
            raise DataError(f"EAN residue {rid} ({rname}): unexpected atoms "
                            f"{''.join(top['element'][sel])}")
        counts[rname] += 1
        charges[sel[0]] = RESIDUES[rname][1]  # formal charge on the residue's first atom
    if counts != {"EA": 15, "NO3R": 15} or charges.sum() != 0:
        raise DataError(f"EAN: expected 15 cations + 15 anions (neutral box), got {counts}")
    return charges


def check_geometry(pos: np.ndarray, box: np.ndarray, top: dict[str, np.ndarray],
                   where: str) -> None:
    """Each H / O must sit within 1.7 Å of an N or C of its own residue (minimum image).

    Args:
        pos: Positions, [225, 3] Å.
        box: Cubic/orthorhombic box lengths, [3] Å.
        top: ``element`` and ``residue_id`` per atom.
        where: Configuration name for the error message.

    Raises:
        DataError: an atom is not bonded within its residue (a wrong species order).
    """
    el, rid = top["element"], top["residue_id"]
    heavy = np.flatnonzero(np.isin(el, ["N", "C"]))
    light = np.flatnonzero(np.isin(el, ["H", "O"]))
    d = pos[light][:, None, :] - pos[heavy][None, :, :]  # [n_light, n_heavy, 3]
    d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=-1)  # [n_light, n_heavy]
    nearest = r.argmin(axis=1)
    ok = (rid[heavy[nearest]] == rid[light]) & (r.min(axis=1) < BOND_MAX)
    if not ok.all():
        bad = light[~ok][:5]
        raise DataError(f"{where}: atoms {bad.tolist()} are not bonded within their residue; "
                        "the species order from EAN_md_initial.gro does not fit the positions")


def read_ean(gro: Path, validation: Path) -> tuple[list[LabeledRecord], dict[str, np.ndarray]]:
    """Checked records and per-atom topology of the EAN files (see :func:`load_ean`)."""
    top = read_gro_topology(gro)
    formal = check_topology(top)
    numbers = np.array([atomic_number(str(e)) for e in top["element"]], dtype=np.int64)
    records = []
    for conf in read_neuralil_json(validation):
        where = f"EAN line {conf['line']}"
        pos, forces = conf["positions"], conf["forces"]
        if conf["natoms"] != N_ATOMS or pos.shape != (N_ATOMS, 3) or \
                forces.shape != (N_ATOMS, 3):
            raise DataError(f"{where}: expected {N_ATOMS} atoms")
        if abs(conf["net_charge"]) > 1e-6:
            raise DataError(f"{where}: net charge {conf['net_charge']}")
        check_geometry(pos, conf["box"], top, where)
        records.append(LabeledRecord(
            id=f"validation:{conf['line'] - 1}",  # 0-based line of the file
            numbers=numbers, positions=pos, cell=np.diag(conf["box"]), pbc=True,
            targets={"energy": conf["energy"]}, labels={"forces": forces},
            info={"date": conf["date"]},
        ))
    info = {"residue_id": top["residue_id"], "residue_name": top["residue_name"],
            "atom_name": top["atom_name"], "formal_charge": formal}
    return records, info


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
    records, info = read_ean(resolve(ENTRY, GRO), resolve(ENTRY, VALIDATION))
    return LabeledDataset("ean/validation", records, entry=ENTRY, source=VALIDATION, info=info)


ENTRY = DatasetEntry(
    name="ean",
    load=load_ean,
    description=(
        "EAN (ethylammonium nitrate) ionic liquid, the NeuralIL / JAT data set: 75 DFT "
        "configurations (the public validation split) of 15 ion pairs = 225 atoms in a "
        "cubic box, one JSON object per line (Energy, Positions, Forces, Cell-Size, "
        "Charges). Species order from EAN_md_initial.gro: 15 ethylammonium cations "
        "(N H H H C H H C H H H) then 15 nitrate anions (N O O O). The 666-configuration "
        "training split is not available here."
    ),
    repo="Madsen-s-research-group/neuralil-public-releases",
    commit="dcfadc67c12eac2ed425302d8f0180c1a7b90f4b",
    files=(GRO, VALIDATION),
    license="Apache-2.0",
    citation=(
        "H. Montes-Campos, J. Carrete, S. Bichelmaier, L. M. Varela, G. K. H. Madsen, "
        "'A Differentiable Neural-Network Force Field for Ionic Liquids', "
        "J. Chem. Inf. Model. 62, 88 (2022)"
    ),
    units={"energy": "eV (per cell)", "forces": "eV/Å", "positions": "Å", "cell": "Å"},
)
