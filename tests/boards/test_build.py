"""`firebrick build`: Verilog and manifest from a graph file; refusals with numbers; the wide-array warning."""

import json
import re

import pytest

from firebrick.boards.board import load_board
from firebrick.cli import main
from firebrick.errors import UnknownNameError
from firebrick.boards.build import build_accelerator
from firebrick.boards.manifest import load_build
from firebrick.hw.params import ArrayParams, HardwareParamError
from firebrick.models.checkpoint import load_checkpoint
from firebrick.models.datasets import load_dataset
from firebrick.quant.calibrate import calibrate
from firebrick.quant.fbg import save_graph
from firebrick.quant.lower_torch import lower_torch
from firebrick.quant.passes import canonicalize
from firebrick.quant.quantize import QuantConfig, quantize_graph


@pytest.fixture(scope="module")
def graph(tiny_checkpoint):
    data = load_dataset("digits", channels=1, size=8)
    g = canonicalize(lower_torch(load_checkpoint(tiny_checkpoint).build_model(), (1, 8, 8)))
    return quantize_graph(g, calibrate(g, data.tensors("train")[0][:64]), QuantConfig())


def test_build_writes_verilog_and_a_manifest(graph, tmp_path):
    manifest = build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path, board="ulx3s")
    verilog = (tmp_path / "accelerator.v").read_text()
    assert "module accelerator(" in verilog and "endmodule" in verilog
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == json.loads(json.dumps(manifest.to_dict()))
    assert load_build(tmp_path).manifest == manifest  # the typed manifest reads back what it wrote
    names = [m["name"] for m in on_disk["memories"]]
    assert names == ["program", "activations", "weights", "biases", "scores"]  # the layer program is a memory the load fills
    assert on_disk["sram_bits"] == sum(m["bits"] for m in on_disk["memories"])
    assert on_disk["cycles_per_frame"] == sum(layer["cycles"] for layer in on_disk["layers"])
    assert on_disk["frames_per_second"] == pytest.approx(load_board("ulx3s").clock_mhz * 1e6 / on_disk["cycles_per_frame"])
    assert [layer["node"] for layer in on_disk["layers"]][:2] == ["input", "conv1"]
    assert on_disk["io"]["image"] == {"lanes": 4, "lane_bits": 9, "shape": [1, 8, 8], "format": "u8.8"}
    assert on_disk["board_file"] == "firebrick/boards/ulx3s.yaml"  # the package's file, not this machine's path
    assert str(manifest.board_path(tmp_path)) == load_board("ulx3s").source


def test_a_user_board_file_is_named_relative_to_the_build_folder_which_can_move(graph, tmp_path):
    import shutil

    (tmp_path / "a" / "my_boards").mkdir(parents=True)
    (tmp_path / "a" / "my_boards" / "my_ecp5.yaml").write_text("extends: ulx3s\nclock_mhz: 40\n")
    manifest = build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path / "a" / "out" / "build",
                                 board=str(tmp_path / "a" / "my_boards" / "my_ecp5.yaml"), bake_weights=True)
    assert manifest.board_file == "../../my_boards/my_ecp5.yaml"
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the project folder moved (or cloned) elsewhere
    moved = tmp_path / "b" / "out" / "build"
    assert load_build(moved).manifest.board_path(moved) == tmp_path / "b" / "my_boards" / "my_ecp5.yaml"


