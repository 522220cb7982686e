"""Build an accelerator for a graph: compile, check the parameters, emit Verilog and a manifest.

Hardware is emitted only through Amaranth (`amaranth.back.verilog`); weights,
biases and the layer program are baked into the design, so the Verilog is one
model on one board.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

from amaranth.back import verilog

import firebrick
from firebrick.atomic import write_atomic, write_json_atomic
from firebrick.boards.board import DEFAULT_BOARD, Board, load_board
from firebrick.boards.fit import check_fit as check_board_fit
from firebrick.hw.accelerator import Accelerator
from firebrick.hw.compiler import Program, compile_graph
from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.hw.schedule import network_utilization
from firebrick.quant.analyses import infer_shapes
from firebrick.quant.fbg import save_graph
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Conv

MANIFEST_VERSION = 1


def memory_report(program: Program) -> list[dict[str, Any]]:
    p = program.params
    plan = program.memory
    stored = program.codebook_bits or p.weight_bits
    tables = [] if program.codebooks is None else [
        {"name": "codebooks", "banks": 1, "depth": len(program.codebooks), "width": p.weight_bits,
         "bits": len(program.codebooks) * p.weight_bits}]
    return tables + [
        {"name": "activations", "banks": plan.banks, "depth": plan.bank_depth, "width": p.lane_act_bits,
         "bits": plan.banks * plan.bank_depth * p.lane_act_bits},
        {"name": "weights", "banks": 1, "depth": len(program.weights), "width": p.rows * stored,
         "bits": len(program.weights) * p.rows * stored},
        {"name": "biases", "banks": 1, "depth": len(program.biases), "width": p.rows * p.acc_bits,
         "bits": len(program.biases) * p.rows * p.acc_bits},
    ]


def check_fit(graph: Graph, params: ArrayParams, program: Program, act_sram_words: int | None) -> list[str]:
    """Refuse what cannot work; return warnings for what works badly."""
    if act_sram_words is not None and program.memory.words > act_sram_words:
        raise HardwareParamError(
            f"activation SRAM too small: the largest set of live tensors needs {program.memory.words:,} words "
            f"({program.memory.words * params.lane_act_bits / 8 / 1024:.1f} KiB), the design allows {act_sram_words:,}"
        )
    shapes = infer_shapes(graph)
    convs = [(name, shapes[name]) for name, op in graph.items() if isinstance(op, Conv)]
    notes = []
    widest_channels = max(s[0] for _, s in convs)
    most_pixels = max(s[1] * s[2] for _, s in convs)
    if params.rows > widest_channels or params.cols > most_pixels:
        util = network_utilization(program.schedule, params)
        notes.append(
            f"the {params.rows}x{params.cols} array is wider than every layer (at most {widest_channels} channels, "
            f"{most_pixels} pixels): utilisation will be {util:.0%}"
        )
    return notes


def build_accelerator(
    graph: Graph, params: ArrayParams, output: str | os.PathLike, *, board: str | Board = DEFAULT_BOARD,
    act_sram_words: int | None = None,
) -> dict[str, Any]:
    """Compile, refuse what does not fit the board (before any Verilog), emit Verilog, manifest and graph."""
    board = board if isinstance(board, Board) else load_board(board)
    clock_mhz = board.clock_mhz
    program = compile_graph(graph, params)
    notes = check_fit(graph, params, program, act_sram_words)
    memories = memory_report(program)
    fit = check_board_fit(memories, params.rows * params.cols, board)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = verilog.convert(Accelerator(program), name="accelerator", emit_src=False)
    seconds = time.perf_counter() - began
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    write_atomic(output / "accelerator.v", lambda f: f.write(text))
    save_graph(graph, output / "model.fbg")  # the simulator's golden model travels with the build
    cycles = sum(s.cycles for s in program.schedule)
    manifest = {
        "version": MANIFEST_VERSION,
        "firebrick_version": firebrick.__version__,
        "model": graph.name,
        "board": board.name,
        "board_file": board.source,
        "clock_mhz": clock_mhz,
        "params": {**params.to_dict(), "codebook_bits": program.codebook_bits},
        "memories": memories,
        "sram_bits": sum(m["bits"] for m in memories),
        "fit_estimate": None if fit is None else fit.to_dict(),
        "io": {
            "image": {"lanes": params.cols, "lane_bits": params.lane_act_bits, "shape": list(graph.op(graph.input).shape),
                      "format": str(graph.op(graph.input).fmt)},
            "scores": {"count": program.num_classes, "bits": params.lane_act_bits + 1},
        },
        "layers": [s.to_dict(params) for s in program.schedule],
        "cycles_per_frame": cycles,
        "latency_us": cycles / clock_mhz,
        "frames_per_second": clock_mhz * 1e6 / cycles,
        "utilization": network_utilization(program.schedule, params),
        "verilog": {"file": "accelerator.v", "bytes": len(text), "lines": text.count("\n"), "seconds": seconds},
        "graph": "model.fbg",
        "notes": notes,
    }
    write_json_atomic(output / "manifest.json", manifest)
    return manifest
