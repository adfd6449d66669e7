"""Potential mode of the training engine: energies + forces on real DFT data (BOTNet ethanol,
EAN, mlearn Si), with a tiny GATv2 / JAT model (float32, ~3k parameters)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.utils import scatter

from companion.__main__ import main
from companion.data import load
from companion.graphs import edge_vectors
from companion.graphs.potential_dataset import PotentialDataset
from companion.models import registry
from companion.models.gatv2 import GATv2Config, GATv2Potential
from companion.nn import ScaleShift
from companion.train import (
    METRIC_KEYS,
    AtomicReference,
    CheckpointError,
    TrainConfig,
    atomic_reference,
    evaluate,
    evaluate_potential,
    fit,
    fit_atomic_energies,
    load_checkpoint,
    load_for_inference,
    predict,
    predict_potential,
)
from companion.train.tasks import has_forces

CUTOFF = 4.0  # Å
SMALL = {"species": [1, 6, 8], "embed_dim": 16, "n_layers": 2, "heads": 2, "hidden": 16,
         "n_radial": 6, "cutoff": CUTOFF}
RECORD_KEYS = {"epoch", "lr", "time_s", "train_mae", "val_mae", "train_loss"} | {
    f"{s}_{k}" for s in ("train", "val") for k in METRIC_KEYS}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def ethanol():
    """The shipped 50-frame ethanol fixture (data/, no external data needed)."""
    return load("ethanol_sample")


@pytest.fixture(scope="module")
def sets(ethanol):
    """The fixture's 40 training configurations, and its other 10 for validation."""
    held_out = np.concatenate([ethanol.split["val"], ethanol.split["test"]])
    return (PotentialDataset(ethanol, ethanol.split["train"], cutoff=CUTOFF).prebuild(),
            PotentialDataset(ethanol, held_out, cutoff=CUTOFF).prebuild())


def small(seed: int = 0, **overrides) -> GATv2Potential:
    torch.manual_seed(seed)
    return GATv2Potential(GATv2Config(**{**SMALL, **overrides}))


def quiet(**kwargs) -> TrainConfig:
    return TrainConfig(**{"progress": False, "task": "potential", "batch_size": 10,
                          "lr": 5e-3, "loss": "mse", "schedule": "cosine", **kwargs})


# ----------------------------------------------------------------------------- data

def test_potential_dataset_graphs_carry_labels(ethanol):
    ds = PotentialDataset(ethanol, [3, 7], cutoff=CUTOFF, dtype=torch.float64)
    g = ds[1]
    assert g.energy.dtype == torch.float64 and g.energy.item() == ethanol[7].targets["energy"]
    assert g.forces.shape == (9, 3) and g.forces.dtype == torch.float64
    np.testing.assert_array_equal(g.forces.numpy(), ethanol[7].labels["forces"])
    assert g.natoms.tolist() == [9] and g.idx.tolist() == [7]
    assert not bool(g.pbc.any()) and g.edge_index.shape[1] == 72  # 4 Å: all pairs
    from torch_geometric.loader import DataLoader

    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch.energy.shape == (2,) and batch.forces.shape == (18, 3)
    assert batch.natoms.tolist() == [9, 9]
    assert ds.atomic_energies == {int(z): e for z, e in ethanol.atomic_energies.items()}
    assert len(ds.subset([1])) == 1 and ds.subset([1])[0] is g


def test_periodic_dataset_ean():
    g = PotentialDataset(load("ean_sample"), [0], cutoff=3.0)[0]
    assert bool(g.pbc.all()) and g.forces.shape == (225, 3) and g.natoms.item() == 225
    assert g.edge_shift.abs().sum() > 0  # bonds across the box


# ------------------------------------------------------------------------ reference

def test_fit_atomic_energies_recovers_per_element_energies():
    rng = np.random.default_rng(0)
    true = {1: -13.6, 6: -1025.3, 8: -2035.6}
    numbers = [rng.choice([1, 6, 8], size=rng.integers(3, 12)) for _ in range(40)]
    energies = np.array([sum(true[int(z)] for z in zs) for zs in numbers])
    fitted = fit_atomic_energies(numbers, energies)
    assert fitted.keys() == true.keys()
    assert all(fitted[z] == pytest.approx(true[z], abs=1e-8) for z in true)


