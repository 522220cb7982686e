"""Graph files are checked on load: an edited or damaged field is refused naming its node and field, before any work."""

import dataclasses

import numpy as np
import pytest
import torch

from firebrick.cli import main
from firebrick.quant.calibrate import calibrate
from firebrick.quant.fbg import GraphFileError, load_graph, save_graph
from firebrick.quant.graph_check import InvalidGraphError, check_graph
from firebrick.quant.ops import Conv, GlobalAvgPool
from firebrick.quant.quantize import QuantConfig, quantize_graph


def _first_conv(graph):
    return next(name for name, op in graph.items() if isinstance(op, Conv))


def _edit_quant(graph, node, **fields):
    op = graph.op(node)
    graph.set_op(node, dataclasses.replace(op, quant=dataclasses.replace(op.quant, **fields)))


def _edited(graph, edit):
    graph = graph.copy()
    edit(graph)
    return graph


def _weight_1000(g):
    node = _first_conv(g)
    weight = g.op(node).quant.weight.copy()
    weight.flat[5] = 1000
    _edit_quant(g, node, weight=weight)


def _kernel_5(g):
    node = _first_conv(g)
    g.set_op(node, dataclasses.replace(g.op(node), kernel=5))


def _in_channels(g):
    node = [n for n, op in g.items() if isinstance(op, Conv)][1]
    op = g.op(node)
    g.set_op(node, dataclasses.replace(op, in_channels=op.in_channels + 1))


def _shift_70(g):
    _edit_quant(g, _first_conv(g), shift=70)


def _bias_out_of_range(g):
    node = _first_conv(g)
    bias = g.op(node).quant.bias.copy()
    bias[0] = 1 << 40
    _edit_quant(g, node, bias=bias)


def _float_weights(g):
    node = _first_conv(g)
    _edit_quant(g, node, weight=g.op(node).quant.weight.astype(np.float64))


def _pool_multiplier(g):
    node = next(n for n, op in g.items() if isinstance(op, GlobalAvgPool))
    g.set_op(node, dataclasses.replace(g.op(node), multiplier=0))


def _input_bits(g):
    op = g.op(g.input)
    g.set_op(g.input, dataclasses.replace(op, fmt=dataclasses.replace(op.fmt, frac=500)))


@pytest.mark.parametrize("edit, field, reason", [
    (_weight_1000, "quant.weight", "holds 1000, outside s8"),
    (_kernel_5, "weight", "the node's sizes need"),
    (_in_channels, "in_channels", "but its input"),
    (_shift_70, "quant.shift", "70 is outside"),
    (_bias_out_of_range, "quant.bias", "outside s32"),
    (_float_weights, "quant.weight", "must hold integers"),
    (_pool_multiplier, "multiplier", "0 is outside 1.."),
    (_input_bits, "fmt.frac", "500 is outside"),
])
def test_an_edited_field_is_refused_naming_node_and_field(small_graph, tmp_path, edit, field, reason):
    check_graph(small_graph)  # the quantizer's graph passes
    graph = _edited(small_graph, edit)
    with pytest.raises(InvalidGraphError) as info:
        check_graph(graph)
    assert info.value.field == field and reason in info.value.reason
    save_graph(graph, tmp_path / "edited.fbg")  # saving checks only the structure: a file can hold anything
    with pytest.raises(GraphFileError, match=rf"edited.fbg is not a graph firebrick can run: node '{info.value.node}' field {field}: "):
        load_graph(tmp_path / "edited.fbg")


def test_codebook_graphs_pass_and_a_stray_index_or_entry_is_refused(small_graph):
    graph = quantize_graph(small_graph, calibrate(small_graph, torch.rand(16, 1, 8, 8)), QuantConfig(codebook_bits=3))
    check_graph(graph)
    node = _first_conv(graph)
    q = graph.op(node).quant
    indices = q.indices.copy()
    indices.flat[0] = 8  # a 3-bit index cannot be 8
    with pytest.raises(InvalidGraphError, match=r"field quant.indices: holds 8, outside u3.0's range 0..7"):
        check_graph(_edited(graph, lambda g: _edit_quant(g, node, indices=indices)))
    weight = q.weight.copy()
    weight.flat[0] = next(entry for entry in q.codebook if entry != weight.flat[0])  # still in range, but not its entry
    with pytest.raises(InvalidGraphError, match="differs from the codebook entries its indices select"):
        check_graph(_edited(graph, lambda g: _edit_quant(g, node, weight=weight)))


def test_build_and_evaluate_refuse_an_edited_graph_before_any_work(small_graph, tmp_path, capsys):
    save_graph(_edited(small_graph, _weight_1000), tmp_path / "edited.fbg")
    assert main(["build", str(tmp_path / "edited.fbg"), "-o", str(tmp_path / "build")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field quant.weight: holds 1000" in err and "Traceback" not in err
    assert not (tmp_path / "build" / "accelerator.v").exists()
    assert main(["evaluate", str(tmp_path / "edited.fbg"), "--dataset", "digits"]) == 1
    assert "field quant.weight" in capsys.readouterr().err
