"""Pareto fronts: the points no other point beats on every objective at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from firebrick.explore.spec import OBJECTIVES


def _oriented(row: dict[str, Any], objectives: Sequence[str]) -> tuple[float, ...]:
    """Objective values turned so that smaller is better for all."""
    return tuple(-row[o] if OBJECTIVES[o] == "max" else row[o] for o in objectives)


def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_front(results: Sequence[dict[str, Any]], objectives: Sequence[str]) -> list[int]:
    """Indices of the non-dominated results (those with every objective known), in input order."""
    usable = [i for i, r in enumerate(results) if all(r.get(o) is not None for o in objectives)]
    values = {i: _oriented(results[i], objectives) for i in usable}
    return [i for i in usable if not any(dominates(values[j], values[i]) for j in usable if j != i)]
