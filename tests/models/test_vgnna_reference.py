"""VGNNA (``attention="faithful"``) against the VGNNA authors' own code, number for number.

The authors (hasson827/VGNNA @ 9c637f1) published no weights, so
``tests/fixtures/vgnna_reference.npz`` holds their ``GraphNetwork_kMVN(use_attention=True)``
built from a seed (every bias and LayerNorm weight moved off its default), its state dict,
and what it predicts in float64, eval mode, on the five structures and q-points of
``tests/fixtures/kmvn_reference.npz`` (``scripts/vgnna_reference.py``, run in a throwaway
environment with e3nn 0.5.0 and torch 2.13.0+cpu; ``scripts/build_vgnna_fixture.py``;
provenance inside the file). Our model loads that state through
:func:`companion.models.vgnna.vgnna_authors_to_companion` and must agree to 1e-8 in the
model's unit (1000 cm^-1), the whole batch at once: the softmax of the attention block runs
over all messages of one material, also with five materials in the batch and with our
compressed virtual nodes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from companion.data.records import read_arrays
from companion.graphs.virtual_nodes import kmvn_graph
from companion.models.kmvn import NodeContext
from companion.models.vgnna import VGNNA, VGNNAConfig, vgnna_authors_to_companion

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REF = read_arrays(FIXTURES / "vgnna_reference.npz", format_version=1)
INPUTS = np.load(FIXTURES / "kmvn_reference.npz", allow_pickle=False)
PROVENANCE = json.loads(str(REF["provenance"]))
IDS = PROVENANCE["ids"]


class _Recording(VGNNA):
    """VGNNA that keeps the attention block's input, output and graph context."""

    def after_gate(self, layer: int, x: torch.Tensor, ctx: NodeContext) -> torch.Tensor:
        out = super().after_gate(layer, x, ctx)
        if layer == 0:
            self.seen = (x, out, ctx)
        return out


def _state() -> dict[str, torch.Tensor]:
    return {k.removeprefix("state/"): torch.from_numpy(v) for k, v in REF.items()
            if k.startswith("state/")}


@pytest.fixture(scope="module")
def model() -> _Recording:
    net = _Recording(VGNNAConfig(attention="faithful", dtype="float64"))
    net.load_state_dict(vgnna_authors_to_companion(_state()), strict=True)
    return net.eval()


def _graph(mp_id: str):
    structure = (INPUTS[f"{mp_id}/numbers"], INPUTS[f"{mp_id}/positions"],
                 INPUTS[f"{mp_id}/cell"])
    return kmvn_graph(structure, qpoints=INPUTS[f"{mp_id}/qpts"])


def test_parameter_count():
    """Their model (counted in the reference run) and ours: 139,120 parameters."""
    ours = sum(p.numel() for p in VGNNA(VGNNAConfig(attention="faithful")).parameters())
    assert PROVENANCE["num_params"] == 139_120
    assert ours == PROVENANCE["num_params"]


def test_reproduces_the_authors_code(model):
    """All five structures in one batch, float64: their frequencies to 1e-8 (1000 cm^-1)."""
    with torch.no_grad():
        bands = model.bands(Batch.from_data_list([_graph(i) for i in IDS]))
    for mp_id, b in zip(IDS, bands, strict=True):
        ref = REF[f"{mp_id}/output_raw"]
        assert b.shape == ref.shape, mp_id
        np.testing.assert_allclose(b.numpy(), ref, rtol=0, atol=1e-8, err_msg=mp_id)


def test_attention_block_matches(model):
    """The attention block's input and output on the atoms and on every virtual node with an
    edge (matched by the edge's source, destination atom and vector) of one structure, with
    that structure second in a batch, so the per-material softmax is exercised."""
    mp_id = str(REF["attention/id"])
    other = next(i for i in IDS if i != mp_id)
    graphs = [_graph(other), _graph(mp_id)]
    with torch.no_grad():
        model.node_irreps(Batch.from_data_list(graphs))
    x_in, x_out, ctx = model.seen
    n0, e0 = graphs[0].z.shape[0], graphs[0].edge_index.shape[1]
    n, e = graphs[1].z.shape[0], graphs[1].edge_index.shape[1]
    n_all, e_all = n0 + n, e0 + e
    # our computed rows: atoms [n_all], one per edge [e_all], one per atom [n_all]
    atoms = torch.arange(n0, n0 + n)
    edges = torch.arange(e0, e0 + e)
    src = ctx.src[e_all + edges] - n0  # copies of the real edges, source atoms
    dst = ctx.dst[edges] - n0  # destination atoms of the same edges
    vec = ctx.vec[e_all + edges].numpy()
    their_src, their_dst = REF["attention/edge_src"], REF["attention/edge_dst_atom"]
    their_vec = REF["attention/edge_vec"]
    assert len(their_src) == e
    rows = []
    for s, d, v in zip(their_src, their_dst, their_vec, strict=True):
        hit = np.flatnonzero((src.numpy() == s) & (dst.numpy() == d)
                             & (np.abs(vec - v).max(axis=1) < 1e-6))
        assert len(hit) == 1, (s, d, v)
        rows.append(int(hit[0]))
    ours = torch.cat([atoms, n_all + e0 + torch.tensor(rows)])
    for name, x in (("x_in", x_in), ("x_out", x_out)):
        np.testing.assert_allclose(x[ours].numpy(), REF[f"attention/{name}"], rtol=0,
                                   atol=1e-10, err_msg=name)
