"""The registered multiplier: the portable form against products, and the ECP5 form (MULT18X18D with its input
and output registers) simulated on Icarus with a behavioural MULT18X18D beside the portable form."""

import shutil

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from firebrick.hw.latency import MULTIPLY_LATENCY
from firebrick.hw.multiplier import RegisteredMultiplier


def test_the_product_of_operands_at_t_is_visible_at_t_plus_the_latency():
    dut = RegisteredMultiplier(8, 9)
    rng = np.random.default_rng(3)
    operands = [(int(a), int(b)) for a, b in zip(rng.integers(-128, 128, 100), rng.integers(-256, 256, 100))]
    operands += [(-128, -256), (-128, 255), (127, -256)]
    seen = []

    async def bench(ctx):
        for a, b in operands + [(0, 0)] * MULTIPLY_LATENCY:
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            await ctx.tick()
            seen.append(ctx.get(dut.product))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    # after an edge the bench sees what was registered: the product of the operands MULTIPLY_LATENCY edges back
    assert seen[MULTIPLY_LATENCY - 1:MULTIPLY_LATENCY - 1 + len(operands)] == [a * b for a, b in operands]


def mult18x18d_model() -> str:
    """A behavioural MULT18X18D for the mode used: signed 18 x 18, input registers A and B and the output register."""
    a = ", ".join(f"A{i}" for i in reversed(range(18)))
    b = ", ".join(f"B{i}" for i in reversed(range(18)))
    p = ", ".join(f"P{i}" for i in reversed(range(36)))
    unused = ", ".join([f"C{i}" for i in range(18)] + [f"SRIA{i}" for i in range(18)] + [f"SRIB{i}" for i in range(18)]
                       + [f"CLK{i}" for i in range(1, 4)] + [f"CE{i}" for i in range(1, 4)] + [f"RST{i}" for i in range(1, 4)])
    return f"""
module MULT18X18D ({a}, {b}, {p}, SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CE0, RST0, {unused});
    input {a}, {b}, SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK0, CE0, RST0, {unused};
    output {p};
    parameter REG_INPUTA_CLK = "NONE"; parameter REG_INPUTB_CLK = "NONE"; parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0"; parameter REG_INPUTA_RST = "RST0"; parameter REG_INPUTB_CE = "CE0"; parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE"; parameter REG_PIPELINE_CLK = "NONE"; parameter REG_OUTPUT_CE = "CE0"; parameter REG_OUTPUT_RST = "RST0";
    parameter CLK0_DIV = "ENABLED"; parameter CLK1_DIV = "ENABLED"; parameter CLK2_DIV = "ENABLED"; parameter CLK3_DIV = "ENABLED";
    parameter HIGHSPEED_CLK = "NONE"; parameter GSR = "ENABLED"; parameter CAS_MATCH_REG = "FALSE"; parameter SOURCEB_MODE = "B_SHIFT";
    parameter MULT_BYPASS = "DISABLED"; parameter RESETMODE = "SYNC";
    reg signed [17:0] a_r = 0, b_r = 0; reg signed [35:0] p_r = 0;
    wire signed [17:0] a = {{{a}}}, b = {{{b}}};
    wire signed [17:0] a_in = REG_INPUTA_CLK == "CLK0" ? a_r : a, b_in = REG_INPUTB_CLK == "CLK0" ? b_r : b;
    always @(posedge CLK0) if (CE0) begin a_r <= a; b_r <= b; p_r <= a_in * b_in; end
    assign {{{p}}} = REG_OUTPUT_CLK == "CLK0" ? p_r : a_in * b_in;
endmodule
"""


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (.ci/run installs it)")
def test_the_mult18x18d_form_multiplies_as_the_portable_form(fake_ecp5, icarus_side_by_side):
    ecp5 = verilog.convert(RegisteredMultiplier(8, 9, dsp=True), name="ecp5_form", platform=fake_ecp5, emit_src=False)
    portable = verilog.convert(RegisteredMultiplier(8, 9, dsp=True), name="portable_form", emit_src=False)
    assert "MULT18X18D" in ecp5 and 'REG_OUTPUT_CLK("CLK0")' in ecp5.replace(" ", "") and "MULT18X18D" not in portable
    rng = np.random.default_rng(5)
    operands = [(int(a) & 0xFF, int(b) & 0x1FF) for a, b in zip(rng.integers(-128, 128, 300), rng.integers(-256, 256, 300))]
    bench = f"""
module bench;
    reg clk = 0, rst = 0; reg [7:0] a = 0; reg [8:0] b = 0;
    wire [16:0] e, p;
    ecp5_form dsp(.clk(clk), .rst(rst), .a(a), .b(b), .product(e));
    portable_form fabric(.clk(clk), .rst(rst), .a(a), .b(b), .product(p));
    integer t;
    reg [15:0] stimulus [0:{2 * len(operands) - 1}];
    initial begin
        $readmemh("ops.hex", stimulus);
        for (t = 0; t < {len(operands)}; t = t + 1) begin
            a = stimulus[2 * t]; b = stimulus[2 * t + 1];
            #1 clk = 1; #1 clk = 0;
            $display("%0d %h %h", t, e, p);
        end
        $finish;
    end
endmodule
"""
    rows = icarus_side_by_side({"ecp5.v": ecp5, "portable.v": portable, "mult.v": mult18x18d_model()}, bench,
                               [v for op in operands for v in op])
    assert len(rows) == len(operands)
    settled = rows[MULTIPLY_LATENCY:]
    assert all(e == p for _, e, p in settled), next(r for r in settled if r[1] != r[2])
    assert len({p for _, _, p in settled}) > 100  # real products went through
