"""Seeded, resumable training of a `NetSpec` on a `Dataset`.

SGD with Nesterov momentum and a per-step cosine learning rate. Everything
random (init, shuffling, dropout, augmentation) is drawn from generators seeded
by (seed, epoch), so training N epochs in one go or in several resumed runs
gives the same weights bit for bit. A checkpoint is written atomically after
every epoch; an interrupted run continues from the last one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

import firebrick
from firebrick.errors import CheckpointError, SpecError
from firebrick.models.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from firebrick.models.datasets import Dataset
from firebrick.models.firenet import FireNet
from firebrick.models.spec import NetSpec


@dataclass(frozen=True)
class TrainConfig:
    """How to train; part of a checkpoint's identity (resuming needs the same config)."""

    #: passes over the training split
    epochs: int = 40
    batch_size: int = 64
    #: peak learning rate of the cosine schedule
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    #: random shifts of up to this many pixels (zero fill) for training images; 0 disables
    max_shift: int = 2
    #: seeds init, shuffling, dropout and augmentation
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{name} must be a positive integer, not {value!r}")
        if not self.lr > 0:
            raise SpecError(f"lr must be positive, not {self.lr!r}")
        if self.max_shift < 0:
            raise SpecError(f"max_shift must be >= 0, not {self.max_shift!r}")


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy in [0, 1]."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model(images[start : start + batch_size])
        correct += int((logits.argmax(1) == labels[start : start + batch_size]).sum())
    model.train(was_training)
    return correct / max(len(images), 1)


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels in x and y, filling with zeros."""
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None]).view(n, 1, h, 1).expand(n, images.shape[1], h, w + 2 * max_shift)
    shifted = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None]).view(n, 1, 1, w).expand(n, images.shape[1], h, w)
    return shifted.gather(3, cols)


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


def _identity(spec: NetSpec, dataset: Dataset, config: TrainConfig) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "dataset": dataset.fingerprint(), "config": dataclasses.asdict(config)}


def _check_resumable(path: Path, checkpoint: Checkpoint, spec: NetSpec, dataset: Dataset, config: TrainConfig) -> None:
    stored = checkpoint.metadata.get("identity", {})
    wanted = _identity(spec, dataset, config)
    stored = {**stored, "spec": checkpoint.spec.to_dict()}
    for key, what in (("spec", "model"), ("dataset", "dataset or split"), ("config", "training settings")):
        if stored.get(key) != wanted[key]:
            raise CheckpointError(
                f"{path} holds a run with another {what}; choose another output file or pass --overwrite to start afresh"
            )


def train(
    spec: NetSpec,
    dataset: Dataset,
    config: TrainConfig,
    output: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: bool | None = None,
    threads: int = 1,
) -> Checkpoint:
    """Train (or resume training) and return the final checkpoint, also saved at `output`."""
    output = Path(output)
    if dataset.image_shape != (spec.input_channels, spec.input_size, spec.input_size):
        raise SpecError(f"dataset images are {dataset.image_shape}, the model takes {(spec.input_channels, spec.input_size, spec.input_size)}")
    if dataset.num_classes > spec.num_classes:
        raise SpecError(f"{dataset.name} has {dataset.num_classes} classes but {spec.name} has only {spec.num_classes} outputs")
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    model = FireNet(spec)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, nesterov=True
    )
    metadata: dict[str, Any] = {
        "firebrick_version": firebrick.__version__,
        "identity": _identity(spec, dataset, config),
        "dataset": dataset.describe(),
        "config": dataclasses.asdict(config),
        "history": [],
        "epochs_done": 0,
        "complete": False,
        "train_seconds": 0.0,
    }
    if output.exists() and not overwrite:
        previous = load_checkpoint(output)
        _check_resumable(output, previous, spec, dataset, config)
        model.load_state_dict(previous.state_dict)
        if previous.optimizer_state:
            optimizer.load_state_dict(previous.optimizer_state)
        metadata = previous.metadata
    checkpoint = Checkpoint(spec, model.state_dict(), metadata, optimizer.state_dict())
    if metadata["complete"]:
        return checkpoint

    train_x, train_y = dataset.tensors("train")
    val_x, val_y = dataset.tensors("val")
    steps_per_epoch = math.ceil(len(train_x) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    start_epoch = metadata["epochs_done"]
    bar = tqdm(
        total=total_steps, initial=start_epoch * steps_per_epoch, desc=f"train {spec.name}", unit="step",
        disable=(not progress) if progress is not None else None, leave=False, dynamic_ncols=True,
    )
    model.train()
    try:
        for epoch in range(start_epoch, config.epochs):
            began = time.perf_counter()
            generator = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
            torch.manual_seed(_epoch_seed(config.seed, epoch))  # dropout
            order = torch.randperm(len(train_x), generator=generator)
            loss_sum = 0.0
            correct = 0
            for step in range(steps_per_epoch):
                index = order[step * config.batch_size : (step + 1) * config.batch_size]
                x = random_shift(train_x[index], config.max_shift, generator)
                y = train_y[index]
                global_step = epoch * steps_per_epoch + step
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * global_step / total_steps))
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(index)
                correct += int((logits.argmax(1) == y).sum())
                bar.update(1)
            val_acc = evaluate(model, val_x, val_y)
            entry = {
                "epoch": epoch + 1,
                "loss": loss_sum / len(train_x),
                "train_accuracy": correct / len(train_x),
                "val_accuracy": val_acc,
            }
            bar.set_postfix(epoch=epoch + 1, loss=f"{entry['loss']:.3f}", val=f"{val_acc:.3f}")
            metadata["history"].append(entry)
            metadata["epochs_done"] = epoch + 1
            metadata["train_seconds"] += time.perf_counter() - began
            if epoch + 1 == config.epochs:
                metadata["complete"] = True
                metadata["accuracy"] = {
                    split: evaluate(model, *dataset.tensors(split)) for split in ("train", "val", "test")
                }
            checkpoint = Checkpoint(spec, model.state_dict(), metadata, optimizer.state_dict())
            save_checkpoint(output, checkpoint)
    finally:
        bar.close()
    return checkpoint
