"""The static schedule of a graph on the array: tiles, steps and cycles per layer.

A conv layer of N output channels, P output pixels and reduction K = Cin*k*k
runs ceil(N/rows) x ceil(P/cols) tiles of max(K, rows) steps each (a tile
shorter than `rows` steps waits for the previous tile's drain), then waits
until its last result has been written (`drain_cycles`). Every step starts
with one set-up cycle, and at least `prefetch_cycles` after the previous
step's (the lane walkers find the next step's starts while the current step
runs). Every figure comes from the pipeline latencies in `latency.py` that the
RTL is built to; every access is conflict-free by layout (`layout.py`), so
nothing stalls and the schedule is exact by construction: with an image stream
that is always valid and a score stream that is always ready, the
accelerator's cycle counter equals the sum of these cycles (tests/hw check it).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firebrick.hw.latency import (
    ADD_LATENCY, CONTROL_LATENCY, FETCH_LATENCY, LOAD_WRITE_LATENCY, PE_LATENCY, POOL_SCORE_CYCLES, SETUP_CYCLES, WRITE_LATENCY,
    WRITEBACK_LATENCY, prefetch_cycles,
)
from firebrick.hw.params import ArrayParams
from firebrick.quant.analyses import infer_shapes
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Add, Concat, Conv, GlobalAvgPool, Input


@dataclass(frozen=True)
class LayerSchedule:
    node: str
    kind: str
    macs: int
    #: cycles the layer occupies, pipeline fill and drain included
    cycles: int
    #: channel tiles x pixel tiles (convs), 0 otherwise
    channel_tiles: int = 0
    pixel_tiles: int = 0
    #: reduction length K and steps per tile max(K, rows)
    reduction: int = 0
    period: int = 0

    def utilization(self, params: ArrayParams) -> float:
        return self.macs / (self.cycles * params.rows * params.cols) if self.cycles else 0.0

    def to_dict(self, params: ArrayParams) -> dict[str, Any]:
        return {**asdict(self), "utilization": self.utilization(params)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LayerSchedule":
        return cls(**{k: v for k, v in d.items() if k != "utilization"})


def conv_drain_cycles(params: ArrayParams, reduction: int, period: int) -> int:
    """Cycles after a conv's last tile until its last result is written and readable.

    The last reduction step, issued `period - reduction` cycles before the tile ends, reaches the fetch
    CONTROL_LATENCY later and the array FETCH_LATENCY after that, the bottom-right PE rows - 1 + cols - 1 cycles after that, is done PE_LATENCY
    later; the column drains `rows` values, each written back WRITEBACK_LATENCY later, the deskew holds
    column 0 back by cols - 1, and the write is readable WRITE_LATENCY after it is presented.
    """
    rows, cols = params.rows, params.cols
    last_write = CONTROL_LATENCY + FETCH_LATENCY + (rows - 1) + (cols - 1) + PE_LATENCY + rows + WRITEBACK_LATENCY
    return last_write + WRITE_LATENCY - (period - reduction) - 1


def load_drain_cycles() -> int:
    """After the image's last beat until it is readable."""
    return LOAD_WRITE_LATENCY - 1


def add_drain_cycles() -> int:
    """After a bypass add's last read until its last result is readable."""
    return CONTROL_LATENCY + FETCH_LATENCY + ADD_LATENCY + WRITE_LATENCY - 1


def pool_drain_cycles() -> int:
    """After the global pool's last read until its last score is on the stream (and taken, if the stream is ready)."""
    return POOL_SCORE_CYCLES


def codebook_entries(graph: Graph) -> int:
    """Entries of the weight decode table (2**k) when every conv shares weights through a codebook, else 0."""
    books = [op.quant.codebook for _, op in graph.items() if isinstance(op, Conv) and op.quant is not None]
    if not books or any(b is None for b in books):
        return 0
    return max(len(b) for b in books)


def conv_period(reduction: int, params: ArrayParams) -> int:
    """Cycles per tile: the reduction, but at least `rows` (the previous tile's drain) and 2 (the bias word's read)."""
    return max(reduction, params.rows, 2)


def conv_schedule(name: str, op: Conv, out_shape: tuple[int, int, int], params: ArrayParams, table_entries: int = 0) -> LayerSchedule:
    channels, height, width = out_shape
    reduction = op.in_channels * op.kernel**2
    channel_tiles = math.ceil(channels / params.rows)
    pixel_tiles = math.ceil(height * width / params.cols)
    period = conv_period(reduction, params)
    # a codebook layer first loads its decode table: one entry a cycle behind the table ROM's read
    table_load = table_entries + 1 if table_entries else 0
    cycles = SETUP_CYCLES + table_load + channel_tiles * pixel_tiles * period + conv_drain_cycles(params, reduction, period)
    macs = channels * height * width * reduction
    return LayerSchedule(name, "conv", macs, cycles, channel_tiles, pixel_tiles, reduction, period)


