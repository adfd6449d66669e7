"""Ethanol (BOTNet data sets, rMD17 geometries): DFT energies and forces of a 9-atom molecule."""

from __future__ import annotations

from companion.data.entry import DatasetEntry
from companion.data.records import LabeledDataset
from companion.data.sets import botnet

__all__ = ["ENTRY", "FILES", "load_ethanol"]

FILES = {
    "train": "dataset_ethanol/train.xyz",
    "test_md": "dataset_ethanol/test_MD.xyz",
    "test_h_removal": "dataset_ethanol/test_H_removal.xyz",
    "test_dimers": "dataset_ethanol/test_dimers.xyz",
    "test_norm_mode_874": "dataset_ethanol/test_norm_mode_874.xyz",
    "test_norm_mode_3005": "dataset_ethanol/test_norm_mode_3005.xyz",
    "train_eth_meth": "dataset_ethanol/train_eth_meth.xyz",
    "test_eth_meth": "dataset_ethanol/test_eth_meth.xyz",
}
ISOLATED = "dataset_ethanol/isolated_atoms.xyz"


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
    return botnet.load_molecules(ENTRY, split, FILES, ISOLATED)


ENTRY = DatasetEntry(
    name="ethanol",
    load=load_ethanol,
    test_split="test_md",
    description=(
        "Ethanol, DFT (PBE/def2-SVP, ORCA) energies and forces in extended XYZ: 1000 "
        "training geometries from rMD17, an MD test set (1000), H removal, normal "
        "modes, dimer curves, ethanol+methanol sets; isolated-atom energies."
    ),
    repo=botnet.REPO,
    commit=botnet.COMMIT,
    files=("dataset_ethanol/README.md", ISOLATED, *sorted(FILES.values())),
    license="MIT",
    citation=(
        botnet.CITATION + "; ethanol geometries from rMD17: A. S. Christensen, "
        "O. A. von Lilienfeld, Mach. Learn.: Sci. Technol. 1, 045018 (2020)"
    ),
    units=botnet.UNITS,
)
