"""Commands about boards and implementation: `boards`, and the synthesis / place-and-route part of `build`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from firebrick.cli.report import emit
from firebrick.progress import stage


def cmd_boards(args: argparse.Namespace) -> None:
    from firebrick.boards.board import BOARDS_DIR, board_names, load_board
    from firebrick.cli.table import format_table

    boards = [load_board(name) for name in board_names()]
    rows = []
    for b in boards:
        r = b.resources
        flow = "n/a" if b.toolchain is None else ("bitstream" if b.toolchain.pack else "synthesis only")
        rows.append([b.name, b.device, b.kind, b.clock_mhz, r and r.luts, r and r.ffs, r and r.dsps,
                     r and r.block_ram.blocks, r and round(r.ram_bits / 8 / 1024), flow, f"{b.energy.mac_pj:g} pJ"])
    text = format_table(["board", "device", "kind", "MHz", "LUTs", "FFs", "DSPs", "BRAM blocks", "RAM KiB", "open flow", "MAC"], rows)
    text += f"\n\nboard files: {BOARDS_DIR} (a YAML path works wherever a board name does)"
    emit(args, {"boards": [b.to_dict() for b in boards]}, text)


def _percent(entry: dict[str, Any]) -> str:
    return "" if entry["percent"] is None else f"{entry['percent']:.1f}%"


def check_implementable(args: argparse.Namespace) -> None:
    """Refuse before any work (Verilog, minutes of synthesis) what the board's open flow cannot do."""
    from firebrick.boards.board import load_board
    from firebrick.boards.place_route import platform_for
    from firebrick.boards.tools import ToolError

    board = load_board(args.board)
    if board.kind != "fpga":
        raise ToolError(f"{board.name} is an ASIC technology: no FPGA synthesis; its figures come from the energy table")
    if args.place_route or args.bitstream:
        platform_for(board)
    if args.clock is not None and not (args.place_route or args.bitstream):
        raise ToolError("--clock sets the place-and-route clock: add --place-route or --bitstream")
    if args.clock is not None and args.clock <= 0:
        raise ToolError(f"--clock must be a positive frequency in MHz, not {args.clock:g}")


def implement(args: argparse.Namespace) -> dict[str, Any]:
    """Synthesis (and place-and-route, bitstream) of a fresh build, as `build --synth/--place-route/--bitstream` asks."""
    from firebrick.boards.board import load_board
    from firebrick.boards.manifest import load_build
    from firebrick.boards.place_route import default_log, place_and_route
    from firebrick.boards.synthesis import synthesize

    board = load_board(args.board)
    build = load_build(args.output)
    with stage(f"synthesising for {board.device} with Yosys ({board.synth_command}; minutes for a whole accelerator)",
               f"live log: {Path(args.output) / 'impl' / board.name / 'yosys.log'}",
               log=Path(args.output) / "impl" / board.name / "yosys.log"):
        result: dict[str, Any] = {"synthesis": synthesize(build, board)}
    if args.place_route or args.bitstream:
        print(f"firebrick build: placing and routing on {board.device} with {board.toolchain.place_route if board.toolchain else '?'}",
              file=sys.stderr)
        result["place_route"] = place_and_route(build, board, clock_mhz=args.clock, bitstream=args.bitstream, log=default_log)
    return result


def implementation_text(result: dict[str, Any]) -> str:
    from firebrick.boards.fit import describe_placement
    from firebrick.cli.table import format_table

    synth = result["synthesis"]
    rows = [[name, u["used"], u["available"], _percent(u)] for name, u in synth["resources"].items() if u["used"] or u["available"]]
    lines = [f"\nYosys {synth['command']} on {synth['device']} ({synth['seconds']:.0f} s): "
             + ("fits" if synth["fits"] else "DOES NOT FIT"),
             format_table(["resource", "used", "available", "utilisation"], rows),
             f"array multipliers in {synth['multipliers_in']}; DSP inference "
             f"{'ok' if synth['dsp_inference_ok'] else 'FAILED'}, block RAM inference {'ok' if synth['block_ram_inference_ok'] else 'FAILED'}; "
             + (f"{describe_placement(synth['memories_in_other_ram'])} in {synth.get('other_ram_primitive') or 'large RAM'}: "
                f"{synth['other_ram_expected']} blocks expected, "
                f"{'ok' if synth['other_ram_inference_ok'] else 'FAILED'}; " if synth.get("memories_in_other_ram") else "")
             + f"plot {synth['plot']}"]
    pr = result.get("place_route")
    if pr:
        fmax = "unknown" if pr["fmax_mhz"] is None else f"{pr['fmax_mhz']:.1f} MHz"
        runs = ", ".join(f"{r['clock_mhz']:g} MHz: Fmax {r['fmax_mhz']:.1f}" if r["fmax_mhz"] else f"{r['clock_mhz']:g} MHz: ?"
                         for r in pr["runs"])
        lines.append(
            f"nextpnr on the board top ({len(pr['runs'])} run(s): {runs}): clock {pr['clock_mhz']:g} MHz "
            f"({'PLL from the ' if pr['pll'] else 'the '}{pr['oscillator_mhz']:g} MHz oscillator; {pr['clock_chosen_by']}), "
            f"Fmax {fmax}, timing {'met' if pr['timing_met'] else 'NOT met'}; "
            f"{pr['frames_per_second_at_clock']:,.0f} frames/s at the clock")
        if pr["bitstream"]:
            lines.append(f"bitstream {pr['bitstream']} (images in and scores out over the USB serial port at {pr['baud']:,} baud)")
    return "\n".join(lines)
