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