def add_schedule(name: str, shape: tuple[int, int, int], params: ArrayParams) -> LayerSchedule:
    """Per group of `cols` pixels of a channel: read one input, then the other; writes overlap."""
    channels, height, width = shape
    groups = math.ceil(height * width / params.cols)
    return LayerSchedule(name, "add", 0, SETUP_CYCLES + channels * groups * 2 + add_drain_cycles())


def pool_schedule(name: str, in_shape: tuple[int, int, int], params: ArrayParams) -> LayerSchedule:
    """`cols` pixels a cycle, channel after channel (the score queue takes each score), then the last score out."""
    channels, height, width = in_shape
    groups = math.ceil(height * width / params.cols)
    return LayerSchedule(name, "global_avg_pool", 0, SETUP_CYCLES + channels * groups + pool_drain_cycles())


def plan_schedule(graph: Graph, params: ArrayParams) -> list[LayerSchedule]:
    """Every phase of a frame in order: image load, layers, score stream; cycles as the frame counter counts them.

    Each phase lasts its own cycles from its set-up to the next phase's, or `prefetch_cycles`, whichever
    is more; the first phase's set-up starts the frame and is not counted, nor is the end of the last.
    """
    shapes = infer_shapes(graph)
    table_entries = codebook_entries(graph)
    plan = []
    for name, op in graph.items():
        if isinstance(op, Input):
            # the image stream carries `cols` pixels of one channel per beat, written like a conv's output
            channels, height, width = op.shape
            beats = channels * math.ceil(height * width / params.cols)
            plan.append(LayerSchedule(name, "load", 0, SETUP_CYCLES + beats + load_drain_cycles()))
        elif isinstance(op, Conv):
            plan.append(conv_schedule(name, op, shapes[name], params, table_entries))
        elif isinstance(op, Add):
            plan.append(add_schedule(name, shapes[name], params))
        elif isinstance(op, GlobalAvgPool):
            plan.append(pool_schedule(name, shapes[graph.inputs(name)[0]], params))
        elif isinstance(op, Concat):
            continue  # free: its inputs wrote at channel offsets
    least = prefetch_cycles(params.cols)
    counted = [dataclasses.replace(s, cycles=max(s.cycles, least)) for s in plan[:-1]] + plan[-1:]
    counted[0] = dataclasses.replace(counted[0], cycles=counted[0].cycles - SETUP_CYCLES)
    return counted


def network_utilization(plan: list[LayerSchedule], params: ArrayParams, *, kinds: tuple[str, ...] | None = None) -> float:
    chosen = [s for s in plan if kinds is None or s.kind in kinds]
    cycles = sum(s.cycles for s in chosen)
    return sum(s.macs for s in chosen) / (cycles * params.rows * params.cols) if cycles else 0.0


def _inside_taps(op: Conv, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int]) -> int:
    """Sum over output pixels and kernel taps of the taps that land inside the input map."""
    _, height, width = in_shape
    _, out_h, out_w = out_shape
    rows = np.arange(out_h)[:, None] * op.stride + np.arange(op.kernel)[None, :] - op.padding
    cols = np.arange(out_w)[:, None] * op.stride + np.arange(op.kernel)[None, :] - op.padding
    rows_inside = ((rows >= 0) & (rows < height)).sum()
    cols_inside = ((cols >= 0) & (cols < width)).sum()
    return int(rows_inside * cols_inside)


def predict_activity(graph: Graph, params: ArrayParams) -> dict[str, int]:
    """The accelerator's activity counters for one frame, without simulating it (exact; tests check)."""
    shapes = infer_shapes(graph)
    plan = {s.node: s for s in plan_schedule(graph, params)}
    counters = {"cycles": sum(s.cycles for s in plan.values()), "stall_cycles": 0, "mac_ops": 0,
                "act_reads": 0, "act_writes": 0, "weight_reads": 0, "bias_reads": 0}
    for name, op in graph.items():
        if isinstance(op, Input):
            counters["act_writes"] += math.prod(op.shape)
        elif isinstance(op, Conv):
            s = plan[name]
            inside = _inside_taps(op, shapes[graph.inputs(name)[0]], shapes[name]) * op.in_channels
            channels = shapes[name][0]
            counters["act_reads"] += s.channel_tiles * inside
            counters["mac_ops"] += channels * inside
            counters["act_writes"] += math.prod(shapes[name])
            counters["weight_reads"] += s.channel_tiles * s.pixel_tiles * s.reduction
            counters["bias_reads"] += s.channel_tiles * s.pixel_tiles
        elif isinstance(op, Add):
            counters["act_reads"] += 2 * math.prod(shapes[name])
            counters["act_writes"] += math.prod(shapes[name])
        elif isinstance(op, GlobalAvgPool):
            counters["act_reads"] += math.prod(shapes[graph.inputs(name)[0]])
    return counters
