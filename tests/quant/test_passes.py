"""Graph passes on tiny hand-built graphs: the numbers stay, the structure changes as intended."""

import numpy as np
import pytest
import torch

from firebrick.quant.analyses import infer_shapes, macs_per_layer, weight_bytes_per_layer
from firebrick.quant.float_executor import run_float
from firebrick.quant.graph import Graph
from firebrick.quant.lower_torch import UnsupportedLayerError
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, GlobalAvgPool, Input, Relu
from firebrick.quant.passes import canonicalize, check_hardware_ops, fold_batch_norm, fuse_relu

RNG = np.random.default_rng(0)


def conv(cin, cout, k=1, stride=1, padding=0):
    return Conv(cin, cout, k, stride, padding, RNG.normal(0, 0.5, (cout, cin, k, k)).astype(np.float32),
                RNG.normal(0, 0.1, cout).astype(np.float32))


def bn(c):
    return BatchNorm(RNG.normal(0, 0.3, c).astype(np.float32), RNG.uniform(0.5, 2, c).astype(np.float32),
                     RNG.uniform(0.5, 1.5, c).astype(np.float32), RNG.normal(0, 0.2, c).astype(np.float32))


def fire_graph():
    """input -> conv+bn+relu -> two branches (conv+relu) -> concat -> add(with a 1x1 conv shortcut) -> pool."""
    g = Graph("fire")
    g.add("input", Input((2, 6, 6)))
    g.add("squeeze", conv(2, 3, 3, padding=1), ["input"])
    g.add("squeeze.bn", bn(3), ["squeeze"])
    g.add("squeeze.relu", Relu(), ["squeeze.bn"])
    g.add("e1", conv(3, 4), ["squeeze.relu"])
    g.add("e1.relu", Relu(), ["e1"])
    g.add("e3", conv(3, 4, 3, padding=1), ["squeeze.relu"])
    g.add("e3.relu", Relu(), ["e3"])
    g.add("concat", Concat(), ["e1.relu", "e3.relu"])
    g.add("bypass", conv(2, 8), ["input"])
    g.add("add", Add(), ["concat", "bypass"])
    g.add("add.relu", Relu(), ["add"])
    g.add("pool", GlobalAvgPool(), ["add.relu"])
    g.output = "pool"
    return g


def outputs(graph, x):
    return run_float(graph, x)[graph.output]


def test_fold_batch_norm_keeps_the_numbers_and_removes_the_node():
    g = fire_graph()
    x = torch.rand(3, 2, 6, 6)
    folded = fold_batch_norm(g)
    assert "squeeze.bn" not in folded and "squeeze.bn" in g  # the input graph is untouched
    assert folded.inputs("squeeze.relu") == ["squeeze"]
    torch.testing.assert_close(outputs(folded, x), outputs(g, x), rtol=1e-5, atol=1e-6)


def test_fuse_relu_sets_flags_and_keeps_the_numbers():
    g = fold_batch_norm(fire_graph())
    x = torch.rand(3, 2, 6, 6)
    fused = fuse_relu(g)
    assert not any(isinstance(op, Relu) for _, op in fused.items())
    assert fused.op("squeeze").relu and fused.op("e1").relu and fused.op("add").relu
    assert not fused.op("bypass").relu
    assert fused.inputs("concat") == ["e1", "e3"] and fused.inputs("add") == ["concat", "bypass"]  # ports kept
    torch.testing.assert_close(outputs(fused, x), outputs(g, x))


def test_relu_after_a_concat_moves_into_the_branches():
    g = Graph()
    g.add("input", Input((1, 4, 4)))
    g.add("a", conv(1, 2), ["input"])
    g.add("b", conv(1, 3), ["input"])
    g.add("cat", Concat(), ["a", "b"])
    g.add("relu", Relu(), ["cat"])
    g.output = "relu"
    fused = fuse_relu(g)
    assert fused.op("a").relu and fused.op("b").relu and fused.output == "cat"
    x = torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(outputs(fused, x), outputs(g, x))


def test_unfusable_relu_and_batch_norm_are_refused_by_name():
    g = Graph()
    g.add("input", Input((1, 4, 4)))
    g.add("pool", GlobalAvgPool(), ["input"])
    g.add("late.relu", Relu(), ["pool"])
    g.output = "late.relu"
    with pytest.raises(UnsupportedLayerError, match="ReLU 'late.relu' follows global_avg_pool 'pool' and cannot be fused"):
        fuse_relu(g)
    g = Graph()
    g.add("input", Input((1, 4, 4)))
    g.add("stray.bn", bn(1), ["input"])
    g.output = "stray.bn"
    with pytest.raises(UnsupportedLayerError, match="batch norm 'stray.bn' does not follow a conv"):
        fold_batch_norm(g)
    with pytest.raises(UnsupportedLayerError, match="'stray.bn' \\(batchnorm\\) has no hardware implementation"):
        check_hardware_ops(g)


def test_canonical_graph_has_hardware_ops_only():
    c = canonicalize(fire_graph())
    assert [type(op).__name__ for _, op in c.items()] == ["Input", "Conv", "Conv", "Conv", "Concat", "Conv", "Add", "GlobalAvgPool"]


def test_analyses():
    c = canonicalize(fire_graph())
    shapes = infer_shapes(c)
    assert shapes["concat"] == (8, 6, 6) and shapes["pool"] == (8, 1, 1)
    macs = macs_per_layer(c)
    assert macs == {"squeeze": 3 * 36 * 18, "e1": 4 * 36 * 3, "e3": 4 * 36 * 27, "bypass": 8 * 36 * 2}
    assert weight_bytes_per_layer(c)["e3"] == 4 * 3 * 9 * 4 + 4 * 4  # float32 before quantization
