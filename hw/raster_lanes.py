"""Lane walkers: lane c follows pixel p0 + c of a map in raster order, with adds and selects only.

Every unit that touches `lanes` consecutive pixels at once (conv operand
fetch, result positions, image load, pooling, bypass add) needs, per lane,
where its pixel's window starts (`origin`, an address) and its window's top
row and left column (`row0`, `col0`, for the border test). The compiler's
`RasterWalk` holds every constant a division or multiplication would give, so:

- `advance` moves every lane on by `lanes` pixels: one select (does this
  lane wrap to a new row? the sign of its `slack`) and one add per field;
- the lanes' start positions for the *next* step are found while the current
  one runs, by a registered chain (lane c = lane c-1 plus one pixel, one lane
  per cycle; `prefetch_cycles` in latency.py), from `next_walk`;
- `load` (between steps) makes those starts current; `reset` returns the
  lanes to the starts with the walk's base moved by `base` (the next channel
  or channel tile).

The lanes that fall beyond the map are not `valid`; one shared down-counter of
the pixels left decides that, and each lane's flag is a register of its own
(it gates memory writes far from here).
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.program import ProgramWidths, RasterWalk, walk_layout


def lane_positions(walk: RasterWalk, lanes: int, start: int) -> list[tuple[bool, int, int, int]]:
    """Reference model: (valid, origin, row0, col0) of each lane when lane 0 is at pixel `start`."""
    out = []
    for c in range(lanes):
        p = start + c
        oy, ox = divmod(p, walk.width)
        row0, col0 = oy * walk.stride - walk.pad, ox * walk.stride - walk.pad
        # origin0 = base - pad * pitch - pad, so origin = origin0 + oy * stride * pitch + ox * stride
        row_address = walk.chain_wrap_address + walk.stride * (walk.width - 1)
        out.append((p < walk.pixels, walk.origin0 + oy * row_address + ox * walk.stride, row0, col0))
    return out


class LanePositions:
    class Signature(wiring.Signature):
        """What a lane walker tells its readers: per lane, is it on the map, its origin, its window's top-left."""

        def __init__(self, *, lanes: int, widths: ProgramWidths) -> None:
            coordinate = signed(widths.coord + 2)
            super().__init__({
                "valid": Out(lanes),
                "origin": Out(data.ArrayLayout(signed(widths.address + 1), lanes)),
                "row0": Out(data.ArrayLayout(coordinate, lanes)),
                "col0": Out(data.ArrayLayout(coordinate, lanes)),
            })


class WalkControl:
    class Signature(wiring.Signature):
        """How the controller moves a walker (as the controller sees it)."""

        def __init__(self, *, widths: ProgramWidths) -> None:
            super().__init__({"load": Out(1), "reset": Out(1), "base": Out(signed(widths.address + 1)), "advance": Out(1)})


