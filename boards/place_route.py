"""Place-and-route and bitstreams on the open Lattice flow: Yosys -> nextpnr -> ecppack / icepack, at a PLL clock.

The placed design is `BoardTop`: the accelerator, a UART on the board's real
pins (from its amaranth-boards platform) and the PLL that makes the
accelerator's clock from the oscillator, so the Fmax, the utilisation and the
bitstream are those of the design as it runs on the board. nextpnr always
gets its target (the PLL's output; `--freq` for anything else).

The clock: a given `clock_mhz` is used as it is (and the report says whether
timing was met). Without one, the first run targets the board file's clock;
then the clock becomes the fastest the PLL makes at or below Fmax / (1 +
CLOCK_MARGIN), and that is placed and routed again (the timing-driven placer
works to its target, so the figure must be met by a run at that clock),
until a run meets its clock (at most MAX_RUNS runs). A searched clock whose run
fails (near full, nextpnr may find no legal placement for a tighter target)
counts as not met and ends the search. Each run keeps its files
in BUILD_DIR/impl/BOARD/board/MHZ/; place_route.json beside them lists every
run and the chosen one. A failed step keeps its log and leaves no netlist,
config or bitstream behind.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from firebrick.progress import stage
from firebrick.atomic import write_json_atomic
from firebrick.boards.board import Board, platform_module
from firebrick.boards.board_top import BAUD, BoardTop
from firebrick.boards.manifest import Build
from firebrick.boards.pll import PllConfig, pll_config
from firebrick.boards.synthesis import has_classic_abc_fallback, lut_mapper, run_yosys, synthesis_commands
from firebrick.boards.tools import ToolError, run_tool

PACKERS = {"ecppack": "yowasp-ecppack", "icepack": "yowasp-icepack"}
OUTPUTS = ("top.json", "top.config", "top.asc", "top.bit", "top.bin", "report.json")
#: the clock is chosen at most Fmax / (1 + CLOCK_MARGIN): room for nextpnr's run-to-run spread
CLOCK_MARGIN = 0.05
#: runs of the automatic clock search
MAX_RUNS = 3
#: a faster clock is tried only if it is this much faster than one already met
WORTH_TRYING = 1.02
#: PLL models by family
PLL_FAMILIES = ("ecp5", "ice40")


def platform_for(board: Board):
    if board.toolchain is None or board.toolchain.place_route is None or board.toolchain.platform is None:
        note = board.toolchain.note if board.toolchain else ""
        raise ToolError(f"{board.name}: no open place-and-route flow for {board.device}" + (f" ({note})" if note else ""))
    from amaranth.build import Platform

    name = board.toolchain.platform.partition(":")[2]
    try:
        # the loader allowed only modules amaranth-boards lists; the class must be one of its platforms
        platform = getattr(importlib.import_module(platform_module(board.toolchain.platform)), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ToolError(f"{board.name}: cannot load the board platform {board.toolchain.platform!r} ({exc}); "
                        "pip install \"amaranth-boards==0.0.21\"") from None
    if not (isinstance(platform, type) and issubclass(platform, Platform)):
        raise ToolError(f"{board.name}: {board.toolchain.platform!r} is not an amaranth-boards platform class")
    return platform()


def _fmax_mhz(report: dict[str, Any]) -> tuple[float | None, dict[str, Any]]:
    clocks = report.get("fmax", {})
    achieved = [c["achieved"] for c in clocks.values() if "achieved" in c]
    return (min(achieved) if achieved else None), clocks


def next_clock(target_mhz: float, fmax_mhz: float | None, make) -> float | None:
    """The clock to try after a run at `target_mhz` reached `fmax_mhz`, or None to stop.

    `make(mhz)` is the fastest clock the PLL makes at or below `mhz`. A run that met its target is
    followed by a faster clock only when Fmax leaves room for one worth the run.
    """
    if fmax_mhz is None:
        return None
    wanted = make(fmax_mhz / (1 + CLOCK_MARGIN))
    if fmax_mhz >= target_mhz:
        return wanted if wanted > target_mhz * WORTH_TRYING else None
    return wanted if wanted < target_mhz else None


def _place_route_once(work: Path, board: Board, build: Build, pll: PllConfig | None, clock_mhz: float,
                      bitstream: bool) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    for stale in OUTPUTS:
        (work / stale).unlink(missing_ok=True)
    params, program = build.manifest.params, build.program
    lut_multipliers = params.rows * params.cols > board.resources.dsps
    top = BoardTop(program, clock_hz=clock_mhz * 1e6, pll=pll, dsp_multipliers=not lut_multipliers)
    plan = platform_for(board).build(top, name="top", do_build=False)  # a fresh platform: one prepares one design
    constraints = "top.lpf" if board.family == "ecp5" else "top.pcf"
    for name in ("top.il", constraints):
        (work / name).write_bytes(plan.files[name].encode() if isinstance(plan.files[name], str) else plan.files[name])
    def script(classic_abc: bool) -> str:
        return "\n".join(["read_rtlil top.il", *synthesis_commands(board, "top", "top.json", lut_multipliers, classic_abc=classic_abc),
                          "tee -q -o top_stat.json stat -json"]) + "\n"

    (work / "top.ys").write_text(script(False))
    fallback = None
    if has_classic_abc_fallback(board, lut_multipliers):  # classic abc, should abc9 exit (see synthesis.run_yosys)
        (work / "top_abc.ys").write_text(script(True))
        fallback = "top_abc.ys"
    times = {}
    try:
        began = time.perf_counter()
        fell_back = run_yosys("top.ys", work, work / "yosys.log", fallback)
        times["synthesis_s"] = time.perf_counter() - began
        began = time.perf_counter()
        layout = ["--lpf", "top.lpf", "--textcfg", "top.config"] if board.family == "ecp5" else ["--pcf", "top.pcf", "--asc", "top.asc"]
        run_tool(f"yowasp-{board.toolchain.place_route}",
                 [*board.toolchain.place_route_args, "--json", "top.json", *layout, "--report", "report.json",
                  "--freq", f"{clock_mhz:g}", "--timing-allow-fail"],  # timing is judged here, from the report
                 work, work / "nextpnr.log")
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
    return {
        "clock_mhz": clock_mhz, "fmax_mhz": fmax, "clocks": clocks,
        "timing_met": fmax is not None and fmax >= clock_mhz,
        "pll": None if pll is None else {"output_mhz": pll.output_mhz, "vco_mhz": pll.vco_mhz, **pll.dividers},
        "utilization": {k: v for k, v in report.get("utilization", {}).items() if v.get("used")},
        "critical_path": critical_path(report), "lut_mapper": lut_mapper(board, lut_multipliers, fell_back),
        "bitstream": None if bitstream_file is None else str(bitstream_file),
        **times, "logs": str(work),
    }


def failed_run(clock_mhz: float, error: ToolError, seconds: float, work: Path) -> dict[str, Any]:
    """A run of the clock search whose synthesis or place-and-route failed: recorded as not meeting its clock."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = next((line for line in lines if "ERROR" in line), lines[0] if lines else "failed")
    return {"clock_mhz": clock_mhz, "fmax_mhz": None, "timing_met": False, "place_route_s": seconds, "logs": str(work),
            "error": f"no design at {clock_mhz:g} MHz: {reason}"}


