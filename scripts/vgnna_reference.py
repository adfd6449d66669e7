r"""Run the VGNNA authors' code with seeded random weights: the target of the VGNNA test.

The VGNNA authors (hasson827/VGNNA @ 9c637f110da9f259cc56de8c8553b8abac8eded0, MIT) published
no weights, so this builds their ``GraphNetwork_kMVN(..., use_attention=True, attn_heads=4,
attn_dropout=0.1)`` with the hyperparameters of their ``configs/train.yaml`` from a seed,

.. math::
    \text{torch.manual\_seed}(0), \quad \theta_{\rm bias} \leftarrow \theta_{\rm bias}
    + 0.1\,\xi, \quad \gamma_{\rm LN} \leftarrow \gamma_{\rm LN} + 0.1\,\xi, \quad
    \xi \sim \mathcal N(0, 1) \text{ (generator seeded 1)},

(every bias and every LayerNorm weight moved off its default 0 / 1, so a test is not blind
to them), puts it in eval mode (no dropout), and evaluates it in float64 on the five
structures of ``tests/fixtures/kmvn_reference.npz`` at their q-points, each in a batch of
one, as their ``utils/plot.py`` does: ``Hs, shifts = model(d)``,
``get_spectra(Hs, shifts, d.qpts)`` -> [n_q, 3N] in 1000 cm^-1. Their input dict is made by
their own ``utils.data.build_data_kmvn`` (ase structure, 4 Å, descriptor ``mass``).

It runs in a throwaway environment, not the project's (it does not import ``companion``)::

    python3.11 -m venv /tmp/vgnna-env
    /tmp/vgnna-env/bin/pip install torch==2.13.0 e3nn==0.5.0 torch-geometric ase numpy \
        pandas mendeleev
    git --git-dir=<mirror of hasson827/VGNNA> archive 9c637f1 | tar -x -C /tmp/vgnna-src
    PYTHONPATH=../shared/reference/kmvn/shim /tmp/vgnna-env/bin/python \
        scripts/vgnna_reference.py --src /tmp/vgnna-src --out /tmp/vgnnaref/vgnna_out.npz

(the shim stands in for ``torch_scatter``, which has no wheel for torch 2.13, by calling
PyG's ``scatter``). Output: one ``.npz`` (no pickles) with ``<id>/output_raw`` [n_q, 3N],
``state/<key>`` (every state-dict entry, float64), ``attention/...`` (the attention block's
input and output on the real atoms and the connected virtual nodes of the first structure,
with the source, destination and vector of each virtual node's edge), and ``provenance``
(JSON: commit, versions, command, seed, parameter count). ``scripts/build_vgnna_fixture.py``
turns it into ``tests/fixtures/vgnna_reference.npz``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as im
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

COMMIT = "9c637f110da9f259cc56de8c8553b8abac8eded0"
HYPER = dict(mul=4, irreps_out="2x0e+2x1e+2x2e", lmax=2, nlayers=2, number_of_basis=10,
             radial_layers=1, radial_neurons=100, node_dim=118, node_embed_dim=32,
             input_dim=118, input_embed_dim=32, use_attention=True, attn_heads=4,
             attn_dropout=0.1)  # configs/train.yaml, attention switched on
SEED, PERTURB_SEED, PERTURB_SCALE = 0, 1, 0.1
R_MAX, DESCRIPTOR, FACTOR = 4.0, "mass", 1000


def _version(package: str) -> str | None:
    try:
        return im.version(package)
    except im.PackageNotFoundError:
        return None


def main() -> None:
    repo = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", required=True, help="export of hasson827/VGNNA at " + COMMIT)
    ap.add_argument("--fixture", default=str(repo / "tests/fixtures/kmvn_reference.npz"),
                    help="structures and q-points (the k-MVN reference fixture)")
    ap.add_argument("--out", default="/tmp/vgnnaref/vgnna_out.npz")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.src, "src").resolve()))

    import torch
    from ase import Atoms
    from models.kmvn import GraphNetwork_kMVN, SelfAttentionLayer, get_spectra
    from torch_geometric.loader import DataLoader
    from utils.data import build_data_kmvn

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)  # utils/config.py: dtype float64, then the seed
    torch.manual_seed(SEED)
    model = GraphNetwork_kMVN(**HYPER)
    gen = torch.Generator().manual_seed(PERTURB_SEED)
    perturbed = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".norm" in name:
                p.add_(PERTURB_SCALE * torch.randn(p.shape, generator=gen, dtype=p.dtype))
                perturbed.append(name)
    model.eval()
    num_params = sum(p.numel() for p in model.parameters())
    attn = [m for m in model.layers if isinstance(m, SelfAttentionLayer)]
    assert len(attn) == 1, f"expected one attention layer, got {len(attn)}"

    ref = np.load(args.fixture, allow_pickle=False)
    ids = json.loads(str(ref["provenance"]))["ids"]
    arrays: dict[str, np.ndarray] = {}
    seen: dict[str, torch.Tensor] = {}
    hook = attn[0].register_forward_hook(
        lambda mod, inp, out: seen.update(x_in=inp[0].detach().clone(), x_out=out.detach()))
    with torch.no_grad():
        for i, mp_id in enumerate(ids):
            atoms = Atoms(numbers=ref[f"{mp_id}/numbers"], positions=ref[f"{mp_id}/positions"],
                          cell=ref[f"{mp_id}/cell"], pbc=True)
            qpts = ref[f"{mp_id}/qpts"]
            d = build_data_kmvn(mp_id, atoms, np.zeros((len(qpts), 3 * len(atoms))), qpts,
                                R_MAX, DESCRIPTOR, FACTOR)
            (batch,) = list(DataLoader([d], batch_size=1))
            hs, shifts = model(batch)
            out = get_spectra(hs, shifts, batch.qpts)  # [n_q, 3N], 1000 cm^-1
            arrays[f"{mp_id}/output_raw"] = out.numpy()
            print(mp_id, tuple(out.shape), "nodes", batch.x.shape[0], "edges",
                  batch.edge_index.shape[1], "min/max", float(out.min()), float(out.max()))
            if i == 0:  # attention on the atoms and the connected virtual nodes
                n = len(atoms)
                src, dst = batch.edge_index.numpy()
                virtual = dst >= n  # copies of the real edges to their virtual nodes
                rows = np.concatenate([np.arange(n), dst[virtual]])
                arrays["attention/id"] = np.array(mp_id)
                arrays["attention/x_in"] = seen["x_in"].numpy()[rows]
                arrays["attention/x_out"] = seen["x_out"].numpy()[rows]
                arrays["attention/edge_src"] = src[virtual]  # of each connected vnode's edge
                arrays["attention/edge_dst_atom"] = (dst[virtual] - n) // n % n
                arrays["attention/edge_vec"] = batch.edge_vec.numpy()[virtual]
    hook.remove()
    for key, value in model.state_dict().items():
        arrays[f"state/{key}"] = value.detach().numpy().astype(np.float64)
    provenance = {
        "made_by": "scripts/vgnna_reference.py",
        "command": "PYTHONPATH=../shared/reference/kmvn/shim /tmp/vgnna-env/bin/python "
                   "scripts/vgnna_reference.py " + " ".join(sys.argv[1:]),
        "authors_repository": f"hasson827/VGNNA@{COMMIT}",
        "model": "src/models/kmvn.py GraphNetwork_kMVN", "hyperparameters": HYPER,
        "seed": SEED, "perturbation": {"seed": PERTURB_SEED, "scale": PERTURB_SCALE,
                                       "parameters": perturbed},
        "num_params": num_params, "ids": ids, "eval": True, "dtype": "float64",
        "batch_size": 1, "r_max": R_MAX, "descriptor": DESCRIPTOR,
        "inputs": "numbers, positions, cell, qpts of tests/fixtures/kmvn_reference.npz",
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("torch", "e3nn", "torch_geometric", "ase",
                                               "numpy", "pandas", "mendeleev")},
        "units": {"output_raw": "1000 cm^-1", "attention/edge_vec": "Å"},
    }
    try:
        provenance["project_commit"] = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
            check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    arrays["provenance"] = np.array(json.dumps(provenance))
    os.makedirs(Path(args.out).parent, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(args.out, Path(args.out).stat().st_size, "bytes;", num_params, "parameters")


if __name__ == "__main__":
    main()
