"""Lower a `torch.export` program (a `.pt2` file from `torch.export.save`) to the dataflow graph.

`torch.export` records the model as ATen operators on placeholders for its
weights, so no model class is needed to read it back: this is the PyTorch way
to hand over one's own model, next to ONNX. The same layers are supported as
by the torch.fx front end (conv, batch norm, ReLU, channel concat, bypass add,
global average pool in any spelling, a linear layer after the pool), and the
same refusals name the fix. Layer names come from the module paths the export
records (`features.fire2.squeeze`), as on the other front ends.

Reading a `.pt2` file unpickles nothing but tensors: `torch.export.load` is run
with every `torch.load` inside it forced to `weights_only=True`.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import fx

from firebrick.quant.graph import Graph
from firebrick.quant.lower_torch import (
    ACTIVATION_FIX, MAXPOOL_FIX, OTHER_ACTIVATION_FUNCTIONS, SPATIAL_AXES, UnsupportedLayerError, _Lowering, _numpy,
    checked_conv,
)
from firebrick.quant.ops import Add, BatchNorm, Concat, GlobalAvgPool, Input, Relu

aten = torch.ops.aten
#: ops that leave the tensor as it is for inference
_IDENTITY = {aten.dropout.default, aten.clone.default, aten.detach.default, aten.alias.default}
#: ops that only reshape: allowed once the map is 1x1 (after the global pool)
_RESHAPES = {aten.flatten.using_ints, aten.view.default, aten.reshape.default, aten._unsafe_view.default,
             aten.squeeze.dims, aten.squeeze.dim, aten.squeeze.default}
_MAX_POOLS = {aten.max_pool2d.default, aten.max_pool2d_with_indices.default, aten.adaptive_max_pool2d.default}


@contextlib.contextmanager
def _tensors_only() -> Iterator[None]:
    """Every `torch.load` in the block is `weights_only=True`: a .pt2 file cannot run code when it is read."""
    original = torch.load

    @functools.wraps(original)
    def load(*args, **kwargs):
        kwargs["weights_only"] = True
        return original(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


def load_exported(path: str | os.PathLike) -> torch.export.ExportedProgram:
    """The `ExportedProgram` in a `.pt2` file, read without unpickling anything but tensors."""
    try:
        with _tensors_only():
            return torch.export.load(os.fspath(path))
    except FileNotFoundError:
        raise
    except Exception as exc:  # zip, JSON and unpickling errors of a file that is not a plain torch.export.save
        raise UnsupportedLayerError(
            f"{path} is not a readable torch.export program ({type(exc).__name__}: {exc}); write it with "
            "torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, C, H, W),)), 'model.pt2')"
        ) from exc


class _ExportLowering(_Lowering):
    def __init__(self, program: torch.export.ExportedProgram, name: str) -> None:
        self.graph = Graph(name)
        self.env: dict[fx.Node, str] = {}
        signature = program.graph_signature
        tensors = {**program.state_dict, **program.constants}
        self.consts: dict[str, torch.Tensor] = {}
        for placeholder, target in {**signature.inputs_to_parameters, **signature.inputs_to_buffers,
                                    **signature.inputs_to_lifted_tensor_constants}.items():
            self.consts[placeholder] = tensors[target]
        self.user_inputs = list(signature.user_inputs)

    @staticmethod
    def shape(node: fx.Node) -> tuple[int, ...]:
        return tuple(node.meta["val"].shape[1:])

    def const(self, node: fx.Node | None, layer: str) -> np.ndarray | None:
        if node is None:
            return None
        if not isinstance(node, fx.Node) or node.name not in self.consts:
            raise UnsupportedLayerError(f"layer '{layer}': its weights are computed in forward; make them parameters")
        return _numpy(self.consts[node.name])

    def name_for(self, node: fx.Node, suffix: str) -> str:
        """The layer's name as the fx front end gives it: the module path for an op of a torch.nn layer (a Conv2d,
        an AdaptiveAvgPool2d, a ReLU module), else scope.suffix for a function called in a module's forward."""
        stack = node.meta.get("nn_module_stack") or {}
        kind = list(stack.values())[-1][1] if stack else ""
        kind = kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__qualname__}"
        leaf = kind.startswith("torch.nn.modules.") and not kind.startswith("torch.nn.modules.container.")
        return self.graph.unique_name(self.scope(node)) if leaf and self.scope(node) else super().name_for(node, suffix)

    def call_function(self, node: fx.Node) -> None:
        target, args = node.target, node.args
        if target is aten.conv2d.default or target is aten.convolution.default:
            layer = self.name_for(node, "conv")
            x, w, b, *rest = list(args) + [None] * (3 - len(args))
            if target is aten.conv2d.default:
                stride, padding, dilation, groups = (rest + [1, 0, 1, 1][len(rest):])[:4]
            else:
                stride, padding, dilation, transposed, _, groups = rest
                if transposed:
                    raise UnsupportedLayerError(f"layer '{layer}': transposed convolution; the accelerator has none")
            weight = self.const(w, layer)
            conv = checked_conv(layer, weight, self.const(b, layer), weight.shape[2:], stride, padding, dilation, groups)
            self.emit(node, layer, conv, [x])
        elif target is aten.conv2d.padding:
            raise UnsupportedLayerError(f"layer '{self.name_for(node, 'conv')}': padding {args[4]!r}; use integer zero padding")
        elif target in (aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default):
            layer = self.name_for(node, "bn")
            x, gamma, beta, mean, var = args[:5]
            eps = args[7] if target is aten.batch_norm.default else args[6]
            channels = self.shape(x)[0]
            bn = BatchNorm(self.const(mean, layer), self.const(var, layer),
                           self.const(gamma, layer) if gamma is not None else np.ones(channels, np.float32),
                           self.const(beta, layer) if beta is not None else np.zeros(channels, np.float32), float(eps))
            self.emit(node, layer, bn, [x])
        elif target is operator.getitem and args[1] == 0:  # output 0 of the batch norm's (out, mean, invstd)
            self.passthrough(node, args[0])
        elif target in (aten.relu.default, aten.relu_.default):
            self.emit(node, self.name_for(node, "relu"), Relu(), [args[0]])
        elif target is aten.cat.default:
            dim = args[1] if len(args) > 1 else 0
            if dim not in (1, -3):
                raise UnsupportedLayerError(f"'{self.name_for(node, 'concat')}': concatenation on dim {dim}; only channel concat (dim=1) is free in hardware")
            self.emit(node, self.name_for(node, "concat"), Concat(), list(args[0]))
        elif target in (aten.add.Tensor, aten.add_.Tensor):
            a, b = args[:2]
            if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)) or node.kwargs.get("alpha", 1) != 1 \
                    or a.name in self.consts or b.name in self.consts:
                raise UnsupportedLayerError(f"'{self.name_for(node, 'add')}': add of a constant; only tensor + tensor (bypass) is supported")
            self.emit(node, self.name_for(node, "add"), Add(), [a, b])
        elif target is aten.mean.dim:
            dims = args[1]
            if not (len(dims) == 2 and set(dims) in SPATIAL_AXES and len(self.shape(args[0])) == 3):
                raise UnsupportedLayerError(f"'{self.name_for(node, 'mean')}': mean over dims {list(dims)}; only the mean over H and W (a global average pool) is supported")
            self.global_pool(node, args[0], self.name_for(node, "pool"))
        elif target is aten.adaptive_avg_pool2d.default:
            if tuple(args[1]) != (1, 1):
                raise UnsupportedLayerError(f"'{self.name_for(node, 'pool')}': adaptive average pool to {list(args[1])}; only a global pool (output size 1) is supported")
            self.global_pool(node, args[0], self.name_for(node, "pool"))
        elif target is aten.avg_pool2d.default:
            source = self.shape(args[0])
            padding = args[3] if len(args) > 3 else [0]
            if self.shape(node)[1:] != (1, 1) or any(p != 0 for p in padding):
                raise UnsupportedLayerError(f"'{self.name_for(node, 'pool')}': average pool that is not global ({source[1]}x{source[2]} -> {self.shape(node)[1]}x{self.shape(node)[2]}); {MAXPOOL_FIX}")
            self.global_pool(node, args[0], self.name_for(node, "pool"))
        elif target is aten.linear.default:
            self.linear(node, args[0], args[1], args[2] if len(args) > 2 else None)
        elif target in _RESHAPES:
            self.flatten_ok(node, args[0], self.name_for(node, "flatten"))
        elif target in _IDENTITY:
            self.passthrough(node, args[0])
        elif target in _MAX_POOLS:
            raise UnsupportedLayerError(f"'{self.name_for(node, 'maxpool')}' is a max-pool: {MAXPOOL_FIX}")
        else:
            op = getattr(target, "__name__", str(target)).split(".")[0]
            if op.rstrip("_") in OTHER_ACTIVATION_FUNCTIONS:
                raise UnsupportedLayerError(f"'{self.name_for(node, op)}': {op} is not supported: {ACTIVATION_FIX}")
            raise UnsupportedLayerError(f"'{self.name_for(node, op)}': operator aten.{op} is not supported by the accelerator; "
                                        "it runs conv, batch norm, ReLU, concat, add and global average pool")

    def linear(self, node: fx.Node, source: fx.Node, w: fx.Node, b: fx.Node | None) -> None:
        layer = self.name_for(node, "linear")
        if len(self.shape(source)) != 1:
            raise UnsupportedLayerError(f"layer '{layer}': linear layer on a {self.shape(source)} tensor; apply it after global average pooling + flatten")
        if not isinstance(self.graph.op(self.env[source]), GlobalAvgPool):
            raise UnsupportedLayerError(f"layer '{layer}': linear layer that does not follow the global average pool; "
                                        "it is not expressible as a 1x1 conv, make it a 1x1 conv before the pool")
        weight = self.const(w, layer)
        conv = checked_conv(layer, weight[:, :, None, None].copy(), self.const(b, layer), 1, 1, 0)
        self.emit(node, layer, conv, [source])

    def run_program(self, graph_module: fx.Graph) -> Graph:
        if len(self.user_inputs) != 1:
            raise UnsupportedLayerError(f"the program takes {len(self.user_inputs)} inputs ({', '.join(self.user_inputs)}); the accelerator takes one image")
        for node in graph_module.nodes:
            if node.op == "placeholder":
                if node.name in self.user_inputs:
                    shape = tuple(node.meta["val"].shape)
                    if len(shape) != 4 or not all(isinstance(d, int) for d in shape[1:]):
                        raise UnsupportedLayerError(f"the program's input {node.name} has shape {shape}; export it with an (N, C, H, W) example of fixed C, H, W")
                    self.env[node] = self.graph.add("input", Input(shape[1:]))
            elif node.op == "call_function":
                self.call_function(node)
            elif node.op == "output":
                results = node.args[0]
                if len(results) != 1:
                    raise UnsupportedLayerError(f"the program returns {len(results)} tensors; the accelerator has one output")
                self.graph.output = self.env[results[0]]
            else:
                raise UnsupportedLayerError(f"'{node.name}': {node.op} nodes are not part of an exported inference program")
        self.graph.validate()
        return self.graph


def lower_exported(source: str | os.PathLike | torch.export.ExportedProgram, name: str | None = None) -> Graph:
    """The float dataflow graph of a `torch.export` program (an ExportedProgram, or a `.pt2` file)."""
    if isinstance(source, (str, os.PathLike)):
        name = name or Path(source).stem
        source = load_exported(source)
    return _ExportLowering(source, name or "exported").run_program(source.graph)
