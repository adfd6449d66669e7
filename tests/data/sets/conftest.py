"""Helpers of the per-set tests.

Tests of a full external set call its loader and never skip. With ``COMPANION_DATA_DIRS``
set (CI sets it to the shared mirror) the files must come from there: the cache is empty
and downloads are off, so a missing or wrong file FAILS the test with the resolver's
message. Without it, the resolver downloads the pinned files (pooch, checksummed) into the
user cache, as it would for a student.
"""

from __future__ import annotations

import numpy as np
import pytest

from companion.data.records import LabeledDataset
from companion.data.resolve import mirror_dirs


@pytest.fixture(autouse=True)
def _mirror_only_when_set(monkeypatch, tmp_path):
    if mirror_dirs():
        monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
        monkeypatch.setenv("COMPANION_OFFLINE", "1")


def check_common(ds: LabeledDataset, n: int) -> None:
    """Size, unique ids, a complete split, provenance and array shapes of a data set."""
    assert len(ds) == n
    ids = [r.id for r in ds]
    assert len(set(ids)) == n
    parts = np.concatenate([ds.split[k] for k in ("train", "val", "test")])
    assert np.array_equal(np.sort(parts), np.arange(n))
    assert ds.citation and ds.license and "positions" in ds.units
    for r in (ds[0], ds[n - 1]):
        z, pos, cell = ds.arrays(ds.records.index(r))
        assert z.dtype == np.int64 and pos.shape == (len(z), 3) and cell.shape == (3, 3)
