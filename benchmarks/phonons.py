"""Training speed of the phonon models: this package's design against the authors'.

One training epoch (forward, BandLoss, backward, AdamW step) over the same materials, same
model (k-MVN or VGNNA), in two designs, each in its own process so that its peak memory
(max RSS) is its own:

- ``ours``: batches of ``--batch-size`` materials, float32, virtual nodes compressed
  (:meth:`companion.models.kmvn.KMVN.node_irreps`: ``N + E + N`` computed nodes);
- ``authors``: one material per step, float64, every virtual node computed (``N + N^2 n_s``
  nodes, as the authors' code builds them): :class:`AllVirtualNodes` below, checked to give
  the same bands as the compressed model before it is timed.

Data: the first ``--n`` materials of the CHGNet-teacher set (``chgnet_phonons``; CHGNet
phonons, not DFT) when it is present, else the 69 DFPT materials (``mp_phonons``).
Prints materials per second of each design, the ratio, and peak memory.

Usage: python benchmarks/phonons.py [--model kmvn|vgnna] [--n 64] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import torch
from torch_geometric.data import Batch

from companion.models.kmvn import KMVN
from companion.models.registry import build_model
from companion.train.tasks.phonon_bands import PhononBandTask, band_graphs


def _records(n: int) -> tuple[str, list[Any]]:
    from companion.data import load
    from companion.errors import DataError

    try:
        ds = load("chgnet_phonons")
        name = "chgnet_phonons (CHGNet phonons, not DFT)"
    except (DataError, ValueError):
        ds, name = load("mp_phonons"), "mp_phonons (DFPT)"
    return name, list(ds.records)[:n]


def all_virtual_nodes(model: KMVN, data: Any) -> torch.Tensor:
    """``model.node_irreps`` computed the authors' way: every one of the ``N^2 n_s``
    virtual nodes is a node of the graph. Returns [n_vnodes, 18]."""
    x, a, r, graph = model.atom_inputs(data)
    n_atoms = x.shape[0]
    src, dst = data.edge_index
    vnode = data.vnode_atom  # [n_vnodes] the atom whose features a virtual node carries
    return model.propagate(torch.cat([x, x[vnode]]), torch.cat([a, a[vnode]]),
                           torch.cat([src, src]), torch.cat([dst, n_atoms + data.edge_vnode]),
                           r, torch.cat([graph, graph[vnode]]))[n_atoms:]


class AllVirtualNodes(torch.nn.Module):
    """Wraps a model so that its virtual nodes are computed the authors' way."""

    def __init__(self, model: KMVN) -> None:
        super().__init__()
        self.model = model
        model.node_irreps = lambda data: all_virtual_nodes(model, data)  # type: ignore

    def forward(self, data: Any) -> list[torch.Tensor]:
        return self.model(data)


def run_design(design: str, model_name: str, n: int, batch_size: int, epochs: int
               ) -> dict[str, Any]:
    """One design in this process: build, check (authors'), train ``epochs`` epochs."""
    torch.manual_seed(0)
    dtype = "float32" if design == "ours" else "float64"
    data_name, records = _records(n)
    graphs = band_graphs(records, dtype=getattr(torch, dtype))
    model = build_model(model_name, {"dtype": dtype, "mode": "faithful"})
    if design == "authors":
        reference = build_model(model_name, {"dtype": dtype, "mode": "faithful"})
        reference.load_state_dict(model.state_dict())
        reference.eval()
        model = AllVirtualNodes(model)
        model.eval()
        with torch.no_grad():
            b = Batch.from_data_list(graphs[:3])
            diff = max(float((p - q).abs().max()) for p, q in
                       zip(model(b), reference(b), strict=True))
        if diff > 1e-8:
            raise AssertionError(f"all-virtual-node model differs from ours by {diff}")
        batch_size = 1
    model.train()
    task = PhononBandTask()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for i in range(0, len(graphs), batch_size):
            batch = Batch.from_data_list(graphs[i:i + batch_size])
            loss = task.loss(model, model(batch), batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return {"design": design, "data": data_name, "n": len(graphs), "batch_size": batch_size,
            "dtype": dtype, "epoch_s": min(times), "materials_per_s": len(graphs) / min(times),
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="kmvn", choices=["kmvn", "vgnna"])
    parser.add_argument("--n", type=int, default=64, help="materials in the epoch (64 or "
                        "more: shorter epochs are too short to time)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2, help="epochs; the fastest counts")
    parser.add_argument("--design", choices=["ours", "authors"], default=None,
                        help=argparse.SUPPRESS)  # one design in a child process
    args = parser.parse_args()
    if args.design:
        print(json.dumps(run_design(args.design, args.model, args.n, args.batch_size,
                                    args.epochs)))
        return
    results = {}
    for design in ("ours", "authors"):
        cmd = [sys.executable, __file__, "--design", design, "--model", args.model,
               "--n", str(args.n), "--batch-size", str(args.batch_size),
               "--epochs", str(args.epochs)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[design] = json.loads(out.strip().splitlines()[-1])
        r = results[design]
        print(f"{design:8s} {r['dtype']}, batch {r['batch_size']:3d}: "
              f"{r['materials_per_s']:7.2f} materials/s (epoch of {r['n']} in "
              f"{r['epoch_s']:.2f} s), peak RSS {r['peak_rss_gb']:.2f} GB, "
              f"{r['threads']} threads", flush=True)
    ratio = results["ours"]["materials_per_s"] / results["authors"]["materials_per_s"]
    print(f"data: {results['ours']['data']}; model: {args.model}")
    print(f"speed-up per epoch (ours / authors' design): {ratio:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