def test_a_run_time_build_carries_no_memory_contents_and_a_load_file_a_baked_one_the_reverse(graph, tmp_path):
    from firebrick.hw.compiler import compile_graph
    from firebrick.hw.load_format import load_stream, read_load_file

    loaded = build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path / "loaded", board="ulx3s")
    baked = build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path / "baked", board="ulx3s", bake_weights=True)
    assert (loaded.loading, loaded.load_file) == ("run-time", "weights.fbl") and "weights.fbl" in loaded.files
    assert (baked.loading, baked.load_file, baked.envelope) == ("baked", None, None)
    assert not (tmp_path / "baked" / "weights.fbl").exists()
    assert [m.name for m in baked.memories] == ["activations", "weights", "biases", "scores"]
    text = (tmp_path / "loaded" / "accelerator.v").read_text()
    blocks = re.findall(r"initial begin\n(.*?)\n\s*end\n", text, re.S)
    initial_words = [v for block in blocks for v in re.findall(r"\] = \d+'h([0-9a-f]+);", block)]
    # no memory contents: the only initialisers left are the zero fills of the write-back's small record FIFOs
    assert "load__payload" in text and initial_words and not any(int(v, 16) for v in initial_words)
    assert len(initial_words) < 100
    assert "load__payload" not in (tmp_path / "baked" / "accelerator.v").read_text()
    assert baked.verilog.bytes > loaded.verilog.bytes
    load = read_load_file(tmp_path / "loaded" / "weights.fbl", loaded.envelope)
    assert load.header["model"] == graph.name and load.header["words"] == len(load.words)
    program = compile_graph(graph, ArrayParams(rows=4, cols=4))
    assert (load.words == load_stream(program, loaded.envelope)).all()
    # the same Verilog again is left untouched, so that the simulators' compiled models of it stay current
    stamp = (tmp_path / "loaded" / "accelerator.v").stat().st_mtime_ns
    again = build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path / "loaded", board="ulx3s")
    assert (tmp_path / "loaded" / "accelerator.v").stat().st_mtime_ns == stamp and again.files == loaded.files


def test_sram_cap_and_unknown_board_are_refused_with_numbers(graph, tmp_path):
    with pytest.raises(HardwareParamError, match=r"activation SRAM too small: the largest set of live tensors needs [\d,]+ words .* allows 100"):
        build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path, act_sram_words=100)
    with pytest.raises(UnknownNameError, match="unknown board 'ulx4s': did you mean 'ulx3s'"):
        build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path, board="ulx4s")
    assert not (tmp_path / "accelerator.v").exists()


def test_an_array_wider_than_every_layer_warns_with_the_utilisation(graph, tmp_path):
    manifest = build_accelerator(graph, ArrayParams(rows=64, cols=4), tmp_path, board="asic45")  # no LUT budget
    assert manifest.notes and "wider than every layer" in manifest.notes[0] and "utilisation will be" in manifest.notes[0]


