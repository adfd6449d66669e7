"""The authors' pretrained k-MVN: reproduction, speed, and BandLoss / MAE on 69 DFPT materials.

1. Reproduction: our float64 k-MVN against the authors' own code on their five example
   structures (tests/fixtures/kmvn_reference.npz), max |difference| in cm^-1.
2. Speed: time per material of a forward pass (graph already built, all q-points of the
   material), batch of all five in float32 against one at a time in float64, run back to
   back (a busy 2-core machine: read the ratio, not the absolute numbers).
3. The 69 Materials Project DFPT materials (load("mp_phonons"), PBEsol): per material the
   authors' BandLoss and the band MAE in THz on the DFPT q-points, faithful mode, float64.
   These materials may be in the authors' training set (the Petretto et al. database): this
   is not a held-out test.

Usage: python benchmarks/kmvn.py [--csv out.csv] [--skip-69]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch

from companion.data import load
from companion.graphs.virtual_nodes import kmvn_graph
from companion.models.kmvn import pretrained_kmvn
from companion.nn.phonons import OUTPUT_UNIT_CM1
from companion.train.tasks.phonon_bands import PhononBandTask, band_graphs

FIXTURE = Path(__file__).resolve().parents[1] / "tests/fixtures/kmvn_reference.npz"


def _time(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        with torch.no_grad():
            fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", default=None)
    parser.add_argument("--skip-69", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = np.load(FIXTURE)
    ids = json.loads(str(ref["provenance"]))["ids"]
    m64, m32 = pretrained_kmvn(), pretrained_kmvn(dtype="float32")
    structs = [(ref[f"{i}/numbers"], ref[f"{i}/positions"], ref[f"{i}/cell"]) for i in ids]
    g64 = [kmvn_graph(s, qpoints=ref[f"{i}/qpts"]) for s, i in zip(structs, ids, strict=True)]
    g32 = [kmvn_graph(s, qpoints=ref[f"{i}/qpts"], dtype=torch.float32)
           for s, i in zip(structs, ids, strict=True)]
    with torch.no_grad():
        bands = m64.bands(Batch.from_data_list(g64))
    for i, b in zip(ids, bands, strict=True):
        err = np.abs(b.numpy() - ref[f"{i}/output_raw"]).max() * OUTPUT_UNIT_CM1
        print(f"reproduction {i}: max |ours - authors'| = {err:.2e} cm^-1")
    t_batch32 = _time(lambda: m32.bands(Batch.from_data_list(g32)))
    t_one64 = _time(lambda: [m64.bands(Batch.from_data_list([g])) for g in g64])
    print(f"forward per material: batched float32 {1e3 * t_batch32 / len(ids):.1f} ms, "
          f"batch 1 float64 {1e3 * t_one64 / len(ids):.1f} ms "
          f"(ratio {t_one64 / t_batch32:.2f}; 1 thread)")
    if args.skip_69:
        return
    t0 = time.perf_counter()
    data = load("mp_phonons")
    graphs = band_graphs(data.records)
    t_graph = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = PhononBandTask().per_material(m64, graphs, batch_size=4)
    t_model = time.perf_counter() - t0
    bl = np.array([r["band_loss"] for r in rows])
    mae = np.array([r["mae"] for r in rows])
    print(f"69 materials: graphs {t_graph:.1f} s, model {t_model:.1f} s (float64, 1 thread)")
    print(f"BandLoss: mean {bl.mean():.4f}, median {np.median(bl):.4f}, max {bl.max():.4f}")
    print(f"band MAE (THz): mean {mae.mean():.3f}, median {np.median(mae):.3f}, "
          f"max {mae.max():.3f}")
    order = np.argsort(mae)
    for k in list(order[:3]) + list(order[-3:]):
        print(f"  {rows[k]['material_id']:28s} BandLoss {bl[k]:.4f}  MAE {mae[k]:.3f} THz")
    if args.csv:
        with open(args.csv, "w") as fh:
            fh.write("material_id,band_loss,mae_thz\n")
            for r in rows:
                fh.write(f"{r['material_id']},{r['band_loss']:.6g},{r['mae']:.6g}\n")


if __name__ == "__main__":
    main()
