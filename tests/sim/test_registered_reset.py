"""The simulation top with a registered reset: the design's ports unchanged, `rst` through one flip-flop; the Verilator
configuration: inputs writable, outputs read-only. (The frame tests run every Verilator and Icarus frame under it.)"""

import pytest

from firebrick.errors import FirebrickError
from firebrick.sim.registered_reset import wrapper_name, wrapper_text, write_wrapper
from firebrick.sim.verilator_runner import ports_config
from firebrick.sim.verilog_ports import module_ports

DESIGN = """\
module accelerator(clk, rst, image__valid, counters);
  input clk;
  input rst;
  input image__valid;
  output [279:0] counters;
endmodule
"""


def test_the_wrapper_has_the_designs_ports_and_registers_only_the_reset(tmp_path):
    design = tmp_path / "accelerator.v"
    design.write_text(DESIGN)
    wrapper = tmp_path / "wrapper.v"
    wrapper.write_text(wrapper_text(design, "accelerator"))
    assert module_ports(wrapper, wrapper_name("accelerator")) == module_ports(design, "accelerator")
    text = wrapper.read_text()
    assert "always @(posedge clk) rst_registered <= rst;" in text
    assert ("accelerator design_under_test(.clk(clk), .rst(rst_registered), .image__valid(image__valid), "
            ".counters(counters));") in text


def test_the_wrapper_is_rewritten_only_when_it_changes(tmp_path):
    design = tmp_path / "accelerator.v"
    design.write_text(DESIGN)
    path = write_wrapper(design, "accelerator", tmp_path)
    before = path.stat().st_mtime_ns
    assert write_wrapper(design, "accelerator", tmp_path) == path and path.stat().st_mtime_ns == before
    design.write_text(DESIGN.replace("  input image__valid;\n", "  input [1:0] image__valid;\n"))
    write_wrapper(design, "accelerator", tmp_path)
    assert "input [1:0] image__valid;" in path.read_text()


def test_a_design_without_the_reset_port_is_refused(tmp_path):
    design = tmp_path / "accelerator.v"
    design.write_text(DESIGN.replace("rst, ", "").replace("  input rst;\n", ""))
    with pytest.raises(FirebrickError, match="has no port rst"):
        wrapper_text(design, "accelerator")


def test_outputs_are_public_read_only_and_inputs_writable(tmp_path):
    design = tmp_path / "accelerator.v"
    design.write_text(DESIGN)
    lines = ports_config(design, "accelerator", tmp_path).read_text().splitlines()
    assert lines == ["`verilator_config"] + [
        f'public_flat_{access} -module "accelerator" -var "{name}"'
        for access, name in (("rw", "clk"), ("rw", "rst"), ("rw", "image__valid"), ("rd", "counters"))
    ]
    everything = ports_config(design, "accelerator", tmp_path, read_only_outputs=False).read_text()
    assert "public_flat_rd" not in everything and everything.count("public_flat_rw") == 4
