"""Full frames of the default model on Verilator through cocotb: bit-exact per layer, cycle-exact, watchdog, bad builds."""

import json
import shutil

import pytest

from firebrick.boards.board import load_board
from firebrick.errors import FirebrickError
from firebrick.boards.build import build_accelerator
from firebrick.boards.manifest import BuildDirError, file_digest, read_manifest
from firebrick.cli import main
from firebrick.hw.params import ArrayParams
from firebrick.hw.schedule import predict_activity
from firebrick.quant.fbg import load_graph
from firebrick.quant.pipeline import dataset_for, input_shape, quantize_checkpoint
from firebrick.quant.quantize import QuantConfig
from firebrick.sim.simulate import simulate_build


@pytest.fixture(scope="module")
def default_build(default_checkpoint, tmp_path_factory):
    graph, _ = quantize_checkpoint(default_checkpoint, QuantConfig())
    folder = tmp_path_factory.mktemp("build")
    manifest = build_accelerator(graph, ArrayParams(rows=8, cols=8), folder, board="ulx3s")
    x, y = dataset_for(graph.meta, input_shape(graph)).tensors("test")
    return folder, manifest, x[:3].numpy(), y[:3].numpy()


def test_default_model_frames_are_bit_exact_and_cycle_exact(default_build):
    folder, manifest, images, labels = default_build
    report = simulate_build(folder, images, labels, check_layers=1)
    assert report["bit_exact"], report["first_mismatch"]
    assert len(report["layers_checked"]) == 14 and report["layers_checked"][0] == "conv1"
    assert report["cycles"] == report["predicted_cycles"] == manifest.cycles_per_frame
    assert report["frames"] == 3 and report["counters"]["stall_cycles"] == 0
    graph = load_graph(folder / "model.fbg")
    assert report["counters"] == predict_activity(graph, ArrayParams(rows=8, cols=8))
    assert report["fps"] == pytest.approx(load_board("ulx3s").clock_mhz * 1e6 / report["cycles"])
    assert 0.9 < report["utilization"] <= 1.0


def test_the_simulate_command_runs_the_builds_verilog_on_test_images(default_build, capsys):
    folder, manifest, _, _ = default_build
    assert main(["simulate", str(folder), "--count", "2", "--json"]) == 0  # the Verilator model of the test above is reused
    report = json.loads(capsys.readouterr().out)
    assert report["bit_exact"] and report["frames"] == 2 and report["cycles"] == manifest.cycles_per_frame
    assert report["accuracy"] is not None and report["layers_checked"][0] == "conv1"


def test_watchdog_names_the_step_where_the_design_stopped(default_build, tmp_path):
    folder, _, images, _ = default_build
    # a watchdog shorter than the frame fires mid-frame, as it would on a design that hangs
    with pytest.raises(FirebrickError, match=r"the design hung: no progress for 10,000 cycles in step \d+ \((conv1|fire\d\.\w+)\)"):
        simulate_build(folder, images[:1], check_layers=0, watchdog_cycles=10_000)


