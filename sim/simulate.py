"""Simulate a build directory's Verilog on frames, bit-exact against the golden executor.

`simulate_build` reads BUILD_DIR through `boards.manifest.load_build`
(accelerator.v, manifest.json, model.fbg from `firebrick build`; the program
compiled once to know every tensor's addresses), runs the golden executor,
writes the frame file for the cocotb bench (`frame_bench.py`), runs it on
Verilator (or Icarus) and returns the report. An AXI build (`build
--interface axi`) runs through its AXI4-Stream and AXI4-Lite ports instead
(`axi_bench.py`, cocotbext-axi): scores and the counter registers, no layer
read-back (that top has no debug port).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from firebrick.atomic import write_atomic
from firebrick.boards.board import load_board
from firebrick.boards.manifest import BuildManifest, load_build
from firebrick.errors import FirebrickError
from firebrick.progress import stage
from firebrick.hw.accelerator import DEBUG_READ_LATENCY
from firebrick.hw.activity_counters import Counters
from firebrick.hw.load_format import read_load_file
from firebrick.hw.loader import LoadError
from firebrick.hw.packing import image_beats
from firebrick.hw.program import StepKind
from firebrick.quant.executor import quantize_images, run_int
from firebrick.sim.axi_frame import AxiSession, run_axi
from firebrick.sim.energy import frame_energy
from firebrick.sim.energy_plot import plot_energy
from firebrick.sim.verilator_runner import ModelSettings, run_cocotb

# the frame bench waits RESET_REGISTER_CYCLES after reset, so its design can run with the reset registered
NATIVE_BENCH_SETTINGS = ModelSettings(register_reset=True)


def _frame_file(path: Path, program, graph, images_int: np.ndarray, checked: int, watchdog: int,
                load: np.ndarray | None = None) -> None:
    lanes = program.params.cols
    conv_like = [s for s in program.steps if s.kind in (StepKind.CONV, StepKind.ADD)]
    arrays: dict[str, np.ndarray] = {"beats": np.array([image_beats(img, lanes) for img in images_int], np.int64)}
    if load is not None:
        arrays["load"] = load.astype(np.int64)
    layers = {}
    memory = program.memory
    for s in conv_like:
        tensor, offset = memory.destinations[s.node]
        layout = memory.layouts[tensor]
        channels = s.out_channels if s.kind == StepKind.CONV else s.channels
        width = s.out.width
        height = s.out.pixels // width
        c, y, x = np.meshgrid(np.arange(channels), np.arange(height), np.arange(width), indexing="ij")
        addresses = layout.address(offset + c, y, x).ravel().astype(np.int64)
        # read back `lanes` words at a time (the debug port's bank-wide read), from blocks aligned to `lanes`:
        # the reads' first addresses, and where each element lands among the words read
        blocks = np.unique(addresses // lanes)
        arrays[f"reads/{s.node}"] = blocks * lanes
        arrays[f"picks/{s.node}"] = np.searchsorted(blocks, addresses // lanes) * lanes + addresses % lanes
        layers[s.node] = [channels, height, width]
    for frame in range(checked):
        golden = run_int(graph, images_int[frame][None], keep_all=True)
        for node in layers:
            arrays[f"expected/{frame}/{node}"] = golden[node][0].ravel().astype(np.int64)
    meta = {
        "frames": len(images_int), "checked_frames": checked, "lanes": lanes, "lane_bits": program.params.lane_act_bits,
        "score_bits": program.params.lane_act_bits + 1, "steps": [s.node for s in program.steps], "layers": layers,
        "counters": {name: [Counters[name].offset, Counters[name].shape.width] for name in Counters.members},
        "watchdog_cycles": watchdog, "debug_read_latency": DEBUG_READ_LATENCY,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    write_atomic(path, lambda f: np.savez(f, **arrays), binary=True)


def _energy_board(manifest: BuildManifest, build_dir: Path, override: str | None):
    if override is not None:
        return load_board(override)
    return load_board(manifest.board_path(build_dir) or manifest.board)


def _run_native_build(build, images_int: np.ndarray, simulator: str, waves: bool, checked: int, watchdog: int,
                      timings: dict[str, float], settings: ModelSettings) -> tuple[list[dict], dict | None]:
    """The native ports' bench (frame_bench.py): per frame its scores, counters and the layers read back."""
    with tempfile.TemporaryDirectory(prefix="firebrick-sim-") as tmp:
        frame_path, result_path = Path(tmp) / "frames.npz", Path(tmp) / "result.json"
        load = None if build.load_path is None else read_load_file(build.load_path, build.manifest.envelope).words
        _frame_file(frame_path, build.program, build.graph, images_int, checked, watchdog=watchdog, load=load)
        run_cocotb(
            timings=timings, verilog=build.verilog_path, toplevel="accelerator", test_module="firebrick.sim.frame_bench",
            build_dir=build.directory / f"sim_{simulator}", simulator=simulator, waves=waves, settings=settings,
            extra_env={"FIREBRICK_FRAME": str(frame_path), "FIREBRICK_RESULT": str(result_path)},
        )
        if not result_path.exists():
            raise FirebrickError(f"the {simulator} bench wrote no result; see {build.directory}/sim_{simulator}")
        outcome = json.loads(result_path.read_text())
    return outcome["frames"], outcome["load"]