def test_build_command(graph, tmp_path, capsys):
    path = tmp_path / "m.fbg"
    save_graph(graph, path)
    assert main(["build", str(path), "--rows", "4", "--cols", "4", "-o", str(tmp_path / "out"), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["params"]["rows"] == 4 and (tmp_path / "out" / "accelerator.v").is_file()
    assert main(["build", str(path), "--cols", "6", "-o", str(tmp_path / "bad")]) == 1
    assert "array cols must be a power of two" in capsys.readouterr().err


KILLED_BUILD = """
import os, signal, sys
import firebrick.boards.build as build
from firebrick.quant.fbg import load_graph, save_graph
from firebrick.hw.params import ArrayParams

def save_then_die(graph, path):
    save_graph(graph, path)
    os.kill(os.getpid(), signal.SIGKILL)  # killed after the new Verilog and graph, before the manifest

build.save_graph = save_then_die
build.build_accelerator(load_graph(sys.argv[1]), ArrayParams(rows=2, cols=2), sys.argv[2], board="ulx3s")
"""


def test_a_build_killed_before_its_manifest_is_refused_by_simulate(graph, tmp_path, capsys):
    import signal
    import subprocess
    import sys

    save_graph(graph, tmp_path / "m.fbg")
    out = tmp_path / "build"
    build_accelerator(graph, ArrayParams(rows=4, cols=4), out, board="ulx3s")  # a complete older build
    killed = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(tmp_path / "m.fbg"), str(out)])
    assert killed.returncode == -signal.SIGKILL
    assert (out / "accelerator.v").is_file() and (out / "model.fbg").is_file()  # the new files, without their manifest
    assert main(["simulate", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a complete build: missing manifest.json" in err
    build_accelerator(graph, ArrayParams(rows=4, cols=4), out, board="ulx3s")
    assert load_build(out).manifest.params.rows == 4  # building again mends it


def test_a_board_file_may_name_only_amaranth_boards_platforms(tmp_path):
    from firebrick.schema import ConfigError

    for platform in ("os:system", "amaranth_boards.nosuchboard:X", "amaranth_boards.ulx3s:not an identifier",
                     "subprocess:run"):
        (tmp_path / "mine.yaml").write_text(f"extends: ulx3s\ntoolchain: {{platform: '{platform}'}}\n")
        with pytest.raises(ConfigError, match="toolchain.platform: platform must name an amaranth-boards platform"):
            load_board(tmp_path / "mine.yaml")
    (tmp_path / "mine.yaml").write_text("extends: ulx3s\ntoolchain: {platform: 'amaranth_boards.ulx3s:Attrs'}\n")
    from firebrick.boards.place_route import platform_for
    from firebrick.boards.tools import ToolError

    with pytest.raises(ToolError, match="is not an amaranth-boards platform class"):
        platform_for(load_board(tmp_path / "mine.yaml"))
    assert type(platform_for(load_board("ulx3s"))).__name__ == "ULX3S_85F_Platform"


def test_an_assumed_clock_is_said_in_the_manifests_notes(graph, tmp_path):
    manifest = build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path, board="zc706")
    assert any("at 150 MHz, an assumption of the zc706 board file that no place-and-route has timed" in n for n in manifest.notes)
    measured = build_accelerator(graph, ArrayParams(rows=4, cols=4), tmp_path / "ulx3s", board="ulx3s")
    assert not any("assumption" in n for n in measured.notes)  # the ULX3S's clock was met in place-and-route


def test_no_other_model_loads_into_a_baked_build(graph, tmp_path):
    from firebrick.boards.build import load_into_build
    from firebrick.boards.manifest import BuildDirError

    build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path / "baked", board="ulx3s", bake_weights=True)
    with pytest.raises(BuildDirError, match="holds a baked design .* build it without --bake-weights"):
        load_into_build(graph, tmp_path / "baked", tmp_path / "other")
    with pytest.raises(HardwareParamError, match="a baked design holds its own model only"):
        build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path / "b2", board="ulx3s", bake_weights=True,
                          also_holds=(graph,))


def test_an_axi_build_has_the_axi_top_and_its_register_map_and_no_baked_form(graph, tmp_path, capsys):
    from firebrick.boards.manifest import BuildDirError
    from firebrick.hw.axi_accelerator import register_map_json

    axi = build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path, board="ulx3s", interface="axi")
    assert axi.interface == "axi" and axi.register_map == ("registers.json", "registers.h")
    assert json.loads((tmp_path / "registers.json").read_text()) == register_map_json(axi.envelope)
    top_ports = re.search(r"module accelerator\((.*?)\);", (tmp_path / "accelerator.v").read_text(), re.S).group(1)
    assert "s_axis_load_tdata" in top_ports and "m_axis_scores_tlast" in top_ports and "debug_address" not in top_ports
    assert load_build(tmp_path).manifest.interface == "axi"
    (tmp_path / "registers.h").write_text("/* edited */")
    with pytest.raises(BuildDirError, match="registers.h is not the file its manifest was written with"):
        load_build(tmp_path)
    # the same folder rebuilt with the native ports: no register map left behind
    native = build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path, board="ulx3s")
    assert native.interface == "native" and native.register_map == ()
    assert not (tmp_path / "registers.json").exists() and not (tmp_path / "registers.h").exists()
    with pytest.raises(HardwareParamError, match="the AXI accelerator is loaded at run time"):
        build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path / "b", board="ulx3s", interface="axi", bake_weights=True)
    save_graph(graph, tmp_path / "m.fbg")
    assert main(["build", str(tmp_path / "m.fbg"), "--interface", "axi", "--bake-weights", "-o", str(tmp_path / "c")]) == 1
    assert "it has no baked form" in capsys.readouterr().err
