"""From a checkpoint to a quantized graph with its report: lower, calibrate, quantize, fine-tune, evaluate."""

from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from firebrick.errors import FirebrickError
from firebrick.progress import stage
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import Dataset, load_dataset
from firebrick.models.firenet import FireNet
from firebrick.models.spec import NetSpec
from firebrick.models.training import evaluate
from firebrick.quant.analyses import macs_per_layer, weight_bytes_per_layer
from firebrick.quant.calibrate import calibrate
from firebrick.quant.executor import ExecutionStats, output_format, predict
from firebrick.quant.finetune import FinetuneConfig, finetune
from firebrick.quant.float_executor import logits
from firebrick.quant.graph import Graph
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.ops import Conv, op_kind
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph

DEFAULT_CALIBRATION_IMAGES = 256


@dataclass
class QuantReport:
    float_accuracy: float
    quant_accuracy: float
    layers: list[dict[str, Any]] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    finetune_epochs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "float_accuracy": self.float_accuracy,
            "quant_accuracy": self.quant_accuracy,
            "accuracy_drop_pp": 100 * (self.float_accuracy - self.quant_accuracy),
            "dataset": self.dataset,
            "quantization": self.config,
            "finetune_epochs": self.finetune_epochs,
            "layers": self.layers,
        }


def dataset_for(meta: dict[str, Any], shape: tuple[int, int, int], name: str | None = None) -> Dataset:
    """The dataset recorded in a checkpoint's or graph's metadata (or `name`), fitted to `shape`."""
    info = meta.get("dataset", {})
    if name is None and "name" not in info:
        raise FirebrickError("no dataset is recorded with this model; name one with --dataset")
    dataset = load_dataset(name or info["name"], channels=shape[0], size=shape[1], fit=info.get("fit", "resize"), seed=info.get("seed", 0))
    names, count = info.get("class_names"), info.get("classes")  # names: checkpoints since class names were recorded
    if names is not None and list(dataset.class_names) != list(names) or names is None and count not in (None, dataset.num_classes):
        trained = _few(names) if names is not None else str(count)
        raise FirebrickError(f"{dataset.name} has the classes {_few(dataset.class_names)}, but the model was trained on "
                             f"{info.get('name', 'a dataset')} with {trained}: its outputs would be scored against "
                             "other labels; use a dataset with the model's classes (same sub-folder names)")
    return dataset


def _few(names) -> str:
    names = list(names)
    return f"{len(names)} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"


def input_shape(graph: Graph) -> tuple[int, int, int]:
    return tuple(graph.op(graph.input).shape)  # type: ignore[union-attr,return-value]


def layer_table(graph: Graph, stats: ExecutionStats | None = None) -> list[dict[str, Any]]:
    """One row per node: formats, shift, weight bytes, MACs, saturated values."""
    macs = macs_per_layer(graph)
    wbytes = weight_bytes_per_layer(graph)
    rows = []
    for name, op in graph.items():
        row: dict[str, Any] = {"name": name, "kind": op_kind(op), "out_format": str(output_format(graph, name))}
        if isinstance(op, Conv):
            q = op.quant
            row.update(
                in_format=str(q.in_fmt), weight_format=str(q.weight_fmt), shift=q.shift,
                codebook_bits=q.codebook_bits, relu=op.relu, weight_bytes=wbytes[name], macs=macs[name],
            )
        elif hasattr(op, "shift"):
            row.update(shift=op.shift, multiplier=op.multiplier)
        if stats is not None and name in stats.produced:
            row.update(
                saturated=stats.saturated[name],
                saturated_fraction=stats.saturated[name] / max(stats.produced[name], 1),
                wrapped=stats.wrapped[name],
            )
        rows.append(row)
    return rows


def graph_accuracy(graph: Graph, dataset: Dataset, split: str = "test", stats: ExecutionStats | None = None) -> float:
    x, y = dataset.tensors(split)
    return float(np.mean(predict(graph, x.numpy(), stats=stats) == y.numpy()))


def quantize_checkpoint(
    checkpoint_path: str | os.PathLike,
    config: QuantConfig,
    *,
    dataset_name: str | None = None,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    finetune_epochs: int = 0,
    progress: bool | None = None,
) -> tuple[Graph, QuantReport]:
    checkpoint = load_checkpoint(checkpoint_path)
    spec = checkpoint.spec
    shape = (spec.input_channels, spec.input_size, spec.input_size)
    dataset = dataset_for(checkpoint.metadata, shape, dataset_name)
    model = checkpoint.build_model()
    graph = canonicalize(lower_torch(model, shape, spec.name))
    graph.meta = {
        "source": {"checkpoint": os.fspath(checkpoint_path), "model": spec.name},
        "dataset": dataset.describe(),
        "class_names": list(dataset.class_names),
    }
    return _quantize_lowered(graph, dataset, config, evaluate(model, *dataset.tensors("test")),
                             calibration_images=calibration_images, finetune_epochs=finetune_epochs, progress=progress)


