"""Design points of a sweep: one value per axis, with a content key that names the point across runs."""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from typing import Any

from firebrick.boards.board import DEFAULT_BOARD
from firebrick.explore.spec import SweepSpec


def axes(spec: SweepSpec) -> list[tuple[str, list[Any]]]:
    """(axis name, values) for every axis of the sweep, seeds included."""
    axes = [(f"model.{k}", v) for k, v in spec.model.axes.items()]
    axes += [(f"quantization.{k}", v) for k, v in spec.quantization.axes.items()]
    axes += [(f"hardware.{k}", v) for k, v in spec.hardware.axes.items()]
    if spec.training is not None:
        axes.append(("training.seed", list(spec.training.seeds)))
    return axes


def swept_axes(spec: SweepSpec) -> list[str]:
    """The axes with more than one value: what the report plots against."""
    return [name for name, values in axes(spec) if len(values) > 1]


def point_key(point: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:16]


def expand(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every point a grid or random search visits, in a fixed order (grid order, or a seeded random draw)."""
    swept = axes(spec)
    names = [name for name, _ in swept]
    combos = list(itertools.product(*(values for _, values in swept))) if swept else [()]
    if spec.search.method == "random":
        rng = random.Random(spec.search.seed)
        combos = rng.sample(combos, min(spec.search.budget, len(combos)))
    return [dict(zip(names, combo)) for combo in combos]


def resolve(spec: SweepSpec, point: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A point's full settings per section: the fixed values with the point's axis values laid over them."""
    out: dict[str, dict[str, Any]] = {
        "model": dict(spec.model.fixed), "quantization": dict(spec.quantization.fixed), "hardware": dict(spec.hardware.fixed),
        "training": {} if spec.training is None else {
            "epochs": spec.training.epochs, "lr": spec.training.lr, "batch_size": spec.training.batch_size,
            "workers": spec.training.workers},
    }
    for name, value in point.items():
        section, key = name.split(".", 1)
        out[section][key] = value
    out["hardware"].setdefault("board", DEFAULT_BOARD)
    return out
