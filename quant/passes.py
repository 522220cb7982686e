"""Graph passes: each takes a graph and returns a new one, the input untouched."""

from __future__ import annotations

import dataclasses

import numpy as np

from firebrick.quant.analyses import infer_shapes
from firebrick.quant.graph import Graph
from firebrick.quant.lower_torch import UnsupportedLayerError
from firebrick.quant.ops import HARDWARE_OPS, Add, BatchNorm, Concat, Conv, Relu, op_kind


def _sole_consumer(graph: Graph, producer: str, consumer: str) -> bool:
    return graph.consumers(producer) == [consumer] and graph.output != producer


def fold_batch_norm(graph: Graph) -> Graph:
    """Fold every batch norm into the conv before it: w' = w * g / s, b' = (b - mean) * g / s + beta."""
    out = graph.copy()
    for name in graph.nodes():
        op = out.op(name)
        if not isinstance(op, BatchNorm):
            continue
        (producer,) = out.inputs(name)
        conv = out.op(producer)
        if not isinstance(conv, Conv) or not _sole_consumer(out, producer, name):
            raise UnsupportedLayerError(
                f"batch norm '{name}' does not follow a conv whose only consumer it is ({op_kind(conv)} '{producer}'); "
                "put it right after a convolution so that it can be folded"
            )
        scale = (op.gamma.astype(np.float64) / np.sqrt(op.var.astype(np.float64) + op.eps))
        weight = conv.weight.astype(np.float64) * scale[:, None, None, None]
        bias = (conv.bias.astype(np.float64) - op.mean) * scale + op.beta
        out.set_op(producer, dataclasses.replace(conv, weight=weight.astype(np.float32), bias=bias.astype(np.float32)))
        out.remove_passthrough(name)
    return out


def fuse_relu(graph: Graph) -> Graph:
    """Fuse each ReLU into its producer: a conv or an add gets relu=True; after a concat, every branch does."""
    out = graph.copy()
    for name in graph.nodes():
        if not isinstance(out.op(name), Relu):
            continue
        (producer,) = out.inputs(name)
        op = out.op(producer)
        if isinstance(op, (Conv, Add)) and _sole_consumer(out, producer, name):
            out.set_op(producer, dataclasses.replace(op, relu=True))
        elif isinstance(op, Concat) and _sole_consumer(out, producer, name) and all(
            isinstance(out.op(b), Conv) and _sole_consumer(out, b, producer) for b in out.inputs(producer)
        ):
            for branch in out.inputs(producer):
                out.set_op(branch, dataclasses.replace(out.op(branch), relu=True))
        elif isinstance(op, Relu) or (isinstance(op, (Conv, Add)) and op.relu):
            pass  # relu(relu(x)) == relu(x)
        else:
            raise UnsupportedLayerError(
                f"ReLU '{name}' follows {op_kind(op)} '{producer}' and cannot be fused; "
                "apply ReLU right after a conv, an add, or a concat of convs"
            )
        out.remove_passthrough(name)
    return out


def check_hardware_ops(graph: Graph) -> Graph:
    """Refuse any op the accelerator lacks (after folding, only conv/concat/add/pool may remain)."""
    for name, op in graph.items():
        if not isinstance(op, HARDWARE_OPS):
            raise UnsupportedLayerError(f"'{name}' ({op_kind(op)}) has no hardware implementation")
    infer_shapes(graph)
    return graph


def canonicalize(graph: Graph) -> Graph:
    """The standard pipeline from a front end's graph to one with hardware ops only."""
    return check_hardware_ops(fuse_relu(fold_batch_norm(graph)))
