"""Train k-MVN and both VGNNA variants on the CHGNet-teacher phonons, evaluate on DFPT.

Every run is one ``python -m companion train`` command (printed, and stored with its
metrics) on the same data (``chgnet_phonons``: CHGNet phonons, not DFT; its stored
train/val split), with the same budget (epochs, batch size, learning rate, float32, the
authors' output mode), three seeds each. The 69 Materials Project DFPT materials
(``mp_phonons``), never seen in training, are the test set (the ``dfpt`` split of
``chgnet_phonons``). Fine-tuning starts from the authors' pretrained k-MVN
(``--init kmvn/max-gamma-frequency``, the authors' weights), k-MVN alone and with the
equivariant attention block added (which starts as the identity).

Runs are resumable: a run whose ``metrics.json`` exists is not run again. At the end the
script writes ``data/phonon_comparison.json`` (per run and per model: mean and standard
deviation over seeds of the DFPT BandLoss and band MAE in THz, validation BandLoss, time) and
ships the best k-MVN, equivariant VGNNA and faithful VGNNA trained from scratch (chosen by
validation BandLoss on the teacher set, never by the DFPT numbers) as
``data/checkpoints/{kmvn,vgnna,vgnna_faithful}_chgnet.pt``, their sha256 in
``companion/data/registry.txt``.

Usage::

    python scripts/phonon_comparison.py [--runs runs/phonons] [--epochs 18] [--only kmvn]
        [--parallel 2 --threads 1]                          # two runs at a time
    python scripts/phonon_comparison.py --summary-only      # tables from finished runs
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

MODELS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "kmvn": ("kmvn", {}, None),
    "vgnna-faithful": ("vgnna", {"attention": "faithful"}, None),
    "vgnna-equivariant": ("vgnna", {"attention": "equivariant"}, None),
    "kmvn-finetuned": ("kmvn", {}, "kmvn/max-gamma-frequency"),
    "vgnna-finetuned": ("vgnna", {"attention": "equivariant"}, "kmvn/max-gamma-frequency"),
}
"""Run name -> (registry model, model config on top of COMMON_MODEL, --init source)."""

COMMON_MODEL = {"dtype": "float32", "mode": "faithful"}
SEEDS = (0, 1, 2)
SHIP = {"kmvn": "kmvn_chgnet.pt", "vgnna-equivariant": "vgnna_chgnet.pt",
        "vgnna-faithful": "vgnna_faithful_chgnet.pt"}
"""Run name -> file in data/checkpoints/ (the faithful VGNNA ships for notebook 06, which
measures its equivariance violation on a trained model)."""


def command(name: str, seed: int, args: argparse.Namespace) -> list[str]:
    """The ``python -m companion train`` command of one run."""
    model, extra, init = MODELS[name]
    lr = args.finetune_lr if init else args.lr
    config = {"model": {**COMMON_MODEL, **extra},
              "train": {"weight_decay": args.weight_decay, "schedule": "cosine",
                        "warmup_epochs": 0.5 if not init else 0.0,
                        "band_qpoint_stride": args.qpoint_stride}}
    cmd = [sys.executable, "-m", "companion", "train", "--model", model,
           "--data", "chgnet_phonons", "--config", json.dumps(config),
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
           "--lr", str(lr), "--seed", str(seed), "--quiet",
           "--out", str(Path(args.runs) / name / f"seed{seed}")]
    return cmd + (["--init", init] if init else [])


def run_all(args: argparse.Namespace) -> None:
    """Every run not finished yet, ``args.parallel`` at a time (each with
    ``OMP_NUM_THREADS = threads``); a run's output goes to ``OUT/train.log``."""
    import os

    names = args.only or list(MODELS)
    order = [(name, seed) for seed in SEEDS[:args.seeds] for name in names
             if MODELS[name][2] is None]  # from scratch first, seed by seed
    order += [(name, seed) for name in names if MODELS[name][2] is not None
              for seed in SEEDS[:args.seeds]]  # then the fine-tuning runs
    todo = [(name, seed) for name, seed in order
            if not (Path(args.runs) / name / f"seed{seed}" / "metrics.json").is_file()]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    running: list[tuple[subprocess.Popen, str, float]] = []
    while todo or running:
        while todo and len(running) < args.parallel:
            name, seed = todo.pop(0)
            cmd = command(name, seed, args)
            out = Path(cmd[cmd.index("--out") + 1])
            out.mkdir(parents=True, exist_ok=True)
            print(f"[{time.strftime('%H:%M:%S')}] {shlex.join(cmd[1:])}", flush=True)
            log = open(out / "train.log", "w")  # noqa: SIM115 - closed with the process
            running.append((subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log,
                                             stderr=subprocess.STDOUT), str(out),
                            time.perf_counter()))
        time.sleep(2)
        for job in list(running):
            proc, out, t0 = job
            if proc.poll() is None:
                continue
            running.remove(job)
            status = "done" if proc.returncode == 0 else f"FAILED ({proc.returncode})"
            print(f"[{time.strftime('%H:%M:%S')}] {out}: {status} in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            if proc.returncode:
                raise SystemExit(f"{out} failed; see {out}/train.log")


def _spread(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values)}


