"""The layer program's format, defined once: what the compiler writes and the controller reads.

A program is a list of steps: load the image, one step per conv (a concat is
free: its inputs write at channel offsets), bypass adds, and the final global
average pool that streams the scores out. `Step` is the compiler's view (plain
integers), `step_layout` the hardware's (an Amaranth struct whose field widths
follow the program's `ProgramWidths`), and `encode_step` turns one into the
other, so a field exists in one place with one meaning.

Lane walks. Units that touch `cols` consecutive pixels at once (conv operand
fetch, conv result positions, image load, pool, add) follow them with a
`RasterWalk`: lane c starts at pixel c of the map, every `advance` moves each
lane on by `cols` pixels. The compiler computes every constant that would need
a division or a multiplication (dq, dr = divmod(cols, width) and what they
move a lane's column, row, slack and address by), so the hardware only adds
and selects. `slack` = column - (width - dr) tells, by its sign, whether the
next advance wraps to a new row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from amaranth import signed, unsigned
from amaranth.lib import data, enum

from firebrick.hw.params import ArrayParams

#: bits of the global pool's reciprocal multiplier (quant.quantize.POOL_MULTIPLIER_BITS)
POOL_MULTIPLIER_BITS = 16
#: left shifts that align an add's inputs to their common fractional length
MAX_ALIGN_SHIFT = 16


class StepKind(enum.Enum, shape=2):
    LOAD = 0
    CONV = 1
    POOL = 2
    ADD = 3


@dataclass(frozen=True)
class RasterWalk:
    """`cols` lanes walking a map of `pixels` pixels, `width` to a row, in raster order."""

    width: int = 1
    pixels: int = 0
    stride: int = 1
    pad: int = 0
    #: lane 0's window origin: the walk's base address - pad * pitch - pad
    origin0: int = 0
    #: address from a row's last pixel to the next row's first (the start chain's wrap)
    chain_wrap_address: int = 0
    #: slack of lane 0 at the start: dr - width
    slack0: int = 0
    #: what one advance adds, without and with a wrap to the next row
    slack_step: int = 0
    slack_step_wrap: int = 0
    col_step: int = 0
    col_step_wrap: int = 0
    row_step: int = 0
    row_step_wrap: int = 0
    address_step: int = 0
    address_step_wrap: int = 0


def raster_walk(*, width: int, pixels: int, stride: int, pad: int, pitch: int, lanes: int, base: int = 0) -> RasterWalk:
    """The walk's constants, computed here so that hardware never divides or multiplies."""
    dq, dr = divmod(lanes, width)
    row_address = stride * pitch
    return RasterWalk(
        width=width, pixels=pixels, stride=stride, pad=pad,
        origin0=base - pad * pitch - pad, chain_wrap_address=row_address - stride * (width - 1),
        slack0=dr - width, slack_step=dr, slack_step_wrap=dr - width,
        col_step=stride * dr, col_step_wrap=stride * (dr - width),
        row_step=stride * dq, row_step_wrap=stride * (dq + 1),
        address_step=dq * row_address + stride * dr, address_step_wrap=(dq + 1) * row_address + stride * (dr - width),
    )


@dataclass(frozen=True)
class Step:
    """One entry of the layer program; fields a kind does not use stay 0."""

    node: str
    kind: StepKind
    #: conv: the input windows; load, pool, add: the (first) input map
    fetch: RasterWalk = field(default_factory=RasterWalk)
    #: conv: the output pixels, at the tile's top row (channel rows - 1); add: the output map
    out: RasterWalk = field(default_factory=RasterWalk)
    #: add: the second input
    b: RasterWalk = field(default_factory=RasterWalk)
    #: conv: the input map's size (zero padding outside it)
    in_height: int = 0
    in_width: int = 0
    #: load, pool, add: channels walked; conv: input channels
    channels: int = 0
    kernel: int = 1
    #: conv: reduction length K = Cin * k * k, and cycles per tile max(K, rows, 2)
    reduction: int = 0
    period: int = 0
    channel_tiles: int = 0
    pixel_tiles: int = 0
    #: conv: address step from a window row's last tap to the next row's first, and to the next channel's first
    dy_step: int = 0
    cin_step: int = 0
    #: what the fetch and b walks' bases move by per channel (load, pool, add)
    in_plane: int = 0
    b_plane: int = 0
    #: the output tensor's channel plane (conv: between a tile's rows), and what the output walk's base
    #: moves by per reset (conv: a channel tile, rows planes; add: a channel)
    out_plane: int = 0
    out_walk_step: int = 0
    out_channels: int = 0
    weight_base: int = 0
    bias_base: int = 0
    #: first entry of this conv's decode table in the codebook memory
    codebook_base: int = 0
    #: requantization: right shift (negative: left), the rounding constant added before it, clip bounds
    shift: int = 0
    round: int = 0
    lo: int = 0
    hi: int = 0
    multiplier: int = 1
    align_a: int = 0
    align_b: int = 0
    #: cycles the controller waits after the step's last issue until its last write has landed
    drain: int = 0


@dataclass(frozen=True)
class ProgramWidths:
    """Bit widths of the program's fields and of the counters that walk it."""

    #: an activation address (unsigned); walks and offsets carry it signed, one bit wider
    address: int
    #: how many bank rows the lanes of one access reach beyond lane 0's (bits): the crossbar carries only this
    row_offset: int
    #: a map coordinate (unsigned); lane rows and columns carry it signed, two bits wider
    coord: int
    #: loop counts: pixels, reduction, period, tiles, channels
    count: int
    weight_address: int
    bias_address: int
    codebook_address: int
    drain: int
    steps: int