def _run_axi_build(build, images_int: np.ndarray, simulator: str, waves: bool, watchdog: int,
                   timings: dict[str, float]) -> tuple[list[dict], dict]:
    """The AXI bench (axi_bench.py), no pauses: per frame its scores and the counters read from the registers. The AXI
    top has no debug port, so no layer is read back."""
    manifest = build.manifest
    words = read_load_file(build.load_path, manifest.envelope).words
    outcome = run_axi(build.verilog_path, [AxiSession(words, images_int)], build.directory / f"sim_{simulator}",
                      lanes=manifest.params.cols, lane_bits=manifest.params.lane_act_bits, watchdog_cycles=watchdog,
                      pause_share=0.0, simulator=simulator, waves=waves, timings=timings)
    session = outcome["sessions"][0]
    frames = [{"frame": f["frame"], "scores": f["scores"], "counters": f["counters"], "mismatch": None, "layers_checked": [],
               "hung": {"step": "?", "step_node": "the AXI top shows no step; no scores came"} if f["hung"] else None}
              for f in session["frames"]]
    return frames, session["load"]


def simulate_build(
    build_dir: str | os.PathLike, images: np.ndarray, labels: np.ndarray | None = None, *,
    check_layers: int = 1, simulator: str = "verilator", waves: bool = False, energy_board: str | None = None,
    watchdog_cycles: int | None = None, model_settings: ModelSettings = NATIVE_BENCH_SETTINGS,
) -> dict[str, Any]:
    """Run `images` (float, N x C x H x W) through the build's RTL; compare scores (all frames) and layers (the first `check_layers`).

    Energy is priced with the build's board table, or with `energy_board`'s (a board name or YAML path).
    The run stops as hung after `watchdog_cycles` without progress (default: four frames' worth).
    `model_settings` (native ports only) is how Verilator builds the model: benchmarks compare the settings.
    """
    build = load_build(Path(build_dir).resolve())
    build_dir, manifest, graph = build.directory, build.manifest, build.graph
    params = manifest.params
    images_int = quantize_images(graph, images)
    golden_scores = [run_int(graph, img[None])[graph.output].ravel().tolist() for img in images_int]
    frame_cycles = manifest.cycles_per_frame
    watchdog = watchdog_cycles if watchdog_cycles is not None else 4 * frame_cycles + 10_000
    timings: dict[str, float] = {}
    stage_line = (f"{simulator}: building the model (reused when unchanged) and running {len(images_int)} frame(s)",
                  f"log and build in {build_dir / f'sim_{simulator}'}")
    with stage(*stage_line, log=[build_dir / f"sim_{simulator}" / name for name in ("build.log", "test.log")]):
        if manifest.interface == "axi":
            frames, load = _run_axi_build(build, images_int, simulator, waves, watchdog, timings)
        else:
            frames, load = _run_native_build(build, images_int, simulator, waves, min(check_layers, len(images_int)),
                                             watchdog, timings, model_settings)
    if load is not None and not load["loaded"]:
        error = LoadError(load["error"]).name if load["error"] in {e.value for e in LoadError} else "unknown"
        raise FirebrickError(f"the accelerator refused its load file ({load['words']:,} words): loader error {error}")
    hung = next((f["hung"] for f in frames if f["hung"]), None)
    if hung:
        raise FirebrickError(f"the design hung: no progress for {watchdog:,} cycles in step {hung['step']} ({hung['step_node']})")
    score_mismatch = [f["frame"] for f, want in zip(frames, golden_scores) if f["scores"] != want]
    layer_mismatch = next((f["mismatch"] for f in frames if f["mismatch"]), None)
    cycles = frames[0]["counters"]["cycles"]
    clock = manifest.clock_mhz
    macs = manifest.macs
    predictions = [int(np.argmax(s)) for s in (f["scores"] for f in frames)]
    report = {
        "simulator": simulator,
        "interface": manifest.interface,
        "loading": manifest.loading,
        "load": load,
        "frames": len(frames),
        "bit_exact": not score_mismatch and layer_mismatch is None,
        "layers_checked": frames[0]["layers_checked"] if frames else [],
        "first_mismatch": layer_mismatch,
        "score_mismatch_frames": score_mismatch,
        "cycles": cycles,
        "predicted_cycles": frame_cycles,
        "clock_mhz": clock,
        "clock_basis": manifest.clock_basis,
        "latency_us": cycles / clock,
        "fps": clock * 1e6 / cycles,
        "utilization": macs / (cycles * params.rows * params.cols),
        "counters": frames[0]["counters"],
        # wall seconds: building the simulator's model (~0 when reused) and running load and frames
        "build_seconds": timings.get("build_seconds"), "model_reused": timings.get("model_reused"),
        "seconds": timings.get("run_seconds"),
        "accuracy": float(np.mean(np.array(predictions) == np.asarray(labels))) if labels is not None else None,
    }
    energy = frame_energy(frames[0]["counters"], list(manifest.memories), clock, _energy_board(manifest, Path(build_dir), energy_board).energy)
    report.update(energy_uj_per_frame=energy["energy_uj_per_frame"], energy_breakdown_uj=energy["breakdown_uj"],
                  energy_table=energy["table"]["name"])
    title = (f"{graph.name} on {manifest.board} ({params.rows}x{params.cols}, {clock:g} MHz)\n"
             f"{energy['energy_uj_per_frame']:.3g} µJ/frame with the {energy['table']['name']} energy table")
    report["energy_plot"] = str(plot_energy(energy["breakdown_uj"], title, build_dir / "energy.png"))
    return report
