"""Sweep specs: the shipped examples load; bad specs name the file, the key and the reason; points expand."""

from pathlib import Path

import pytest

from firebrick import explore
from firebrick.explore.points import expand, point_key, resolve, swept_axes
from firebrick.explore.spec import load_spec, spec_from_dict
from firebrick.schema import ConfigError

EXAMPLES = Path(explore.__file__).parent / "examples"


def test_shipped_examples_load():
    names = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
    assert names == ["analytical_arrays", "joint_array", "pct_3x3", "squeeze_ratio"]
    sr = load_spec(EXAMPLES / "squeeze_ratio.yaml")
    assert sr.model.axes["sr"] == [0.125, 0.25, 0.5, 0.75, 1.0] and sr.training.seeds == [0, 1]
    assert len(expand(sr)) == 10 and swept_axes(sr) == ["model.sr", "training.seed"]
    joint = load_spec(EXAMPLES / "joint_array.yaml")
    assert len(expand(joint)) == 24  # a seeded random draw of 24 from the 54-point grid
    assert expand(joint) == expand(load_spec(EXAMPLES / "joint_array.yaml"))
    analytical = load_spec(EXAMPLES / "analytical_arrays.yaml")
    assert analytical.training is None and "accuracy" not in analytical.objectives


def _spec(**changes):
    base = {"name": "t", "model": {"base": "tiny8", "axes": {"sr": [0.25, 0.5]}}, "training": None,
            "hardware": {"axes": {"rows": [4, 8]}}}
    base.update(changes)
    return base


@pytest.mark.parametrize("changes, key, reason", [
    ({"model": {"base": "tiny9"}}, "model.base", "unknown base 'tiny9'"),
    ({"model": {"base": "tiny8", "axes": {"squeeze": [1]}}}, "model.axes.squeeze", "unknown key"),
    ({"model": {"base": "tiny8", "axes": {"sr": []}}}, "model.axes.sr", "needs at least one value"),
    ({"hardware": {"axes": {"board": ["ulx4s"]}}}, "hardware.board", "unknown board 'ulx4s'"),
    ({"search": {"method": "random"}}, "search.budget", "needs a budget"),
    ({"search": {"method": "bayes"}}, "search.method", "must be one of grid, random"),
    ({"objectives": ["speed"]}, "objectives", "unknown objective 'speed'"),
    ({"training": {"epochs": "many"}}, "training.epochs", "must be an integer"),
    ({"training": {"workers": 0}}, "training.workers", "must be a positive integer"),
    ({"colour": "red"}, "colour", "unknown key"),
])
def test_bad_specs_name_the_file_key_and_reason(changes, key, reason):
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_spec(**changes), "mine.yaml")
    assert info.value.source == "mine.yaml" and info.value.key == key and reason in info.value.reason


def test_points_resolve_over_the_fixed_values_and_keys_are_stable():
    spec = spec_from_dict(_spec(hardware={"fixed": {"board": "arty_a7", "cols": 4}, "axes": {"rows": [4, 8]}}), "x")
    points = expand(spec)
    assert points == [{"model.sr": 0.25, "hardware.rows": 4}, {"model.sr": 0.25, "hardware.rows": 8},
                      {"model.sr": 0.5, "hardware.rows": 4}, {"model.sr": 0.5, "hardware.rows": 8}]
    settings = resolve(spec, points[1])
    assert settings["hardware"] == {"board": "arty_a7", "cols": 4, "rows": 8} and settings["model"] == {"sr": 0.25}
    assert point_key(points[1]) == point_key(dict(reversed(points[1].items())))  # order of keys does not matter
    assert len({point_key(p) for p in points}) == 4


def test_points_of_one_model_are_spread_apart_for_parallel_workers():
    from firebrick.explore.runner import spread_models

    spec = spec_from_dict(_spec(training={"epochs": 1, "seeds": [0]}), "x")  # 2 models x 2 array heights
    order = [p for _, p in spread_models(list(enumerate(expand(spec))))]
    assert [p["model.sr"] for p in order] == [0.25, 0.5, 0.25, 0.5]  # two different trainings start first
    assert sorted(map(point_key, order)) == sorted(map(point_key, expand(spec)))
