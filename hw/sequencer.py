"""The program sequencer: the layer program's memory, the current step's descriptor and the next one, prefetched.

`desc` is the running step's descriptor, a register. `next_desc` holds the
step after it, read from the program while the current step runs, so that the
lane walkers can find the next step's lane starts in the background
(`prefetch_cycles` in latency.py); `ready` says they have. `advance` (the
controller's set-up cycle between steps) makes the next step current. Steps
run in order and wrap from the last to the first: one frame after another.

The program is a ROM of the compiled steps (`steps`), or, built for run-time
loading (`capacity` steps, no contents), a memory the loader writes through
`program` while `last_step` says where it wraps.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.block_ram import connect_ports, uninitialised_attrs
from firebrick.hw.latency import CONTROL_LATENCY, prefetch_cycles
from firebrick.hw.loader import memory_write
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths, Step, encode_step, step_layout


class Sequencer(wiring.Component):
    def __init__(self, steps: list[Step], params: ArrayParams, widths: ProgramWidths, *, capacity: int | None = None,
                 ram_style: str | None = None, single_port: bool = False) -> None:
        """`capacity`: a loaded program memory of that many steps instead of a ROM of `steps`; `ram_style`: the kind
        of RAM that memory asks synthesis for (block_ram.LargeRam); `single_port`: one address for its read and its
        write (block_ram.connect_ports)."""
        self.ram_style, self.single_port = ram_style, single_port
        if not steps and capacity is None:
            raise ValueError("a program needs at least one step")
        self.steps, self.params, self.widths, self.capacity = steps, params, widths, capacity
        layout = step_layout(params, widths)
        depth = capacity or len(steps)
        members = {
            "advance": In(1),
            "desc": Out(layout),
            "next_desc": Out(layout),
            "step": Out(range(depth)),
            "next_step": Out(range(depth)),
            "ready": Out(1),
        }
        if capacity is not None:
            members.update(program=In(memory_write(depth, layout.size)),
                           last_step=In(range(depth)))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        loaded = self.capacity is not None
        n = self.capacity if loaded else len(self.steps)
        last = self.last_step if loaded else n - 1
        settle = prefetch_cycles(self.params.cols)
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
        if loaded:
            layout = step_layout(self.params, self.widths)
            m.submodules.program = program = memory.Memory(shape=unsigned(layout.size), depth=n, init=[],
                                                           attrs=uninitialised_attrs(self.ram_style))
            read = program.read_port()
            m.d.comb += self.next_desc.eq(read.data)
            connect_ports(m, read, program.write_port(), read_addr=address, read_en=1, write_addr=self.program.addr,
                          write_data=self.program.data, write_en=self.program.en, single_port=self.single_port)
        else:
            with m.Switch(address):
                for i, s in enumerate(self.steps):
                    with m.Case(i):
                        m.d.sync += self.next_desc.eq(encode_step(s, self.params, self.widths))
        with m.If(self.advance):
            m.d.sync += [self.desc.eq(self.next_desc), step.eq(next_step), next_step.eq(Mux(next_step == last, 0, next_step + 1)),
                         wait.eq(settle - 1), ready.eq(0)]
        with m.Elif(wait != 0):
            m.d.sync += [wait.eq(wait - 1), ready.eq(wait == 1)]
        return m
