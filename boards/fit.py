"""Does a design fit a board? Checked from the compiled memories and array size, before any synthesis.

The estimate is simple and a little pessimistic: every memory bank maps to
block RAM in the cheapest (depth, width) shape of the device's block, except
shallow ones that synthesis puts in LUT RAM. When that is more block RAM than
the device has and the board has large RAM the generator uses (UltraRAM, SPRAM),
memories without initial contents move there, those that save the most
block RAM per large block first, until the block RAM suffices; the build
marks them (`ram_style`) so that synthesis puts them where the estimate
counted them. Single-port large RAM (iCE40 SPRAM) takes only the memories
the loader fills before the frames run, not the activations. Every multiplier of the array
takes a DSP block, or, when the array has more multipliers than the device has
DSPs, all of them go to LUTs (Yosys' ECP5 flow maps all or none); the rest of
the logic follows the board file's linear model in the array's size (with a
term for the loader when the design is loaded at run time), fitted to Yosys
runs of whole accelerators. Synthesis (`boards/synthesis.py`) gives the
real counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from firebrick.boards.board import Board
from firebrick.errors import FirebrickError
from firebrick.hw.block_ram import cheapest_tiling
from firebrick.hw.memories import MemoryShape, loaded_at_run_time, sram_bits

#: memories at most this deep are left in LUT RAM by Yosys on ECP5 and 7-series (seen in synthesis)
LUT_RAM_MAX_DEPTH = 64
#: families without LUT RAM: every memory takes block RAM (the iCE40's SB_RAM40_4K, 256 x 16 at its widest)
NO_LUT_RAM_FAMILIES = frozenset({"ice40"})


class DesignDoesNotFit(FirebrickError):
    """The design needs more of a resource than the board has."""


@dataclass(frozen=True)
class FitEstimate:
    board: str
    block_ram_blocks: int
    block_ram_available: int
    lut_ram_bits: int
    multipliers: int
    dsps: int
    dsps_available: int
    #: LUTs for multipliers that found no DSP block (0 when they all did)
    multiplier_luts: int
    #: all LUTs: the logic model plus multiplier_luts
    luts: int
    luts_available: int
    #: the board's large RAM (UltraRAM, SPRAM) that the estimate counts, None when it counts none
    other_ram_primitive: str | None = None
    other_ram_blocks: int = 0
    other_ram_available: int = 0
    #: the memories placed in it (MemoryShape name -> how many of its banks; a banked memory may go there in part)
    in_other_ram: dict[str, int] = field(default_factory=dict)

    def shortfalls(self) -> list[str]:
        out = []
        if self.block_ram_blocks > self.block_ram_available:
            beside = (f" (with {describe_placement(self.in_other_ram)} in {self.other_ram_blocks} of its {self.other_ram_available} "
                      f"{self.other_ram_primitive})" if self.in_other_ram else "")
            out.append(f"block RAM: needs {self.block_ram_blocks} blocks, {self.board} has {self.block_ram_available}{beside}")
        if self.luts > self.luts_available:
            why = (f", {self.multiplier_luts:,} of them for the {self.multipliers} array multipliers (more than the "
                   f"{self.dsps_available} DSP blocks)" if self.multiplier_luts else "")
            out.append(f"LUTs: needs ~{self.luts:,}{why}, {self.board} has {self.luts_available:,}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FitEstimate":
        return cls(**{**d, "in_other_ram": dict(d.get("in_other_ram", {}))})


def describe_placement(banks: dict[str, int]) -> str:
    """The memories in the large RAM, for people: "weights, biases, activations (1 bank)" (the activations are the one
    banked memory, placed bank by bank)."""
    return ", ".join(f"{name} ({n} bank{'s' * (n != 1)})" if name == "activations" else name for name, n in banks.items())


def in_lut_ram(memory: MemoryShape, board: Board) -> bool:
    """Whether the estimate puts `memory` in LUT RAM (shallow enough, on a family that has it) rather than block RAM."""
    return board.family not in NO_LUT_RAM_FAMILIES and memory.depth <= LUT_RAM_MAX_DEPTH


def blocks_for(depth: int, width: int, ram) -> int:
    """Blocks of `ram` (a BlockRam) for one depth x width memory: the cheapest way to tile it with one block shape."""
    return cheapest_tiling(depth, width, ram.configs)


def large_ram_blocks_for(depth: int, width: int, ram) -> int:
    """Blocks of the large RAM (an OtherRam) for one depth x width memory. Its native shape tiles any memory; the
    narrower ones are Yosys packing narrow words into the block's byte lanes, which holds a memory no wider than
    one lane (a wide one is tiled in the native shape: the generator's weight chunks)."""
    return cheapest_tiling(depth, width, [(d, w) for d, w in ram.configs if (d, w) == ram.native_shape or width <= w])


def estimate_fit(memories: list[MemoryShape], multipliers: int, board: Board, *, cols: int) -> FitEstimate | None:
    """The resource estimate of a design on an FPGA board (`multipliers` = rows x cols PEs, `cols` lanes); None for an
    ASIC technology (no fixed budget)."""
    res = board.resources
    if res is None:
        return None
    lut_ram = 0
    in_block_ram: dict[str, int] = {}  # memory -> its blocks
    for m in memories:
        if in_lut_ram(m, board):
            lut_ram += m.bits
        else:
            in_block_ram[m.name] = m.banks * blocks_for(m.depth, m.width, res.block_ram)
    blocks = sum(in_block_ram.values())
    other = res.other_ram if res.other_ram is not None and res.other_ram.used_by_generator else None
    other_blocks, in_other = 0, {}
    if other is not None and blocks > res.block_ram.blocks:
        # per bank: a banked memory (the activations) moves one bank at a time, as far as needed and room allows
        saved = {m.name: blocks_for(m.depth, m.width, res.block_ram) for m in memories if m.name in in_block_ram}
        cost = {m.name: (large_ram_blocks_for(m.depth, m.width, other), m.banks) for m in memories
                if m.name in in_block_ram and not m.initialised and not (other.single_port and m.written_by_frames)}
        for name in sorted(cost, key=lambda n: (-saved[n] / cost[n][0], -in_block_ram[n], n)):
            per_bank, banks = cost[name]
            for _ in range(banks):
                if blocks <= res.block_ram.blocks or other_blocks + per_bank > other.blocks:
                    break
                other_blocks += per_bank
                blocks -= saved[name]
                in_other[name] = in_other.get(name, 0) + 1
    in_dsps = multipliers <= res.dsps
    multiplier_luts = 0 if in_dsps else multipliers * res.luts_per_lut_multiplier
    logic_luts = round(res.logic_luts(multipliers, cols, loaded=loaded_at_run_time(memories)))
    return FitEstimate(
        board=board.name, block_ram_blocks=blocks, block_ram_available=res.block_ram.blocks, lut_ram_bits=lut_ram,
        multipliers=multipliers, dsps=multipliers if in_dsps else 0, dsps_available=res.dsps,
        multiplier_luts=multiplier_luts, luts=logic_luts + multiplier_luts,
        luts_available=res.luts, other_ram_primitive=other and other.primitive, other_ram_blocks=other_blocks,
        other_ram_available=other.blocks if other else 0, in_other_ram=in_other,
    )


def check_fit(memories: list[MemoryShape], multipliers: int, board: Board, *, cols: int) -> FitEstimate | None:
    """The estimate, or DesignDoesNotFit naming every resource that is short (needed vs available)."""
    estimate = estimate_fit(memories, multipliers, board, cols=cols)
    if estimate is not None and estimate.shortfalls():
        raise DesignDoesNotFit(
            f"the design does not fit {board.name} ({board.device}): " + "; ".join(estimate.shortfalls())
            + f". On-chip memory: {sram_bits(memories) / 8 / 1024:,.1f} KiB needed, {counted_memory(board)}. Use a smaller model (fewer channels, codebook weights), a smaller array, or a larger board "
            "(`firebrick boards`)"
            + ("; or --bake-weights: the layer program is then logic, not a memory (here "
               f"{sum(m.bits for m in memories if m.name == 'program'):,} bits)" if loaded_at_run_time(memories) else "")
        )
    return estimate


def counted_memory(board: Board) -> str:
    """The on-chip memory the fit check counts on `board`, by type, and what it leaves out."""
    res = board.resources
    counted = f"{res.block_ram.bits / 8 / 1024:,.1f} KiB of block RAM ({res.block_ram.primitive})"
    other = res.other_ram
    if other is None:
        return counted + " counted"
    if other.used_by_generator:
        which = ("single-port: for the memories loaded before the frames run, not the activations" if other.single_port
                 else "for memories without initial contents")
        return counted + f" and {other.bits / 8 / 1024:,.1f} KiB of {other.primitive} counted ({which})"
    return counted + f" counted; not its {other.bits / 8 / 1024:,.1f} KiB of {other.primitive}, which the generator does not use"