def test_incomplete_and_foreign_build_dirs(default_build, tmp_path):
    folder, _, images, _ = default_build
    with pytest.raises(BuildDirError, match="is not a complete build: missing accelerator.v, manifest.json, model.fbg"):
        simulate_build(tmp_path, images[:1])
    for name in ("accelerator.v", "model.fbg"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(BuildDirError, match="manifest version 99"):
        simulate_build(tmp_path, images[:1])


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (.ci/run installs it)")
def test_the_same_verilog_runs_on_icarus(default_build):
    folder, manifest, images, labels = default_build
    report = simulate_build(folder, images[:1], labels[:1], check_layers=0, simulator="icarus")
    assert report["bit_exact"] and report["simulator"] == "icarus"
    assert report["cycles"] == manifest.cycles_per_frame


def test_a_difference_is_reported_by_layer_channel_and_pixel(default_build, tmp_path):
    """The hardware keeps its loaded weights while the golden model's change: the bench must name the layer."""
    import dataclasses

    from firebrick.quant.fbg import save_graph

    folder, _, images, _ = default_build
    copy = tmp_path / "build"
    shutil.copytree(folder, copy)  # the same Verilog: the compiled Verilator model is reused
    graph = load_graph(copy / "model.fbg")
    op = graph.op("fire3.expand3x3")
    weight = op.quant.weight.copy()
    weight[2] += 1
    graph.set_op("fire3.expand3x3", dataclasses.replace(op, quant=dataclasses.replace(op.quant, weight=weight)))
    save_graph(graph, copy / "model.fbg")
    manifest = read_manifest(copy)  # made consistent again on purpose: a build whose hardware computes another graph
    dataclasses.replace(manifest, files={**manifest.files, "model.fbg": file_digest(copy / "model.fbg")}).write(copy)
    report = simulate_build(copy, images[:1], check_layers=1)
    assert not report["bit_exact"]
    mismatch = report["first_mismatch"]
    assert mismatch["layer"] == "fire3.expand3x3" and mismatch["channel"] == 2 and mismatch["count"] > 0


def test_waves_are_written_on_request(small_graph, tmp_path):
    import numpy as np

    build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path, board="icebreaker", bake_weights=True)  # a standalone-bitstream board
    images = np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32)
    report = simulate_build(tmp_path, images, check_layers=1, waves=True)
    assert report["bit_exact"], report["first_mismatch"]
    waves = [p for p in (tmp_path / "sim_verilator").rglob("*") if p.suffix in (".fst", ".vcd")]
    assert waves and waves[0].stat().st_size > 1000, "no waveform file"


def test_one_verilog_for_two_models_the_other_loads_and_runs_bit_exact(small_graph, other_small_graph, medium_graph,
                                                                       tmp_path, capsys, monkeypatch):
    """`build --also-holds` sizes one accelerator for two architectures; `load-file` checks the second against it and
    writes its build folder (the same Verilog, its load file), which runs bit-exact on Verilator on the model
    compiled for the first; a model the accelerator cannot hold is refused with what does not fit."""
    import numpy as np

    monkeypatch.setenv("FIREBRICK_SIM_CACHE", str(tmp_path / "models"))  # empty: the first simulate compiles

    from firebrick.quant.fbg import save_graph

    for name, graph in (("small", small_graph), ("other", other_small_graph), ("medium", medium_graph)):
        save_graph(graph, tmp_path / f"{name}.fbg")
    assert main(["build", str(tmp_path / "small.fbg"), "--rows", "2", "--cols", "2", "--also-holds", str(tmp_path / "other.fbg"),
                 "-o", str(tmp_path / "shared"), "--no-progress", "--json"]) == 0
    shared = json.loads(capsys.readouterr().out)
    assert main(["load-file", str(tmp_path / "shared"), str(tmp_path / "other.fbg"), "-o", str(tmp_path / "other"), "--json"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["model"] == other_small_graph.name and other["envelope"] == shared["envelope"]
    assert (tmp_path / "other" / "accelerator.v").read_bytes() == (tmp_path / "shared" / "accelerator.v").read_bytes()
    assert other["cycles_per_frame"] != shared["cycles_per_frame"]
    image = np.random.default_rng(8).random((1, 1, 8, 8)).astype(np.float32)
    first = simulate_build(tmp_path / "shared", image, check_layers=1)
    assert first["bit_exact"] and not first["model_reused"]
    report = simulate_build(tmp_path / "other", image, check_layers=1)
    assert report["bit_exact"], report["first_mismatch"]
    assert report["cycles"] == other["cycles_per_frame"] and report["load"]["loaded"]
    assert report["model_reused"] and report["build_seconds"] < 1  # one compiled model for both folders
    assert len([p for p in (tmp_path / "models").iterdir() if p.is_dir()]) == 1
    assert main(["load-file", str(tmp_path / "shared"), str(tmp_path / "medium.fbg"), "-o", str(tmp_path / "m")]) == 1
    assert "does not fit the accelerator of" in capsys.readouterr().err
