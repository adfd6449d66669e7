"""The training engine (companion.train) with a tiny model on real FLLA formation energies.

TinyNet (defined here, registered as "tiny"): an embedding of Z, one message pass weighted by
a cosine cutoff over a 5 Å radius graph, mean pooling, a two-layer head. Small enough that
every test runs in seconds on CPU, real enough to learn composition from the MP data.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.utils import scatter

from companion.__main__ import main
from companion.data import load
from companion.graphs import edge_vectors, to_graph
from companion.graphs.dataset import GraphDataset
from companion.models import registry
from companion.nn import ScaleShift
from companion.train import (
    CHECKPOINT,
    FORMAT,
    PREVIOUS,
    SCHEDULES,
    CheckpointError,
    History,
    TrainConfig,
    evaluate,
    fit,
    load_checkpoint,
    load_for_inference,
    lr_factor,
    make_loss,
    make_optimizer,
    make_scheduler,
    predict,
    regression_metrics,
)

TARGET = "formation_energy_per_atom"
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # subprocesses: see one_thread()
TINY_GRAPH = {"policy": "radius", "cutoff": 5.0, "line_graph": False, "allow_isolated": True}


@dataclass
class TinyConfig:
    dim: int = 16
    cutoff: float = 5.0  # Å, the radius graph's
    dropout: float = 0.0


class TinyNet(nn.Module):
    """Z embedding -> one cutoff-weighted message pass -> mean pool -> MLP: [n_graphs]."""

    def __init__(self, config: TinyConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or TinyConfig()
        self.embed = nn.Embedding(100, c.dim)
        self.message = nn.Linear(c.dim, c.dim)
        self.head = nn.Sequential(nn.Linear(c.dim, c.dim), nn.SiLU(), nn.Dropout(c.dropout),
                                  nn.Linear(c.dim, 1))

    def forward(self, data) -> torch.Tensor:
        x = self.embed(data.z)  # [n_atoms, dim]
        _, dist = edge_vectors(data)  # [n_edges] Å
        w = 0.5 * (torch.cos(math.pi * dist / self.config.cutoff) + 1)  # [n_edges]
        src, dst = data.edge_index
        m = scatter(self.message(x)[src] * w[:, None], dst, dim=0, dim_size=x.size(0),
                    reduce="sum")  # [n_atoms, dim]
        x = x + torch.tanh(m)  # [n_atoms, dim]
        batch = data.batch if data.batch is not None else torch.zeros_like(data.z)
        pooled = scatter(x, batch, dim=0, dim_size=data.num_graphs, reduce="mean")
        return self.head(pooled)[:, 0]  # [n_graphs]


registry.register_model("tiny", lambda cfg: TinyNet(TinyConfig(**cfg)), TINY_GRAPH, TinyNet)


def tiny(seed: int = 0, **kwargs) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(TinyConfig(**kwargs))


def quiet(**kwargs) -> TrainConfig:
    return TrainConfig(**{"progress": False, "batch_size": 32, "lr": 3e-3, **kwargs})


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run faster on one thread, and two pytest-xdist workers on 2 cores do not
    oversubscribe them (restored after the module)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def flla():
    return load("mp_eform")


@pytest.fixture(scope="module")
def sets(flla):
    """160 train + 48 validation FLLA structures (the first of the stored split)."""
    train = GraphDataset(flla, flla.split["train"][:160], TARGET, **TINY_GRAPH).prebuild()
    val = GraphDataset(flla, flla.split["val"][:48], TARGET, **TINY_GRAPH).prebuild()
    return train, val


# ------------------------------------------------------------------ dataset, registry

def test_graph_dataset_batches_with_targets_and_indices(flla):
    idx = flla.split["test"][:5]
    ds = GraphDataset(flla, idx, TARGET, policy="cgcnn")
    g = ds[2]
    assert g.y.shape == (1,) and g.idx.tolist() == [int(idx[2])]
    assert g.y.item() == pytest.approx(flla.target(TARGET)[idx[2]], abs=1e-6)
    ref = to_graph(flla.arrays(int(idx[2])), policy="cgcnn")
    assert torch.equal(g.edge_index, ref.edge_index) and "edge_pad" in g
    assert ds[2] is g and ds[-3] is g  # cached
    from torch_geometric.loader import DataLoader

    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert batch.y.shape == (5,) and batch.idx.tolist() == idx.tolist()
    assert ds.unit == "eV/atom" and ds.split_hash == flla.split_hash
    assert GraphDataset(flla, idx, TARGET, cache=False)[0] is not GraphDataset(
        flla, idx, TARGET, cache=False)[0]


def test_registry_builds_models_and_names_graphs():
    assert "cgcnn" in registry.model_names() and "tiny" in registry.model_names()
    assert registry.graph_kwargs("cgcnn")["policy"] == "cgcnn"
    assert registry.graph_kwargs("cgcnn", {"radius": 6.0, "nbr_fea_len": 31})["cutoff"] == 6.0
    assert registry.name_of(tiny()) == "tiny"
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        registry.build_model("nope", {})
    model = registry.build_model("cgcnn", {"atom_fea_len": 8, "n_conv": 1})
    assert registry.name_of(model) == "cgcnn" and model.config.atom_fea_len == 8
    with pytest.raises(ValueError, match="unknown config keys \\['width'\\]"):
        registry.build_model("cgcnn", {"width": 3})
    assert registry.graph_kwargs("alignn")["line_graph"] is True
    assert registry.graph_kwargs("alignn", {"angles": False})["line_graph"] is False


# ------------------------------------------------------------------------- learning

def test_tiny_model_learns_formation_energies(sets):
    train, val = sets
    model = tiny()
    history = fit(model, train, val, quiet(epochs=8, lr=0.03, batch_size=16))
    mean_mae = np.abs(val.targets - train.targets.mean()).mean()  # eV/atom, 0.91
    assert len(history) == 8 and history.best_epoch >= 5
    assert min(history["val_mae"]) < 0.65 * mean_mae, (history["val_mae"], mean_mae)
    assert history["train_mae"][-1] < history["train_mae"][0]
    scores = evaluate(model, val)  # best weights restored
    assert scores["mae"] == pytest.approx(history.best_val_mae, rel=1e-6)
    assert scores["r2"] > 0.4 and scores["rmse"] >= scores["mae"]
    record = history.epochs[-1]
    assert set(record) == {"epoch", "train_mae", "train_rmse", "train_r2", "val_mae",
                           "val_rmse", "val_r2", "lr", "time_s"}


def test_schedules_and_optimizers_construct_and_step():
    for schedule in SCHEDULES:
        for optimizer in ("adamw", "sgd"):
            config = TrainConfig(epochs=3, lr=0.1, optimizer=optimizer, schedule=schedule,
                                 warmup_epochs=0.5 if schedule != "onecycle" else 0.0)
            p = nn.Parameter(torch.ones(3))
            opt = make_optimizer([p], config)
            sched = make_scheduler(opt, config, steps_per_epoch=4)
            lrs = []
            for _ in range(12):
                lrs.append(opt.param_groups[0]["lr"])
                (p**2).sum().backward()
                opt.step()
                opt.zero_grad()
                sched.step()
            assert all(0 < lr <= 0.1 + 1e-12 for lr in lrs), (schedule, lrs)
            assert p.abs().max() < 1, (schedule, optimizer)  # it moved downhill
    total, warm = 100, 10
    f = [lr_factor(s, total, warm, "cosine") for s in range(total)]
    assert f[0] == pytest.approx(0.1) and f[9] == 1.0 and f[-1] < 1e-3
    f = [lr_factor(s, total, 0, "onecycle") for s in range(total)]
    assert f[0] == pytest.approx(1 / 25) and max(f) == pytest.approx(1.0) and f[-1] < 1e-3
    assert int(np.argmax(f)) == 30
    f = [lr_factor(s, total, warm, "invsqrt", steps_per_epoch=10) for s in range(total)]
    assert f[9] == f[10] == 1.0 and f[49] == pytest.approx(math.sqrt(10 / 49))
    assert [lr_factor(s, total, 0, "none") for s in (0, 99)] == [1.0, 1.0]
    with pytest.raises(ValueError, match="schedule='step'"):
        TrainConfig(schedule="step")


def test_losses():
    out, y = torch.tensor([0.0, 1.0, 4.0]), torch.tensor([0.0, 0.0, 0.0])
    assert make_loss(TrainConfig(loss="l1"))(out, y).item() == pytest.approx(5 / 3)
    assert make_loss(TrainConfig(loss="mse"))(out, y).item() == pytest.approx(17 / 3)
    huber = make_loss(TrainConfig(loss="huber", huber_delta=1.0))(out, y).item()
    assert huber == pytest.approx((0 + 0.5 + 3.5) / 3)
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert m["mae"] == pytest.approx(1 / 3) and m["rmse"] == pytest.approx(math.sqrt(1 / 3))
    assert m["r2"] == pytest.approx(1 - 1 / (14 / 3))


def test_normalization_round_trip(sets):
    train, val = sets
    norm = ScaleShift(dtype=torch.float64)
    norm.set(scale=float(train.targets.std()), shift=float(train.targets.mean()))
    y = torch.tensor(val.targets)
    torch.testing.assert_close(norm(norm.inverse(y)), y)
    model = tiny()  # a model without its own scale_shift: the task attaches one
    fit(model, train, val, quiet(epochs=1))
    assert isinstance(model.scale_shift, ScaleShift)
    assert float(model.scale_shift.shift) == pytest.approx(train.targets.mean())
    assert float(model.scale_shift.scale) == pytest.approx(train.targets.std())
    torch.testing.assert_close(model.scale_shift.scale, norm.scale)  # training split only
    torch.testing.assert_close(model.scale_shift.shift, norm.shift)
    from torch_geometric.loader import DataLoader

    batch = next(iter(DataLoader(val, batch_size=len(val))))
    model.eval()
    with torch.no_grad():
        manual = model(batch).double() * float(norm.scale) + float(norm.shift)
    np.testing.assert_allclose(predict(model, val), manual.numpy(), rtol=1e-6)
    raw = tiny()
    fit(raw, train, val, quiet(epochs=1, normalize_targets=False))
    assert (float(raw.scale_shift.shift), float(raw.scale_shift.scale)) == (0.0, 1.0)


def test_dataloader_workers_give_the_same_run(sets):
    train, val = sets
    a, b = tiny(), tiny()
    fit(a, train, val, quiet(epochs=1))
    fit(b, train, val, quiet(epochs=1, num_workers=1))
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), k


class Frozen(nn.Module):
    """TinyNet that cannot learn (its only trainable parameter gets zero gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny().requires_grad_(False)
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, data) -> torch.Tensor:
        return self.net(data) + 0.0 * self.dummy


