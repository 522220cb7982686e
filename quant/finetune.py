"""Quantization-aware fine-tuning: train the fake-quantized graph, then re-derive its integers.

Shadow float weights (or codebook centroids) learn through straight-through
rounding while every format stays as calibrated, so the result is a graph of
the same shape and formats with better integers.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from firebrick.models.datasets import Dataset
from firebrick.models.training import random_shift
from firebrick.quant.fake_quant import FakeQuantModel
from firebrick.quant.graph import Graph
from firebrick.quant.ops import Conv
from firebrick.quant.quantize import requantize_weights


@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 64
    max_shift: int = 2
    seed: int = 0


def finetune(graph: Graph, dataset: Dataset, config: FinetuneConfig, *, progress: bool | None = None) -> Graph:
    """A new graph whose float and integer weights were fine-tuned through quantization."""
    torch.manual_seed(config.seed)
    model = FakeQuantModel(graph, dtype=torch.float32, from_floats=True).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    x_train, y_train = dataset.tensors("train")
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    total = steps_per_epoch * config.epochs
    bar = tqdm(total=total, desc="fine-tune", unit="step", disable=(not progress) if progress is not None else None, leave=False)
    step = 0
    for epoch in range(config.epochs):
        generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(x_train), config.batch_size):
            index = order[start : start + config.batch_size]
            x = random_shift(x_train[index], config.max_shift, generator)
            for group in optimizer.param_groups:
                group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(model(x).flatten(1), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    bar.close()

    tuned = graph.copy()
    for name, op in graph.items():
        if not isinstance(op, Conv):
            continue
        key = model.key(name)
        with torch.no_grad():
            if key in model.centroids:
                weight = model.centroids[key][model._indices[key]]
            else:
                weight = model.weights[key]
            weight = weight.to(torch.float64).numpy().astype(np.float32)
            bias = model.biases[key].to(torch.float64).numpy().astype(np.float32)
        tuned.set_op(name, dataclasses.replace(op, weight=weight, bias=bias))
    tuned = requantize_weights(tuned)
    tuned.meta = {**graph.meta, "finetune": dataclasses.asdict(config)}
    return tuned