def test_reference_isolated_atoms_and_fit(ethanol, sets):
    train, _ = sets
    ref = atomic_reference(train, TrainConfig(task="potential"))
    assert ref.source == "isolated" and ref.atomic_energies == train.atomic_energies
    natoms = 9
    base = sum(ref.atomic_energies[int(z)] for z in ethanol[0].numbers)
    per_atom = (train.targets - base) / natoms
    assert ref.shift == pytest.approx(per_atom.mean(), rel=1e-12)  # -4.68 eV/atom
    forces = np.concatenate([ethanol[int(i)].labels["forces"] for i in train.indices])
    assert ref.scale == pytest.approx(np.sqrt((forces**2).mean()), rel=1e-10)
    # one composition: the minimum-norm least-squares fit still reproduces the mean energy
    fit = atomic_reference(train, TrainConfig(task="potential", atomic_energies="fit"))
    assert fit.source == "fit" and abs(fit.shift) < 1e-9
    assert sum(fit.atomic_energies[int(z)] for z in ethanol[0].numbers) == pytest.approx(
        train.targets.mean(), abs=1e-8)
    raw = atomic_reference(train, TrainConfig(task="potential", normalize_targets=False))
    assert (raw.shift, raw.scale) == (0.0, 1.0)
    assert AtomicReference.from_dict(ref.to_dict()) == ref


def test_reference_fit_on_mlearn_silicon():
    si = load("mlearn", element="Si", split="train")  # the external set (COMPANION_DATA_DIRS)
    ds = PotentialDataset(si, cutoff=4.0)
    ref = atomic_reference(ds, TrainConfig(task="potential"))
    assert ref.source == "fit" and set(ref.atomic_energies) == {14}
    assert -6.0 < ref.atomic_energies[14] < -5.0  # PBE Si: about -5.4 eV/atom
    with pytest.raises(ValueError, match="no isolated-atom energy for Z=\\[14\\]"):
        atomic_reference(ds, TrainConfig(task="potential", atomic_energies="isolated"))


# ------------------------------------------------------------------------- learning

def test_tiny_gatv2_learns_ethanol_forces(sets):
    train, val = sets
    model = small()
    history = fit(model, train, val, quiet(epochs=8, batch_size=5, lr=2e-2))  # ~4 s
    forces = torch.cat([train[k].forces for k in range(len(train))])  # [n, 3]
    mean_force = forces.mean(0)  # [3]: the best constant prediction (about 0)
    baseline = 1000 * (torch.cat([val[k].forces for k in range(len(val))]) - mean_force
                       ).abs().mean().item()  # meV/Å, ~900
    assert len(history) == 8 and set(history.epochs[-1]) == RECORD_KEYS
    best = history.best_val_mae
    assert best < 0.45 * baseline, (history["val_force_mae"], baseline)  # 328 vs 899
    assert history["train_force_mae"][-1] < 0.7 * history["train_force_mae"][0]
    assert history["val_mae"] == history["val_force_mae"]
    scores = evaluate(model, val)  # a potential: evaluate gives energy and force errors
    assert set(scores) == set(METRIC_KEYS)
    assert scores["force_mae"] == pytest.approx(best, rel=1e-5)
    assert scores["force_rmse"] >= scores["force_mae"]
    assert scores["energy_mae"] < 100  # meV/atom; 4.7 eV/atom without the reference
    # predictions in eV, forces in eV/Å, the model alone (reference in its buffers)
    pred = predict_potential(model, val)
    assert np.allclose(pred["energy"], predict(model, val))
    out = model.eval().energy_and_forces(val[0])
    assert out["energy"].item() == pytest.approx(pred["energy"][0], abs=1e-3)
    assert np.allclose(out["forces"].detach().numpy(), pred["forces"][0], atol=1e-5)
    ss = model.scale_shift  # the reference lives in the model's per-species buffers
    assert ss.per_species and float(ss.scale[0]) > 0 and float(ss.shift.abs().min()) > 1


