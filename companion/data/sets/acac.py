"""Acetylacetone (BOTNet data sets): DFT energies and forces of a 15-atom molecule."""

from __future__ import annotations

from companion.data.entry import DatasetEntry
from companion.data.records import LabeledDataset
from companion.data.sets import botnet

__all__ = ["ENTRY", "FILES", "load_acac"]

FILES = {
    "train_300k": "dataset_acac/train_300K.xyz",
    "train_600k": "dataset_acac/train_600K.xyz",
    "test_md_300k": "dataset_acac/test_MD_300K.xyz",
    "test_md_600k": "dataset_acac/test_MD_600K.xyz",
    "test_dihedral": "dataset_acac/test_dihedral.xyz",
    "test_h_transfer": "dataset_acac/test_H_transfer.xyz",
}
ISOLATED = "dataset_acac/isolated_atoms.xyz"


def load_acac(split: str = "train_300k") -> LabeledDataset:
    """Acetylacetone (15 atoms), DFT (UHF PBE+D3) energies (eV) and forces (eV/Å).

    Args:
        split: ``train_300k``, ``train_600k`` (500 each), ``test_md_300k``, ``test_md_600k``,
            ``test_dihedral``, ``test_h_transfer``.
    """
    return botnet.load_molecules(ENTRY, split, FILES, ISOLATED)


ENTRY = DatasetEntry(
    name="acac",
    load=load_acac,
    test_split="test_md_300k",
    description=(
        "Acetylacetone (15 atoms), DFT (UHF PBE+D3/def2-SVP) energies and forces: "
        "train/test at 300 K and 600 K, dihedral scan, H-transfer path; "
        "isolated-atom energies."
    ),
    repo=botnet.REPO,
    commit=botnet.COMMIT,
    files=("dataset_acac/README.md", ISOLATED, *FILES.values()),
    license="MIT",
    citation=botnet.CITATION,
    units=botnet.UNITS,
)
