"""companion.nn.ScaleShift: the output scale and shift a model holds as buffers."""

from __future__ import annotations

import pytest
import torch

from companion.nn import ScaleShift


def test_scalar_pair_maps_and_inverts():
    ss = ScaleShift(dtype=torch.float64)
    assert ss.scale.shape == () and ss.scale.dtype == torch.float64 and not ss.per_species
    ss.set(scale=2.0, shift=-1.5)
    x = torch.tensor([0.0, 1.0, -3.0])
    torch.testing.assert_close(ss(x), torch.tensor([-1.5, 0.5, -7.5]))
    torch.testing.assert_close(ss.inverse(ss(x)), x)
    assert set(ss.state_dict()) == {"scale", "shift"}  # the lookup table is not saved
    assert ss.as_dict() == {"scale": 2.0, "shift": -1.5}
    with pytest.raises(ValueError, match="one number"):
        ss.set(shift={1: 0.0})


def test_per_species_rows():
    ss = ScaleShift((1, 8))
    ss.set(shift={1: -13.6, 8: -2040.0}, scale=0.5)
    z = torch.tensor([8, 1, 1])
    rows = ss.index(z)
    assert rows.tolist() == [1, 0, 0]
    torch.testing.assert_close(ss(torch.ones(3), rows), torch.tensor([-2039.5, -13.1, -13.1]))
    assert ss.state_dict()["numbers"].tolist() == [1, 8]  # rows named in the weights
    ss.set(scale={8: 2.0})  # per species; H back to 1
    assert ss.scale.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"species \[6\] not in the model's \(1, 8\)"):
        ss.set(shift={6: 1.0})
    with pytest.raises(ValueError, match=r"no scale and shift for Z=\[6\]"):
        ss.index(torch.tensor([6, 1]))
    with pytest.raises(ValueError, match="species rows"):
        ss(torch.ones(3))


def test_buffers_follow_the_model_dtype_and_device():
    ss = ScaleShift((1, 6)).double()
    ss.set(shift={1: 0.1})
    assert ss.shift.dtype == torch.float64 and ss.shift[0].item() == 0.1  # exact in float64