def critical_path(report: dict[str, Any]) -> dict[str, Any] | None:
    """The slowest clock's worst path from nextpnr's report: its delay, logic vs routing, and the design's
    source lines it runs through (the Amaranth code that made its cells), start to end."""
    paths = [p for p in report.get("critical_paths", []) if p.get("from") == p.get("to") and "posedge" in str(p.get("from"))]
    if not paths:
        return None
    worst = max(paths, key=lambda p: sum(segment["delay"] for segment in p["path"]))
    sources: list[str] = []
    components: list[str] = []
    for segment in worst["path"]:
        for source in segment.get("sources", []):
            if "/lib/python" in source or source.startswith("/share/"):  # Python's own frames, Yosys' cell library
                continue
            short = "/".join(source.split("/")[-2:])
            if not sources or sources[-1] != short:
                sources.append(short)
        # the component a cell belongs to: its hierarchical name less the cell's own (accelerator.controller)
        component = segment["from"]["cell"].rpartition(".")[0]
        if component and (not components or components[-1] != component):
            components.append(component)
    logic = sum(s["delay"] for s in worst["path"] if s["type"] != "routing")
    routing = sum(s["delay"] for s in worst["path"] if s["type"] == "routing")
    return {"clock": worst["from"], "delay_ns": logic + routing, "logic_ns": logic, "routing_ns": routing,
            "start": worst["path"][0]["from"]["cell"], "end": worst["path"][-1]["to"]["cell"], "sources": sources,
            "components": components}


