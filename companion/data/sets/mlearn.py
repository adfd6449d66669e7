"""mlearn: elemental crystals with DFT energies, forces and stresses (Zuo et al. 2020)."""

from __future__ import annotations

import json

import numpy as np

from companion.data.entry import DatasetEntry
from companion.data.parsers import structure_dict_arrays
from companion.data.records import LabeledDataset, LabeledRecord
from companion.data.resolve import resolve
from companion.errors import DataError

__all__ = ["ELEMENTS", "ENTRY", "load_mlearn"]

ELEMENTS = ("Si", "Ge", "Li", "Mo", "Cu", "Ni")
_SPLIT_FILES = {"train": "training.json", "test": "test.json"}


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
    if element not in ELEMENTS:
        raise DataError(f"mlearn: unknown element '{element}'; choose one of "
                        f"{', '.join(ELEMENTS)}")
    fname = _SPLIT_FILES.get(split.lower())
    if fname is None:
        raise DataError(f"mlearn: unknown split '{split}'; choose 'train' or 'test'")
    rel = f"data/{element}/{fname}"
    if rel not in ENTRY.files:
        raise DataError(f"mlearn: the {element} training set is not available in the mirror "
                        "(only test.json); use split='test' or another element")
    with open(resolve(ENTRY, rel), encoding="utf-8") as fh:
        docs = json.load(fh)
    records = []
    for k, doc in enumerate(docs):
        numbers, pos, cell = structure_dict_arrays(doc["structure"], f"mlearn {rel}[{k}]")
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
    return LabeledDataset(f"mlearn/{element}/{split.lower()}", records, entry=ENTRY, source=rel)


ENTRY = DatasetEntry(
    name="mlearn",
    load=load_mlearn,
    test_split="test",
    description=(
        "Elemental crystals for interatomic potentials (DFT PBE, VASP): energies, forces "
        "and virial stresses of Si, Ge, Li, Mo (training.json + test.json) and Cu, Ni "
        "(test.json only; their training files are not available here). Groups: "
        "AIMD-NVT, Elastic, Surface, Vacancy."
    ),
    repo="materialsvirtuallab/mlearn",
    commit="10c427a5480c6281c15c64efaf869b03be04818f",
    files=("data/Cu/test.json", "data/Ge/test.json", "data/Ge/training.json",
           "data/Li/test.json", "data/Li/training.json", "data/Mo/test.json",
           "data/Mo/training.json", "data/Ni/test.json", "data/Si/test.json",
           "data/Si/training.json"),
    license="BSD-3-Clause",
    citation=(
        "Y. Zuo et al., 'Performance and Cost Assessment of Machine Learning Interatomic "
        "Potentials', J. Phys. Chem. A 124, 731 (2020)"
    ),
    units={
        "energy": "eV (per cell)",
        "energy_per_atom": "eV/atom",
        "forces": "eV/Å",
        "virial_stress": "kB (0.1 GPa; VASP sign: positive = compressive), order xx yy zz xy yz xz",
        "positions": "Å",
    },
)