def test_early_stopping_stops(sets):
    train, val = sets
    history = fit(Frozen(), train, val, quiet(epochs=10, patience=2))
    assert len(history) == 3 and history.stopped_early and history.best_epoch == 1
    history = fit(tiny(), train, val, quiet(epochs=10),
                  callbacks=[lambda h: len(h) == 2])  # a callback may stop a run
    assert len(history) == 2 and not history.stopped_early


# ---------------------------------------------------------------------- checkpoints

def _interrupt_after(n: int):
    def callback(history: History) -> None:
        if len(history) == n:
            raise KeyboardInterrupt
    return callback


@pytest.mark.slow
def test_resume_is_bitwise_equal_to_an_uninterrupted_run(sets, tmp_path):
    train, val = sets
    config = quiet(epochs=4, batch_size=16, schedule="cosine", warmup_epochs=1,
                   grad_clip=1.0)
    straight = tiny(dropout=0.2)  # dropout: the restored RNG states matter
    h_straight = fit(straight, train, val,
                     quiet(**{**config.__dict__, "checkpoint_dir": str(tmp_path / "a")}))
    cfg_b = quiet(**{**config.__dict__, "checkpoint_dir": str(tmp_path / "b")})
    with pytest.raises(KeyboardInterrupt):
        fit(tiny(dropout=0.2), train, val, cfg_b, callbacks=[_interrupt_after(2)])
    assert load_checkpoint(tmp_path / "b")["epoch"] == 2
    resumed = tiny(seed=123, dropout=0.2)  # other initial weights: all must come from disk
    cfg_b.resume = True
    h_resumed = fit(resumed, train, val, cfg_b)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    drop = ("time_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in h_straight.epochs] == \
        [{k: v for k, v in r.items() if k not in drop} for r in h_resumed.epochs]
    last_a = load_checkpoint(tmp_path / "a")["model"]
    last_b = load_checkpoint(tmp_path / "b")["model"]
    assert all(torch.equal(last_a[k], last_b[k]) for k in last_a)


def test_refuses_a_checkpoint_of_another_model_or_config(sets, tmp_path):
    train, val = sets
    fit(tiny(), train, val, quiet(epochs=1, checkpoint_dir=str(tmp_path)))
    with pytest.raises(CheckpointError, match=r"model_config\.dim: checkpoint 16, this run 8"):
        fit(tiny(dim=8), train, val, quiet(epochs=1, checkpoint_dir=str(tmp_path),
                                           resume=True))
    with pytest.raises(CheckpointError, match=r"train_config\.lr: checkpoint 0\.003, this "
                                              r"run 0\.01"):
        fit(tiny(), train, val, quiet(epochs=1, lr=0.01, checkpoint_dir=str(tmp_path),
                                      resume=True))
    with pytest.raises(CheckpointError, match="model_name: checkpoint 'tiny', this run "
                                              "'Frozen'"):
        fit(Frozen(), train, val, quiet(epochs=1, checkpoint_dir=str(tmp_path), resume=True))
    with pytest.raises(CheckpointError, match="split_hash"):
        fit(tiny(), val, train, quiet(epochs=1, checkpoint_dir=str(tmp_path), resume=True))
    # allowed to differ: where it runs, progress bars, workers
    fit(tiny(), train, val, quiet(epochs=1, checkpoint_dir=str(tmp_path), resume=True,
                                  progress=True, device="cpu"))


def test_truncated_checkpoint_is_detected_and_the_previous_kept(sets, tmp_path):
    train, val = sets
    config = quiet(epochs=2, checkpoint_dir=str(tmp_path))
    fit(tiny(), train, val, config)
    main_file = tmp_path / CHECKPOINT
    assert load_checkpoint(tmp_path)["epoch"] == 2
    assert load_checkpoint(tmp_path / PREVIOUS)["epoch"] == 1
    data = main_file.read_bytes()
    main_file.write_bytes(data[: len(data) // 2])  # a crash or a full disk
    with pytest.warns(UserWarning, match="truncated or corrupt.*epoch 1"):
        assert load_checkpoint(tmp_path)["epoch"] == 1
    lone = tmp_path / "lone" / "x.pt"  # a single file: no previous to fall back on
    lone.parent.mkdir()
    lone.write_bytes(main_file.read_bytes())
    lone.with_name("x.pt.sha256").write_text((tmp_path / (CHECKPOINT + ".sha256")).read_text())
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(lone)
    # Resuming continues from the previous one; the corrupt file is not rotated over it.
    config.resume, config.epochs = True, 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = fit(tiny(), train, val, config)
    assert [r["epoch"] for r in history.epochs] == [1, 2]
    assert load_checkpoint(tmp_path)["epoch"] == 2
    assert load_checkpoint(tmp_path / PREVIOUS)["epoch"] == 1
    # Without the sidecar a truncated file is caught by torch.load.
    main_file.with_name(CHECKPOINT + ".sha256").unlink()
    main_file.write_bytes(main_file.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="cannot be read"):
        assert load_checkpoint(tmp_path)["epoch"] == 1
    for f in (main_file, tmp_path / PREVIOUS):
        f.unlink()
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        load_checkpoint(tmp_path)


def test_checkpoint_loads_with_weights_only(sets, tmp_path):
    train, val = sets
    fit(tiny(), train, val, quiet(epochs=1, checkpoint_dir=str(tmp_path)))
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert ckpt["model_name"] == "tiny" and ckpt["model_config"] == {
        "dim": 16, "cutoff": 5.0, "dropout": 0.0}
    assert ckpt["train_config"]["lr"] == 3e-3 and ckpt["epoch"] == 1
    assert set(ckpt["rng"][0]) == {"torch", "numpy", "python", "cuda", "loader"}
    assert isinstance(ckpt["rng"][0]["numpy"]["keys"], list)
    assert ckpt["model"]["scale_shift.scale"] > 0 and ckpt["best"]["epoch"] == 1
    assert ckpt["format"] == FORMAT and ckpt["task"] == {"name": "scalar"}
    assert ckpt["split_hash"] and ckpt["data"]["target"] == TARGET
    assert ckpt["data"]["graph"] == TINY_GRAPH
    assert "state" in ckpt["optimizer"] and "last_epoch" in ckpt["scheduler"]
    assert not list(tmp_path.glob("*.tmp"))


# ------------------------------------------------------------------------------ CLI

@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """`python -m companion train --model tiny --fast` (in process), 3 epochs."""
    out = tmp_path_factory.mktemp("run")
    code = main(["train", "--model", "tiny", "--fast", "--epochs", "3", "--out", str(out),
                 "--batch-size", "32", "--lr", "0.003", "--quiet",
                 "--config", json.dumps({"model": {"dim": 12}, "train": {"loss": "huber"}})])
    assert code == 0
    return out


def test_metrics_json_and_test_predictions(cli_run, flla):
    from companion.data.shipped import split_hash

    metrics = json.loads((cli_run / "metrics.json").read_text())
    assert metrics["model"] == "tiny" and metrics["model_config"]["dim"] == 12
    assert metrics["train_config"]["loss"] == "huber"
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (256, 64, 64)
    assert metrics["epochs_run"] == 3 and len(metrics["history"]) == 3
    assert metrics["split_hash"] == split_hash({k: v[:{"train": 256}.get(k, 64)]
                                                for k, v in flla.split.items()})
    for split in ("train", "val", "test"):
        assert set(metrics[split]) == {"mae", "rmse", "r2"}
    assert metrics["unit"] == "eV/atom" and metrics["device"] == "cpu"
    assert metrics["n_params"] > 0 and metrics["wall_time_s"] > 0
    assert metrics["command"].startswith("python -m companion train --model tiny --fast")
    assert metrics["seed"] == metrics["train_config"]["seed"] and metrics["n_processes"] == 1
    assert {"companion", "torch", "torch_geometric", "e3nn", "pymatgen"} <= set(
        metrics["versions"]) and metrics["versions"]["torch"] == torch.__version__
    assert "git_commit" in metrics and metrics["torch_threads"] >= 1
    with open(cli_run / "test_predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 64 and set(rows[0]) == {"material_id", "formula", "target",
                                                "prediction"}
    i = int(flla.split["test"][0])
    assert rows[0]["material_id"] == flla.material_ids[i]
    assert rows[0]["formula"] == flla.formulas[i]
    err = [abs(float(r["prediction"]) - float(r["target"])) for r in rows]
    assert np.mean(err) == pytest.approx(metrics["test"]["mae"], rel=1e-5)
    assert (cli_run / CHECKPOINT).is_file() and (cli_run / PREVIOUS).is_file()


def test_predict_cli_and_python(cli_run, flla, tmp_path, capsys):
    record = flla[int(flla.split["test"][0])]
    good = tmp_path / "good.cif"
    record.structure.to(filename=str(good))
    bad = tmp_path / "bad.cif"
    bad.write_text("data_broken\n_cell_length_a 4.0\nloop_\n_atom_site_label\n")
    capsys.readouterr()
    assert main(["predict", "--checkpoint", str(cli_run), "--cif", str(good)]) == 0
    out = capsys.readouterr().out
    assert "formation_energy_per_atom (eV/atom)" in out and record.formula in out
    printed = float(out.strip().splitlines()[-1].split()[-1])
    predictor = load_for_inference(cli_run)
    value = predictor.predict_structures([record.structure])[0]
    assert printed == pytest.approx(value, abs=1e-4)
    rows = list(csv.DictReader(open(cli_run / "test_predictions.csv")))
    assert value == pytest.approx(float(rows[0]["prediction"]), abs=1e-5)
    assert predictor.predict_structures([good])[0] == pytest.approx(value, abs=1e-5)
    assert main(["predict", "--checkpoint", str(cli_run), "--cif", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert record.formula in captured.out
    assert f"error: {bad}: could not be read as a crystal structure" in captured.err
    assert "Traceback" not in captured.err
    assert main(["predict", "--checkpoint", str(tmp_path), "--cif", str(good)]) == 2
    assert "no usable checkpoint" in capsys.readouterr().err


def test_train_cli_rejects_bad_settings(tmp_path, capsys):
    assert main(["train", "--model", "nope", "--out", str(tmp_path), "--quiet"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert main(["train", "--model", "tiny", "--out", str(tmp_path), "--optimizer", "lbfgs",
                 "--quiet"]) == 2
    assert "--optimizer: invalid choice: 'lbfgs'" in capsys.readouterr().err
    assert main(["train", "--model", "tiny", "--out", str(tmp_path), "--huber-delta", "-1",
                 "--epochs", "0", "--quiet"]) == 2
    assert "need epochs >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_cgcnn_trains_and_predicts_from_the_command_line(flla, tmp_path, capsys):
    """A small CGCNN trained by the CLI; then `python -m companion predict` in a subprocess
    on a good and a bad CIF: the table for the good one, the bad one's message, exit code 1,
    no traceback."""
    config = json.dumps({"atom_fea_len": 8, "n_conv": 1, "h_fea_len": 8})
    assert main(["train", "--model", "cgcnn", "--fast", "--epochs", "1", "--out",
                 str(tmp_path / "run"), "--config", config, "--quiet"]) == 0
    assert "test   MAE" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["model"] == "cgcnn" and metrics["model_config"]["atom_fea_len"] == 8
    record = flla[int(flla.split["test"][0])]
    good, bad = tmp_path / "good.cif", tmp_path / "bad.cif"
    record.structure.to(filename=str(good))
    bad.write_text("data_x\n_cell_length_a 3\n")
    out = subprocess.run([sys.executable, "-m", "companion", "predict", "--checkpoint",
                          str(tmp_path / "run"), "--cif", str(good), str(bad)],
                         capture_output=True, text=True, timeout=300, env=ONE_THREAD)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"error: {bad}: could not be read")
    assert record.formula in out.stdout and "(eV/atom)" in out.stdout
    rows = list(csv.DictReader(open(tmp_path / "run" / "test_predictions.csv")))
    printed = float(out.stdout.strip().splitlines()[-1].split()[-1])
    assert printed == pytest.approx(float(rows[0]["prediction"]), abs=1e-4)


# ------------------------------------------------------------------------------ viz

def test_loss_curve_widget_updates_per_epoch(sets):
    from companion.viz.training import LossCurve, history_figure

    train, val = sets
    curve = LossCurve(unit="eV/atom")
    history = fit(tiny(), train, val, quiet(epochs=2), callbacks=[curve])
    train_trace, val_trace, lr_trace = curve.widget.data
    assert list(val_trace.x) == [1, 2] and list(val_trace.y) == history["val_mae"]
    assert list(lr_trace.y) == history["lr"]
    assert curve.widget.layout.yaxis.title.text == "MAE (eV/atom)"
    assert len(history_figure(history).data) == 3


def test_refuses_an_old_format_checkpoint_and_names_the_fix(sets, tmp_path):
    train, val = sets
    fit(tiny(), train, val, quiet(epochs=1, checkpoint_dir=str(tmp_path)))
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    ckpt["format"] = "companion.train/1"  # normalizer outside the model
    torch.save(ckpt, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="older companion.*Retrain"):
        load_for_inference(tmp_path / "old.pt")


def test_cli_flags_follow_train_config(capsys):
    import dataclasses

    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for f in dataclasses.fields(TrainConfig):
        if f.name not in ("checkpoint_dir", "progress"):  # --out and --quiet
            assert "--" + f.name.replace("_", "-") in text, f.name
    assert "{adamw,sgd}" in text and "peak learning rate" in text
    assert "--no-normalize-targets" in text and "--no-amp" in text


def test_a_new_task_plugs_into_fit_without_touching_the_loop(sets):
    """A task is the only place that knows what is learned: here one that trains with MSE
    and selects the best epoch by validation RMSE (a phonon-band task would do the same with
    a per-material band loss)."""
    from companion.train import GraphTargetTask

    class RMSETask(GraphTargetTask):
        name = "rmse"

        def loss(self, model, out, batch):
            target = model.scale_shift.inverse(batch.y.reshape(-1)).float()
            return ((out.float() - target) ** 2).mean()

        def score(self, metrics):
            return metrics["rmse"]

    train, val = sets
    model = tiny()
    history = fit(model, train, val, quiet(epochs=2), task=RMSETask(quiet(epochs=2)))
    assert history["val_mae"] == history["val_rmse"]
    assert history.best_val_mae == min(history["val_rmse"])
