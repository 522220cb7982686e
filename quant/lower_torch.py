"""Lower a torch model to the dataflow graph through torch.fx.

Any traceable model works, not only the zoo: Conv2d (1x1/3x3, stride 1/2,
zero padding), BatchNorm2d, ReLU, torch.cat on channels, + (bypass), global
average pooling; Dropout, Identity and Flatten vanish; a Linear after the
global pool becomes a 1x1 conv on the 1x1 map. Everything else is refused with
an `UnsupportedLayerError` that names the layer and says what to do.
The result still has BatchNorm and Relu nodes: `canonicalize` folds them.
"""

from __future__ import annotations

import operator

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from firebrick.errors import FirebrickError
from firebrick.models.cost import layer_display_name
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, BatchNorm, Concat, Conv, GlobalAvgPool, Input, Relu

MAXPOOL_FIX = (
    "the accelerator has no pooling hardware: downsample with a stride-2 3x3 convolution instead "
    "(ZynqNet's rule; e.g. model 'squeezenet1_1_hw', or SqueezeNetMeta(hardware_ready=True))"
)
ACTIVATION_FIX = "use ReLU (nn.ReLU / F.relu): the requantizer's clip at zero is the only activation the accelerator has; retrain with it"
#: activations people reach for, by module, function and ONNX op name: refused with ACTIVATION_FIX
OTHER_ACTIVATIONS = (nn.LeakyReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish,
                     nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus)
OTHER_ACTIVATION_FUNCTIONS = {"leaky_relu", "relu6", "prelu", "elu", "selu", "celu", "gelu", "silu", "mish", "hardswish",
                              "hardsigmoid", "hardtanh", "sigmoid", "tanh", "softplus"}
#: the axes of an N x C x H x W tensor whose mean is the global average pool
SPATIAL_AXES = ({2, 3}, {-2, -1}, {2, -1}, {-2, 3})


class UnsupportedLayerError(FirebrickError):
    """A layer the accelerator cannot run; the message names it and the fix."""


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy().copy()


def _pair_square(value, layer: str, what: str) -> int:
    a, b = (value, value) if isinstance(value, int) else tuple(value)
    if a != b:
        raise UnsupportedLayerError(f"layer '{layer}': non-square {what} {tuple(value)}; use a square {what}")
    return int(a)


def checked_conv(layer: str, weight: np.ndarray, bias: np.ndarray | None, kernel, stride, padding, dilation=1,
                 groups: int = 1) -> Conv:
    """A Conv the array runs (1x1/3x3, stride 1/2, square zero padding, dense), or the refusal naming the fix."""
    if groups != 1:
        raise UnsupportedLayerError(f"layer '{layer}': grouped convolution (groups={groups}); the systolic array runs dense convolutions only, use groups=1")
    if _pair_square(dilation, layer, "dilation") != 1:
        raise UnsupportedLayerError(f"layer '{layer}': dilation {dilation}; use dilation 1 (a larger receptive field comes from stride-2 convs)")
    if isinstance(padding, str):
        raise UnsupportedLayerError(f"layer '{layer}': padding {padding!r}; use integer zero padding")
    kernel = _pair_square(kernel, layer, "kernel")
    if kernel not in (1, 3):
        raise UnsupportedLayerError(f"layer '{layer}': {kernel}x{kernel} kernel; the accelerator runs 1x1 and 3x3 kernels, replace it by 3x3 (as SqueezeNet v1.1 did with v1.0's 7x7)")
    stride = _pair_square(stride, layer, "stride")
    if stride not in (1, 2):
        raise UnsupportedLayerError(f"layer '{layer}': stride {stride}; use stride 1 or 2")
    padding = _pair_square(padding, layer, "padding")
    bias = bias if bias is not None else np.zeros(weight.shape[0], np.float32)
    return Conv(weight.shape[1], weight.shape[0], kernel, stride, padding, weight, bias)


def conv_from_torch(module: nn.Conv2d, layer: str) -> Conv:
    if module.padding_mode != "zeros":
        raise UnsupportedLayerError(f"layer '{layer}': padding mode {module.padding_mode!r}; use integer zero padding")
    return checked_conv(layer, _numpy(module.weight), _numpy(module.bias) if module.bias is not None else None,
                        module.kernel_size, module.stride, module.padding, module.dilation, module.groups)