def summarize(args: argparse.Namespace) -> dict[str, Any]:
    runs, per_model = [], {}
    for name in MODELS:
        rows = []
        for seed in SEEDS:
            path = Path(args.runs) / name / f"seed{seed}" / "metrics.json"
            if not path.is_file():
                continue
            m = json.loads(path.read_text())
            row = {"name": name, "seed": seed, "command": m.get("command"),
                   "n_params": m["n_params"], "epochs": m["epochs_run"],
                   "train_time_s": m["train_time_s"],
                   "val_band_loss": m["val"]["band_loss"], "val_mae_thz": m["val"]["mae"],
                   "dfpt_band_loss": m["dfpt"]["band_loss"], "dfpt_mae_thz": m["dfpt"]["mae"],
                   "n_train": m["n_train"], "n_val": m["n_val"], "n_dfpt": m.get("n_dfpt"),
                   "run": str(path.parent.relative_to(REPO) if path.is_relative_to(REPO)
                              else path.parent)}
            rows.append(row)
        runs += rows
        if rows:
            per_model[name] = {
                "n_params": rows[0]["n_params"], "seeds": [r["seed"] for r in rows],
                **{k: _spread([r[k] for r in rows]) for k in
                   ("dfpt_band_loss", "dfpt_mae_thz", "val_band_loss", "train_time_s")}}
    return {"data": "chgnet_phonons (CHGNet phonons, not DFT) train/val; test: the 69 DFPT "
                    "materials of mp_phonons (held out)",
            "budget": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                       "finetune_lr": args.finetune_lr, "weight_decay": args.weight_decay,
                       "band_qpoint_stride": args.qpoint_stride,
                       "model": COMMON_MODEL},
            "models": per_model, "runs": runs}


def ship(summary: dict[str, Any]) -> None:
    """Export the best run (lowest validation BandLoss) of each model in :data:`SHIP`."""
    from companion.data.resolve import sha256_file, update_checksums
    from companion.train.checkpoint import export_weights

    for name, file in SHIP.items():
        rows = [r for r in summary["runs"] if r["name"] == name]
        if not rows:
            continue
        best = min(rows, key=lambda r: r["val_band_loss"])
        note = (f"{name}, seed {best['seed']} (best of {len(rows)} by validation BandLoss); "
                f"trained on CHGNet phonons, not DFT; command: {best['command']}")
        path = export_weights(REPO / best["run"], REPO / "data" / "checkpoints" / file, note)
        update_checksums({f"checkpoints/{file}": sha256_file(path)},
                         "checkpoints shipped in data/checkpoints/ (scripts/phonon_comparison.py)")
        summary["models"][name]["shipped"] = {"file": str(path.relative_to(REPO)),
                                              "seed": best["seed"]}
        print(f"shipped {path.relative_to(REPO)} (seed {best['seed']})")


def print_table(summary: dict[str, Any]) -> None:
    print(f"{'model':20s} {'params':>8s} {'DFPT BandLoss':>22s} {'DFPT MAE THz':>18s} "
          f"{'val BandLoss':>20s} {'time s':>7s}")
    for name, m in summary["models"].items():
        bl, mae, val = m["dfpt_band_loss"], m["dfpt_mae_thz"], m["val_band_loss"]
        n = len(m["seeds"])
        print(f"{name:20s} {m['n_params']:8d} {bl['mean']:.5f} ± {bl['std']:.5f} (n={n})"
              f" {mae['mean']:7.3f} ± {mae['std']:.3f} {val['mean']:.5f} ± {val['std']:.5f} "
              f"{m['train_time_s']['mean']:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(REPO / "runs" / "phonons"))
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--finetune-lr", type=float, default=3e-4)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--qpoint-stride", type=int, default=3,
                        help="train on every k-th q-point (TrainConfig.band_qpoint_stride)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run")
    parser.add_argument("--only", nargs="+", choices=list(MODELS), default=None)
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--no-ship", action="store_true")
    args = parser.parse_args()
    if not args.summary_only:
        run_all(args)
    summary = summarize(args)
    if not args.no_ship:
        ship(summary)
    print_table(summary)
    out = REPO / "data" / "phonon_comparison.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
