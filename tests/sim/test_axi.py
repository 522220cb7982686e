"""The accelerator behind AXI4-Stream and AXI4-Lite, driven by cocotbext-axi's AxiStreamSource/Sink (random pauses on
every stream) and AxiLiteMaster on Verilator: a loaded frame's scores bit-exact, tlast on the last class, the registers."""

import numpy as np

from firebrick.hw.axi_accelerator import ID, INTERFACE_VERSION, register_map_header, register_map_json, registers
from firebrick.hw.compiler import compile_graph
from firebrick.hw.load_format import program_envelope
from firebrick.hw.params import ArrayParams
from firebrick.quant.executor import run_int
from firebrick.sim.axi_frame import run_axi_frame


def test_a_frame_through_axi_streams_with_back_pressure_is_bit_exact_and_the_registers_tell(small_graph, tmp_path):
    program = compile_graph(small_graph, ArrayParams(rows=2, cols=2))
    fmt = small_graph.op(small_graph.input).fmt
    image = np.random.default_rng(9).integers(max(fmt.min_int, 0), fmt.max_int + 1, size=small_graph.op(small_graph.input).shape)
    result = run_axi_frame(program, image, tmp_path)
    assert result["before"] == {"ID": ID, "VERSION": INTERFACE_VERSION, "ENVELOPE": program_envelope(program).id, "STATUS": 0}
    golden = run_int(small_graph, image[None])[small_graph.output].ravel().tolist()
    assert result["scores"] == golden  # one AXI-Stream frame: tlast came on the last class, not before or after
    after = result["after"]
    assert after["STATUS"] & 0b111 == 0b101  # loaded, not busy, done
    assert after["FRAMES"] == 1
    schedule = sum(s.cycles for s in program.schedule)
    assert after["CYCLES_LO"] - after["STALL_CYCLES_LO"] == schedule and after["STALL_CYCLES_LO"] > 0  # the sink paused
    assert result["cleared_status"] & 0b100 == 0 and result["cleared_status"] & 1
    assert result["unknown_read"] == 2  # SLVERR


def test_the_register_map_as_json_and_c_header_names_every_register(small_graph):
    envelope = program_envelope(compile_graph(small_graph, ArrayParams(rows=2, cols=2)))
    document = register_map_json(envelope)
    assert [r["name"] for r in document["registers"]] == [r.name for r in registers()]
    assert document["envelope"] == f"0x{envelope.id:08X}"
    header = register_map_header(envelope)
    assert "#define FIREBRICK_STATUS 0x0Cu" in header and "#define FIREBRICK_CYCLES_LO 0x20u" in header
    offsets = [r.offset for r in registers()]
    assert len(set(offsets)) == len(offsets) and all(o % 4 == 0 and o < 256 for o in offsets)
