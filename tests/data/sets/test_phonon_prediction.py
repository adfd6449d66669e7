"""The authors' pretrained k-MVN weights (kmvn_weights) and the pymatgen phonon objects /
seekpath paths of companion.data.phonons."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.data import DATASETS, load
from companion.data.phonons import band_structure, label_ticks, phonon_dos, qpoint_path
from companion.data.sets.mp_phonons import load_mp_phonons
from companion.data.sets.phonon_prediction import (
    kmvn_training_config,
    load_kmvn_examples,
    load_kmvn_weights,
)
from companion.errors import DataError


def test_weights_load_with_weights_only():
    state = load("kmvn_weights")
    assert len(state) == 54 and all(v.dtype == torch.float64 for v in state.values())
    n = sum(v.numel() for k, v in state.items()
            if "output_mask" not in k and "_w3j" not in k)
    assert n == 123_208
    conf = kmvn_training_config()["conf_dict"]
    assert conf["mul"] == 4 and conf["r_max"] == 4 and conf["irreps_out"] == "2x0e+2x1e+2x2e"
    assert DATASETS["kmvn_weights"].license == "MIT"
    with pytest.raises(DataError, match="kmvn_241026-182158"):
        load_kmvn_weights("kmvn_latest")


def test_examples():
    ds = load_kmvn_examples()
    assert [r.id for r in ds] == ["mp-149", "mp-2059", "mp-2534", "mp-30", "mp-7577"]
    assert ds[0].n_atoms == 8 and set(ds[0].numbers) == {14}  # conventional Si


def test_pymatgen_phonon_objects():
    rec = load_mp_phonons(["mp-149"], eigendisplacements=True)[0]
    bs = band_structure(rec)
    assert bs.nb_bands == 6 and len(bs.qpoints) == 149
    assert bs.eigendisplacements.shape == (6, 149, 2, 3)
    assert {"\\Gamma", "X", "L"} <= set(bs.labels_dict)
    assert bs.branches[0]["name"].startswith("\\Gamma")
    np.testing.assert_allclose(bs.bands, rec.labels["frequencies"].T)
    dos = phonon_dos(rec)
    assert dos.frequencies.shape == rec.labels["dos_frequencies"].shape


def test_seekpath_path_in_the_input_cell():
    """Si conventional (8 atoms) and primitive (2 atoms) cells: the path's X point is the
    same Cartesian wave vector, expressed in each cell's own reciprocal basis."""
    prim = load_mp_phonons(["mp-149"])[0].structure
    conv = load_kmvn_examples()[0].structure
    for s, a in ((prim, np.sqrt(2) * prim.lattice.a), (conv, conv.lattice.a)):
        p = qpoint_path(s)
        labels = p["labels"]
        assert labels[0] == "\\Gamma" and p["qpoints"].shape[1] == 3
        x = p["qpoints"][labels.index("X")] @ s.lattice.reciprocal_lattice.matrix
        # |X| = 2 pi / a (cubic lattice constant a), wherever it points
        assert np.linalg.norm(x) == pytest.approx(2 * np.pi / a, rel=1e-9)
    ticks, texts = label_ticks(["A", "", "B", "C", "", "D"], np.array([0, 1, 2, 2, 3, 4.0]))
    assert ticks == [0, 2, 4] and texts == ["A", "B|C", "D"]
