"""Activity counters: what a frame did, for energy per frame and utilisation, read at the frame's end.

Each cycle the accelerator reports its events: whether the cycle counts as
frame time and whether it stalled (on the image or score stream), the lanes
of activation memory read and written, whether a weight word and a bias word
were read, and how many MACs the array started (lanes read x channel rows in
use, for conv reads). Events are registered, then reduced to counts
(registered), then accumulated (`COUNTER_LATENCY`). `clear` empties the
totals at a frame's start; `snapshot` copies them to `counters`, which then
hold the last finished frame's figures until the next snapshot.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import COUNTER_LATENCY

#: 2**40 cycles: three hours of one frame at 100 MHz
COUNTER_BITS = 40
Counters = data.StructLayout({
    "cycles": unsigned(COUNTER_BITS),
    "stall_cycles": unsigned(COUNTER_BITS),
    "mac_ops": unsigned(COUNTER_BITS),
    "act_reads": unsigned(COUNTER_BITS),
    "act_writes": unsigned(COUNTER_BITS),
    "weight_reads": unsigned(COUNTER_BITS),
    "bias_reads": unsigned(COUNTER_BITS),
})


def activity_events(lanes: int, rows: int) -> data.StructLayout:
    return data.StructLayout({
        "counting": 1, "stalled": 1,
        "read_lanes": lanes, "write_lanes": lanes,
        "mac_read": 1,               # this cycle's reads feed the array
        "mac_rows": range(rows + 1),  # channel rows the array computes for them
        "weight_read": 1, "bias_read": 1,
    })


def _popcount(bits, width: int):
    return sum((bits[i] for i in range(width)), 0)


class ActivityCounters(wiring.Component):
    def __init__(self, *, lanes: int, rows: int) -> None:
        self.lanes, self.rows = lanes, rows
        super().__init__({
            "events": In(activity_events(lanes, rows)),
            "clear": In(1),
            "snapshot": In(1),
            "counters": Out(Counters),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        lanes, rows = self.lanes, self.rows
        events = Signal(self.events.shape())
        m.d.sync += events.eq(self.events)
        counts = Signal(data.StructLayout({name: range(lanes * rows + 1) for name in Counters.members}))
        reads = _popcount(events.read_lanes, lanes)
        m.d.sync += [
            counts.cycles.eq(events.counting),
            counts.stall_cycles.eq(events.counting & events.stalled),
            counts.act_reads.eq(Mux(events.counting, reads, 0)),
            counts.act_writes.eq(Mux(events.counting, _popcount(events.write_lanes, lanes), 0)),
            counts.weight_reads.eq(events.counting & events.weight_read),
            counts.bias_reads.eq(events.counting & events.bias_read),
            counts.mac_ops.eq(Mux(events.counting & events.mac_read, reads * events.mac_rows, 0)),
        ]
        totals = Signal(Counters)
        with m.If(self.clear):
            m.d.sync += totals.eq(0)
        with m.Else():
            m.d.sync += [getattr(totals, name).eq(getattr(totals, name) + getattr(counts, name)) for name in Counters.members]
        with m.If(self.snapshot):
            m.d.sync += self.counters.eq(totals)
        assert COUNTER_LATENCY == 3
        return m