class _Lowering:
    def __init__(self, model: nn.Module, input_shape: tuple[int, int, int], name: str) -> None:
        self.modules = dict(model.named_modules())
        self.graph = Graph(name)
        self.env: dict[fx.Node, str] = {}
        self.input_shape = input_shape

    def scope(self, node: fx.Node) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        if stack:
            qualified = list(stack.values())[-1][0]
            return layer_display_name(qualified)
        return ""

    def name_for(self, node: fx.Node, suffix: str) -> str:
        scope = self.scope(node)
        return self.graph.unique_name(f"{scope}.{suffix}" if scope else suffix)

    @staticmethod
    def shape(node: fx.Node) -> tuple[int, ...]:
        return tuple(node.meta["tensor_meta"].shape[1:])

    def emit(self, node: fx.Node, name: str, op, inputs: list[fx.Node]) -> None:
        self.env[node] = self.graph.add(name, op, [self.env[i] for i in inputs])

    def passthrough(self, node: fx.Node, source: fx.Node) -> None:
        self.env[node] = self.env[source]

    def flatten_ok(self, node: fx.Node, source: fx.Node, layer: str) -> None:
        shape = self.shape(source)
        if len(shape) == 3 and shape[1:] != (1, 1):
            raise UnsupportedLayerError(
                f"layer '{layer}': flattens a {shape[1]}x{shape[2]} feature map; the accelerator ends with a "
                "global average pool, so put a 1x1 conv (+ global average pool) where the flatten/linear is"
            )
        self.passthrough(node, source)

    def spatial_mean(self, node: fx.Node) -> bool:
        """Whether a mean (x.mean(dim=(2, 3)), torch.mean(x, (2, 3)), keepdim or not) is over H and W: a global pool."""
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        dims = (dims,) if isinstance(dims, int) else dims
        return isinstance(dims, (tuple, list)) and len(dims) == 2 and set(dims) in SPATIAL_AXES and len(self.shape(node.args[0])) == 3

    def global_pool(self, node: fx.Node, source: fx.Node, layer: str) -> None:
        self.emit(node, self.graph.unique_name(layer), GlobalAvgPool(), [source])

    def call_module(self, node: fx.Node) -> None:
        module = self.modules[node.target]
        layer = layer_display_name(node.target)
        (source, *rest) = node.args
        if isinstance(module, nn.Conv2d):
            self.emit(node, self.graph.unique_name(layer), conv_from_torch(module, layer), [source])
        elif isinstance(module, nn.BatchNorm2d):
            bn = BatchNorm(_numpy(module.running_mean), _numpy(module.running_var),
                           _numpy(module.weight) if module.affine else np.ones(module.num_features, np.float32),
                           _numpy(module.bias) if module.affine else np.zeros(module.num_features, np.float32),
                           float(module.eps))
            self.emit(node, self.graph.unique_name(layer), bn, [source])
        elif isinstance(module, nn.ReLU):
            self.emit(node, self.graph.unique_name(layer), Relu(), [source])
        elif isinstance(module, (nn.Dropout, nn.Identity)):
            self.passthrough(node, source)
        elif isinstance(module, nn.Flatten):
            self.flatten_ok(node, source, layer)
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            if _pair_square(module.output_size, layer, "output size") != 1:
                raise UnsupportedLayerError(f"layer '{layer}': adaptive average pool to {module.output_size}; only a global pool (output size 1) is supported")
            self.global_pool(node, source, layer)
        elif isinstance(module, nn.AvgPool2d):
            shape = self.shape(source)
            if self.shape(node)[1:] != (1, 1) or module.padding not in (0, (0, 0)):
                raise UnsupportedLayerError(f"layer '{layer}': average pool that is not global ({shape[1]}x{shape[2]} -> {self.shape(node)[1]}x{self.shape(node)[2]}); {MAXPOOL_FIX}")
            self.global_pool(node, source, layer)
        elif isinstance(module, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)):
            raise UnsupportedLayerError(f"layer '{layer}' is a max-pool: {MAXPOOL_FIX}")
        elif isinstance(module, nn.Linear):
            shape = self.shape(source)
            if len(shape) != 1:
                raise UnsupportedLayerError(f"layer '{layer}': linear layer on a {shape} tensor; apply it after global average pooling + flatten")
            producer = self.env[source]
            if not isinstance(self.graph.op(producer), GlobalAvgPool):
                raise UnsupportedLayerError(
                    f"layer '{layer}': linear layer that does not follow the global average pool; "
                    "it is not expressible as a 1x1 conv, make it a 1x1 conv before the pool"
                )
            weight = _numpy(module.weight)[:, :, None, None]
            bias = _numpy(module.bias) if module.bias is not None else np.zeros(module.out_features, np.float32)
            conv = Conv(module.in_features, module.out_features, 1, 1, 0, weight, bias)
            self.emit(node, self.graph.unique_name(layer), conv, [source])
        elif isinstance(module, OTHER_ACTIVATIONS):
            raise UnsupportedLayerError(f"layer '{layer}' ({type(module).__name__}) is not supported: {ACTIVATION_FIX}")
        else:
            raise UnsupportedLayerError(
                f"layer '{layer}' ({type(module).__name__}) is not supported; the accelerator runs conv, "
                "batch norm, ReLU, concat, add and global average pool"
            )

    def call_function(self, node: fx.Node) -> None:
        target = node.target
        fname = getattr(target, "__name__", str(target))
        if target is torch.cat or target is torch.concat:
            tensors = node.args[0]
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            if dim not in (1, -3):
                raise UnsupportedLayerError(f"'{self.name_for(node, 'concat')}': concatenation on dim {dim}; only channel concat (dim=1) is free in hardware")
            self.emit(node, self.name_for(node, "concat"), Concat(), list(tensors))
        elif target in (operator.add, torch.add):
            a, b = node.args[:2]
            if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)) or node.kwargs.get("alpha", 1) != 1:
                raise UnsupportedLayerError(f"'{self.name_for(node, 'add')}': add of a constant; only tensor + tensor (bypass) is supported")
            self.emit(node, self.name_for(node, "add"), Add(), [a, b])
        elif target in (F.relu, torch.relu):
            self.emit(node, self.name_for(node, "relu"), Relu(), [node.args[0]])
        elif target is torch.flatten:
            self.flatten_ok(node, node.args[0], self.name_for(node, "flatten"))
        elif target is F.adaptive_avg_pool2d and node.args[1] in (1, (1, 1)):
            self.global_pool(node, node.args[0], self.name_for(node, "pool"))
        elif target is F.dropout:
            self.passthrough(node, node.args[0])
        elif target in (F.max_pool2d, torch.max_pool2d):
            raise UnsupportedLayerError(f"'{self.name_for(node, 'maxpool')}' is a max-pool: {MAXPOOL_FIX}")
        elif target is torch.mean and self.spatial_mean(node):
            self.global_pool(node, node.args[0], self.name_for(node, "pool"))
        elif fname in OTHER_ACTIVATION_FUNCTIONS:
            raise UnsupportedLayerError(f"'{self.name_for(node, fname)}': {fname} is not supported: {ACTIVATION_FIX}")
        else:
            raise UnsupportedLayerError(f"'{self.name_for(node, fname)}': function {fname} is not supported by the accelerator")

    def call_method(self, node: fx.Node) -> None:
        method = node.target
        source = node.args[0]
        if method in ("flatten", "view", "reshape", "squeeze"):
            self.flatten_ok(node, source, self.name_for(node, method))
        elif method == "relu":
            self.emit(node, self.name_for(node, "relu"), Relu(), [source])
        elif method == "mean" and self.spatial_mean(node):
            self.global_pool(node, source, self.name_for(node, "pool"))
        elif method in OTHER_ACTIVATION_FUNCTIONS:
            raise UnsupportedLayerError(f"'{self.name_for(node, method)}': .{method}() is not supported: {ACTIVATION_FIX}")
        else:
            raise UnsupportedLayerError(f"'{self.name_for(node, method)}': tensor method .{method}() is not supported by the accelerator")

    def run(self, traced: fx.GraphModule) -> Graph:
        for node in traced.graph.nodes:
            if node.op == "placeholder":
                if self.env:
                    raise UnsupportedLayerError(f"model takes several inputs ({node.name}); the accelerator takes one image")
                self.env[node] = self.graph.add("input", Input(self.input_shape))
            elif node.op == "call_module":
                self.call_module(node)
            elif node.op == "call_function":
                self.call_function(node)
            elif node.op == "call_method":
                self.call_method(node)
            elif node.op == "get_attr":
                raise UnsupportedLayerError(f"'{node.target}': the model reads a parameter directly in forward; wrap it in a module")
            elif node.op == "output":
                result = node.args[0]
                if not isinstance(result, fx.Node):
                    raise UnsupportedLayerError("the model returns several tensors; the accelerator has one output")
                self.graph.output = self.env[result]
        self.graph.validate()
        return self.graph


def lower_torch(model: nn.Module, input_shape: tuple[int, int, int], name: str | None = None) -> Graph:
    """The float dataflow graph of `model` for images of `input_shape` (C, H, W)."""
    model = model.eval()
    try:
        traced = fx.symbolic_trace(model)
    except Exception as exc:  # fx raises TraceError, TypeError, ... for data-dependent control flow
        raise UnsupportedLayerError(f"torch.fx cannot trace the model ({exc}); remove data-dependent control flow from forward") from exc
    with torch.no_grad():
        ShapeProp(traced).propagate(torch.zeros(1, *input_shape))
    return _Lowering(model, tuple(input_shape), name or getattr(getattr(model, "spec", None), "name", type(model).__name__)).run(traced)
