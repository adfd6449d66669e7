"""3BPA (BOTNet data sets): DFT energies and forces of a 27-atom drug-like molecule."""

from __future__ import annotations

from companion.data.entry import DatasetEntry
from companion.data.records import LabeledDataset
from companion.data.sets import botnet

__all__ = ["ENTRY", "FILES", "load_3bpa"]

FILES = {
    "train_300k": "dataset_3BPA/train_300K.xyz",
    "train_mixedt": "dataset_3BPA/train_mixedT.xyz",
}
ISOLATED = "dataset_3BPA/iso_atoms.xyz"


def load_3bpa(split: str = "train_300k") -> LabeledDataset:
    """3BPA (27 atoms), DFT energies (eV) and forces (eV/Å); 500 configurations per file.

    Args:
        split: ``train_300k`` or ``train_mixedt`` (300/600/1200 K). The upstream test sets
            are not in the mirror.
    """
    return botnet.load_molecules(ENTRY, split, FILES, ISOLATED,
                                 " (the upstream test sets are not available here)")


ENTRY = DatasetEntry(
    name="3bpa",
    load=load_3bpa,
    description=(
        "3-(benzyloxy)pyridin-2-amine (3BPA, 27 atoms), DFT energies and forces: two "
        "500-configuration training sets (300 K MD, mixed 300/600/1200 K MD); the test "
        "sets are not available here. iso_atoms.xyz holds the isolated-atom energies."
    ),
    repo=botnet.REPO,
    commit=botnet.COMMIT,
    files=("dataset_3BPA/README.md", ISOLATED, *FILES.values()),
    license="MIT",
    citation=(
        botnet.CITATION + "; D. P. Kovács, C. van der Oord, J. Kucera, A. E. A. Allen, "
        "D. J. Cole, C. Ortner, G. Csányi, J. Chem. Theory Comput. 17, 7696 (2021)"
    ),
    units=botnet.UNITS,
)