def place_and_route(build: Build, board: Board, *, clock_mhz: float | None = None, bitstream: bool = True,
                    log=None) -> dict[str, Any]:
    """Place and route the board top (and pack a bitstream) at `clock_mhz`, or at the fastest clock it meets.

    Returns the report (also BUILD_DIR/impl/BOARD/board/place_route.json): the chosen run's figures and every run.
    """
    platform = platform_for(board)
    root = build.directory / "impl" / board.name / "board"
    root.mkdir(parents=True, exist_ok=True)
    oscillator = platform.default_clk_frequency / 1e6
    has_pll = board.family in PLL_FAMILIES
    if not has_pll:
        def make(mhz: float) -> float:
            return oscillator
    else:
        def make(mhz: float) -> float:
            return pll_config(board.family, oscillator, mhz).output_mhz
    target = make(clock_mhz if clock_mhz is not None else board.clock_mhz)
    runs: list[dict[str, Any]] = []
    while True:
        pll = pll_config(board.family, oscillator, target) if has_pll else None
        work = root / f"{target:g}MHz"
        began = time.perf_counter()
        try:
            with stage(f"synthesising, placing and routing the board top at {target:g} MHz ({'PLL from' if pll else 'the'} "
                       f"{oscillator:g} MHz oscillator)", f"logs in {work}", log=[work / "yosys.log", work / "nextpnr.log"]):
                run = _place_route_once(work, board, build, pll, target, bitstream)
        except ToolError as error:
            if not runs:  # the board file's clock or the given one: nothing to fall back on
                raise
            # A faster clock the search tried can fail outright: near full, the timing-driven placer may find
            # no legal placement for a tighter target. That clock is not met; the runs before it stand.
            runs.append(failed_run(target, error, time.perf_counter() - began, work))
            if log:
                log(f"  {runs[-1]['error']}; the search stops at the clocks already run")
            break
        runs.append(run)
        if log:
            fmax = "unknown" if run["fmax_mhz"] is None else f"{run['fmax_mhz']:.1f} MHz"
            log(f"  Fmax {fmax}, timing {'met' if run['timing_met'] else 'NOT met'} ({run['place_route_s']:.0f} s)")
        if clock_mhz is not None or not has_pll or len(runs) == MAX_RUNS:
            break
        following = next_clock(target, run["fmax_mhz"], make)
        if following is None or any(r["clock_mhz"] == following for r in runs):
            break
        target = following
    met = [r for r in runs if r["timing_met"]]
    chosen = max(met, key=lambda r: r["clock_mhz"]) if met else [r for r in runs if "error" not in r][-1]
    cycles = build.manifest.cycles_per_frame
    result = {
        "board": board.name, "device": board.device, "top": "BoardTop (accelerator + UART + PLL)" if has_pll else
        "BoardTop (accelerator + UART)", "baud": BAUD, "oscillator_mhz": oscillator,
        **chosen, "frames_per_second_at_clock": chosen["clock_mhz"] * 1e6 / cycles,
        "frames_per_second_at_fmax": chosen["fmax_mhz"] * 1e6 / cycles if chosen["fmax_mhz"] else None,
        "clock_chosen_by": "given (--clock)" if clock_mhz is not None else
        f"the fastest PLL clock at most Fmax / {1 + CLOCK_MARGIN:g} that a run met" if met else "none met",
        "runs": [{k: r[k] for k in ("clock_mhz", "fmax_mhz", "timing_met", "place_route_s", "logs", "error") if k in r}
                 for r in runs],
    }
    write_json_atomic(root / "place_route.json", result)
    return result


def default_log(message: str) -> None:
    print(f"firebrick build: {message}", file=sys.stderr, flush=True)
