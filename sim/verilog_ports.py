"""The ports of a module in Yosys-written Verilog: name, direction and bit range, read from its declarations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from firebrick.errors import FirebrickError

_DECLARATION = re.compile(r"^\s*(input|output|inout)\s+(?:(\[\d+:\d+\])\s+)?\\?([A-Za-z_][A-Za-z0-9_$]*)\s*;")


@dataclass(frozen=True)
class Port:
    direction: str  # "input", "output" or "inout"
    bits: str  # the range as written, "[14:0]", or "" for one bit
    name: str


def module_ports(verilog: Path, module: str) -> list[Port]:
    """`module`'s ports in the order of its header (`module NAME(a, b, ...);`), with their declarations."""
    header, declared = None, {}
    with open(verilog, encoding="utf-8") as f:
        for line in f:  # the file may be megabytes; a module's header and declarations come first
            if header is None:
                if line.startswith(f"module {module}("):
                    header = line
                    while ");" not in header:
                        header += next(f)
                continue
            if line.startswith("endmodule"):
                break
            match = _DECLARATION.match(line)
            if match:
                declared[match.group(3)] = Port(match.group(1), match.group(2) or "", match.group(3))
    if header is None:
        raise FirebrickError(f"{verilog} has no module {module}")
    names = [name.strip().lstrip("\\") for name in header[header.index("(") + 1 : header.index(");")].split(",")]
    missing = [name for name in names if name and name not in declared]
    if missing:
        raise FirebrickError(f"module {module} in {verilog}: no input/output declaration found for {', '.join(missing)}")
    return [declared[name] for name in names if name]
