"""Crystalformer's attention over periodic images: numbers, figure, widget."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.models.crystalformer import Crystalformer, CrystalformerConfig
from companion.viz.periodic_attention import (
    RADIUS_CLASS,
    SHARE_CLASS,
    image_attention,
    outside_share,
    periodic_attention_explorer,
    periodic_attention_figure,
)


def test_gaussian_weights_and_outside_share(cscl):
    images = image_attention(cscl, center=0, sigma=1.0, max_radius=12.0)
    assert images.weight.sum() == pytest.approx(1.0)
    assert images.distance[0] == 0 and images.atom[0] == 0 and images.z[0] == 55
    assert np.all(np.diff(images.distance) >= 0)
    # one self image at d = 0 dominates: the others are e^{-d^2/2} smaller
    d = images.distance[1]
    assert images.weight[1] / images.weight[0] == pytest.approx(math.exp(-d**2 / 2))
    assert outside_share(images, 0.0) == pytest.approx(1 - images.weight[0])
    assert outside_share(images, 12.0) == 0.0
    wide = image_attention(cscl, center=0, sigma=2.0, max_radius=12.0)
    assert outside_share(wide, 4.0) > outside_share(images, 4.0)


def test_model_weights_and_figure(cscl):
    torch.manual_seed(0)
    model = Crystalformer(CrystalformerConfig(n_layers=2, dim=16, n_heads=2, ff_dim=16,
                                              n_basis=8, head_dim=16))
    images = image_attention(cscl, center=1, model=model, layer=1, head=1, max_radius=8.0)
    assert images.weight.sum() == pytest.approx(1.0, abs=1e-12)
    assert 0 < images.sigma < model.config.sigma_max
    fig = periodic_attention_figure(images, 5.0, cscl[2])
    assert len(fig.data) == 3
    assert len(fig.data[0].x) == int((images.distance <= 5.0).sum())
    assert "weight outside" in fig.layout.title.text


def test_explorer_updates_the_share(cscl):
    box = periodic_attention_explorer(cscl, max_radius=10.0)
    controls, share, fig = box.children
    radius = next(w for w in controls.children if RADIUS_CLASS in w._dom_classes)
    assert SHARE_CLASS in share._dom_classes
    before, n_before = share.value, len(fig.data[0].x)
    radius.value = 3.0
    assert share.value != before and len(fig.data[0].x) < n_before
