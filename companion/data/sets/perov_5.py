"""perov_5 (CDVAE): cubic ABX3 perovskites with heats of formation and band gaps."""

from __future__ import annotations

from companion.data.entry import DatasetEntry, choose_split
from companion.data.parsers import parse_p1_cif, read_csv_rows
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.resolve import resolve

__all__ = ["ENTRY", "FILES", "load_perov_5"]

FILES = {"val": "data/perov_5/val.csv", "test": "data/perov_5/test.csv"}
TARGETS = ("heat_all", "heat_ref", "dir_gap", "ind_gap")


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
    key = choose_split(split, FILES, "perov_5 (the training split is not available here)")
    records = []
    for row in read_csv_rows(resolve(ENTRY, FILES[key])):
        numbers, frac, cell = parse_p1_cif(row["cif"])
        records.append(LabeledRecord(
            id=str(row["material_id"]), numbers=numbers, positions=frac @ cell, cell=cell,
            pbc=True, targets={k: float(row[k]) for k in TARGETS},
            info={"formula": row["formula"], "material_id": str(row["material_id"])},
            cif=row["cif"],
        ))
    return LabeledDataset(f"perov_5/{key}", records, entry=ENTRY, source=FILES[key])


ENTRY = DatasetEntry(
    name="perov_5",
    load=load_perov_5,
    description=(
        "perov_5 (CDVAE) validation and test splits: 7572 cubic ABX3 perovskites (5 atoms) "
        "as CIF text with heats of formation (heat_all, heat_ref) and GLLB-SC direct / "
        "indirect gaps. The training split is not available here."
    ),
    repo="OPRYAN90/cdvae",
    commit="73874c48a46b74fedaa161fdac512b0a75e2d336",
    files=("data/perov_5/test.csv", "data/perov_5/val.csv"),
    license="MIT (repository, a fork of txie-93/cdvae)",
    citation=(
        "I. E. Castelli et al., 'New cubic perovskites for one- and two-photon water "
        "splitting using the computational materials repository', Energy Environ. Sci. "
        "5, 9034 (2012); T. Xie, X. Fu, O.-E. Ganea, R. Barzilay, T. Jaakkola, 'Crystal "
        "Diffusion Variational Autoencoder for Periodic Material Generation', ICLR (2022)"
    ),
    units={
        "heat_all": "eV (CMR heat of formation w.r.t. standard states)",
        "heat_ref": "eV (CMR heat of formation w.r.t. reference phases)",
        "dir_gap": "eV",
        "ind_gap": "eV",
        "positions": "Å",
    },
)
