"""Compile a quantized graph for the accelerator: the layer program and the memory images.

The program is a list of steps (`program.py`) the controller walks: load the
image, one step per conv (concat is free: its inputs write at channel
offsets), bypass adds, and the final global average pool that streams the
class scores out. Weights are packed one word per reduction step and channel
tile (row r of the word feeds array row r), biases one word per channel tile;
both reach the memories through the load stream (load_format.py), or as
their initial contents in a baked design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from firebrick.hw.layout import MemoryPlan, plan_layouts
from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.hw.program import (
    MAX_ALIGN_SHIFT, ProgramWidths, Step, StepKind, program_widths, raster_walk, requant_shift_range,
)
from firebrick.hw.requantize import conv_shift_range
from firebrick.hw.round_shift_clip import rounding_constant
from firebrick.hw.schedule import (
    LayerSchedule, add_drain_cycles, codebook_entries, conv_drain_cycles, conv_period, load_drain_cycles, plan_schedule,
    pool_drain_cycles,
)
from firebrick.quant.analyses import infer_shapes
from firebrick.quant.executor import output_format
from firebrick.quant.fixed_point import Format
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, Concat, Conv, GlobalAvgPool, Input, op_kind

@dataclass
class Program:
    params: ArrayParams
    steps: list[Step]
    #: rows-wide words of int weights, one per (conv, channel tile, reduction step)
    weights: np.ndarray
    #: rows-wide words of int32 biases, one per (conv, channel tile)
    biases: np.ndarray
    memory: MemoryPlan
    schedule: list[LayerSchedule]
    input_node: str
    output_node: str
    num_classes: int
    #: k when the weight memory holds k-bit codebook indices, else None
    codebook_bits: int | None = None
    #: the decode tables of all convs, 2**k int weights each, concatenated
    codebooks: np.ndarray | None = None
    widths: ProgramWidths | None = None


def clip_bounds(fmt: Format, relu: bool) -> tuple[int, int]:
    return (max(fmt.min_int, 0) if relu else fmt.min_int), fmt.max_int


def _check_formats(name: str, op: Conv, params: ArrayParams) -> None:
    q = op.quant
    if q.weight_fmt.bits > params.weight_bits:
        raise HardwareParamError(f"layer '{name}' has {q.weight_fmt.bits}-bit weights; the array multiplies {params.weight_bits}-bit weights")
    for fmt in (q.in_fmt, q.out_fmt):
        if fmt.bits > params.act_bits:
            raise HardwareParamError(f"layer '{name}' has {fmt.bits}-bit activations; the accelerator carries {params.act_bits}-bit activations")
    if q.acc_bits != params.acc_bits:
        raise HardwareParamError(f"layer '{name}' was quantized for a {q.acc_bits}-bit accumulator; the array has {params.acc_bits} bits")
    low, high = conv_shift_range(params)
    if q.shift > high:
        raise HardwareParamError(f"layer '{name}' shifts right by {q.shift}, beyond the {params.acc_bits}-bit accumulator")
    if op.kernel not in (1, 3):
        raise HardwareParamError(f"layer '{name}' has a {op.kernel}x{op.kernel} kernel; the accelerator runs 1x1 and 3x3")


def _add_step(graph: Graph, name: str, op: Add, shapes, memory: MemoryPlan, params: ArrayParams) -> Step:
    """Bypass add: align both inputs to the wider fractional length, add, requantize (as the executor)."""
    (a_name, b_name), cols = graph.inputs(name), params.cols
    fa, fb = output_format(graph, a_name), output_format(graph, b_name)
    common = max(fa.frac, fb.frac)
    align_a, align_b = common - fa.frac, common - fb.frac
    if max(align_a, align_b) > MAX_ALIGN_SHIFT:
        raise HardwareParamError(f"'{name}': its inputs' formats ({fa}, {fb}) differ by more than {MAX_ALIGN_SHIFT} fractional bits")
    if op.fmt.bits > params.act_bits:
        raise HardwareParamError(f"'{name}' has {op.fmt.bits}-bit activations; the accelerator carries {params.act_bits}-bit activations")
    low, high = conv_shift_range(params)
    shift = common - op.fmt.frac
    if shift > high:
        raise HardwareParamError(f"'{name}' shifts right by {shift}, beyond the datapath's {high}")
    layouts = []
    for source in (a_name, b_name, name):
        tensor, offset = memory.destinations[source]
        layouts.append((memory.layouts[tensor], offset))
    (la, oa), (lb, ob), (lo_, oo) = layouts
    channels, height, width = shapes[name]
    lo, hi = clip_bounds(op.fmt, op.relu)

    def walk(layout, offset):
        return raster_walk(width=width, pixels=height * width, stride=1, pad=0, pitch=layout.pitch, lanes=cols,
                           base=layout.base + offset * layout.plane)

    shift = max(shift, low)
    return Step(
        name, StepKind.ADD, fetch=walk(la, oa), out=walk(lo_, oo), b=walk(lb, ob),
        in_plane=la.plane, b_plane=lb.plane, out_plane=lo_.plane, out_walk_step=lo_.plane, channels=channels,
        pixel_tiles=math.ceil(height * width / cols), align_a=align_a, align_b=align_b,
        shift=shift, round=rounding_constant(shift), lo=lo, hi=hi, drain=add_drain_cycles() - 1,
    )


def compile_graph(graph: Graph, params: ArrayParams) -> Program:
    """The layer program and memory images of a quantized, canonical graph."""
    if params.cols & (params.cols - 1):
        raise HardwareParamError(f"array cols must be a power of two (the activation memory has 2 x cols banks), not {params.cols}")
    shapes = infer_shapes(graph)
    for name, op in graph.items():
        if isinstance(op, GlobalAvgPool) and name != graph.output:
            raise HardwareParamError(f"'{name}': the global average pool must be the last layer (its output streams out as the scores)")
        if isinstance(op, Conv) and op.quant is None:
            raise HardwareParamError(f"'{name}' is not quantized; run `firebrick quantize` first")
    if not isinstance(graph.op(graph.output), GlobalAvgPool):
        raise HardwareParamError(f"the graph must end with a global average pool (it ends with {op_kind(graph.op(graph.output))} '{graph.output}')")
    memory = plan_layouts(graph, params)
    rows, cols = params.rows, params.cols
    steps: list[Step] = []
    weight_words: list[np.ndarray] = []
    bias_words: list[np.ndarray] = []
    table_words: list[int] = []
    convs = [op for _, op in graph.items() if isinstance(op, Conv)]
    shared = [op.quant.codebook is not None for op in convs]
    if any(shared) and not all(shared):
        raise HardwareParamError("either every conv or none uses a codebook: the weight memory holds indices or weights")
    entries = codebook_entries(graph)
    codebook_bits = (entries - 1).bit_length() if entries else None
    for name, op in graph.items():
        if isinstance(op, Input):
            layout = memory.layouts[name]
            channels, height, width = op.shape
            steps.append(Step(
                name, StepKind.LOAD,
                fetch=raster_walk(width=width, pixels=height * width, stride=1, pad=0, pitch=layout.pitch, lanes=cols,
                                  base=layout.base),
                in_plane=layout.plane, channels=channels, pixel_tiles=math.ceil(height * width / cols),
                drain=load_drain_cycles() - 1,
            ))
        elif isinstance(op, Conv):
            _check_formats(name, op, params)
            source = graph.inputs(name)[0]
            src_tensor, src_offset = memory.destinations[source]
            src = memory.layouts[src_tensor]
            dst_tensor, dst_offset = memory.destinations[name]
            dst = memory.layouts[dst_tensor]
            out_channels, out_h, out_w = shapes[name]
            k = op.kernel
            reduction = op.in_channels * k * k
            q = op.quant
            weight_base, bias_base = len(weight_words), len(bias_words)
            if codebook_bits:
                flat = q.indices.astype(np.int64).reshape(out_channels, reduction)
                codebook_base = len(table_words)
                table_words.extend(list(q.codebook) + [0] * (entries - len(q.codebook)))
            else:
                flat = q.weight.reshape(out_channels, reduction)
                codebook_base = 0
            channel_tiles = math.ceil(out_channels / rows)
            for tile in range(channel_tiles):
                block = np.zeros((rows, reduction), np.int64)
                block[: min(rows, out_channels - tile * rows)] = flat[tile * rows : (tile + 1) * rows]
                weight_words.extend(block.T)
                bias = np.zeros(rows, np.int64)
                bias[: min(rows, out_channels - tile * rows)] = q.bias[tile * rows : (tile + 1) * rows]
                bias_words.append(bias)
            low, _ = conv_shift_range(params)
            lo, hi = clip_bounds(q.out_fmt, op.relu)
            period = conv_period(reduction, params)
            shift = max(q.shift, low)
            steps.append(Step(
                name, StepKind.CONV,
                fetch=raster_walk(width=out_w, pixels=out_h * out_w, stride=op.stride, pad=op.padding, pitch=src.pitch,
                                  lanes=cols, base=src.base + src_offset * src.plane),
                # the tile's top channel (rows - 1): the write-back drains the bottom row of the array first
                out=raster_walk(width=out_w, pixels=out_h * out_w, stride=1, pad=0, pitch=dst.pitch, lanes=cols,
                                base=dst.base + (dst_offset + rows - 1) * dst.plane),
                in_height=src.height, in_width=src.width,
                channels=op.in_channels, kernel=k, reduction=reduction, period=period,
                channel_tiles=channel_tiles, pixel_tiles=math.ceil(out_h * out_w / cols),
                dy_step=src.pitch - (k - 1), cin_step=src.plane - (k - 1) * src.pitch - (k - 1),
                out_plane=dst.plane, out_walk_step=rows * dst.plane,
                out_channels=out_channels, weight_base=weight_base, bias_base=bias_base, codebook_base=codebook_base,
                shift=shift, round=rounding_constant(shift), lo=lo, hi=hi,
                drain=conv_drain_cycles(params, reduction, period) - 1,
            ))
        elif isinstance(op, GlobalAvgPool):
            source = graph.inputs(name)[0]
            src_tensor, src_offset = memory.destinations[source]
            src = memory.layouts[src_tensor]
            channels, height, width = shapes[source]
            lo, hi = clip_bounds(op.fmt, False)
            low, high = requant_shift_range(params)
            if op.shift > high:
                raise HardwareParamError(f"'{name}' shifts right by {op.shift}, beyond the datapath's {high}")
            shift = max(op.shift, low)
            steps.append(Step(
                name, StepKind.POOL,
                fetch=raster_walk(width=width, pixels=height * width, stride=1, pad=0, pitch=src.pitch, lanes=cols,
                                  base=src.base + src_offset * src.plane),
                in_plane=src.plane, channels=channels, pixel_tiles=math.ceil(height * width / cols),
                shift=shift, round=rounding_constant(shift), lo=lo, hi=hi, multiplier=op.multiplier,
                drain=pool_drain_cycles() - 1,
            ))
        elif isinstance(op, Add):
            steps.append(_add_step(graph, name, op, shapes, memory, params))
        elif isinstance(op, Concat):
            continue
    weights = np.array(weight_words, np.int64).reshape(-1, rows) if weight_words else np.zeros((1, rows), np.int64)
    biases = np.array(bias_words, np.int64).reshape(-1, rows) if bias_words else np.zeros((1, rows), np.int64)
    widths = program_widths(steps, params, words=memory.words, weight_words=len(weights), bias_words=len(biases),
                            codebook_entries=len(table_words), banks=memory.banks)
    return Program(
        params, steps, weights, biases, memory, plan_schedule(graph, params),
        graph.input, graph.output, shapes[graph.output][0],
        codebook_bits, np.array(table_words, np.int64) if table_words else None, widths,
    )
