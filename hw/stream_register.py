"""A registered stream stage (a skid buffer): every output of the stage comes from a flip-flop.

Between the accelerator and whatever drives its streams (a UART, an AXI
interconnect, a testbench), so that neither side's logic adds to the other's
paths. Full throughput: one beat a cycle passes while the consumer is ready;
when it stalls, the beat in flight is kept in the skid register.
"""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class StreamRegister(wiring.Component):
    def __init__(self, payload_shape) -> None:
        self.payload_shape = payload_shape
        super().__init__({
            "i": In(stream.Signature(payload_shape)),
            "o": Out(stream.Signature(payload_shape)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        skid = Signal(self.payload_shape, reset_less=True)
        skid_valid = Signal()
        ready = Signal(init=1)
        m.d.comb += self.i.ready.eq(ready)
        with m.If(self.o.ready | ~self.o.valid):  # the output register takes a beat
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0), ready.eq(1)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid & ready)]
        with m.Elif(self.i.valid & ready):  # output held: the incoming beat waits in the skid register
            m.d.sync += [skid.eq(self.i.payload), skid_valid.eq(1), ready.eq(0)]
        return m
