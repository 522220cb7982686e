"""Pareto fronts against a brute-force definition."""

import random

from firebrick.explore.pareto import dominates, pareto_front


def test_front_of_a_known_set():
    rows = [
        {"accuracy": 0.9, "energy_uj": 10.0},   # front
        {"accuracy": 0.8, "energy_uj": 5.0},    # front
        {"accuracy": 0.8, "energy_uj": 6.0},    # beaten by the one above
        {"accuracy": 0.95, "energy_uj": 20.0},  # front
        {"accuracy": 0.85, "energy_uj": 20.0},  # beaten
        {"accuracy": None, "energy_uj": 1.0},   # unknown accuracy: not ranked
    ]
    assert pareto_front(rows, ["accuracy", "energy_uj"]) == [0, 1, 3]
    assert dominates((1, 1), (1, 2)) and not dominates((1, 1), (1, 1)) and not dominates((0, 2), (1, 1))


def test_front_matches_brute_force_on_random_sets():
    rng = random.Random(0)
    for _ in range(50):
        rows = [{"accuracy": rng.random(), "energy_uj": rng.random(), "latency_us": rng.choice([1.0, 2.0, 3.0])} for _ in range(30)]
        objectives = ["accuracy", "energy_uj", "latency_us"]
        front = pareto_front(rows, objectives)
        for i, r in enumerate(rows):
            beaten = any(
                s["accuracy"] >= r["accuracy"] and s["energy_uj"] <= r["energy_uj"] and s["latency_us"] <= r["latency_us"]
                and (s["accuracy"], s["energy_uj"], s["latency_us"]) != (r["accuracy"], r["energy_uj"], r["latency_us"])
                for s in rows)
            assert (i in front) == (not beaten)


def test_points_that_do_not_fit_their_board_are_not_ranked(tmp_path):
    from firebrick.explore.report import summarize
    from firebrick.explore.runner import run_sweep
    from firebrick.explore.spec import spec_from_dict

    spec = spec_from_dict({"name": "fit", "training": None, "model": {"base": "tiny8", "fixed": {"hardware_ready": True}},
                           "hardware": {"fixed": {"board": "ulx3s"}, "axes": {"rows": [4, 16], "cols": [4, 16]}}}, "test")
    run_sweep(tmp_path, spec, progress=False)
    summary = summarize(tmp_path)
    wide = next(p for p in summary["points"] if p["hardware.rows"] == 16 and p["hardware.cols"] == 16)
    assert not wide["fits"] and not wide["on_front"] and summary["not_fitting"] == 1
    assert wide["latency_us"] == min(p["latency_us"] for p in summary["points"])  # fastest, yet not a design