class RasterLanes(wiring.Component):
    def __init__(self, *, lanes: int, widths: ProgramWidths) -> None:
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"raster lanes must be a positive integer, not {lanes!r}")
        self.lanes, self.widths = lanes, widths
        walk = walk_layout(widths)
        super().__init__({
            "walk": In(walk),
            "next_walk": In(walk),
            "control": In(WalkControl.Signature(widths=widths)),
            "positions": Out(LanePositions.Signature(lanes=lanes, widths=widths)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        w = self.widths
        lanes = self.lanes
        address = signed(w.address + 1)
        coordinate = signed(w.coord + 2)
        slack_shape = signed(w.coord + 1)
        walk, nxt, control, out = self.walk, self.next_walk, self.control, self.positions

        def scaled(value, stride):  # value * stride, stride in {1, 2}
            return Mux(stride == 2, value << 1, value)

        # the start chain on the next step's walk: registered, lane c one cycle behind lane c-1
        chain_x = [Signal(unsigned(w.coord), name=f"chain_x{c}", reset_less=True) for c in range(lanes)]
        chain_y = [Signal(unsigned(w.coord), name=f"chain_y{c}", reset_less=True) for c in range(lanes)]
        chain_origin = [Signal(address, name=f"chain_origin{c}", reset_less=True) for c in range(lanes)]
        m.d.sync += [chain_x[0].eq(0), chain_y[0].eq(0), chain_origin[0].eq(nxt.origin0)]
        for c in range(1, lanes):
            wraps = chain_x[c - 1] + 1 == nxt.width
            m.d.sync += [
                chain_x[c].eq(Mux(wraps, 0, chain_x[c - 1] + 1)),
                chain_y[c].eq(chain_y[c - 1] + wraps),
                chain_origin[c].eq(chain_origin[c - 1] + Mux(wraps, nxt.chain_wrap_address, nxt.stride)),
            ]

        start_slack = [Signal(slack_shape, name=f"start_slack{c}", reset_less=True) for c in range(lanes)]
        start_row = [Signal(coordinate, name=f"start_row{c}", reset_less=True) for c in range(lanes)]
        start_col = [Signal(coordinate, name=f"start_col{c}", reset_less=True) for c in range(lanes)]
        start_origin = [Signal(address, name=f"start_origin{c}", reset_less=True) for c in range(lanes)]
        slack = [Signal(slack_shape, name=f"slack{c}", reset_less=True) for c in range(lanes)]
        row0 = [Signal(coordinate, name=f"row{c}", reset_less=True) for c in range(lanes)]
        col0 = [Signal(coordinate, name=f"col{c}", reset_less=True) for c in range(lanes)]
        origin = [Signal(address, name=f"origin{c}", reset_less=True) for c in range(lanes)]
        left = Signal(signed(w.count + 1))  # pixels from lane 0 to the map's end
        valid = Signal(lanes)

        def lanes_within(pixels):  # lane c is on the map if fewer than `pixels` pixels precede it
            return Cat(*(pixels > c for c in range(lanes)))

        # each outcome's flags from registers only, so that the controls merely select one
        with m.If(control.load):
            m.d.sync += [left.eq(nxt.pixels), valid.eq(lanes_within(nxt.pixels))]
        with m.Elif(control.reset):
            m.d.sync += [left.eq(walk.pixels), valid.eq(lanes_within(walk.pixels))]
        with m.Elif(control.advance):
            m.d.sync += [left.eq(left - lanes), valid.eq(lanes_within(left - lanes))]

        for c in range(lanes):
            first_slack = Signal(slack_shape, name=f"first_slack{c}")
            first_row = Signal(coordinate, name=f"first_row{c}")
            first_col = Signal(coordinate, name=f"first_col{c}")
            m.d.comb += [
                first_slack.eq(chain_x[c] + nxt.slack0),
                first_row.eq(scaled(chain_y[c], nxt.stride) - nxt.pad),
                first_col.eq(scaled(chain_x[c], nxt.stride) - nxt.pad),
            ]
            wrap = ~slack[c][-1]  # slack >= 0: this advance crosses a row end
            with m.If(control.load):
                m.d.sync += [
                    start_slack[c].eq(first_slack), start_row[c].eq(first_row), start_col[c].eq(first_col),
                    start_origin[c].eq(chain_origin[c]),
                    slack[c].eq(first_slack), row0[c].eq(first_row), col0[c].eq(first_col), origin[c].eq(chain_origin[c]),
                ]
            with m.Elif(control.reset):
                m.d.sync += [slack[c].eq(start_slack[c]), row0[c].eq(start_row[c]), col0[c].eq(start_col[c]),
                             origin[c].eq(start_origin[c] + control.base)]
            with m.Elif(control.advance):
                m.d.sync += [
                    slack[c].eq(slack[c] + Mux(wrap, walk.slack_step_wrap, walk.slack_step)),
                    row0[c].eq(row0[c] + Mux(wrap, walk.row_step_wrap, walk.row_step)),
                    col0[c].eq(col0[c] + Mux(wrap, walk.col_step_wrap, walk.col_step)),
                    origin[c].eq(origin[c] + Mux(wrap, walk.address_step_wrap, walk.address_step)),
                ]
            m.d.comb += [out.valid[c].eq(valid[c]), out.origin[c].eq(origin[c]), out.row0[c].eq(row0[c]),
                         out.col0[c].eq(col0[c])]
        return m
