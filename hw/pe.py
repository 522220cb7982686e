"""One processing element of the output-stationary systolic array, and its reference model.

Each cycle the PE takes a weight (with its control flags) from the left and an
activation from the top and passes both on registered. Their product comes
from a multiplier with registered operands and product (MULTIPLY_LATENCY; on
the ECP5 the DSP block's own registers, so that the routes to and from a DSP
site are paths of their own), and one cycle later, when `valid`, is added to
the accumulator. `first` starts a new sum; on `last` the finished sum goes to
`hold` (with a one-cycle `done` pulse, PE_LATENCY cycles after the operands)
and the accumulator is free for the next tile at once, so consecutive tiles
stream back to back. The accumulator wraps at acc_bits, like the golden
executor's.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import MULTIPLY_LATENCY
from firebrick.hw.multiplier import RegisteredMultiplier
from firebrick.hw.params import ArrayParams

#: control that travels with every weight along a row
Control = data.StructLayout({"valid": 1, "first": 1, "last": 1})


class ProcessingElement(wiring.Component):
    def __init__(self, params: ArrayParams, *, dsp: bool = False) -> None:
        """`dsp`: the multiplier is the device's DSP block (see `RegisteredMultiplier`)."""
        self.params, self.dsp = params, dsp
        super().__init__({
            "w_in": In(signed(params.weight_bits)),
            "ctl_in": In(Control),
            "x_in": In(signed(params.lane_act_bits)),
            "w_out": Out(signed(params.weight_bits)),
            "ctl_out": Out(Control),
            "x_out": Out(signed(params.lane_act_bits)),
            "hold": Out(signed(params.acc_bits)),
            "done": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        acc = Signal(signed(p.acc_bits), reset_less=True)
        m.submodules.multiplier = multiplier = RegisteredMultiplier(p.weight_bits, p.lane_act_bits, dsp=self.dsp)
        product = multiplier.product
        total = Signal(signed(p.acc_bits))

        # data registers need no reset (only the control flags do): the reset net stays small
        w_pass = Signal.like(self.w_in, reset_less=True)
        x_pass = Signal.like(self.x_in, reset_less=True)
        hold = Signal.like(self.hold, reset_less=True)
        m.d.sync += [w_pass.eq(self.w_in), self.ctl_out.eq(self.ctl_in), x_pass.eq(self.x_in)]
        m.d.comb += [self.w_out.eq(w_pass), self.x_out.eq(x_pass), self.hold.eq(hold)]
        m.d.comb += [multiplier.a.eq(self.w_in), multiplier.b.eq(self.x_in)]
        ctl = self.ctl_in  # the flags, delayed to their product
        for i in range(MULTIPLY_LATENCY):
            stage = Signal(Control, name=f"ctl_d{i + 1}")
            m.d.sync += stage.eq(ctl)
            ctl = stage
        with m.If(ctl.first):
            m.d.comb += total.eq(product)
        with m.Else():
            m.d.comb += total.eq(acc + product)  # truncation to acc_bits = two's-complement wrap

        m.d.sync += self.done.eq(0)
        with m.If(ctl.valid):
            with m.If(ctl.last):
                m.d.sync += [hold.eq(total), self.done.eq(1), acc.eq(0)]
            with m.Else():
                m.d.sync += acc.eq(total)
        return m


@dataclass
class PEModel:
    """Cycle-level reference of one PE (registered outputs appear on the next step)."""

    acc_bits: int = 32
    acc: int = 0
    hold: int = 0

    def _wrap(self, value: int) -> int:
        half = 1 << (self.acc_bits - 1)
        return ((value + half) % (1 << self.acc_bits)) - half

    def step(self, w: int, x: int, valid: bool, first: bool, last: bool) -> bool:
        """One reduction step; returns True when it finished a sum (`hold`), which the RTL shows PE_LATENCY cycles later."""
        if not valid:
            return False
        total = self._wrap((0 if first else self.acc) + w * x)
        if last:
            self.hold, self.acc = total, 0
            return True
        self.acc = total
        return False
