"""Lower an ONNX model (e.g. from torch.onnx.export) to the same dataflow graph as the torch.fx front end.

Supported: Conv (1x1/3x3, stride 1/2, symmetric zero pads), BatchNormalization,
Relu, Concat on channels, Add, GlobalAveragePool (and a global AveragePool or
ReduceMean over H and W),
Gemm/MatMul after the global pool (as a 1x1 conv); Dropout, Identity, Flatten,
Reshape and Squeeze vanish. Node names follow the exporter's module paths
(/features/fire2/squeeze/conv/Conv -> fire2.squeeze), which are the torch
front end's names too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from firebrick.models.cost import layer_display_name
from firebrick.quant.graph import Graph
from firebrick.quant.lower_torch import ACTIVATION_FIX, MAXPOOL_FIX, SPATIAL_AXES, UnsupportedLayerError
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, GlobalAvgPool, Input, Relu

_PASSTHROUGH = {"Dropout", "Identity", "Flatten", "Reshape", "Squeeze"}
OTHER_ACTIVATION_OPS = {"LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
                        "Softplus", "Mish", "Clip"}


def _spatial_axes(node, attrs: dict, consts: dict) -> bool:
    """Whether a ReduceMean averages over H and W (axes as an attribute before opset 18, as an input since)."""
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1] in consts:
        axes = consts[node.input[1]].tolist()
    return axes is not None and len(axes) == 2 and set(int(a) for a in axes) in SPATIAL_AXES


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


#: the torch front ends' names for a function called in the model's own forward (no module scope)
_TOP_LEVEL_NAMES = {"ReduceMean": "pool", "GlobalAveragePool": "pool", "AveragePool": "pool", "Relu": "relu"}


def _layer_name(node, suffix: str | None = None) -> str:
    path = node.name.strip("/").split("/")
    scope = layer_display_name(".".join(path[:-1])) if len(path) > 1 else ""
    if suffix:
        return f"{scope}.{suffix}" if scope else suffix
    return scope or _TOP_LEVEL_NAMES.get(node.op_type) or node.name or node.op_type.lower()


def lower_onnx(source: str | os.PathLike, name: str | None = None) -> Graph:
    """The float dataflow graph of an .onnx file (or an onnx.ModelProto)."""
    import onnx
    from onnx import numpy_helper

    if isinstance(source, (str, os.PathLike)):
        try:
            model = onnx.load(os.fspath(source))
        except Exception as exc:  # protobuf DecodeError and friends
            raise UnsupportedLayerError(f"{source} is not a readable ONNX model ({exc})") from exc
        name = name or Path(source).stem
    else:
        model = source
    graph_proto = model.graph
    consts = {init.name: numpy_helper.to_array(init).astype(np.float32) for init in graph_proto.initializer}
    inputs = [i for i in graph_proto.input if i.name not in consts]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"ONNX model has {len(inputs)} inputs; the accelerator takes one image")
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or not all(dims[1:]):
        raise UnsupportedLayerError(f"ONNX input {inputs[0].name} has shape {dims}; expected (N, C, H, W) with fixed C, H, W")
    graph = Graph(name or graph_proto.name or "onnx")
    env = {inputs[0].name: graph.add("input", Input(tuple(dims[1:])))}
    spatial = {env[inputs[0].name]: tuple(dims[2:])}  # node -> (H, W), for the global-pool checks

    def emit(node, layer: str, op, sources: list[str]) -> None:
        produced = graph.add(graph.unique_name(layer), op, [env[s] for s in sources])
        env[node.output[0]] = produced
        first = spatial.get(env[sources[0]]) if sources else None
        if isinstance(op, Conv) and first:
            h, w = first
            spatial[produced] = ((h + 2 * op.padding - op.kernel) // op.stride + 1, (w + 2 * op.padding - op.kernel) // op.stride + 1)
        elif isinstance(op, GlobalAvgPool):
            spatial[produced] = (1, 1)
        elif first:
            spatial[produced] = first

    for node in graph_proto.node:
        kind = node.op_type
        attrs = _attrs(node)
        data_inputs = [i for i in node.input if i and i not in consts]
        layer = _layer_name(node)
        if kind == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(attrs["value"]).astype(np.float32)
        elif kind == "Identity" and node.input[0] in consts:
            consts[node.output[0]] = consts[node.input[0]]
        elif kind in _PASSTHROUGH:
            source = env[data_inputs[0]]
            if kind != "Dropout" and kind != "Identity" and spatial.get(source, (1, 1)) != (1, 1):
                raise UnsupportedLayerError(f"layer '{layer}': {kind} of a {spatial[source]} feature map; end the network with a 1x1 conv and a global average pool")
            env[node.output[0]] = source
        elif kind == "Conv":
            kernel = list(attrs.get("kernel_shape", consts[node.input[1]].shape[2:]))
            strides = list(attrs.get("strides", [1, 1]))
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if attrs.get("group", 1) != 1:
                raise UnsupportedLayerError(f"layer '{layer}': grouped convolution; use groups=1")
            if list(attrs.get("dilations", [1, 1])) != [1, 1]:
                raise UnsupportedLayerError(f"layer '{layer}': dilated convolution; use dilation 1")
            if kernel[0] != kernel[1] or kernel[0] not in (1, 3):
                raise UnsupportedLayerError(f"layer '{layer}': {kernel[0]}x{kernel[1]} kernel; the accelerator runs 1x1 and 3x3 kernels")
            if strides[0] != strides[1] or strides[0] not in (1, 2):
                raise UnsupportedLayerError(f"layer '{layer}': stride {strides}; use stride 1 or 2")
            if len(set(pads)) != 1 or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise UnsupportedLayerError(f"layer '{layer}': asymmetric or automatic padding {pads}; use equal zero padding on all sides")
            weight = consts[node.input[1]]
            bias = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros(weight.shape[0], np.float32)
            conv = Conv(weight.shape[1], weight.shape[0], kernel[0], strides[0], pads[0], weight, bias)
            emit(node, layer, conv, data_inputs[:1])
        elif kind == "BatchNormalization":
            gamma, beta, mean, var = (consts[i] for i in node.input[1:5])
            emit(node, layer, BatchNorm(mean, var, gamma, beta, float(attrs.get("epsilon", 1e-5))), data_inputs[:1])
        elif kind == "Relu":
            emit(node, layer, Relu(), data_inputs)
        elif kind == "Concat":
            if attrs.get("axis") not in (1, -3):
                raise UnsupportedLayerError(f"'{_layer_name(node, 'concat')}': concat on axis {attrs.get('axis')}; only channel concat is free in hardware")
            emit(node, _layer_name(node, "concat"), Concat(), data_inputs)
        elif kind == "Add":
            if len(data_inputs) != 2:
                raise UnsupportedLayerError(f"'{_layer_name(node, 'add')}': add of a constant; only tensor + tensor (bypass) is supported")
            emit(node, _layer_name(node, "add"), Add(), data_inputs)
        elif kind == "GlobalAveragePool" or (kind == "AveragePool" and spatial.get(env[data_inputs[0]]) == tuple(attrs.get("kernel_shape", ()))):
            emit(node, layer, GlobalAvgPool(), data_inputs)
        elif kind == "ReduceMean" and _spatial_axes(node, attrs, consts):
            emit(node, layer, GlobalAvgPool(), data_inputs[:1])
        elif kind in OTHER_ACTIVATION_OPS:
            raise UnsupportedLayerError(f"layer '{layer}' (ONNX {kind}) is not supported: {ACTIVATION_FIX}")
        elif kind in ("MaxPool", "GlobalMaxPool"):
            raise UnsupportedLayerError(f"layer '{layer}' is a max-pool: {MAXPOOL_FIX}")
        elif kind in ("Gemm", "MatMul"):
            source = env[data_inputs[0]]
            if not isinstance(graph.op(source), GlobalAvgPool):
                raise UnsupportedLayerError(f"layer '{layer}': {kind} that does not follow the global average pool is not expressible as a 1x1 conv")
            weight = consts[node.input[1]]
            if kind == "MatMul" or not attrs.get("transB", 0):
                weight = weight.T
            weight = weight * float(attrs.get("alpha", 1.0))
            bias = consts[node.input[2]] * float(attrs.get("beta", 1.0)) if len(node.input) > 2 else np.zeros(weight.shape[0], np.float32)
            emit(node, layer, Conv(weight.shape[1], weight.shape[0], 1, 1, 0, weight[:, :, None, None].copy(), bias), data_inputs[:1])
        else:
            raise UnsupportedLayerError(f"layer '{layer}': ONNX op {kind} is not supported by the accelerator")
    outputs = graph_proto.output
    if len(outputs) != 1:
        raise UnsupportedLayerError(f"ONNX model has {len(outputs)} outputs; the accelerator has one")
    graph.output = env[outputs[0].name]
    graph.validate()
    return graph
