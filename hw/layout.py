"""Activation memory layout: where every tensor lives in the banked SRAM, allocated by liveness.

The activation memory has `banks` = 2 x cols banks of act_bits words; element
address a sits in bank a mod banks, row a div banks. A tensor of C x H x W is
stored channel-planar: address = base + c * plane + y * pitch + x, with plane a
multiple of `banks` (so the channel never changes the bank) and the row pitch
chosen so that every access the schedule makes is conflict-free:

- a stride-1 consumer reads `cols` consecutive output pixels (raster order,
  across row ends) at one tap: conflict-free when pitch = W (mod banks);
- a stride-2 consumer reads input pixels 2p apart: conflict-free when
  pitch = ceil(W/2) (mod cols);
- the producer writes `cols` consecutive pixels of one channel.

`plan_layouts` picks the smallest pitch >= W that the consumers need and then
checks every tile's reads and writes exhaustively; a tensor with no
conflict-free pitch is refused, naming it. Concat inputs are written straight
into the concat's tensor at their channel offset; the final pool's output
streams out and takes no memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.quant.analyses import infer_shapes
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Concat, Conv, GlobalAvgPool


@dataclass(frozen=True)
class TensorLayout:
    """Where one tensor lives: element (c, y, x) is at base + c * plane + y * pitch + x."""

    node: str
    channels: int
    height: int
    width: int
    pitch: int
    plane: int
    base: int = 0

    @property
    def size(self) -> int:
        return self.channels * self.plane

    def address(self, c: int | np.ndarray, y: int | np.ndarray, x: int | np.ndarray) -> int | np.ndarray:
        return self.base + c * self.plane + y * self.pitch + x


@dataclass(frozen=True)
class MemoryPlan:
    banks: int
    layouts: dict[str, TensorLayout]
    #: node -> (tensor node it writes into, channel offset); concat inputs write into the concat
    destinations: dict[str, tuple[str, int]]
    #: words of the activation memory (all banks together)
    words: int
    #: tensor -> (first, last) position in the schedule (graph order) where it is live: its first writer to its
    #: last reader
    lifetimes: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def bank_depth(self) -> int:
        return math.ceil(self.words / self.banks)

    def live_words(self, graph: Graph) -> list[tuple[str, int, tuple[str, ...]]]:
        """Per node of the schedule (`graph`'s node order, as `plan_layouts` planned it): the words of the tensors
        live while it runs, and those tensors. Their maximum is a lower bound on `words` (the plan reaches it unless
        fragmentation or bank alignment costs more)."""
        out = []
        for i, node in enumerate(graph.nodes()):
            live = tuple(t for t, (first, last) in self.lifetimes.items() if first <= i <= last)
            out.append((node, sum(self.layouts[t].size for t in live), live))
        return out


def activation_banks(params: ArrayParams) -> int:
    return 2 * params.cols


def storage_owner(graph: Graph) -> dict[str, tuple[str, int]]:
    """For every node that writes memory: (the tensor it writes into, its channel offset)."""
    shapes = infer_shapes(graph)
    owner: dict[str, tuple[str, int]] = {}
    for name, op in graph.items():
        if isinstance(op, Concat):
            offset = 0
            for source in graph.inputs(name):
                if isinstance(graph.op(source), Concat) or len(graph.consumers(source)) != 1:
                    raise HardwareParamError(
                        f"'{source}' feeds concat '{name}' and other layers; the accelerator writes a concat's "
                        "inputs straight into it, so each input may feed only that concat"
                    )
                owner[source] = (name, offset)
                offset += shapes[source][0]
            owner[name] = (name, 0)
        elif name not in owner and not isinstance(op, GlobalAvgPool):
            owner[name] = (name, 0)
    return owner


def _consumers_strides(graph: Graph, tensor: str, owner: dict[str, tuple[str, int]]) -> list[tuple[str, int]]:
    """(consumer, stride) of every layer that reads `tensor`'s memory."""
    writers = [n for n, (t, _) in owner.items() if t == tensor]
    readers = []
    for writer in writers if isinstance(graph.op(tensor), Concat) else [tensor]:
        for consumer in graph.consumers(writer):
            op = graph.op(consumer)
            if isinstance(op, Concat):
                continue
            readers.append((consumer, op.stride if isinstance(op, Conv) else 1))
    return readers


def _conv_read_bases(op: Conv, in_shape, out_shape, pitch: int, cols: int) -> list[np.ndarray]:
    """Per output-pixel tile: the lane addresses (relative) of tap (0, 0), valid lanes only."""
    _, h_out, w_out = out_shape
    pixels = np.arange(h_out * w_out)
    oy, ox = pixels // w_out, pixels % w_out
    bases = (oy * op.stride) * pitch + ox * op.stride
    return [bases[i : i + cols] for i in range(0, len(pixels), cols)]


def _raster_tiles(height: int, width: int, pitch: int, cols: int) -> list[np.ndarray]:
    pixels = np.arange(height * width)
    pos = (pixels // width) * pitch + pixels % width
    return [pos[i : i + cols] for i in range(0, len(pixels), cols)]


def _conflict_free(tiles: list[np.ndarray], banks: int) -> bool:
    return all(len(np.unique(t % banks)) == len(t) for t in tiles)


def _check_pitch(graph: Graph, tensor: str, pitch: int, readers, shapes, banks: int, cols: int) -> bool:
    _, height, width = shapes[tensor]
    writes = _raster_tiles(height, width, pitch, cols)
    if not _conflict_free(writes, banks):
        return False
    for consumer, _ in readers:
        op = graph.op(consumer)
        if isinstance(op, Conv):
            tiles = _conv_read_bases(op, shapes[tensor], shapes[consumer], pitch, cols)
        else:  # add and pool read in raster order like a write
            tiles = writes
        if not _conflict_free(tiles, banks):
            return False
    return True


def choose_pitch(graph: Graph, tensor: str, shapes, params: ArrayParams, owner) -> int:
    banks, cols = activation_banks(params), params.cols
    _, _, width = shapes[tensor]
    readers = _consumers_strides(graph, tensor, owner)
    for pitch in range(width, width + 2 * banks):
        if _check_pitch(graph, tensor, pitch, readers, shapes, banks, cols):
            return pitch
    raise HardwareParamError(
        f"no conflict-free layout for tensor '{tensor}' ({shapes[tensor]}) read by "
        f"{', '.join(f'{c} (stride {s})' for c, s in readers) or 'nothing'} on a {params.rows}x{cols} array; "
        "try another number of array columns"
    )


def plan_layouts(graph: Graph, params: ArrayParams) -> MemoryPlan:
    """Layouts for every stored tensor and their bases, reusing memory once a tensor is dead."""
    shapes = infer_shapes(graph)
    owner = storage_owner(graph)
    banks = activation_banks(params)
    order = graph.nodes()
    position = {name: i for i, name in enumerate(order)}
    tensors = sorted({t for t, _ in owner.values()}, key=position.__getitem__)
    unplaced: dict[str, TensorLayout] = {}
    for tensor in tensors:
        channels, height, width = shapes[tensor]
        pitch = choose_pitch(graph, tensor, shapes, params, owner)
        plane = math.ceil(height * pitch / banks) * banks
        unplaced[tensor] = TensorLayout(tensor, channels, height, width, pitch, plane)

    # liveness: from the first writer to the last reader (in schedule order)
    live: dict[str, tuple[int, int]] = {}
    for tensor in tensors:
        writers = [n for n, (t, _) in owner.items() if t == tensor]
        start = min(position[w] for w in writers)
        readers = [c for w in writers + [tensor] for c in graph.consumers(w) if owner.get(c, (None,))[0] != tensor]
        end = max([position[r] for r in readers] + [position[tensor]])
        live[tensor] = (start, end)

    placed: dict[str, TensorLayout] = {}
    words = 0
    for tensor in tensors:  # first fit among tensors whose lifetimes overlap
        start, end = live[tensor]
        busy = sorted(
            (placed[o].base, placed[o].base + placed[o].size)
            for o in placed
            if not (live[o][1] < start or end < live[o][0])
        )
        base = 0
        size = unplaced[tensor].size
        for lo, hi in busy:
            if base + size <= lo:
                break
            base = max(base, hi)
        base = math.ceil(base / banks) * banks
        layout = TensorLayout(**{**unplaced[tensor].__dict__, "base": base})
        placed[tensor] = layout
        words = max(words, base + size)
    return MemoryPlan(banks, placed, owner, words, live)