#: the file types of a user's own model, by suffix: what wrote it
MODEL_FILE_KINDS = {".onnx": "ONNX", ".pt2": "torch.export"}


def lower_model_file(path: str | os.PathLike) -> Graph:
    """The float graph of a user's own model file: ONNX (.onnx) or a torch.export program (.pt2)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        from firebrick.quant.lower_onnx import lower_onnx

        return lower_onnx(path)
    if suffix == ".pt2":
        from firebrick.quant.lower_export import lower_exported

        return lower_exported(path)
    raise FirebrickError(f"{path}: not a model file firebrick reads ({', '.join(MODEL_FILE_KINDS)})")


def quantize_model_file(
    model_path: str | os.PathLike,
    config: QuantConfig,
    *,
    dataset_name: str,
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES,
    finetune_epochs: int = 0,
    progress: bool | None = None,
) -> tuple[Graph, QuantReport]:
    """A user's own model (ONNX from torch.onnx.export, or .pt2 from torch.export.save): lowered, calibrated and
    evaluated on `dataset_name`."""
    with stage(f"lowering {model_path} ({MODEL_FILE_KINDS.get(Path(model_path).suffix.lower(), '?')})"):
        graph = canonicalize(lower_model_file(model_path))
    shape = input_shape(graph)
    dataset = load_dataset(dataset_name, channels=shape[0], size=shape[1])
    outputs = graph.op(graph.output).out_channels if isinstance(graph.op(graph.output), Conv) else None
    if outputs is not None and dataset.num_classes > outputs:
        raise FirebrickError(f"{dataset.name} has {dataset.num_classes} classes but the model has {outputs} outputs; "
                             "use a dataset with the model's classes")
    graph.meta = {
        "source": {Path(model_path).suffix.lower().lstrip("."): os.fspath(model_path), "model": graph.name},
        "dataset": dataset.describe(),
        "class_names": list(dataset.class_names),
    }
    test_x, test_y = dataset.tensors("test")
    float_accuracy = float((logits(graph, test_x).argmax(1) == test_y).float().mean())
    return _quantize_lowered(graph, dataset, config, float_accuracy, calibration_images=calibration_images,
                             finetune_epochs=finetune_epochs, progress=progress)


def _quantize_lowered(graph: Graph, dataset: Dataset, config: QuantConfig, float_accuracy: float, *,
                      calibration_images: int, finetune_epochs: int, progress: bool | None) -> tuple[Graph, QuantReport]:
    """Calibrate, quantize, optionally fine-tune and evaluate a lowered float graph."""
    train_x, _ = dataset.tensors("train")
    with stage(f"calibrating on {min(calibration_images, len(train_x))} training images"):
        ranges = calibrate(graph, train_x[:calibration_images])
    qgraph = quantize_graph(graph, ranges, config)
    if finetune_epochs:
        qgraph = finetune(qgraph, dataset, FinetuneConfig(epochs=finetune_epochs), progress=progress)
    stats = ExecutionStats()
    with stage(f"evaluating the quantized graph on {len(dataset.splits['test'])} test images (golden integer executor)"):
        quant_accuracy = graph_accuracy(qgraph, dataset, "test", stats)
    qgraph.meta.update(float_accuracy=float_accuracy, quant_accuracy=quant_accuracy, calibration_images=min(calibration_images, len(train_x)))
    report = QuantReport(float_accuracy, quant_accuracy, layer_table(qgraph, stats), dataset.describe(), config.to_dict(), finetune_epochs)
    return qgraph, report


def random_weight_graph(spec: NetSpec, config: QuantConfig, *, seed: int = 0) -> Graph:
    """A network's quantized graph with seeded random weights, calibrated on random images.

    Cycles, activity and memories do not depend on the weights' values: this is
    what the analytical figures of an untrained network (a sweep without
    training, `firebrick estimate` of a zoo name) are computed on.
    """
    torch.manual_seed(seed)
    shape = (spec.input_channels, spec.input_size, spec.input_size)
    return calibrated_on_random_images(canonicalize(lower_torch(FireNet(spec).eval(), shape)), config, seed=seed)


def calibrated_on_random_images(graph: Graph, config: QuantConfig, *, seed: int = 0) -> Graph:
    """A float graph quantized with ranges from 8 seeded random images: for figures that do not depend on accuracy."""
    generator = torch.Generator().manual_seed(seed)
    return quantize_graph(graph, calibrate(graph, torch.rand(8, *input_shape(graph), generator=generator)), config)
