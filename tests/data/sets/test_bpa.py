"""3BPA (BOTNet): the full upstream files; the hashed split on a real set."""

from __future__ import annotations

import numpy as np

from companion.data.records import hashed_split
from companion.data.sets.bpa import load_3bpa
from tests.data.sets.conftest import check_common


def test_split_is_deterministic():
    a, b = load_3bpa("train_300K"), load_3bpa("train_300k")
    assert a.split_hash == b.split_hash
    assert all(np.array_equal(a.split[k], b.split[k]) for k in a.split)
    codes = hashed_split([r.id for r in a])
    shuffled = hashed_split([r.id for r in reversed(a.records)])
    assert np.array_equal(codes, shuffled[::-1])  # depends on ids, not on order
    assert np.bincount(codes).tolist() == [400, 50, 50]
    sub = a.subset(a.split["val"])
    assert len(sub) == 50 and len(sub.split["val"]) == 50


def test_3bpa():
    bpa = load_3bpa("train_mixedT")
    check_common(bpa, 500)
    assert bpa[0].n_atoms == 27 and bpa[0].labels["forces"].shape == (27, 3)
