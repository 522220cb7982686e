"""The end-to-end flow on one model and dataset, stage by stage.

Train (or reuse a finished checkpoint), quantize to 8-bit dynamic fixed point,
build the accelerator's Verilog for the default board, simulate frames on
Verilator bit-exact against the golden executor, and report cost, float vs
quantized accuracy, cycles and frames/s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firebrick.boards.board import DEFAULT_BOARD
from firebrick.boards.build import build_accelerator
from firebrick.hw.params import ArrayParams
from firebrick.models.cost import model_cost
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import DEFAULT_MODEL, resolve_dataset, training_spec
from firebrick.quant.fbg import save_graph
from firebrick.quant.pipeline import quantize_checkpoint
from firebrick.quant.quantize import QuantConfig

DEFAULT_OUTPUT = Path("firebrick-out")


@dataclass(frozen=True)
class FlowOptions:
    model: str = DEFAULT_MODEL
    dataset: str | None = None
    output: Path = DEFAULT_OUTPUT
    train: TrainConfig = TrainConfig()
    quant: QuantConfig = QuantConfig()
    array: ArrayParams = ArrayParams()
    board: str = DEFAULT_BOARD
    #: test images simulated on Verilator (every layer compared on the first)
    frames: int = 2
    threads: int = 1
    progress: bool | None = None


def run_flow(options: FlowOptions) -> dict[str, Any]:
    dataset_name = resolve_dataset(options.model, options.dataset)
    spec, dataset = training_spec(options.model, dataset_name)
    checkpoint_path = Path(options.output) / f"{spec.name}-{Path(dataset_name).name}.pt"
    checkpoint = train(spec, dataset, options.train, checkpoint_path, progress=options.progress, threads=options.threads)
    cost = model_cost(checkpoint.build_model())
    graph, quant_report = quantize_checkpoint(checkpoint_path, options.quant, progress=options.progress)
    graph_path = checkpoint_path.with_suffix(".fbg")
    save_graph(graph, graph_path)
    build_dir = Path(options.output) / "build"
    manifest = build_accelerator(graph, options.array, build_dir, board=options.board)
    stages = ["train", "quantize", "build"]
    simulation = None
    if options.frames:
        from firebrick.sim.simulate import simulate_build

        x, y = dataset.tensors("test")
        simulation = simulate_build(build_dir, x[: options.frames].numpy(), y[: options.frames].numpy())
        stages.append("simulate")
    return {
        "model": spec.name,
        "dataset": dataset.describe(),
        "checkpoint": os.fspath(checkpoint_path),
        "params": cost.params,
        "macs": cost.macs,
        "weight_bytes": cost.weight_bytes,
        "peak_activation_bytes": cost.peak_activation_bytes,
        "train_seconds": checkpoint.metadata["train_seconds"],
        "accuracy": checkpoint.metadata["accuracy"],
        "graph": os.fspath(graph_path),
        "float_accuracy": quant_report.float_accuracy,
        "quant_accuracy": quant_report.quant_accuracy,
        "quantization": quant_report.config,
        "build": os.fspath(build_dir),
        "board": options.board,
        "clock_mhz": manifest.clock_mhz,
        "array": [options.array.rows, options.array.cols],
        "cycles_per_frame": manifest.cycles_per_frame,
        "frames_per_second": manifest.frames_per_second,
        "utilization": manifest.utilization,
        "sram_bits": manifest.sram_bits,
        "simulation": simulation,
        "stages": stages,
    }
