"""Run the authors' k-MVN code on DFPT materials at the DFPT q-points (a reference harness).

Not part of the package and not run by the tests: it makes the DFPT part of
tests/fixtures/kmvn_reference.npz (see scripts/build_kmvn_fixture.py). It follows
``shared/reference/kmvn/run_ref.py``: the authors' ``generate_data_dict`` (r_max 4 Å,
descriptor 'mass', option 'kmvn', factor 1000), ``GraphNetwork_kMVN`` built from the
checkpoint's ``conf_dict`` and loaded strictly (``torch.load(weights_only=True,
map_location="cpu")``), and ``get_spectra`` per material (batch size 1), float64, CPU.

Environment: a throwaway folder outside the repository holding the authors' modules at the
pinned commit, e3nn 0.5.0 and mendeleev 1.3.0, and the ``torch_scatter`` stand-in, exactly as
``../shared/reference/kmvn/README.md`` describes for their reference run. Commands used::

    # inputs, with the course environment:
    python scripts/kmvn_reference_dfpt.py export /tmp/kmvnref/dfpt_inputs.npz
    # the authors' code (their modules first on the path, e3nn 0.5.0 beside them):
    cd /tmp/kmvnref && PYTHONPATH=pkgs:shim:. python <repo>/scripts/kmvn_reference_dfpt.py \\
        run dfpt_inputs.npz <data>/RyotaroOKabe__phonon_prediction/models/kmvn_241026-182158.torch
"""

from __future__ import annotations

import importlib.metadata as im
import json
import platform
import sys

import numpy as np

IDS = ["mp-149", "mp-1960", "mp-406", "mp-2894", "mp-3163", "mp-8799"]


def export(path: str) -> None:
    from companion.data import load

    out: dict[str, np.ndarray] = {}
    ds = load("mp_phonons", material_ids=IDS)
    for r in ds:
        out[f"{r.id}/numbers"], out[f"{r.id}/positions"] = r.numbers, r.positions
        out[f"{r.id}/cell"], out[f"{r.id}/qpts"] = r.cell, r.labels["qpoints"]
    out["ids"] = np.array([r.id for r in ds])
    np.savez(path, **out)


def run(inputs: str, checkpoint: str) -> None:
    import pandas as pd
    import torch
    from ase import Atoms
    from torch_geometric.loader import DataLoader
    from utils.utils_data import generate_data_dict  # the authors' modules
    from utils.utils_model import GraphNetwork_kMVN, get_spectra

    torch.set_default_dtype(torch.float64)
    inp = np.load(inputs)
    ids = [str(i) for i in inp["ids"]]
    rows = []
    for i in ids:
        atoms = Atoms(numbers=inp[f"{i}/numbers"], positions=inp[f"{i}/positions"],
                      cell=inp[f"{i}/cell"], pbc=True)
        q = inp[f"{i}/qpts"]
        rows.append({"id": i, "structure": atoms, "qpts": q, "qticks": [],
                     "real_band": np.zeros((len(q), 3 * len(atoms)))})
    data_dict = generate_data_dict(pd.DataFrame(rows), 4.0, descriptor="mass",
                                   option="kmvn", factor=1000)
    ckpt = torch.load(checkpoint, weights_only=True, map_location="cpu")
    model = GraphNetwork_kMVN(**ckpt["conf_dict"])
    model.load_state_dict(ckpt["state"], strict=True)
    model.eval()
    out = {}
    with torch.no_grad():
        for d in DataLoader(list(data_dict.values()), batch_size=1):
            hs, shifts = model(d)
            out[f"{d.id[0]}/output_raw"] = get_spectra(hs, shifts, d.qpts).numpy()
    versions = {p: im.version(p) for p in ("torch", "e3nn", "torch_geometric", "ase",
                                           "mendeleev", "numpy", "pandas")}
    meta = {"versions": versions, "python": platform.python_version(), "ids": ids,
            "command": "PYTHONPATH=pkgs:shim:. python scripts/kmvn_reference_dfpt.py run "
                       "dfpt_inputs.npz kmvn_241026-182158.torch"}
    np.savez("dfpt_out.npz", meta=np.array(json.dumps(meta)), **out)
    print(json.dumps(meta))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3])
