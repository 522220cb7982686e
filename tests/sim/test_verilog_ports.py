"""Ports read from Yosys-written Verilog: header order, directions and ranges; a missing module or declaration is an error."""

import pytest

from firebrick.errors import FirebrickError
from firebrick.sim.verilog_ports import Port, module_ports

VERILOG = """\
module inner(a, y);
  input a;
  output y;
  assign y = a;
endmodule
module top(rst, debug_address, clk,
  debug_data);
  reg \\$auto$verilog_backend.cc:2355:dump_module$1  = 0;
  input clk;
  wire [3:0] \\$1 ;
  output [71:0] debug_data;
  input [14:0] debug_address;
  input rst;
  inner \\u$0 (.a(rst), .y(\\$1 ));
endmodule
"""


def test_the_ports_come_in_the_headers_order_with_their_declarations(tmp_path):
    path = tmp_path / "design.v"
    path.write_text(VERILOG)
    assert module_ports(path, "top") == [
        Port("input", "", "rst"), Port("input", "[14:0]", "debug_address"), Port("input", "", "clk"),
        Port("output", "[71:0]", "debug_data"),
    ]
    assert module_ports(path, "inner") == [Port("input", "", "a"), Port("output", "", "y")]


def test_a_missing_module_or_declaration_is_named(tmp_path):
    path = tmp_path / "design.v"
    path.write_text(VERILOG)
    with pytest.raises(FirebrickError, match="has no module other"):
        module_ports(path, "other")
    path.write_text(VERILOG.replace("  input rst;\n", ""))
    with pytest.raises(FirebrickError, match="no input/output declaration found for rst"):
        module_ports(path, "top")
