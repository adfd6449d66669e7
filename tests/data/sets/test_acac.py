"""Acetylacetone (BOTNet): the full upstream files."""

from __future__ import annotations

from companion.data.sets.acac import ENTRY, load_acac
from tests.data.sets.conftest import check_common


def test_acac():
    acac = load_acac("test_MD_300K")
    check_common(acac, 650)
    assert acac[0].n_atoms == 15 and set(acac.atomic_energies) == {1, 6, 8}
    assert acac.split_hash != load_acac("train_300K").split_hash
    assert ENTRY.test_split == "test_md_300k" and acac.name == "acac/test_md_300k"
