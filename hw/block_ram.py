"""A memory whose read data is registered at its output: the word at an address read at t is visible at t + 2.

The portable form is an Amaranth `lib.memory.Memory` (a synchronous read
port) followed by a register. A block RAM's own output without its output
register is slow (ECP5 DP16KD: 5.8 ns clock to out at speed grade 6, 0.95 ns
with it, from the Project Trellis timing database nextpnr uses), and Yosys does
not fold a register into it (YosysHQ/yosys#5814), so on the ECP5 the memory is
the `DP16KD` primitive itself with `REGMODE_B = "OUTREG"`, when its shape fits
one block deep: up to 2048 words of 9 bits, or 1024 words of 18 bits times as
many blocks side by side as the width needs. The port and initial-value
mapping follows Yosys' own (techlibs/lattice/brams_map_16kd.v). Both forms
have the same latency, so simulation (the portable form) and the bitstream
(the primitive) run the same schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from amaranth import Cat, ClockSignal, Const, Module, Mux, Signal, unsigned
from amaranth.hdl import Instance
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

#: the attribute of a memory that holds nothing until the design writes it (no initial values in its Verilog)
UNINITIALISED = "firebrick_uninitialised"
#: the `ram_style` that keeps a memory in block RAM where synthesis may also pick the large RAM (Yosys and Vivado)
BLOCK_RAM_STYLE = "block"
#: DP16KD shapes (data width -> words) that one block holds, in Yosys' terms
DP16KD_DEPTH = {9: 2048, 18: 1024}


def cheapest_tiling(depth: int, width: int, shapes) -> int:
    """Blocks for one depth x width memory tiled with one of the (depth, width) block `shapes`, the cheapest (the fit
    check's count, and the weight path's choice of chunk)."""
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in shapes)


def is_ecp5(platform) -> bool:
    """Whether `platform` is an ECP5 (its block RAMs are instantiated as DP16KD with their output register)."""
    return platform is not None and getattr(platform, "family", None) == "ecp5"


def dp16kd_init(words: list[int]) -> dict[str, int]:
    """INITVAL_00..3F of an x18 block holding `words` (18 bits each): 16 words per value, each in a 20-bit slot."""
    values = {}
    for index in range(64):
        value = 0
        for i in range(16):
            w = index * 16 + i
            if w < len(words):
                value |= (int(words[w]) & 0x3FFFF) << (i * 20)
        values[f"INITVAL_{index:02X}"] = value
    return values


@dataclass(frozen=True)
class LargeRam:
    """The board's large RAM (UltraRAM, iCE40 SPRAM) for some of the accelerator's memories: the `ram_style`
    attribute value that asks Yosys (`synth_xilinx -uram`, `synth_ice40 -spram`) and Vivado for it, the words of
    one block, whether it is single-port (SPRAM: one address a cycle, see `connect_ports`), and the memories that go
    there as the fit check placed them (`MemoryShape` names: "weights", "biases", "program", "codebooks",
    "activations" -> how many of their banks, the first ones; only the activations have more than one), and the
    memories without contents that the fit check counted in block RAM: with the large RAM enabled (`-uram`), Yosys
    picks it by its own cost for any unmarked memory (all 32 of ZynqNet's activation banks), so these are marked
    `BLOCK_RAM_STYLE` (banks not placed in the large RAM included). Memories the check put in LUT RAM stay unmarked."""

    style: str
    block_depth: int
    banks: tuple[tuple[str, int], ...]
    in_block_ram: frozenset[str] = frozenset()
    single_port: bool = False

    @property
    def memories(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.banks)


def ram_style(large_ram: LargeRam | None, memory_name: str, bank: int = 0) -> str | None:
    """The `ram_style` of bank `bank` of memory `memory_name`: the large RAM's when it goes there, `BLOCK_RAM_STYLE`
    when the design uses large RAM and this memory goes to block RAM, else None (synthesis chooses)."""
    if large_ram is None:
        return None
    if bank < dict(large_ram.banks).get(memory_name, 0):
        return large_ram.style
    return BLOCK_RAM_STYLE if memory_name in large_ram.in_block_ram else None


def single_port(large_ram: LargeRam | None, memory_name: str) -> bool:
    """Whether memory `memory_name` goes to single-port large RAM (all of it: only the activations are banked, and
    they never go there: they are read and written in one cycle)."""
    return large_ram is not None and large_ram.single_port and memory_name in large_ram.memories


def connect_ports(m: Module, read, write, *, read_addr, read_en, write_addr, write_data, write_en, single_port: bool) -> None:
    """Drive a memory's read and write port. `single_port`: both take one address, the write's when it writes (and
    then nothing is read), so that synthesis maps the pair to one single-port RAM (Yosys' `srsw` port: iCE40
    SPRAM). That is only right for a memory written while it is not read: one loaded before the frames run."""
    if single_port:
        address = Signal.like(read.addr, name="shared_addr")
        m.d.comb += [address.eq(Mux(write_en, write_addr, read_addr)), read.addr.eq(address), write.addr.eq(address),
                     read.en.eq(read_en & ~write_en)]
    else:
        m.d.comb += [read.addr.eq(read_addr), read.en.eq(read_en), write.addr.eq(write_addr)]
    m.d.comb += [write.data.eq(write_data), write.en.eq(write_en)]


def uninitialised_attrs(style: str | None) -> dict:
    """The attributes of a memory without contents: marked (no zero fill, hw/verilog.py), and its RAM style if any."""
    return {UNINITIALISED: 1, **({"ram_style": style} if style is not None else {})}


class RegisteredMemory(wiring.Component):
    def __init__(self, *, width: int, depth: int, init: list[int] = (), writable: bool = True,
                 ram_style: str | None = None, single_port: bool = False) -> None:
        """`ram_style`: the attribute asking synthesis for a kind of RAM (a memory without contents only);
        `single_port`: one address for the read and the write (`connect_ports`)."""
        if depth < 1 or width < 1:
            raise ValueError(f"a memory needs a positive depth and width, not {depth} x {width}")
        if ram_style not in (None, BLOCK_RAM_STYLE) and (init or not writable):
            raise ValueError("only a memory without initial contents goes to RAM of another style (it starts empty)")
        if single_port and not writable:
            raise ValueError("a single-port memory is one the design writes")
        self.width, self.depth, self.init, self.writable, self.ram_style = width, depth, list(init), writable, ram_style
        self.single_port = single_port
        #: the portable form's storage (simulation reads it directly)
        # a writable memory without contents is marked, so that its Verilog carries no zero fill (hw/verilog.py)
        attrs = uninitialised_attrs(ram_style) if writable and not self.init else None
        self.memory = memory.Memory(shape=unsigned(width), depth=depth, init=self.init, attrs=attrs)
        address = unsigned(max((depth - 1).bit_length(), 1))
        members = {"read_addr": In(address), "read_en": In(1, init=1), "read_data": Out(unsigned(width))}
        if writable:
            members.update({"write_addr": In(address), "write_data": In(unsigned(width)), "write_en": In(1)})
        super().__init__(members)

    def _primitive_width(self) -> int | None:
        """The DP16KD data width that holds this memory one block deep, or None."""
        if self.writable:
            return 9 if self.width <= 9 and self.depth <= DP16KD_DEPTH[9] and not self.init else None
        return 18 if self.depth <= DP16KD_DEPTH[18] else None

    def elaborate(self, platform) -> Module:
        m = Module()
        block_width = self._primitive_width()
        if is_ecp5(platform) and block_width is not None and self.ram_style is None and not self.single_port:
            self._ecp5(m, block_width)
            return m
        m.submodules.memory = mem = self.memory
        read = mem.read_port()
        registered = Signal(unsigned(self.width), reset_less=True)  # the block RAM's output register
        m.d.comb += self.read_data.eq(registered)
        m.d.sync += registered.eq(read.data)
        if self.writable:
            connect_ports(m, read, mem.write_port(), read_addr=self.read_addr, read_en=self.read_en,
                          write_addr=self.write_addr, write_data=self.write_data, write_en=self.write_en,
                          single_port=self.single_port)
        else:
            m.d.comb += [read.addr.eq(self.read_addr), read.en.eq(self.read_en)]
        return m

    def _ecp5(self, m: Module, block_width: int) -> None:
        self.memory._MustUse__silence = True  # the portable form's storage, unused in this form (no warning)
        abits = {9: 3, 18: 4}[block_width]  # the word address sits above these bits of ADx (Yosys' mapping)
        blocks = math.ceil(self.width / block_width)
        outputs = []
        for b in range(blocks):
            low = b * block_width
            bits = min(block_width, self.width - low)
            out = Signal(18, name=f"dob{b}")
            ports = {}
            for i in range(14):
                k = i - abits
                ports[f"i_ADB{i}"] = self.read_addr[k] if 0 <= k < len(self.read_addr) else Const(0, 1)
                if self.writable:
                    ports[f"i_ADA{i}"] = self.write_addr[k] if 0 <= k < len(self.write_addr) else Const(0, 1)
                else:
                    ports[f"i_ADA{i}"] = Const(0, 1)
            for i in range(18):
                ports[f"i_DIA{i}"] = self.write_data[low + i] if self.writable and i < bits else Const(0, 1)
                ports[f"i_DIB{i}"] = Const(0, 1)
                ports[f"o_DOB{i}"] = out[i]
            write_en = self.write_en if self.writable else Const(0, 1)
            init = {}
            if self.init:
                values = dp16kd_init([(w >> low) & ((1 << bits) - 1) for w in self.init])
                init = {f"p_{k}": Const(v, 320) for k, v in values.items()}
            m.submodules[f"block{b}"] = Instance(
                "DP16KD",
                p_DATA_WIDTH_A=block_width, p_DATA_WIDTH_B=block_width, p_REGMODE_A="NOREG", p_REGMODE_B="OUTREG",
                p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC", p_CSDECODE_A="0b000", p_CSDECODE_B="0b000",
                p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL", p_GSR="AUTO", **init,
                i_CLKA=ClockSignal(), i_CEA=write_en, i_OCEA=Const(1, 1), i_WEA=write_en, i_RSTA=Const(0, 1),
                i_CSA0=Const(0, 1), i_CSA1=Const(0, 1), i_CSA2=Const(0, 1),
                i_CLKB=ClockSignal(), i_CEB=self.read_en, i_OCEB=Const(1, 1), i_WEB=Const(0, 1), i_RSTB=Const(0, 1),
                i_CSB0=Const(0, 1), i_CSB1=Const(0, 1), i_CSB2=Const(0, 1),
                **ports,
            )
            outputs.append(out[:bits])
        m.d.comb += self.read_data.eq(Cat(*outputs))
