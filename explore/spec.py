"""The sweep spec: which models, quantizations and hardware to try, and how to search them.

A YAML file, validated into `SweepSpec` (errors name the file, the key and the
reason). Each section has `fixed` values and `axes` (lists of values to
sweep); a design point is one value per axis. Model keys are SqueezeNet
metaparameters (`firebrick.models.design_space.SqueezeNetMeta`), quantization
keys are `QuantConfig` fields, hardware keys are the array's and the board.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firebrick.models.design_space import SqueezeNetMeta
from firebrick.schema import ConfigError, from_mapping, read_yaml_mapping

#: the metaparameters a sweep may set (the stem, input channels, classes and downsampling come from the base)
MODEL_KEYS = tuple(f.name for f in dataclasses.fields(SqueezeNetMeta)
                   if f.name not in ("stem", "input_channels", "num_classes", "downsample_before"))
QUANT_KEYS = ("weight_bits", "activation_bits", "codebook_bits", "prune", "finetune_epochs")
HARDWARE_KEYS = ("board", "rows", "cols", "acc_bits", "clock_mhz")
METHODS = ("grid", "random", "nsga2")
SPEC_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
OBJECTIVES = {"accuracy": "max", "energy_uj": "min", "latency_us": "min", "onchip_kib": "min", "params": "min",
              "macs": "min", "dsps": "min", "fps": "max"}


def _check_section(keys: tuple[str, ...], fixed: dict[str, Any], axes: dict[str, list[Any]], where: str) -> None:
    for kind, mapping in (("fixed", fixed), ("axes", axes)):
        for key in mapping:
            if key not in keys:
                raise ConfigError("", f"{where}.{kind}.{key}", f"unknown key; known keys: {', '.join(keys)}")
    for key, values in axes.items():
        if not values:
            raise ConfigError("", f"{where}.axes.{key}", "needs at least one value")
        if key in fixed:
            raise ConfigError("", f"{where}.axes.{key}", "is also in fixed; keep it in one place")


@dataclass(frozen=True)
class ModelSection:
    #: the metaparameters the points start from: tiny8, tiny28, tiny32, squeezenet1_0, squeezenet1_1
    base: str
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from firebrick.models.zoo import BASE_METAS

        if self.base not in BASE_METAS:
            raise ConfigError("", "model.base", f"unknown base {self.base!r}; known: {', '.join(BASE_METAS)}")
        _check_section(MODEL_KEYS, self.fixed, self.axes, "model")


@dataclass(frozen=True)
class TrainingSection:
    epochs: int = 40
    lr: float = 0.1
    #: per worker; the global batch is batch_size x workers
    batch_size: int = 64
    seeds: list[int] = field(default_factory=lambda: [0])
    #: data-parallel training processes per point (the local runner's --workers points each start this many;
    #: on Ray a point's task reserves this many CPUs on one node)
    workers: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.lr <= 0 or self.batch_size < 1 or not self.seeds:
            raise ValueError("training needs epochs >= 1, lr > 0, batch_size >= 1 and at least one seed")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigError("", "training.workers", f"must be a positive integer, not {self.workers!r}")


@dataclass(frozen=True)
class QuantSection:
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_section(QUANT_KEYS, self.fixed, self.axes, "quantization")


@dataclass(frozen=True)
class HardwareSection:
    fixed: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_section(HARDWARE_KEYS, self.fixed, self.axes, "hardware")
        from firebrick.boards.board import DEFAULT_BOARD, load_board

        for board in [self.fixed.get("board", DEFAULT_BOARD), *self.axes.get("board", [])]:
            try:
                load_board(board)
            except Exception as exc:  # noqa: BLE001 - the board loader's own message says what is wrong
                raise ConfigError("", "hardware.board", str(exc)) from None


@dataclass(frozen=True)
class SearchSection:
    #: grid: every combination; random: `budget` of them drawn without repeats; nsga2: Optuna's
    #: multi-objective genetic search over the axes' values for `budget` trials, `population` at a time
    method: str = "grid"
    budget: int | None = None
    population: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError("", "search.method", f"must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.method in ("random", "nsga2") and (self.budget is None or self.budget < 1):
            raise ConfigError("", "search.budget", f"{self.method} search needs a budget of at least 1 point")
        if self.population < 2:
            raise ConfigError("", "search.population", f"must be at least 2, not {self.population}")


@dataclass(frozen=True)
class SweepSpec:
    name: str
    model: ModelSection
    hardware: HardwareSection = field(default_factory=HardwareSection)
    dataset: str = "digits"
    #: null: no training, points get cycles, energy and resources only (random weights)
    training: TrainingSection | None = field(default_factory=TrainingSection)
    quantization: QuantSection = field(default_factory=QuantSection)
    search: SearchSection = field(default_factory=SearchSection)
    #: what the Pareto front trades off (each maximised or minimised as OBJECTIVES says)
    objectives: list[str] = field(default_factory=lambda: ["accuracy", "energy_uj", "latency_us", "onchip_kib"])

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and SPEC_NAME.fullmatch(self.name)):
            # the name becomes a folder under firebrick-out/sweeps/: a plain name cannot point outside it
            raise ConfigError("", "name", f"must be a plain name (letters, digits, '_', '-', '.'; no '/', not starting "
                                          f"with '.'), not {self.name!r}")
        for name in self.objectives:
            if name not in OBJECTIVES:
                raise ConfigError("", "objectives", f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")
        if self.training is None and "accuracy" in self.objectives:
            object.__setattr__(self, "objectives", [o for o in self.objectives if o != "accuracy"])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def spec_from_dict(data: dict[str, Any], source: str) -> SweepSpec:
    return from_mapping(SweepSpec, data, source)


def load_spec(path: str | Path) -> SweepSpec:
    return spec_from_dict(read_yaml_mapping(Path(path)), str(path))
