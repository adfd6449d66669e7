"""Graph-building speed on all 3938 FLLA structures (CGCNN policy: 12 nearest within 8 Å).

Prints the time of:
  1. the bare neighbor search with pymatgen's find_points_in_spheres (one call per
     structure, 8 Å; the library the graphs use for crystals),
  2. the same search with vesin (the other field library),
  3. the whole featurization of the package: ``to_graph(policy="cgcnn")`` + the 92-d CGCNN
     atom features (the model expands distances in Gaussians itself, batched),
  3b. the same plus the Gaussian expansion of the edge distances, to match (4) output for
     output,
  4. the original CGCNN pipeline: what ``CIFData.__getitem__`` of the original code does
     after reading the CIF (atom features per site, ``Structure.get_all_neighbors(8)``,
     sorting, cutting to 12, padding, Gaussian expansion, tensors), on structures already
     in memory (the CIF parsing it would also do is not timed),
and the ratios (4) / (3), target >= 30, and (3) / (1), target <= 3, from CPU times.

Usage: python benchmarks/graphs.py [--limit N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from companion.data import load
from companion.graphs import AtomsArrays, atom_features, edge_vectors, to_graph
from companion.graphs.features import cgcnn_table
from companion.graphs.neighbors import _pymatgen_pairs, _vesin_pairs
from companion.nn import gaussian_expansion

RADIUS, MAX_NBR = 8.0, 12
PBC = np.ones(3, dtype=bool)


def original_cgcnn(structure) -> tuple[torch.Tensor, ...]:
    """Inputs as the original CGCNN ``CIFData.__getitem__`` builds them (after the CIF)."""
    table = cgcnn_table()
    atom_fea = np.vstack([table[structure[i].specie.number] for i in range(len(structure))])
    all_nbrs = structure.get_all_neighbors(RADIUS, include_index=True)
    all_nbrs = [sorted(nbrs, key=lambda x: x[1]) for nbrs in all_nbrs]
    idx, dist = [], []
    for nbr in all_nbrs:
        if len(nbr) < MAX_NBR:
            idx.append([x[2] for x in nbr] + [0] * (MAX_NBR - len(nbr)))
            dist.append([x[1] for x in nbr] + [RADIUS + 1.0] * (MAX_NBR - len(nbr)))
        else:
            idx.append([x[2] for x in nbr[:MAX_NBR]])
            dist.append([x[1] for x in nbr[:MAX_NBR]])
    nbr_fea = gaussian_expansion(np.array(dist), 0.0, RADIUS, 0.2)
    return torch.Tensor(atom_fea), torch.Tensor(nbr_fea), torch.LongTensor(np.array(idx))


def timed(label: str, fn, items) -> float:
    """Run ``fn`` on every item; print wall and CPU time; return the CPU time (s).

    Ratios use CPU time (this process only), which other jobs on a shared machine disturb
    far less than wall time; on an idle machine the two agree."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        fn(item)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:62s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
          f"({1e3 * cpu / len(items):.3f} ms/structure)")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N structures only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load("mp_eform")
    n = len(data) if args.limit is None else min(args.limit, len(data))
    arrays = [AtomsArrays(*data.arrays(i), PBC) for i in range(n)]
    print(f"{n} FLLA structures, {sum(len(a) for a in arrays)} atoms, cutoff {RADIUS} Å, "
          f"{MAX_NBR} neighbors; load average {os.getloadavg()[0]:.2f}\n")
    to_graph(arrays[0], "cgcnn")  # warm up imports
    bare = timed("1. bare neighbor search (pymatgen find_points_in_spheres)",
                 lambda a: _pymatgen_pairs(a, RADIUS), arrays)
    timed("2. bare neighbor search (vesin)", lambda a: _vesin_pairs(a, RADIUS), arrays)

    def featurize(a: AtomsArrays) -> None:
        to_graph(a, "cgcnn")
        atom_features(a.z, "cgcnn")

    def featurize_expand(a: AtomsArrays) -> None:
        graph = to_graph(a, "cgcnn")
        atom_features(a.z, "cgcnn")
        dist = edge_vectors(graph)[1].numpy()
        dist[graph.edge_pad.numpy()] = RADIUS + 1.0
        gaussian_expansion(dist, 0.0, RADIUS, 0.2)

    ours = timed("3. companion featurization (to_graph cgcnn + atom features)", featurize,
                 arrays)
    ours_expand = timed("3b. the same + Gaussian expansion of the distances",
                        featurize_expand, arrays)
    structures = [data[i].structure for i in range(n)]
    original = timed("4. original CGCNN pipeline (pymatgen get_all_neighbors)", original_cgcnn,
                     structures)
    print(f"\nspeed-up over the original pipeline (4 / 3):  {original / ours:6.1f}x  "
          f"(target >= 30x); with the expansion (4 / 3b): {original / ours_expand:.1f}x")
    print(f"featurization / bare neighbor search (3 / 1): {ours / bare:6.2f}   (target <= 3)")


if __name__ == "__main__":
    main()
