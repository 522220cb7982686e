"""The accelerator behind AXI4-Stream and AXI4-Lite on Verilator, driven by cocotbext-axi's AxiStreamSource/Sink
(random pauses on every stream) and AxiLiteMaster: `build --interface axi`, `simulate` of that build, and one
accelerator loaded with two models one after the other, a frame offered during a load, a corrupted load."""

import json

import numpy as np

from firebrick.cli import main
from firebrick.hw.axi_accelerator import ID, INTERFACE_VERSION, register_map_header, register_map_json, registers
from firebrick.hw.compiler import compile_graph
from firebrick.hw.load_format import program_envelope, read_load_file
from firebrick.hw.loader import LoadError
from firebrick.hw.params import ArrayParams
from firebrick.quant.executor import run_int
from firebrick.quant.fbg import save_graph
from firebrick.sim.axi_frame import AxiSession, run_axi

LOADED, BUSY, DONE = 1, 2, 4


def _images(graph, count: int, seed: int) -> np.ndarray:
    fmt, shape = graph.op(graph.input).fmt, graph.op(graph.input).shape
    return np.random.default_rng(seed).integers(max(fmt.min_int, 0), fmt.max_int + 1, size=(count, *shape))


def test_an_axi_build_simulates_and_runs_two_models_one_after_the_other(small_graph, other_small_graph, tmp_path, capsys):
    save_graph(small_graph, tmp_path / "small.fbg")
    save_graph(other_small_graph, tmp_path / "other.fbg")
    shared, other = tmp_path / "shared", tmp_path / "other"
    assert main(["build", str(tmp_path / "small.fbg"), "--rows", "2", "--cols", "2", "--interface", "axi", "--also-holds",
                 str(tmp_path / "other.fbg"), "-o", str(shared), "--no-progress", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["interface"] == "axi" and manifest["register_map"] == ["registers.json", "registers.h"]
    assert json.loads((shared / "registers.json").read_text())["envelope"] == "0x" + manifest["envelope"]["id"].upper()
    assert "#define FIREBRICK_STATUS 0x0Cu" in (shared / "registers.h").read_text()
    assert "s_axil_araddr" in (shared / "accelerator.v").read_text()
    assert set(manifest["files"]) == {"accelerator.v", "model.fbg", "weights.fbl", "registers.json", "registers.h"}

    # `simulate` of an AXI build: through its ports, scores bit-exact and the counter registers equal to the schedule
    assert main(["simulate", str(shared), "--dataset", "digits", "--count", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 frame(s) on verilator: bit-exact" in out and "scores compared through the AXI ports" in out
    assert f"cycles/frame {manifest['cycles_per_frame']:,} (schedule predicts {manifest['cycles_per_frame']:,})" in out

    # the other model's build folder: same Verilog, same register map, its own load file
    assert main(["load-file", str(shared), str(tmp_path / "other.fbg"), "-o", str(other), "--json"]) == 0
    other_manifest = json.loads(capsys.readouterr().out)
    assert other_manifest["interface"] == "axi"
    for name in ("accelerator.v", "registers.json", "registers.h"):
        assert (other / name).read_bytes() == (shared / name).read_bytes()

    # one accelerator (the compiled model of `simulate` above, reused), loaded with A, then B, then a corrupted B,
    # every stream paused at random
    envelope = read_load_file(shared / "weights.fbl").envelope
    words_a, words_b = (read_load_file(d / "weights.fbl", envelope).words for d in (shared, other))
    corrupted = words_b.copy()
    corrupted[len(corrupted) // 2] ^= 1
    images_a, images_b = _images(small_graph, 2, 9), _images(other_small_graph, 1, 10)
    outcome = run_axi(shared / "accelerator.v", [AxiSession(words_a, images_a), AxiSession(words_b, images_b),
                                                 AxiSession(corrupted, images_b)],
                      shared / "sim_verilator", lanes=2, lane_bits=ArrayParams(rows=2, cols=2).lane_act_bits,
                      watchdog_cycles=20 * manifest["cycles_per_frame"], pause_share=0.3)
    assert outcome["before"] == {"ID": ID, "VERSION": INTERFACE_VERSION, "ENVELOPE": envelope.id, "STATUS": 0}
    a, b, bad = outcome["sessions"]
    frames_done = 0
    for session, graph, images, build in ((a, small_graph, images_a, manifest), (b, other_small_graph, images_b, other_manifest)):
        # the image offered while the load went in (B's: while A was still in the memories) was not taken
        assert session["early_image"]["beats_taken"] == 0 and session["early_image"]["status"] & (LOADED | BUSY) == 0
        assert session["load"]["loaded"] and session["load"]["error"] == LoadError.NONE.value
        for frame, image in zip(session["frames"], images, strict=True):
            frames_done += 1
            assert frame["scores"] == run_int(graph, image[None])[graph.output].ravel().tolist()  # tlast on the last class
            regs = frame["registers"]
            assert regs["STATUS"] & 0b111 == LOADED | DONE and regs["FRAMES"] == frames_done
            counters = frame["counters"]
            assert counters["cycles"] - counters["stall_cycles"] == build["cycles_per_frame"]
            assert frame["cleared_status"] & DONE == 0 and frame["cleared_status"] & LOADED
    assert a["frames"][0]["counters"]["stall_cycles"] > 0  # the sink's pauses
    assert bad["load"]["loaded"] is False and bad["load"]["error"] == LoadError.CHECKSUM.value and bad["frames"] == []
    assert outcome["extra_scores"] is False and outcome["unknown_read"] == 2  # SLVERR


def test_the_register_map_as_json_and_c_header_names_every_register(small_graph):
    envelope = program_envelope(compile_graph(small_graph, ArrayParams(rows=2, cols=2)))
    document = register_map_json(envelope)
    assert [r["name"] for r in document["registers"]] == [r.name for r in registers()]
    assert document["envelope"] == f"0x{envelope.id:08X}"
    header = register_map_header(envelope)
    assert "#define FIREBRICK_STATUS 0x0Cu" in header and "#define FIREBRICK_CYCLES_LO 0x20u" in header
    offsets = [r.offset for r in registers()]
    assert len(set(offsets)) == len(offsets) and all(o % 4 == 0 and o < 256 for o in offsets)
