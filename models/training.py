"""Seeded, resumable training of a `NetSpec` on a `Dataset`.

SGD with Nesterov momentum and a per-step cosine learning rate. Everything
random (init, shuffling, dropout, augmentation) is drawn from generators seeded
by (seed, epoch), so training N epochs in one go or in several resumed runs
gives the same weights bit for bit. A checkpoint is written atomically after
every epoch; an interrupted run continues from the last one.

Data parallel (FireCaffe's scheme on torch.distributed): `workers` processes
each take a shard of every global batch of `workers x batch_size` images, DDP
averages their gradients, and the rate is scaled linearly with the global
batch after a linear warm-up. The workers together see the same batches in the
same order as one worker at the global batch; batch-norm statistics are each
worker's own (rank 0's running averages are kept).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm import tqdm

import firebrick
from firebrick.errors import CheckpointError, SpecError, TrainingError
from firebrick.progress import Ticker, format_seconds, note
from firebrick.models.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from firebrick.models.datasets import Dataset
from firebrick.models.distributed import Group, WorkerDied, current_group, from_leader, run_workers, sum_over_workers
from firebrick.models.firenet import FireNet
from firebrick.models.spec import NetSpec
from firebrick.models.train_config import TrainConfig


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


def _worker_seed(seed: int, epoch: int, rank: int) -> int:
    """Augmentation and dropout seed of one worker: distinct per rank, so shards are not shifted alike."""
    return _epoch_seed(seed, epoch) * 1_009 + rank


def _epoch_shard(count: int, config: TrainConfig, epoch: int, group: Group) -> tuple[torch.Tensor, torch.Generator]:
    """This worker's training indices for an epoch, in order, and its augmentation generator.

    Every epoch has one seeded global order. DistributedSampler deals it out
    round-robin, so step s of the W workers together covers the same images as
    step s of one worker at batch W x batch_size.
    """
    generator = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
    if not group.distributed:
        return torch.randperm(count, generator=generator), generator
    sampler = DistributedSampler(range(count), num_replicas=group.size, rank=group.rank, shuffle=True,
                                 seed=_epoch_seed(config.seed, 0), drop_last=False)  # pads by repeating the first images
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler)), generator.manual_seed(_worker_seed(config.seed, epoch, group.rank))


def _identity(spec: NetSpec, dataset: Dataset, config: TrainConfig) -> dict[str, Any]:
    return {"spec": spec.to_dict(), "dataset": dataset.fingerprint(), "config": config.identity()}


def _check_resumable(path: Path, checkpoint: Checkpoint, spec: NetSpec, dataset: Dataset, config: TrainConfig) -> None:
    stored = checkpoint.metadata.get("identity", {})
    wanted = _identity(spec, dataset, config)
    stored = {**stored, "spec": checkpoint.spec.to_dict()}
    for key, what in (("spec", "model"), ("dataset", "dataset or split"), ("config", "training settings")):
        if stored.get(key) != wanted[key]:
            raise CheckpointError(
                f"{path} holds a run with another {what}; choose another output file or pass --overwrite to start afresh"
            )


def _check_shapes(spec: NetSpec, dataset: Dataset) -> None:
    if dataset.image_shape != (spec.input_channels, spec.input_size, spec.input_size):
        raise SpecError(f"dataset images are {dataset.image_shape}, the model takes {(spec.input_channels, spec.input_size, spec.input_size)}")
    if dataset.num_classes > spec.num_classes:
        raise SpecError(f"{dataset.name} has {dataset.num_classes} classes but {spec.name} has only {spec.num_classes} outputs")


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
    """Train (or resume training) and return the final checkpoint, also saved at `output`.

    With `config.workers` > 1 this starts the workers (each with `threads` torch
    threads) and waits for them, unless this process already is one worker of a
    group (torchrun): then it trains its shard, and only rank 0 writes `output`.
    """
    output = Path(output)
    _check_shapes(spec, dataset)
    group = current_group()
    if group.distributed or config.workers == 1:
        if group.size != config.workers:
            raise SpecError(f"the training settings ask for {config.workers} workers, but this process is one of {group.size}")
        return _train_worker(spec, dataset, config, output, overwrite, progress, threads)
    if output.exists() and not overwrite:  # a user error is found once, here, not in every worker
        previous = load_checkpoint(output)
        _check_resumable(output, previous, spec, dataset, config)
        if previous.metadata["complete"]:
            return previous  # nothing left to train: no workers to start
    try:
        run_workers(config.workers, _train_worker, (spec, dataset, config, output, overwrite, progress, threads))
    except WorkerDied as exc:
        kept = load_checkpoint(output).metadata["epochs_done"] if output.exists() else 0
        where = f"{output} keeps the model after epoch {kept}" if kept else "no epoch had finished"
        raise TrainingError(f"training worker rank {exc.rank} {exc.reason}; {where}; run the same command again "
                            f"(without --overwrite) to resume") from None
    return load_checkpoint(output)


def _train_worker(spec: NetSpec, dataset: Dataset, config: TrainConfig, output: Path, overwrite: bool,
                  progress: bool | None, threads: int) -> Checkpoint:
    """One worker's training loop (the only one, for one worker); rank 0 evaluates and writes checkpoints."""
    group = current_group()
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
        "parallel": config.parallel_record(),
        "history": [],
        "epochs_done": 0,
        "complete": False,
        "train_seconds": 0.0,
    }
    previous = None
    if group.leader and output.exists() and not overwrite:
        previous = load_checkpoint(output)
        _check_resumable(output, previous, spec, dataset, config)
        previous = (previous.state_dict, previous.optimizer_state, previous.metadata)
    previous = from_leader(previous, group)  # other machines need not see the file
    if previous is not None:
        state_dict, optimizer_state, metadata = previous
        model.load_state_dict(state_dict)
        if optimizer_state:
            optimizer.load_state_dict(optimizer_state)
    checkpoint = Checkpoint(spec, model.state_dict(), metadata, optimizer.state_dict())
    if metadata["complete"]:
        return checkpoint

    # DDP averages the gradients of the workers' equal shards: the gradient of the global batch. Batch-norm
    # buffers stay each worker's own (syncing them costs 16-23 % more per step, benchmarks/parallel_training.py
    # --steps); rank 0's evolve as under DDP's default, which overwrites the others' with rank 0's.
    forward = DistributedDataParallel(model, forward_sync_buffers=False) if group.distributed else model
    train_x, train_y = dataset.tensors("train")
    val_x, val_y = dataset.tensors("val")
    steps_per_epoch = math.ceil(math.ceil(len(train_x) / group.size) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    start_epoch = metadata["epochs_done"]
    what = f"train {spec.name}" + (f" ({group.size} workers)" if group.distributed else "")
    bar = tqdm(
        total=total_steps, initial=start_epoch * steps_per_epoch, desc=what, unit="step",
        disable=True if not group.leader else (not progress) if progress is not None else None,
        leave=False, dynamic_ncols=True,
    )
    # no bar (not a terminal): a percent / ETA line every few seconds instead, and one per epoch
    ticker = Ticker(what, total_steps, "steps", done=start_epoch * steps_per_epoch,
                    active=group.leader and bar.disable and progress is not False)
    model.train()
    try:
        for epoch in range(start_epoch, config.epochs):
            began = time.perf_counter()
            shard, generator = _epoch_shard(len(train_x), config, epoch, group)
            torch.manual_seed(_worker_seed(config.seed, epoch, group.rank) if group.distributed
                              else _epoch_seed(config.seed, epoch))  # dropout
            loss_sum = 0.0
            correct = 0
            for step in range(steps_per_epoch):
                index = shard[step * config.batch_size : (step + 1) * config.batch_size]
                x = random_shift(train_x[index], config.max_shift, generator)
                y = train_y[index]
                for param_group in optimizer.param_groups:
                    param_group["lr"] = config.learning_rate(epoch * steps_per_epoch + step, steps_per_epoch)
                logits = forward(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss_sum += loss.item() * len(index)
                correct += int((logits.argmax(1) == y).sum())
                bar.update(1)
                ticker.advance()
            loss_sum, correct, seen = sum_over_workers([loss_sum, correct, len(shard)], group)
            if not group.leader:
                metadata["epochs_done"] = epoch + 1
                continue
            val_acc = evaluate(model, val_x, val_y)
            entry = {
                "epoch": epoch + 1,
                "loss": loss_sum / seen,
                "train_accuracy": correct / seen,
                "val_accuracy": val_acc,
            }
            bar.set_postfix(epoch=epoch + 1, loss=f"{entry['loss']:.3f}", val=f"{val_acc:.3f}")
            if bar.disable:  # no bar (not a terminal): a line per epoch instead
                note(f"train {spec.name}: epoch {epoch + 1}/{config.epochs}, loss {entry['loss']:.3f}, val accuracy "
                              f"{val_acc:.1%}, {format_seconds(time.perf_counter() - began)}")
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
