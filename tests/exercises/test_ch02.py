"""Self-checks of notebook 02: right answers pass, wrong ones get a specific hint, none raise."""

from __future__ import annotations

import torch
import torch.nn.functional as fn
from torch_geometric.utils import scatter

from companion.exercises import CORRECT, NOT_ANSWERED, ch02
from companion.models.cgcnn import CGCNN, CGCNNConfig, CGCNNConv
from tests.conftest import assert_correct, assert_hint, verdict

# ------------------------------------------------------------------ parameters


def test_conv_parameters(capsys):
    f, k = 64, 41
    expected = (2 * f + k) * 2 * f + 2 * f + 2 * (2 * f) + 2 * f  # linear + 2 batch norms
    assert expected == sum(p.numel() for p in CGCNNConv(f, k).parameters())
    assert_correct(verdict(capsys, ch02.check_conv_parameters, expected))
    assert_correct(verdict(capsys, ch02.check_conv_parameters, float(expected)))
    assert_hint(verdict(capsys, ch02.check_conv_parameters, expected - 6 * f), "batch norms")
    assert_hint(verdict(capsys, ch02.check_conv_parameters, expected + 6 * f + 2), "buffers")
    assert_hint(verdict(capsys, ch02.check_conv_parameters, expected - 8 * f), "biases")
    assert_hint(verdict(capsys, ch02.check_conv_parameters, 12345), "2F + K")
    # the expected value follows the layer's size
    f, k = 8, 5
    small = sum(p.numel() for p in CGCNNConv(f, k).parameters())
    assert_correct(verdict(capsys, ch02.check_conv_parameters, small, atom_fea_len=f,
                           nbr_fea_len=k))


# --------------------------------------------------------------------- pooling


def test_mean_and_max_pooling_are_intensive():
    assert ch02.intensive_poolings() == {"mean", "max"}


def test_pooled_output_with_mean_is_the_model():
    from companion.graphs import to_graph

    torch.manual_seed(0)
    model = CGCNN(CGCNNConfig(atom_fea_len=8, n_conv=1, h_fea_len=16)).double().eval()
    unit, _ = ch02.rocksalt_cells()
    graph = to_graph(unit, **model.config.graph_options, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ch02.pooled_output(model, graph, "mean"), model(graph))


def test_check_pooling(capsys):
    assert_correct(verdict(capsys, ch02.check_pooling, {"mean", "max"}))
    assert_correct(verdict(capsys, ch02.check_pooling, ["Max", "mean"]))
    assert_correct(verdict(capsys, ch02.check_pooling, "mean, max"))
    assert_hint(verdict(capsys, ch02.check_pooling, {"sum", "mean"}), "sum")
    assert_hint(verdict(capsys, ch02.check_pooling, {"mean"}), "max")
    assert_hint(verdict(capsys, ch02.check_pooling, {"average"}), "unknown")


# ------------------------------------------------------------------------ gate


def ungated_conv(layer, x, edge_index, edge_attr):
    """A student's answer, written independently of the reference."""
    src, dst = edge_index
    gated = layer.bn_edge(layer.lin(torch.cat([x[dst], x[src], edge_attr], dim=1)))
    core = gated[:, gated.size(1) // 2:]
    summed = torch.zeros(x.size(0), core.size(1), dtype=x.dtype).index_add_(
        0, dst, fn.softplus(core))
    return fn.softplus(x + layer.bn_atom(summed))


def test_check_ungated(capsys):
    assert_correct(verdict(capsys, ch02.check_ungated, ungated_conv))
    assert_correct(verdict(capsys, ch02.check_ungated, ch02.ungated_reference))


def test_check_ungated_hints(capsys):
    def gated(layer, x, edge_index, edge_attr):
        return layer(x, edge_index, edge_attr)

    def slightly_off(layer, x, edge_index, edge_attr):  # a wrong value of the right shape
        return 1.01 * ungated_conv(layer, x, edge_index, edge_attr)

    def no_final_softplus(layer, x, edge_index, edge_attr):
        src, dst = edge_index
        _, core = layer.bn_edge(layer.lin(torch.cat([x[dst], x[src], edge_attr], 1))).chunk(2, 1)
        return x + layer.bn_atom(scatter(fn.softplus(core), dst, 0, dim_size=x.size(0)))

    def no_batch_norm(layer, x, edge_index, edge_attr):
        src, dst = edge_index
        _, core = layer.lin(torch.cat([x[dst], x[src], edge_attr], 1)).chunk(2, 1)
        return fn.softplus(x + scatter(fn.softplus(core), dst, 0, dim_size=x.size(0)))

    def wrong_shape(layer, x, edge_index, edge_attr):
        return ungated_conv(layer, x, edge_index, edge_attr)[:, :2]

    assert_hint(verdict(capsys, ch02.check_ungated, gated), "gated layer unchanged")
    assert_hint(verdict(capsys, ch02.check_ungated, no_final_softplus), "keep it")
    assert_hint(verdict(capsys, ch02.check_ungated, no_batch_norm), "batch norms")
    assert_hint(verdict(capsys, ch02.check_ungated, wrong_shape), "shape")
    assert_hint(verdict(capsys, ch02.check_ungated, slightly_off), "differs")
    assert_hint(verdict(capsys, ch02.check_ungated, 3), "function itself")


def test_check_ungated_unanswered_body(capsys):
    def todo(layer, x, edge_index, edge_attr):
        ...

    out = verdict(capsys, ch02.check_ungated, todo)
    assert NOT_ANSWERED in out and CORRECT not in out


def test_check_ungated_leaves_no_trace_on_the_reference(capsys):
    """Train mode updates running statistics; the reference must use its own copy."""
    def train_mode_student(layer, x, edge_index, edge_attr):
        before = layer.bn_atom.running_mean.clone()
        out = ungated_conv(layer, x, edge_index, edge_attr)
        assert not layer.training or not torch.equal(before, layer.bn_atom.running_mean)
        return out

    assert_correct(verdict(capsys, ch02.check_ungated, train_mode_student))


# ------------------------------------------------------------------ batch norm


def test_check_batchnorm(capsys):
    assert_correct(verdict(capsys, ch02.check_batchnorm, "a"))
    assert_correct(verdict(capsys, ch02.check_batchnorm, " (A) "))
    for letter, word in (("b", "axis"), ("c", "layer norm"), ("d", "demonstration")):
        assert_hint(verdict(capsys, ch02.check_batchnorm, letter), word)
    assert_hint(verdict(capsys, ch02.check_batchnorm, "e"), "one letter")


def test_batchnorm_answer_is_what_torch_does():
    """The right choice (a): in train mode a crystal's output depends on its batch mates."""
    from torch_geometric.data import Batch

    from companion.graphs import to_graph

    torch.manual_seed(0)
    model = CGCNN(CGCNNConfig(atom_fea_len=8, n_conv=1, h_fea_len=16)).double()
    unit, supercell = ch02.rocksalt_cells()
    a = to_graph(unit, "cgcnn", dtype=torch.float64)
    b = to_graph(ch02.rocksalt_cells(a=4.9)[0], "cgcnn", dtype=torch.float64)
    with torch.no_grad():
        alone, together = model(Batch.from_data_list([a])), model(Batch.from_data_list([a, b]))
        assert not torch.allclose(alone[0], together[0])
        model.eval()
        alone, together = model(Batch.from_data_list([a])), model(Batch.from_data_list([a, b]))
        torch.testing.assert_close(alone[0], together[0])
