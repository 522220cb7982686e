"""Per-lane pixel trackers: lane c follows output pixel p0 + c of a map in raster order.

Every unit that touches `lanes` consecutive pixels at once (conv operand fetch,
result write-back, image load, pooling) needs, per lane, where its pixel's
window starts in a tensor: origin = (oy * stride - pad) * pitch + (ox * stride
- pad), plus the window's top row and left column for the border test. Division
by the map width never happens in hardware: `reset` walks the lanes once
(lane c = lane c-1 plus one pixel), `advance` moves every lane by `lanes`
pixels with constants the compiler computes (dq, dr = divmod(lanes, width)).
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

#: bits of addresses and coordinates inside the trackers
ADDRESS_BITS = 24
COORD_BITS = 12

TrackerConfig = data.StructLayout({
    "width": unsigned(COORD_BITS),        # output map width
    "pixels": unsigned(ADDRESS_BITS),     # output pixels in the map
    "stride": unsigned(2),                # 1 or 2
    "pad": unsigned(2),                   # 0 or 1
    "pitch": unsigned(COORD_BITS + 1),    # row pitch of the tensor addressed
    "dq": unsigned(COORD_BITS),           # lanes // width
    "dr": unsigned(COORD_BITS),           # lanes % width
    "advance_rows_address": signed(ADDRESS_BITS),  # dq * stride * pitch
    "wrap_address": signed(ADDRESS_BITS),          # stride * pitch
    "origin0": signed(ADDRESS_BITS),               # -pad * pitch - pad: lane 0's window origin
    "next_row_address": signed(ADDRESS_BITS),      # stride * pitch - stride * (width - 1)
})


class RasterLanes(wiring.Component):
    def __init__(self, lanes: int) -> None:
        if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"raster lanes must be a positive integer, not {lanes!r}")
        self.lanes = lanes
        super().__init__({
            "config": In(TrackerConfig),
            "reset": In(1),
            "advance": In(1),
            "valid": Out(lanes),
            "origin": Out(data.ArrayLayout(signed(ADDRESS_BITS), lanes)),
            "row0": Out(data.ArrayLayout(signed(COORD_BITS + 2), lanes)),
            "col0": Out(data.ArrayLayout(signed(COORD_BITS + 2), lanes)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self.config
        stride2 = cfg.stride == 2

        def scaled(value):  # value * stride, stride in {1, 2}
            return Mux(stride2, value << 1, value)

        pixel = [Signal(unsigned(ADDRESS_BITS), name=f"pixel{c}") for c in range(self.lanes)]
        ox = [Signal(unsigned(COORD_BITS), name=f"ox{c}") for c in range(self.lanes)]
        oy = [Signal(unsigned(COORD_BITS), name=f"oy{c}") for c in range(self.lanes)]
        origin = [Signal(signed(ADDRESS_BITS), name=f"origin{c}") for c in range(self.lanes)]

        # reset: lane c = pixel c, found by walking from lane 0 (no division, no multiplier)
        init_x, init_y, init_origin = 0, 0, cfg.origin0
        init = []
        for c in range(self.lanes):
            if c:
                nx = Signal(unsigned(COORD_BITS), name=f"init_x{c}")
                ny = Signal(unsigned(COORD_BITS), name=f"init_y{c}")
                no = Signal(signed(ADDRESS_BITS), name=f"init_origin{c}")
                wraps = init_x + 1 >= cfg.width
                m.d.comb += [
                    nx.eq(Mux(wraps, 0, init_x + 1)),
                    ny.eq(Mux(wraps, init_y + 1, init_y)),
                    no.eq(init_origin + Mux(wraps, cfg.next_row_address, cfg.stride)),
                ]
                init_x, init_y, init_origin = nx, ny, no
            init.append((init_x, init_y, init_origin))

        for c in range(self.lanes):
            x0, y0, origin0 = init[c]
            with m.If(self.reset):
                m.d.sync += [pixel[c].eq(c), ox[c].eq(x0), oy[c].eq(y0), origin[c].eq(origin0)]
            with m.Elif(self.advance):
                moved = Signal(unsigned(COORD_BITS + 1), name=f"moved{c}")
                wrap = Signal(name=f"wrap{c}")
                new_x = Signal(unsigned(COORD_BITS), name=f"new_x{c}")
                m.d.comb += [
                    moved.eq(ox[c] + cfg.dr),
                    wrap.eq(moved >= cfg.width),
                    new_x.eq(Mux(wrap, moved - cfg.width, moved)),
                ]
                m.d.sync += [
                    pixel[c].eq(pixel[c] + self.lanes),
                    ox[c].eq(new_x),
                    oy[c].eq(oy[c] + cfg.dq + wrap),
                    origin[c].eq(origin[c] + cfg.advance_rows_address + Mux(wrap, cfg.wrap_address, 0)
                                 + scaled(new_x) - scaled(ox[c])),
                ]
            m.d.comb += [
                self.valid[c].eq(pixel[c] < cfg.pixels),
                self.origin[c].eq(origin[c]),
                self.row0[c].eq(scaled(oy[c]) - cfg.pad),
                self.col0[c].eq(scaled(ox[c]) - cfg.pad),
            ]
        return m


def tracker_config(*, width: int, pixels: int, stride: int, pad: int, pitch: int, lanes: int) -> dict:
    """The TrackerConfig values for a map (computed here, in Python, so hardware never divides)."""
    dq, dr = divmod(lanes, width)
    return {
        "width": width, "pixels": pixels, "stride": stride, "pad": pad, "pitch": pitch,
        "dq": dq, "dr": dr, "advance_rows_address": dq * stride * pitch, "wrap_address": stride * pitch,
        "origin0": -pad * pitch - pad, "next_row_address": stride * pitch - stride * (width - 1),
    }
