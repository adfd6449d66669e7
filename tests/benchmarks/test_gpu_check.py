"""benchmarks/gpu_check.py: its logic in a CPU dry run (no GPU in CI)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch

from companion.models.registry import MODELS
from tests.conftest import REPO


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check",
                                                  REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_check"]


def test_every_registered_model_is_checked(gpu_check):
    assert gpu_check.parse_args([]).models == list(MODELS)
    assert set(gpu_check.DATA) <= set(MODELS)


def test_dry_run_trains_and_compares(gpu_check, capsys):
    code = gpu_check.main(["--device", "cpu", "--n", "16", "--batch-size", "8",
                           "--models", "cgcnn", "gatv2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 of 4 checks passed" in out
    for model, data in (("cgcnn", "mp_eform"), ("gatv2", "ethanol_sample")):
        for precision in ("float32", "bf16"):
            assert any(line.split()[:3] == [model, precision, data] and line.endswith("ok")
                       for line in out.splitlines()), out


def test_a_mismatch_or_a_rising_loss_fails(gpu_check):
    r = gpu_check.Result("cgcnn", "float32", "mp_eform", 16, 1.0, 1.0, 0.9, 0.1, None)
    assert r.ok
    r.loss_device = 1.01  # 1 % off in float32
    assert not r.matches and not r.ok and "FAIL: CPU/device differ" in gpu_check.report([r])
    r = gpu_check.Result("cgcnn", "bf16", "mp_eform", 16, 1.0, 1.01, 1.2, 0.1, 5.0)
    assert r.matches and not r.decreased and "loss did not decrease" in gpu_check.report([r])


def test_without_a_gpu_it_says_so(gpu_check, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_phonon_and_crystalformer_models_run_with_their_data_and_task(gpu_check, capsys):
    """k-MVN trains on phonon bands (its own data and task), Crystalformer on mp_eform."""
    assert set(gpu_check.TASK) <= set(MODELS)
    code = gpu_check.main(["--device", "cpu", "--n", "4", "--batch-size", "2",
                           "--models", "kmvn", "crystalformer"])
    out = capsys.readouterr().out
    assert code == 0, out
    for model, data in (("kmvn", "mp_phonons"), ("crystalformer", "mp_eform")):
        assert any(line.split()[:3] == [model, "float32", data] and line.endswith("ok")
                   for line in out.splitlines()), out
