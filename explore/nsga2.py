"""Multi-objective search with Optuna's NSGA-II: a population at a time, resumable from the store.

Each trial picks one value per axis (categorical); the objectives are the
spec's, maximised or minimised as `OBJECTIVES` says. On resume the study is
rebuilt from the stored points (failed ones as failed trials), so the search
continues where it stopped; a trial that asks for a point already evaluated
reuses its stored figures. The budget counts trials.
"""

from __future__ import annotations

from typing import Any, Callable

from firebrick.errors import FirebrickError
from firebrick.explore.points import axes, point_key
from firebrick.explore.spec import OBJECTIVES, SweepSpec

#: run a batch of (ordinal, point) and store each outcome as `finish` does
RunBatch = Callable[[list[tuple[int, dict[str, Any]]]], None]


def _optuna():
    try:
        import optuna
    except ImportError:
        raise FirebrickError('search method nsga2 needs Optuna: pip install "optuna==5.0.0"') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _values(result: dict[str, Any] | None, objectives: list[str]) -> list[float] | None:
    if result is None or any(result.get(o) is None for o in objectives):
        return None
    return [float(result[o]) for o in objectives]


def run_nsga2(spec: SweepSpec, stored_rows: Callable[[], list[dict[str, Any]]], run_batch: RunBatch) -> None:
    optuna = _optuna()
    space = {name: optuna.distributions.CategoricalDistribution(values) for name, values in axes(spec)}
    study = optuna.create_study(
        directions=["maximize" if OBJECTIVES[o] == "max" else "minimize" for o in spec.objectives],
        sampler=optuna.samplers.NSGAIISampler(population_size=spec.search.population, seed=spec.search.seed))
    by_key: dict[str, dict[str, Any]] = {}
    for row in stored_rows():  # replay what earlier runs found
        by_key[row["key"]] = row
        values = _values(row["result"], spec.objectives)
        study.add_trial(optuna.trial.create_trial(
            params=row["point"], distributions=space, values=values,
            state=optuna.trial.TrialState.COMPLETE if values else optuna.trial.TrialState.FAIL))
    while len(study.trials) < spec.search.budget:
        batch = [study.ask(space) for _ in range(min(spec.search.population, spec.search.budget - len(study.trials)))]
        points = [{name: trial.params[name] for name in space} for trial in batch]
        fresh: dict[str, tuple[int, dict[str, Any]]] = {}
        for point in points:
            key = point_key(point)
            if key not in by_key and key not in fresh:
                fresh[key] = (len(by_key) + len(fresh), point)
        if fresh:
            run_batch(list(fresh.values()))
            by_key = {row["key"]: row for row in stored_rows()}
        for trial, point in zip(batch, points):
            row = by_key.get(point_key(point))
            values = _values(row["result"] if row else None, spec.objectives)
            if values is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, values)