class PairEnergy(nn.Module):
    """A model without ``energy_and_forces`` or energy buffers: the engine differentiates it
    and applies the reference around it."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.net = nn.Sequential(nn.Linear(17, 16), nn.SiLU(), nn.Linear(16, 1))
        self.config = {"kind": "pair"}

    def forward(self, data) -> torch.Tensor:
        _, dist = edge_vectors(data)  # [n_edges]
        src, dst = data.edge_index
        h = torch.cat([self.embed(data.z % 10)[src], self.embed(data.z % 10)[dst],
                       dist[:, None]], dim=1)  # [n_edges, 17]
        cut = 0.5 * (torch.cos(math.pi * dist / CUTOFF) + 1)  # [n_edges]
        e_atom = scatter(self.net(h)[:, 0] * cut, dst, dim=0, dim_size=data.num_nodes)
        batch = data.batch if data.batch is not None else torch.zeros_like(data.z)
        return scatter(e_atom, batch, dim=0, dim_size=data.num_graphs)  # [n_graphs]


def test_a_model_without_forces_or_buffers_trains(sets):
    train, val = sets
    torch.manual_seed(0)
    model = PairEnergy()
    history = fit(model, train, val, quiet(epochs=2, batch_size=5, lr=2e-2))
    ss = model.scale_shift  # attached by the task, applied around the model
    assert isinstance(ss, ScaleShift) and {1, 6, 8} <= set(ss.species) and len(history) == 2
    scale = float(ss.scale[0])
    assert torch.equal(ss.scale, torch.full((len(ss.species),), scale))
    # the engine: E = scale * model + sum of references, F = -dE/dr by autograd
    from torch_geometric.data import Batch

    graph = Batch.from_data_list([val[0]])
    pos = graph.pos.clone().requires_grad_(True)
    moved = graph.clone()
    moved.pos = pos
    raw = model.eval()(moved)[0]
    forces = -scale * torch.autograd.grad(raw, pos)[0]  # [9, 3]
    energy = scale * raw.item() + ss.shift[ss.index(graph.z)].double().sum().item()
    pred = predict_potential(model, val.subset([0]))
    assert pred["energy"][0] == pytest.approx(energy, abs=1e-3)
    np.testing.assert_allclose(pred["forces"][0], forces.double().numpy(), atol=1e-5)
    assert evaluate_potential(model, val)["energy_mae"] < 300  # meV/atom: reference applied


def test_energy_only_training_selects_on_energy(sets):
    train, val = sets
    history = fit(small(), train, val, quiet(epochs=2, force_weight=0.0))
    assert history["val_mae"] == history["val_energy_mae"]


def test_task_is_chosen_from_the_data(ethanol, sets):
    assert has_forces(ethanol) and has_forces(sets[0])

    class Broken:
        def __len__(self):
            return 1

        def __getitem__(self, k):
            raise OSError("unreadable record")

    with pytest.raises(OSError, match="unreadable"):  # no silent fallback to scalar
        has_forces(Broken())


def test_config_validation():
    with pytest.raises(ValueError, match="task"):
        TrainConfig(task="forces")
    with pytest.raises(ValueError, match="not both 0"):
        TrainConfig(energy_weight=0.0, force_weight=0.0)
    with pytest.raises(ValueError, match="atomic_energies"):
        TrainConfig(atomic_energies="dft")


# ----------------------------------------------------------------- checkpoints

def _interrupt_after(n: int):
    def callback(history):
        if len(history) == n:
            raise KeyboardInterrupt
    return callback


@pytest.mark.slow
def test_resume_in_potential_mode_is_bitwise_equal(sets, tmp_path):
    train, val = sets
    base = dict(epochs=3, warmup_epochs=1)
    straight = small()
    h_a = fit(straight, train, val, quiet(**base, checkpoint_dir=str(tmp_path / "a")))
    cfg_b = quiet(**base, checkpoint_dir=str(tmp_path / "b"))
    with pytest.raises(KeyboardInterrupt):
        fit(small(), train, val, cfg_b, callbacks=[_interrupt_after(2)])
    ckpt = load_checkpoint(tmp_path / "b")
    assert ckpt["epoch"] == 2 and ckpt["task"]["reference"]["source"] == "isolated"
    assert ckpt["task"]["name"] == "potential" and "scale_shift.shift" in ckpt["model"]
    resumed = small(seed=7)
    cfg_b.resume = True
    h_b = fit(resumed, train, val, cfg_b)
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    drop = ("time_s",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in h_a.epochs] == \
        [{k: v for k, v in r.items() if k not in drop} for r in h_b.epochs]
    assert torch.equal(resumed.scale_shift.shift, straight.scale_shift.shift)
    with pytest.raises(CheckpointError, match="force_weight"):
        fit(small(), train, val, quiet(**base, force_weight=1.0, resume=True,
                                       checkpoint_dir=str(tmp_path / "b")))


def test_cli_trains_gatv2_on_ethanol_and_predicts(ethanol, tmp_path, capsys):
    out = tmp_path / "run"
    config = json.dumps({"model": {k: v for k, v in SMALL.items() if k != "species"},
                         "train": {"loss": "mse", "schedule": "cosine"}})
    code = main(["train", "--model", "gatv2", "--data", "ethanol", "--epochs", "1",
                 "--batch-size", "32", "--lr", "5e-3", "--fast", "--quiet", "--out", str(out),
                 "--config", config])
    assert code == 0
    text = capsys.readouterr().out
    assert "test_md" in text and "meV/Å" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "potential" and metrics["test_set"] == "test_md"
    assert metrics["model_config"]["species"] == [1, 6, 8]  # from the data
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test_md"]) == (256, 64, 64)
    for split in ("train", "val", "test", "test_md"):
        assert set(metrics[split]) == set(METRIC_KEYS)
    assert metrics["energy_reference"]["source"] == "isolated"
    rows = (out / "test_predictions.csv").read_text().splitlines()
    assert len(rows) == 65 and rows[0].startswith("id,n_atoms,energy_eV")
    predictor = load_for_inference(out)
    assert predictor.model.scale_shift.per_species
    energy = predictor.predict_structures([ethanol[0].atoms])
    direct = predictor.model.energy_and_forces(predictor.graph(ethanol[0].atoms))["energy"]
    assert energy[0] == pytest.approx(direct.item(), abs=1e-3)
    assert abs(energy[0] - ethanol[0].targets["energy"]) < 5.0  # eV: reference restored


def test_registry_knows_gatv2():
    assert "gatv2" in registry.model_names()
    assert registry.graph_kwargs("gatv2", {"cutoff": 3.5}) == {
        "line_graph": False, "policy": "radius", "cutoff": 3.5}
    model = registry.build_model("gatv2", SMALL)
    assert registry.name_of(model) == "gatv2" and model.config.species == (1, 6, 8)


# ------------------------------------------------------------------------------ DDP

def _ddp_worker(rank: int, world: int, init_file: str, out: str) -> None:
    """One DDP process of the test below (forces inside the DDP-wrapped forward)."""

    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    try:
        data = load("ethanol_sample")
        train = PotentialDataset(data, range(32), cutoff=CUTOFF)  # 2 steps of 16
        val = PotentialDataset(data, range(32, 50), cutoff=CUTOFF)
        model = small()
        history = fit(model, train, val, quiet(epochs=2, batch_size=16))
        torch.save({"state": model.state_dict(), "history": history.to_dict()},
                   f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(ethanol, tmp_path):
    """Global batch 16 as 2 x 8: the same weights as one process, up to float32 rounding."""
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    train = PotentialDataset(ethanol, range(32), cutoff=CUTOFF)
    val = PotentialDataset(ethanol, range(32, 50), cutoff=CUTOFF)
    single = small()
    history = fit(single, train, val, quiet(epochs=2, batch_size=16))
    diff = max((single.state_dict()[k] - v).abs().max().item() for k, v in r0["state"].items())
    assert diff < 1e-5
    for a, b in zip(r0["history"]["epochs"], history.epochs, strict=True):
        for key in ("train_force_mae", "val_force_mae", "val_energy_mae"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), key
