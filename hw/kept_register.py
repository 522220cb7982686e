"""A register that synthesis keeps as flip-flops of its own, so that each copy can sit beside its loads.

Yosys' `opt_merge` joins flip-flops that have the same input, and nextpnr does not
replicate them again: a control registered once per destination (each lane
walker's load, reset and advance) becomes one flip-flop that drives every
destination across the chip (seen on the ULX3S: 5.5 ns of routing from the
merged load register beside one walker to another walker's enables). On the
ECP5 each bit is a `TRELLIS_FF` instance, mapped as Yosys maps a plain
flip-flop (lattice/cells_map_trellis.v) and marked `keep`: `opt_merge` joins
only cells it knows, never instances, and `keep` holds it through clean-up.
Elsewhere (simulation, the Verilog for Verilator and Icarus, other families)
it is a plain register with the same latency of one cycle.
"""

from __future__ import annotations

from amaranth import ClockSignal, Const, Module, Signal, Value
from amaranth.hdl import Instance

from firebrick.hw.block_ram import is_ecp5


def kept_register(m: Module, value, platform, name: str) -> Signal:
    """`value` one cycle later, through flip-flops that synthesis does not merge with others (on the ECP5)."""
    out = Signal.like(value, name=name)
    if not is_ecp5(platform):
        m.d.sync += out.eq(value)
        return out
    d, q = Value.cast(value), Value.cast(out)
    for i in range(len(q)):
        m.submodules[f"{name}_ff{i}"] = Instance(
            "TRELLIS_FF", a_keep=1,
            p_GSR="AUTO", p_CEMUX="1", p_CLKMUX="CLK", p_LSRMUX="LSR", p_REGSET="RESET",
            i_CLK=ClockSignal(), i_LSR=Const(0, 1), i_DI=d[i], o_Q=q[i],
        )
    return out
