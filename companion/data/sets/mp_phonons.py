"""Materials Project DFPT phonon band structures and DOS (PBEsol), as collected by ffonons."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence

from companion.data.entry import DatasetEntry
from companion.data.parsers import read_phonon_document
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.resolve import resolve
from companion.errors import DataError

__all__ = ["ENTRY", "STEMS", "load_mp_phonons"]

# file stems of the 69 documents: data/mp/<stem>-mp.json.gz
STEMS = (
    "mp-10163-Na2Al2Te4", "mp-10182-Li1Zn1P1", "mp-1020059-Li2Ge4N6", "mp-10418-Rb2Sb2O4",
    "mp-10616-Ba1Li1As1", "mp-11175-Li1Zn1P1S4", "mp-11718-Rb1F1", "mp-13541-Sr2Mg1B2O6",
    "mp-14039-K2Na1Rh1F6", "mp-14069-Cs2Al2O4", "mp-14092-Al2Ag2Te4", "mp-14437-Rb1Y1O2",
    "mp-149-Si2", "mp-15794-Li1Y1Se2", "mp-15988-Li2Cu1Sb1", "mp-1960-Li2O1", "mp-19795-In4S4",
    "mp-20072-La1Cu1O2", "mp-20463-Ca1Pb1F6", "mp-22925-Ag1I1", "mp-23137-Ba2Y1Bi1O6",
    "mp-23268-Na1I1", "mp-23405-Cs2Te1Br6", "mp-23485-Ag2Hg1I4", "mp-23485-Ag4Hg2I8",
    "mp-27193-Rb1I1O3", "mp-27207-K2Mg1Cl4", "mp-27253-Au4O6", "mp-27385-K2Tl2Cl8",
    "mp-27422-Cs1Bi1F6", "mp-28264-Rb2H6O4", "mp-28591-Na4Hg1P2", "mp-2894-Sc1Sn1Au1",
    "mp-29750-Cs2Mg2Br6", "mp-30459-Sc1Ni1Bi1", "mp-3056-Na1Tl1O2", "mp-3163-Ba1Sn1O3",
    "mp-3486-K2Sn2Sb2", "mp-36508-Sn1Hg1F6", "mp-3666-Li2Ta2O6", "mp-406-Cd1Te1",
    "mp-504729-Cs2Pd1F6", "mp-5342-Ga2Ag2S4", "mp-549697-Rb1Ge1I1O6", "mp-567776-Cs2Ag1Au1Cl6",
    "mp-571093-Ba1Al1Si1H1", "mp-638729-Cs2Zr1Cl6", "mp-672-Cd2S2", "mp-697144-Rb2H4N2",
    "mp-7173-Sc1Sb1Pt1", "mp-7639-Na4Cu2P2", "mp-7684-Tl3As1Se3", "mp-772290-Li4Ag4O4",
    "mp-7773-Na4As2Au2", "mp-7774-Na4Sb2Au2", "mp-8161-Ca2Pd2F8", "mp-8192-Rb2Pt1F6",
    "mp-8235-K4Si2P4", "mp-8446-K4Cu2P2", "mp-866291-Ag1Br1", "mp-867335-K4Sb2Au2",
    "mp-8799-Rb2Na2S2", "mp-9566-Sr1Mg2Sb2", "mp-9567-Ba1Mg2Sb2", "mp-961713-Zr1Sn1Pt1",
    "mp-989531-Cs2K1Ga1F6", "mp-989639-Cs2K1In1F6", "mp-9919-Li2Zn2Sb2",
    "mp-996943-Cs2Na1In1Br6",
)


def _path(stem: str) -> str:
    return f"data/mp/{stem}-mp.json.gz"


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
    wanted = None if material_ids is None else set(material_ids)
    chosen = []
    for stem in STEMS:
        mp_id = "-".join(stem.split("-")[:2])
        if wanted is None or stem in wanted or mp_id in wanted:
            chosen.append((stem, mp_id))
    if wanted is not None:
        missing = sorted(wanted - {s for s, _ in chosen} - {m for _, m in chosen})
        if missing:
            raise DataError(f"mp_phonons: no document for {missing}; ids are like 'mp-149'")
    records = []
    for stem, mp_id in chosen:
        rel = _path(stem)
        with gzip.open(resolve(ENTRY, rel), "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        parsed = read_phonon_document(doc, rel, eigendisplacements=eigendisplacements)
        del doc
        info = {"material_id": mp_id, "formula": stem.split("-", 2)[2],
                "qpoint_labels": parsed["qpoint_labels"], "has_nac": parsed["has_nac"]}
        records.append(LabeledRecord(id=stem, numbers=parsed["numbers"],
                                     positions=parsed["positions"], cell=parsed["cell"],
                                     pbc=True, labels=parsed["labels"], info=info))
    return LabeledDataset("mp_phonons", records, entry=ENTRY, source="data/mp/*.json.gz")


ENTRY = DatasetEntry(
    name="mp_phonons",
    load=load_mp_phonons,
    description=(
        "69 Materials Project DFPT phonon documents (PBEsol, Petretto et al. workflow) as "
        "gzip JSON: pymatgen PhononBandStructureSymmLine (structure, q-points, band "
        "frequencies in THz, high-symmetry labels, eigendisplacements) and the phonon "
        "DOS. 2 to 12 atoms per cell. mp-23485 appears twice (two cells)."
    ),
    repo="janosh/ffonons",
    commit="f682ad3edb3f1b50d9494b0b7f17c0ae919358cd",
    files=tuple(_path(s) for s in STEMS),
    license="MIT (repository); Materials Project data CC BY 4.0",
    citation=(
        "G. Petretto, S. Dwaraknath, H. P. C. Miranda, D. Winston, M. Giantomassi, "
        "M. J. van Setten, X. Gonze, K. A. Persson, G. Hautier, G.-M. Rignanese, "
        "'High-throughput density-functional perturbation theory phonons for inorganic "
        "materials', Sci. Data 5, 180065 (2018); A. Jain et al., 'Commentary: The Materials "
        "Project: A materials genome approach to accelerating materials innovation', "
        "APL Mater. 1, 011002 (2013)"
    ),
    units={
        "frequencies": "THz",
        "qpoints": "fractional coordinates of the reciprocal lattice",
        "reciprocal_lattice": "1/Å (includes 2π)",
        "dos_frequencies": "THz",
        "dos_densities": "states/THz per cell (integrates to 3 n_atoms)",
        "positions": "Å",
    },
)
