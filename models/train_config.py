"""How to train: the settings, the data-parallel batch rule and the learning-rate schedule (no torch needed)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from firebrick.errors import SpecError

#: the torch.distributed backend of data-parallel training (CPU)
BACKEND = "gloo"


@dataclass(frozen=True)
class TrainConfig:
    """How to train; part of a checkpoint's identity (resuming needs the same config)."""

    #: passes over the training split
    epochs: int = 40
    #: images per step on each worker; the global batch is batch_size x workers
    batch_size: int = 64
    #: peak learning rate of the cosine schedule for one worker; N workers peak at N x lr
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    #: random shifts of up to this many pixels (zero fill) for training images; 0 disables
    max_shift: int = 2
    #: seeds init, shuffling, dropout and augmentation
    seed: int = 0
    #: data-parallel worker processes (torch.distributed, gloo), each on its own shard of every global batch
    workers: int = 1
    #: epochs over which the rate rises linearly from lr to workers x lr; None: 0 for one worker, else 5 % of the
    #: epochs (at least 1, unless there is only one)
    warmup_epochs: int | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(f"{name} must be a positive integer, not {value!r}")
        if not self.lr > 0:
            raise SpecError(f"lr must be positive, not {self.lr!r}")
        if self.max_shift < 0:
            raise SpecError(f"max_shift must be >= 0, not {self.max_shift!r}")
        if self.warmup_epochs is None:
            object.__setattr__(self, "warmup_epochs", 0 if self.workers == 1 else min(self.epochs - 1, max(1, round(0.05 * self.epochs))))
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int) or not 0 <= self.warmup_epochs < self.epochs:
            raise SpecError(f"warmup_epochs must be an integer from 0 to epochs - 1 ({self.epochs - 1}), not {self.warmup_epochs!r}")

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.workers

    @property
    def peak_lr(self) -> float:
        """The linear scaling rule: the rate grows with the global batch, i.e. with the workers."""
        return self.lr * self.workers

    def learning_rate(self, step: int, steps_per_epoch: int) -> float:
        """The rate at a global step: linear warm-up from lr to peak_lr, then cosine from peak_lr to 0."""
        warmup = self.warmup_epochs * steps_per_epoch
        if step < warmup:
            return self.lr + (self.peak_lr - self.lr) * step / warmup
        return self.peak_lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (self.epochs * steps_per_epoch - warmup)))

    def identity(self) -> dict[str, Any]:
        """The fields that decide the weights; one-worker defaults are left out, so older checkpoints still match."""
        fields = dataclasses.asdict(self)
        if self.workers == 1 and self.warmup_epochs == 0:
            del fields["workers"], fields["warmup_epochs"]
        return fields

    def parallel_record(self) -> dict[str, Any]:
        """What the checkpoint records of the batch rule."""
        return {"workers": self.workers, "backend": BACKEND, "per_worker_batch": self.batch_size,
                "global_batch": self.global_batch, "base_lr": self.lr, "peak_lr": self.peak_lr,
                "warmup_epochs": self.warmup_epochs,
                "rule": "global batch = per-worker batch x workers; peak rate = lr x workers (linear in the global batch), "
                        "reached by a linear warm-up from lr, then cosine to 0"}
