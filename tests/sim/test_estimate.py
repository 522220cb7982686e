"""The analytical what-if: the figures a build and a sweep would give, in seconds, labelled as such; fit shortfalls named."""

import json

import pytest

from firebrick.boards.board import load_board
from firebrick.boards.build import build_accelerator
from firebrick.cli import main
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import predict_activity
from firebrick.quant.fbg import save_graph
from firebrick.sim.estimate import BASIS, estimate_design


def test_the_estimate_of_a_graph_is_its_builds_schedule_and_fit(small_graph, tmp_path):
    params = ArrayParams(rows=4, cols=4)
    manifest = build_accelerator(small_graph, params, tmp_path, board="ulx3s")
    figures = estimate_design(small_graph, params, load_board("ulx3s"))
    assert figures["cycles"] == manifest.cycles_per_frame == predict_activity(small_graph, params)["cycles"]
    assert figures["fps"] == pytest.approx(manifest.frames_per_second)
    assert figures["layers"] == [layer.to_dict(params) for layer in manifest.layers]
    assert figures["fit_estimate"] == manifest.fit_estimate.to_dict() and figures["fits"]
    assert figures["memories"] == [m.to_dict() for m in manifest.memories]
    assert figures["energy_uj"] > figures["energy_breakdown_uj"]["static"] > 0 and figures["basis"] == BASIS
    # the activation plan of the build, and its peak live set among the live words per node
    live = figures["activation_live"]
    activations = next(m for m in manifest.memories if m.name == "activations")
    assert (live["banks"], live["bank_depth"]) == (activations.banks, activations.depth)
    assert live["peak_words"] == max(live["per_node"].values()) <= live["planned_words"]
    assert live["per_node"][live["peak_at"]] == live["peak_words"] and live["peak_tensors"]


def test_estimate_command_prices_a_zoo_network_and_names_what_does_not_fit(small_graph, tmp_path, capsys):
    save_graph(small_graph, tmp_path / "small.fbg")
    assert main(["estimate", str(tmp_path / "small.fbg"), "--rows", "4", "--cols", "4", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["weights"] == "graph file" and document["cycles"] == predict_activity(small_graph, ArrayParams(rows=4, cols=4))["cycles"]
    # a dissertation-sized network on a board it does not fit: figures anyway, and the shortfall in numbers
    assert main(["estimate", "squeezenet1_1_hw", "--board", "zc706", "--rows", "16", "--cols", "16", "--clock", "100"]) == 0
    text = capsys.readouterr().out
    assert "at 100 MHz (clock: given on the command line, not timed)" in text
    assert "DOES NOT FIT: block RAM: needs 643 blocks, zc706 has 545" in text and "every figure: analytical" in text
    assert main(["estimate", "squeezenet1_1", "--board", "zc706"]) == 1  # max-pools: no hardware for them
    assert capsys.readouterr().err.count("\n") == 1
