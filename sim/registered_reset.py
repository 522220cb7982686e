"""A simulation top that registers the design's reset: the same ports, `rst` taken through one flip-flop.

Why: Verilator evaluates everything that depends combinationally on a top-level
input at every `eval()`, twice a clock cycle (both clock edges), besides the
clock-edge evaluation. Amaranth's synchronous reset enters the next-state
logic of every register. Measured on the generated C++ of the default model on
8x8 (`verilator --cc --vpi`, lines of `_ico_sequent`, outputs public
read-only): 8,367 lines with `rst` a port, 1,177 with `rst` from this
flip-flop. The design itself is unchanged; it leaves reset one clock edge
after the port falls (what a board's reset synchronizer does), so the benches
wait `RESET_REGISTER_CYCLES` more after releasing reset.
"""

from __future__ import annotations

from pathlib import Path

from firebrick.errors import FirebrickError
from firebrick.sim.verilog_ports import module_ports

RESET_REGISTER_CYCLES = 1


def wrapper_name(module: str) -> str:
    return f"{module}_registered_reset"


def wrapper_text(verilog: Path, module: str, reset: str = "rst", clock: str = "clk") -> str:
    """Verilog of `wrapper_name(module)`: `module` with `reset` registered on `clock`'s rising edge."""
    ports = module_ports(verilog, module)
    names = [port.name for port in ports]
    for needed in (reset, clock):
        if needed not in names:
            raise FirebrickError(f"module {module} in {verilog} has no port {needed}")
    lines = [f"module {wrapper_name(module)}({', '.join(names)});"]
    lines += [f"  {port.direction} {port.bits + ' ' if port.bits else ''}{port.name};" for port in ports]
    lines += [f"  reg {reset}_registered = 1'b1;", f"  always @(posedge {clock}) {reset}_registered <= {reset};"]
    connections = [f".{name}({reset}_registered)" if name == reset else f".{name}({name})" for name in names]
    lines += [f"  {module} design_under_test({', '.join(connections)});", "endmodule", ""]
    return "\n".join(lines)


def write_wrapper(verilog: Path, module: str, directory: Path) -> Path:
    """directory/<wrapper>.v, rewritten only when it changes (so that an unchanged design is not rebuilt)."""
    path = directory / f"{wrapper_name(module)}.v"
    text = wrapper_text(verilog, module)
    if not (path.is_file() and path.read_text() == text):
        path.write_text(text)
    return path
