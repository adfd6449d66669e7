"""What the BOTNet molecule sets (ethanol, 3BPA, acetylacetone) share: upstream, citation,
units, and the loader of one extended XYZ file with its isolated-atom energies."""

from __future__ import annotations

from collections.abc import Mapping

from companion.data.entry import DatasetEntry, choose_split
from companion.data.parsers import isolated_atom_energies, read_extxyz
from companion.data.records import LabeledDataset
from companion.data.resolve import resolve

__all__ = ["CITATION", "COMMIT", "REPO", "UNITS", "load_molecules"]

REPO = "davkovacs/BOTNet-datasets"
COMMIT = "29e6d467317e4b5967b7ea5cbee54de953fa0d45"
CITATION = (
    "I. Batatia, S. Batzner, D. P. Kovács, A. Musaelian, G. N. C. Simm, R. Drautz, C. Ortner, "
    "B. Kozinsky, G. Csányi, 'The design space of E(3)-equivariant atom-centered interatomic "
    "potentials', arXiv:2205.06643 (2022)"
)
UNITS = {"energy": "eV", "forces": "eV/Å", "positions": "Å", "atomic_energies": "eV"}


def load_molecules(entry: DatasetEntry, split: str, files: Mapping[str, str], isolated: str,
                   unavailable: str = "") -> LabeledDataset:
    """One upstream file of a molecule set, with the set's isolated-atom energies.

    Args:
        entry: The set's registry entry.
        split: A key of ``files`` (case-insensitive).
        files: Split name -> path in the upstream repository.
        isolated: Path of the file of isolated-atom energies.
        unavailable: Added to the unknown-split message (what the mirror lacks).

    Returns:
        Non-periodic records (energy eV, forces eV/Å) named ``"<set>/<split>"``, with
        ``atomic_energies`` (Z -> eV).
    """
    key = choose_split(split, files, f"{entry.name}{unavailable}")
    records = read_extxyz(resolve(entry, files[key]), f"{entry.name}/{key}")
    return LabeledDataset(f"{entry.name}/{key}", records, entry=entry, source=files[key],
                          atomic_energies=isolated_atom_energies(resolve(entry, isolated)))
