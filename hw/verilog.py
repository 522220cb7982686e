"""The accelerator's Verilog: emitted only through Amaranth (`amaranth.back.verilog`)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

from amaranth.back import rtlil, verilog
from amaranth.hdl import Fragment, Value, ValueCastable
from amaranth.hdl._ir import PortDirection
from amaranth.lib import wiring

from firebrick.hw.accelerator import Accelerator
from firebrick.hw.block_ram import UNINITIALISED
from firebrick.hw.compiler import Program

#: the Verilog module name of the accelerator
TOP_NAME = "accelerator"


@dataclass(frozen=True)
class VerilogText:
    text: str
    #: wall time of the conversion
    seconds: float

    @property
    def lines(self) -> int:
        return self.text.count("\n")


def drop_uninitialised_fills(rtlil_text: str) -> str:
    """The RTLIL without the `$meminit_v2` cells of memories marked UNINITIALISED.

    Amaranth gives every memory an initialiser, all zeros when it has no
    contents; written out, the activation banks' zero fills were 89 % of a large
    network's Verilog. A bank the design writes before it reads needs none (the
    Icarus frame test, where unwritten words read as X, holds the design to it).
    """
    lines = rtlil_text.splitlines()
    marked: set[tuple[str, str]] = set()
    module = ""
    for index, line in enumerate(lines):
        if line.startswith("module "):
            module = line.split()[1]
        elif line.strip().startswith("memory ") and index and lines[index - 1].strip().startswith(f"attribute \\{UNINITIALISED} "):
            marked.add((module, line.split()[-1]))
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("module "):
            module = line.split()[1]
        if line.strip().startswith("cell $meminit_v2 "):
            end = next(i for i in range(index, len(lines)) if lines[i].strip() == "end")
            memid = next(l.split(None, 2)[2] for l in lines[index:end] if l.strip().startswith("parameter \\MEMID "))
            if (module, memid.strip('"').replace("\\\\", "\\")) in marked:
                while out and out[-1].strip().startswith("attribute "):  # the cell's own attributes
                    out.pop()
                index = end + 1
                continue
        out.append(line)
        index += 1
    return "\n".join(out) + "\n"


def component_verilog(component: wiring.Component, name: str) -> str:
    """A component's Verilog through Amaranth, memories without contents carrying no zero fill."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Amaranth warns about unused signals of parametric components
        ports = {}  # as amaranth.back.verilog.convert names a component's ports
        for path, member, value in component.signature.flatten(component):
            value = value.as_value() if isinstance(value, ValueCastable) else value
            if isinstance(value, Value):
                ports["__".join(map(str, path))] = (value, PortDirection.Input if member.flow == wiring.In else PortDirection.Output)
        rtlil_text, _ = rtlil.convert_fragment(Fragment.get(component, None), ports, name, emit_src=False)
        # Amaranth's own RTLIL -> Verilog step (amaranth is pinned), on the RTLIL without the zero fills
        return verilog._convert_rtlil_text(drop_uninitialised_fills(rtlil_text))


def accelerator_verilog(program: Program, *, loadable: bool = True) -> VerilogText:
    """The Verilog of the accelerator that runs `program`: memories loaded at run time, or (not `loadable`) baked in."""
    began = time.perf_counter()
    text = component_verilog(Accelerator(program, loadable=loadable), TOP_NAME)
    return VerilogText(text, time.perf_counter() - began)
