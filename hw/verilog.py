"""The accelerator's Verilog: emitted only through Amaranth (`amaranth.back.verilog`)."""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from amaranth.back import rtlil, verilog
from amaranth.hdl import Fragment, Value, ValueCastable
from amaranth.hdl._ir import PortDirection
from amaranth.lib import wiring

from firebrick.hw.load_format import Envelope
from firebrick.hw.accelerator import Accelerator
from firebrick.hw.axi_accelerator import AxiAccelerator
from firebrick.hw.block_ram import UNINITIALISED, LargeRam
from firebrick.hw.compiler import Program

#: the Verilog module name of the accelerator
TOP_NAME = "accelerator"
#: the top level's ports: the accelerator's own streams and debug port, or AXI4-Stream + AXI4-Lite (axi_accelerator.py)
INTERFACES = ("native", "axi")


@dataclass(frozen=True)
class VerilogText:
    text: str
    #: wall time of the conversion
    seconds: float

    @property
    def lines(self) -> int:
        return self.text.count("\n")


@contextmanager
def no_fills_for_uninitialised_memories():
    """While active, Amaranth's RTLIL emitter writes no `$meminit_v2` cell for memories marked UNINITIALISED.

    Amaranth gives every memory an initialiser, all zeros when it has no contents;
    written out, the zero fills were 89 % of a large network's Verilog, and
    building them bit by bit 70 % of its generation time. A memory the design
    writes before it reads (the activation banks, every memory the loader fills)
    needs none: the Icarus frame test, where unwritten words read as X, holds the
    design to it. (A patch of the pinned Amaranth's emitter, undone on exit.)
    """
    emitter = rtlil.ModuleEmitter
    original = emitter.emit_memory

    def emit_memory(self, cell_idx, cell):
        if UNINITIALISED not in cell.attributes:
            original(self, cell_idx, cell)

    emitter.emit_memory = emit_memory
    try:
        yield
    finally:
        emitter.emit_memory = original


def component_verilog(component: wiring.Component, name: str) -> str:
    """A component's Verilog through Amaranth, memories without contents carrying no zero fill."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Amaranth warns about unused signals of parametric components
        ports = {}  # as amaranth.back.verilog.convert names a component's ports
        for path, member, value in component.signature.flatten(component):
            value = value.as_value() if isinstance(value, ValueCastable) else value
            if isinstance(value, Value):
                ports["__".join(map(str, path))] = (value, PortDirection.Input if member.flow == wiring.In else PortDirection.Output)
        with no_fills_for_uninitialised_memories():
            rtlil_text, _ = rtlil.convert_fragment(Fragment.get(component, None), ports, name, emit_src=False)
        return verilog._convert_rtlil_text(rtlil_text)  # Amaranth's own RTLIL -> Verilog step (amaranth is pinned)


def accelerator_verilog(program: Program, *, loadable: bool = True, envelope: Envelope | None = None,
                        interface: str = "native", large_ram: LargeRam | None = None) -> VerilogText:
    """The Verilog of the accelerator that runs `program`: memories loaded at run time (as large as `envelope`, by
    default as `program` needs), or (not `loadable`) baked in; its ports `interface` (`INTERFACES`; "axi" is loaded
    at run time); `large_ram`: the memories marked for the board's large RAM."""
    if interface not in INTERFACES:
        raise ValueError(f"interface must be one of {', '.join(INTERFACES)}, not {interface!r}")
    if interface == "axi" and not loadable:
        raise ValueError("the AXI accelerator is loaded at run time (its load stream is s_axis_load); it has no baked form")
    began = time.perf_counter()
    top = (AxiAccelerator(program, envelope=envelope, large_ram=large_ram) if interface == "axi"
           else Accelerator(program, loadable=loadable, envelope=envelope, large_ram=large_ram))
    text = component_verilog(top, TOP_NAME)
    return VerilogText(text, time.perf_counter() - began)
