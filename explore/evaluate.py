"""One design point: model (trained, or reused by content hash) -> quantize -> accuracy -> analytical hardware figures.

Runs in a worker process. The hardware figures come from the exact models the
tests hold equal to the RTL: the static schedule (cycles), the activity model
(counters) priced with the board's energy table, the compiled memories (on-chip
RAM) and the fit estimate (block RAM, DSPs). Checkpoints live in
OUT/checkpoints/<hash>.pt, the hash covering the network, the data and the
training settings, so points that differ only in quantization or hardware
train once; a file lock keeps two workers from training the same model.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from firebrick.boards.board import Board, load_board
from firebrick.explore.points import resolve
from firebrick.explore.spec import SweepSpec, spec_from_dict
from firebrick.hw.params import ArrayParams
from firebrick.models.cost import model_cost
from firebrick.models.datasets import Dataset, load_dataset
from firebrick.models.design_space import generate
from firebrick.models.firenet import FireNet
from firebrick.models.training import TrainConfig, train
from firebrick.models.zoo import base_meta
from firebrick.quant.graph import Graph
from firebrick.quant.pipeline import quantize_checkpoint, random_weight_graph
from firebrick.quant.quantize import QuantConfig
from firebrick.sim.estimate import estimate_design


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _model_hash(net_dict: dict[str, Any], data_fingerprint: str, config: TrainConfig) -> str:
    identity = {"net": net_dict, "data": data_fingerprint, "train": config.identity()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def point_graph(spec: SweepSpec, point: dict[str, Any], out_dir: str) -> tuple[Graph, dict[str, Any], Dataset | None]:
    """The point's quantized graph (training or reusing its model), its figures so far, and its dataset."""
    settings = resolve(spec, point)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    meta = base_meta(spec.model.base).replace(**settings["model"])
    dataset = load_dataset(spec.dataset, channels=meta.input_channels, size=meta.input_size) if spec.training else None
    if dataset is not None:
        meta = meta.replace(num_classes=dataset.num_classes)
    net = generate(meta, name=f"{spec.name}_point")
    cost = model_cost(FireNet(net))
    quant = settings["quantization"]
    config = QuantConfig(weight_bits=quant.get("weight_bits", 8), activation_bits=quant.get("activation_bits", 8),
                         codebook_bits=quant.get("codebook_bits"), prune=quant.get("prune", 0.0))
    result: dict[str, Any] = {"params": cost.params, "macs": cost.macs}
    if spec.training is not None:
        train_config = TrainConfig(epochs=settings["training"]["epochs"], lr=settings["training"]["lr"],
                                   batch_size=settings["training"]["batch_size"], workers=settings["training"]["workers"],
                                   seed=point.get("training.seed", spec.training.seeds[0]))
        digest = _model_hash(net.to_dict(), dataset.fingerprint(), train_config)
        checkpoint_path = Path(out_dir) / "checkpoints" / f"{digest}.pt"
        with _locked(checkpoint_path.with_suffix(".lock")):
            reused = checkpoint_path.exists()
            checkpoint = train(net, dataset, train_config, checkpoint_path, progress=False, threads=1)
        timings["train_s"] = time.perf_counter() - began
        began = time.perf_counter()
        graph, report = quantize_checkpoint(checkpoint_path, config, dataset_name=spec.dataset,
                                            finetune_epochs=quant.get("finetune_epochs", 0), progress=False)
        timings["quantize_s"] = time.perf_counter() - began
        history = checkpoint.metadata.get("history") or [{}]
        result.update(accuracy=report.quant_accuracy, float_accuracy=report.float_accuracy,
                      val_accuracy=history[-1].get("val_accuracy"), checkpoint=str(checkpoint_path), reused_model=reused)
    else:  # analytical only: random weights (seeded) give the same cycles, activity and memories
        graph = random_weight_graph(net, config)
        timings["quantize_s"] = time.perf_counter() - began
    return graph, {**result, **timings}, dataset


def point_hardware(spec: SweepSpec, point: dict[str, Any]) -> tuple[ArrayParams, Board]:
    """The point's array parameters (widths from its quantization) and its board (clock overridden if swept)."""
    settings = resolve(spec, point)
    hardware, quant = settings["hardware"], settings["quantization"]
    board = load_board(hardware["board"])
    if hardware.get("clock_mhz"):
        board = dataclasses.replace(board, clock_mhz=hardware["clock_mhz"])
    params = ArrayParams(rows=hardware.get("rows", 8), cols=hardware.get("cols", 8), act_bits=quant.get("activation_bits", 8),
                         weight_bits=quant.get("weight_bits", 8), acc_bits=hardware.get("acc_bits", 32))
    return params, board


def evaluate_point(spec_dict: dict[str, Any], point: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """The point's figures; raises (SpecError, HardwareParamError, ...) for a point that cannot be built."""
    torch.set_num_threads(1)  # one process per core
    spec = spec_from_dict(spec_dict, "sweep spec")
    graph, result, _ = point_graph(spec, point, out_dir)
    began = time.perf_counter()
    params, board = point_hardware(spec, point)
    figures = estimate_design(graph, params, board)
    result.update({key: figures[key] for key in (
        "board", "clock_mhz", "cycles", "latency_us", "fps", "utilization", "energy_uj", "energy_breakdown_uj",
        "onchip_kib", "dsps", "block_ram_blocks", "fits", "shortfalls")}, hardware_s=time.perf_counter() - began)
    return result
