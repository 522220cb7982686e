"""The accelerator's Verilog: emitted only through Amaranth (`amaranth.back.verilog`)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

from amaranth.back import verilog

from firebrick.hw.accelerator import Accelerator
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


def accelerator_verilog(program: Program) -> VerilogText:
    """The Verilog of the accelerator that runs `program`."""
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Amaranth warns about unused signals of parametric components
        text = verilog.convert(Accelerator(program), name=TOP_NAME, emit_src=False)
    return VerilogText(text, time.perf_counter() - began)
