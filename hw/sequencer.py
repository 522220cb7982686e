"""The program sequencer: the layer program's memory, the current step's descriptor and the next one, prefetched.

`desc` is the running step's descriptor, a register. `next_desc` holds the
step after it, read from the program while the current step runs, so that the
lane walkers can find the next step's lane starts in the background
(`prefetch_cycles` in latency.py); `ready` says they have. `advance` (the
controller's set-up cycle between steps) makes the next step current. Steps
run in order and wrap from the last to the first: one frame after another.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import CONTROL_LATENCY, prefetch_cycles
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths, Step, encode_step, step_layout


class Sequencer(wiring.Component):
    def __init__(self, steps: list[Step], params: ArrayParams, widths: ProgramWidths) -> None:
        if not steps:
            raise ValueError("a program needs at least one step")
        self.steps, self.params, self.widths = steps, params, widths
        layout = step_layout(params, widths)
        super().__init__({
            "advance": In(1),
            "desc": Out(layout),
            "next_desc": Out(layout),
            "step": Out(range(len(steps))),
            "next_step": Out(range(len(steps))),
            "ready": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        n = len(self.steps)
        settle = prefetch_cycles(self.params.cols)
        words = [encode_step(s, self.params, self.widths) for s in self.steps]
        # before the first step, the last one is "current", so that the first advance starts the frame
        step = Signal(range(n), init=n - 1)
        next_step = Signal(range(n), init=0)
        wait = Signal(range(settle), init=settle - 1)
        ready = Signal()  # a register: wait reaches 0 in the next cycle
        m.d.comb += [self.step.eq(step), self.next_step.eq(next_step), self.ready.eq(ready)]
        # the program memory (a ROM for now, registered), read CONTROL_LATENCY - 1 cycles after an advance, so that
        # `next_desc` still shows the step being set up when the controller's registered outputs load its walkers
        address = next_step
        for i in range(CONTROL_LATENCY - 1):
            stage = Signal.like(next_step, name=f"program_address_d{i + 1}")
            m.d.sync += stage.eq(address)
            address = stage
        with m.Switch(address):
            for i, word in enumerate(words):
                with m.Case(i):
                    m.d.sync += self.next_desc.eq(word)
        with m.If(self.advance):
            m.d.sync += [self.desc.eq(self.next_desc), step.eq(next_step), next_step.eq(Mux(next_step == n - 1, 0, next_step + 1)),
                         wait.eq(settle - 1), ready.eq(0)]
        with m.Elif(wait != 0):
            m.d.sync += [wait.eq(wait - 1), ready.eq(wait == 1)]
        return m
