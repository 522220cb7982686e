"""Checkpoints: one torch file holding the state dict and JSON metadata.

The file is a plain dict of tensors, strings and numbers, so it loads with
``torch.load(..., weights_only=True)`` (no pickled code runs). The metadata is a
JSON string: the network spec (enough to rebuild the model without the zoo),
the dataset and its split, the training configuration, per-epoch history and
accuracies. A checkpoint is written atomically after every epoch; `complete`
says whether training reached its last epoch.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from firebrick.atomic import atomic_path
from firebrick.errors import CheckpointError, FirebrickError
from firebrick.models.firenet import FireNet
from firebrick.models.spec import NetSpec

CHECKPOINT_FORMAT = "firebrick-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    spec: NetSpec
    state_dict: dict[str, torch.Tensor]
    #: JSON-able: dataset, train config, history, accuracy, epochs_done, complete
    metadata: dict[str, Any] = field(default_factory=dict)
    #: optimizer state for resuming; None once stripped
    optimizer_state: dict[str, Any] | None = None

    def build_model(self) -> FireNet:
        model = FireNet(self.spec)
        model.load_state_dict(self.state_dict)
        return model.eval()


def save_checkpoint(path: str | os.PathLike, checkpoint: Checkpoint) -> None:
    document = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "metadata": json.dumps({"spec": checkpoint.spec.to_dict(), **checkpoint.metadata}, sort_keys=True),
        "state_dict": checkpoint.state_dict,
        "optimizer": checkpoint.optimizer_state if checkpoint.optimizer_state is not None else {},
    }
    with atomic_path(path) as tmp:
        torch.save(document, tmp)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint; every failure is a `CheckpointError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; train one with `firebrick train -o {path}`")
    try:
        document = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        with open(path, "rb") as f:
            plain_pickle = f.read(1) == b"\x80"  # a pickle's PROTO opcode; torch's own files are zip archives
        if plain_pickle:  # loading its objects could run code, which firebrick never does
            raise CheckpointError(f"{path} is not a firebrick checkpoint: it is a plain pickle of Python objects, and "
                                  "firebrick loads only tensors and plain values; train one with `firebrick train`") from exc
        raise CheckpointError(f"{path} is truncated or not a torch checkpoint; train one with `firebrick train`") from exc
    except Exception as exc:  # torch's loaders raise a zoo of types on foreign bytes; all mean the same here
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is truncated or not a torch checkpoint ({first_line})") from exc
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a firebrick checkpoint (no '{CHECKPOINT_FORMAT}' header); train one with `firebrick train`")
    version = document.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {version!r}; this firebrick reads up to {CHECKPOINT_VERSION}, upgrade firebrick")
    try:
        metadata = json.loads(document["metadata"])
        spec = NetSpec.from_dict(metadata.pop("spec"))
        state_dict = document["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError, FirebrickError) as exc:
        raise CheckpointError(f"{path} has malformed metadata: {exc}") from exc
    checkpoint = Checkpoint(spec, state_dict, metadata, document.get("optimizer") or None)
    mismatch = state_dict_mismatch(FireNet(spec).state_dict(), state_dict)
    if mismatch:
        raise CheckpointError(f"{path}: weights do not match its network spec ({mismatch}); the file was edited or "
                              "damaged: train it again")
    return checkpoint


def state_dict_mismatch(wanted: dict[str, torch.Tensor], given: Any) -> str:
    """What differs between the state dict a model needs and one given, in words; "" when they match."""
    if not isinstance(given, dict):
        return f"the weights are a {type(given).__name__}, not a dict of tensors"
    few = lambda keys: ", ".join(sorted(keys)[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")  # noqa: E731
    missing, unexpected = wanted.keys() - given.keys(), given.keys() - wanted.keys()
    shape = lambda v: tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__  # noqa: E731
    reshaped = [f"{k} is {shape(given[k])}, needs {shape(wanted[k])}" for k in sorted(wanted.keys() & given.keys())
                if shape(given[k]) != shape(wanted[k])]
    parts = ([f"missing {few(missing)}"] if missing else []) + ([f"unexpected {few(unexpected)}"] if unexpected else []) + reshaped[:3]
    return "; ".join(parts)