def _bits(value: int) -> int:
    return max(int(value).bit_length(), 1)


def lane_span(walk: RasterWalk, lanes: int) -> int:
    """The largest address distance from lane 0 to a lane on the map, over every position of the walk."""
    if walk.pixels <= 1:
        return 0
    starts = np.arange(0, walk.pixels, lanes)
    ends = np.minimum(starts + lanes - 1, walk.pixels - 1)
    row_address = walk.chain_wrap_address + walk.stride * (walk.width - 1)

    def origin(p):
        return (p // walk.width) * row_address + (p % walk.width) * walk.stride

    return int((origin(ends) - origin(starts)).max())


def program_widths(steps: list[Step], params: ArrayParams, *, words: int, weight_words: int, bias_words: int,
                   codebook_entries: int, banks: int) -> ProgramWidths:
    walks = [w for s in steps for w in (s.fetch, s.out, s.b)]
    # an access's lane c sits (lane 0's address mod banks + its distance from lane 0) // banks rows on
    row_offset = _bits((banks - 1 + max(lane_span(w, params.cols) for w in walks)) // banks)
    coord = max([_bits(max(s.in_height, s.in_width)) for s in steps] + [_bits(w.width) for w in walks]
                + [_bits(2 * (params.cols + 1))])
    counts = [w.pixels for w in walks] + [v for s in steps for v in (s.reduction, s.period, s.channel_tiles, s.pixel_tiles,
                                                                       s.channels, s.out_channels)]
    return ProgramWidths(
        address=_bits(max(words, 2) - 1) + 1, row_offset=row_offset, coord=coord, count=_bits(max(counts)) + 1,
        weight_address=_bits(max(weight_words, 2) - 1), bias_address=_bits(max(bias_words, 2) - 1),
        codebook_address=_bits(max(codebook_entries, 2) - 1), drain=_bits(max(s.drain for s in steps)),
        steps=_bits(len(steps)),
    )


def requant_shift_range(params: ArrayParams) -> tuple[int, int]:
    """Shifts any requantization of the datapath takes: [-(act_bits + 1), acc_bits + pool multiplier bits]."""
    return -(params.act_bits + 1), params.acc_bits + POOL_MULTIPLIER_BITS


def walk_layout(widths: ProgramWidths) -> data.StructLayout:
    address = signed(widths.address + 1)
    slack = signed(widths.coord + 1)
    coordinate = signed(widths.coord + 2)
    return data.StructLayout({
        "width": unsigned(widths.coord), "pixels": unsigned(widths.count), "stride": unsigned(2), "pad": unsigned(2),
        "origin0": address, "chain_wrap_address": address,
        "slack0": slack, "slack_step": slack, "slack_step_wrap": slack,
        "col_step": coordinate, "col_step_wrap": coordinate, "row_step": coordinate, "row_step_wrap": coordinate,
        "address_step": address, "address_step_wrap": address,
    })


def step_layout(params: ArrayParams, widths: ProgramWidths) -> data.StructLayout:
    address = signed(widths.address + 1)
    count = unsigned(widths.count)
    walk = walk_layout(widths)
    low, high = requant_shift_range(params)
    clip = signed(params.lane_act_bits + 1)
    return data.StructLayout({
        "kind": StepKind, "fetch": walk, "out": walk, "b": walk,
        "in_height": unsigned(widths.coord), "in_width": unsigned(widths.coord),
        "channels": count, "kernel": unsigned(2), "reduction": count, "period": count,
        "channel_tiles": count, "pixel_tiles": count,
        "dy_step": address, "cin_step": address, "in_plane": address, "b_plane": address, "out_plane": address,
        "out_walk_step": address,
        "out_channels": count,
        "weight_base": unsigned(widths.weight_address), "bias_base": unsigned(widths.bias_address),
        "codebook_base": unsigned(widths.codebook_address),
        "shift": signed(max(_bits(high), _bits(-low)) + 1), "round": unsigned(high + 1),
        "lo": clip, "hi": clip, "multiplier": unsigned(POOL_MULTIPLIER_BITS + 1),
        "align_a": unsigned(_bits(MAX_ALIGN_SHIFT)), "align_b": unsigned(_bits(MAX_ALIGN_SHIFT)),
        "drain": unsigned(widths.drain),
    })


def _as_fields(value) -> dict:
    return {f.name: getattr(value, f.name) for f in fields(value)}


def encode_step(step: Step, params: ArrayParams, widths: ProgramWidths) -> data.Const:
    """The step as a constant of `step_layout` (raises if a value does not fit its field)."""
    layout = step_layout(params, widths)
    values = {name: getattr(step, name) for name in layout.members if name not in ("fetch", "out", "b")}
    values.update(fetch=_as_fields(step.fetch), out=_as_fields(step.out), b=_as_fields(step.b))
    for name, value in values.items():
        shape = layout.members[name]
        if isinstance(value, dict):
            for sub, v in value.items():
                _check_fits(f"{step.node}.{name}.{sub}", v, shape.members[sub])
        elif not isinstance(value, StepKind):
            _check_fits(f"{step.node}.{name}", value, shape)
    return layout.const(values)


def _check_fits(where: str, value: int, shape) -> None:
    shape = shape if hasattr(shape, "signed") else shape.as_shape()
    low = -(1 << (shape.width - 1)) if shape.signed else 0
    high = (1 << (shape.width - 1)) - 1 if shape.signed else (1 << shape.width) - 1
    if not low <= value <= high:
        raise ValueError(f"program field {where} = {value} does not fit {shape}")
