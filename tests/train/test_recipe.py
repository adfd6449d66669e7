"""Generic pieces of a model's training recipe: the model's recommended TrainConfig
(``train_defaults``), weight decay without biases, AdamW betas, the invsqrt time scale,
stochastic weight averaging, and calibration of frozen statistics in ``Task.prepare``."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from companion.__main__ import main
from companion.data import load
from companion.graphs.dataset import GraphDataset
from companion.models.crystalformer import Crystalformer, CrystalformerConfig
from companion.models.registry import graph_kwargs, train_defaults
from companion.train import TrainConfig, fit, lr_factor, make_optimizer
from companion.train.optim import WeightAverage, parameter_groups

TARGET = "formation_energy_per_atom"
pytestmark = pytest.mark.usefixtures("one_thread")


def test_crystalformer_recipe_is_the_authors():
    defaults = train_defaults("crystalformer")
    config = TrainConfig(**defaults)
    assert (config.lr, config.beta1, config.beta2, config.weight_decay) == (5e-4, 0.9, 0.98,
                                                                              1e-5)
    assert (config.grad_clip, config.loss, config.schedule, config.schedule_steps,
            config.batch_size, config.decay_biases) == (1.0, "l1", "invsqrt", 4000, 128, False)
    assert train_defaults("cgcnn") == {}


def test_lr_is_lr_sqrt_t_over_t_plus_steps():
    for step in (0, 10, 4000, 40000):
        got = lr_factor(step, 10**6, 0, "invsqrt", steps_per_epoch=25, schedule_steps=4000)
        assert got == pytest.approx(math.sqrt(4000 / (4000 + step)))


def test_biases_get_no_weight_decay_and_frozen_parameters_no_optimizer():
    model = Crystalformer(CrystalformerConfig(n_layers=1, dim=16, n_heads=2, ff_dim=8,
                                              head_dim=8))
    config = TrainConfig(**train_defaults("crystalformer"))
    decay, no_decay = parameter_groups(model, config)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(not names[id(p)].endswith("bias") for p in decay["params"])
    assert {names[id(p)] for p in no_decay["params"]} == {
        n for n, p in model.named_parameters() if n.endswith("bias")}
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (1e-5, 0.0)
    assert all(p.requires_grad for g in (decay, no_decay) for p in g["params"])
    opt = make_optimizer(model, config)
    assert opt.param_groups[0]["betas"] == (0.9, 0.98)
    one = parameter_groups(nn.Linear(2, 2), TrainConfig(weight_decay=0.1))
    assert len(one) == 1 and len(one[0]["params"]) == 2


def test_weight_average_is_the_mean_of_the_updates():
    model = nn.Linear(3, 1)
    avg, seen = WeightAverage(), []
    for k in range(4):
        with torch.no_grad():
            model.weight.fill_(float(k))
        seen.append(model.weight.detach().clone())
        avg.update(model)
    avg.apply(model)
    assert torch.equal(model.weight, torch.stack(seen).mean(0))


@pytest.fixture(scope="module")
def cf_sets():
    data = load("mp_eform")
    options = graph_kwargs("crystalformer")
    train = GraphDataset(data, data.split["train"][:48], TARGET, **options).prebuild()
    val = GraphDataset(data, data.split["val"][:16], TARGET, **options).prebuild()
    return train, val


def small_cf() -> Crystalformer:
    torch.manual_seed(0)
    return Crystalformer(CrystalformerConfig(n_layers=1, dim=16, n_heads=2, ff_dim=16,
                                             n_basis=8, head_dim=16))


def test_prepare_calibrates_once_and_swa_ends_with_the_average(cf_sets):
    train, val = cf_sets
    model = small_cf()
    assert model.needs_calibration
    config = TrainConfig(**{**train_defaults("crystalformer"), "epochs": 3, "batch_size": 16,
                            "swa_epochs": 2, "progress": False})
    history = fit(model, train, val, config)
    assert not model.needs_calibration
    m, s, n = model.blocks[0].width_norm.tolist()
    assert n % 2 == 0 and n >= 16 * 2 and s > 0  # atoms x 2 heads of one 16-graph batch
    assert history.swa_val_mae is not None and math.isfinite(history.swa_val_mae)
    stats = model.blocks[0].width_norm.clone()
    fit(model, train, val, TrainConfig(epochs=1, batch_size=16, progress=False))
    assert torch.equal(model.blocks[0].width_norm, stats)  # frozen: never recalibrated


def test_crystalformer_trains_from_the_command_line(tmp_path, capsys):
    config = json.dumps({"n_layers": 1, "dim": 32, "n_heads": 4, "ff_dim": 32,
                         "n_basis": 16, "head_dim": 32})
    assert main(["train", "--model", "crystalformer", "--fast", "--epochs", "1", "--out",
                 str(tmp_path / "run"), "--config", config, "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["train_config"]["beta2"] == 0.98
    assert metrics["train_config"]["schedule_steps"] == 4000
    assert "test   MAE" in capsys.readouterr().out
