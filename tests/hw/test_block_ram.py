"""Registered memories: the portable form against a model, and the ECP5 form (DP16KD with its output register)
wired as Yosys maps the primitive, simulated on Icarus with a behavioural DP16KD beside the portable form."""

import shutil

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from firebrick.hw.block_ram import RegisteredMemory, dp16kd_init


def test_reads_show_two_cycles_after_their_address_and_writes_land():
    dut = RegisteredMemory(width=9, depth=40)
    rng = np.random.default_rng(0)
    reference = [0] * 40
    ops = [(int(rng.integers(40)), int(rng.integers(512)), bool(rng.random() < 0.5), int(rng.integers(40))) for _ in range(200)]
    seen = []

    async def bench(ctx):
        for write_addr, value, write, read_addr in ops:
            ctx.set(dut.write_addr, write_addr)
            ctx.set(dut.write_data, value)
            ctx.set(dut.write_en, write)
            ctx.set(dut.read_addr, read_addr)
            await ctx.tick()
            seen.append(ctx.get(dut.read_data))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    before = []  # the memory as each cycle's read finds it (a write lands at the end of its cycle)
    for write_addr, value, write, _ in ops:
        before.append(list(reference))
        if write:
            reference[write_addr] = value
    for t in range(1, len(ops)):
        assert seen[t] == before[t - 1][ops[t - 1][3]], t  # the word read at t - 1 is visible two edges later


def test_initial_values_fill_twenty_bit_slots_sixteen_to_a_parameter():
    values = dp16kd_init([0x3FFFF, 1, 2] + [0] * 13 + [5])
    assert values["INITVAL_00"] == 0x3FFFF | (1 << 20) | (2 << 40) and values["INITVAL_01"] == 5 and len(values) == 64


def dp16kd_model() -> str:
    """A behavioural DP16KD for the two modes used (x9, x18): 1024 x 18 bits, x9 halves by address bit 3, OUTREG on B."""
    params = "\n".join(f"    parameter INITVAL_{i:02X} = 320'h0;" for i in range(64))
    init = "\n".join(f"    for (i = 0; i < 16; i = i + 1) mem[{i} * 16 + i] = INITVAL_{i:02X}[i * 20 +: 18];" for i in range(64))
    pins = lambda p: ", ".join(f"{p}{i}" for i in range(18))  # noqa: E731
    addr = lambda p: ", ".join(f"{p}{i}" for i in range(14))  # noqa: E731
    return f"""
module DP16KD ({pins('DIA')}, {addr('ADA')}, CEA, OCEA, CLKA, WEA, RSTA, CSA0, CSA1, CSA2, {pins('DOA')},
               {pins('DIB')}, {addr('ADB')}, CEB, OCEB, CLKB, WEB, RSTB, CSB0, CSB1, CSB2, {pins('DOB')});
    input {pins('DIA')}, {addr('ADA')}, CEA, OCEA, CLKA, WEA, RSTA, CSA0, CSA1, CSA2;
    input {pins('DIB')}, {addr('ADB')}, CEB, OCEB, CLKB, WEB, RSTB, CSB0, CSB1, CSB2;
    output {pins('DOA')}, {pins('DOB')};
    parameter DATA_WIDTH_A = 18; parameter DATA_WIDTH_B = 18; parameter REGMODE_A = "NOREG"; parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC"; parameter ASYNC_RESET_RELEASE = "SYNC"; parameter CSDECODE_A = "0b000"; parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL"; parameter WRITEMODE_B = "NORMAL"; parameter GSR = "AUTO";
{params}
    reg [17:0] mem [0:1023];
    integer i;
    initial begin
{init}
    end
    wire [13:0] ada = {{{', '.join(f'ADA{i}' for i in reversed(range(14)))}}};
    wire [13:0] adb = {{{', '.join(f'ADB{i}' for i in reversed(range(14)))}}};
    wire [17:0] dia = {{{', '.join(f'DIA{i}' for i in reversed(range(18)))}}};
    reg [17:0] latch_b, out_b;
    always @(posedge CLKA) if (CEA && WEA) begin
        if (DATA_WIDTH_A == 9) begin if (ada[3]) mem[ada[13:4]][17:9] <= dia[8:0]; else mem[ada[13:4]][8:0] <= dia[8:0]; end
        else mem[ada[13:4]] <= dia;
    end
    always @(posedge CLKB) begin
        if (CEB) latch_b <= DATA_WIDTH_B == 9 ? (adb[3] ? {{9'b0, mem[adb[13:4]][17:9]}} : {{9'b0, mem[adb[13:4]][8:0]}}) : mem[adb[13:4]];
        if (OCEB) out_b <= latch_b;
    end
    wire [17:0] dob = REGMODE_B == "OUTREG" ? out_b : latch_b;
    assign {{{', '.join(f'DOB{i}' for i in reversed(range(18)))}}} = dob;
    assign {{{', '.join(f'DOA{i}' for i in reversed(range(18)))}}} = 18'b0;
endmodule
"""


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (.ci/run installs it)")
@pytest.mark.parametrize("width, depth, writable", [(9, 1500, True), (64, 1000, False)])
def test_the_dp16kd_form_reads_what_the_portable_form_reads(width, depth, writable, fake_ecp5, icarus_side_by_side):
    rng = np.random.default_rng(width)
    init = [] if writable else [int(v) for v in rng.integers(0, 1 << width, depth, dtype=np.uint64)]
    ecp5 = verilog.convert(RegisteredMemory(width=width, depth=depth, init=init, writable=writable), name="ecp5_form",
                           platform=fake_ecp5, emit_src=False)
    portable = verilog.convert(RegisteredMemory(width=width, depth=depth, init=init, writable=writable), name="portable_form",
                               emit_src=False)
    assert ecp5.count("DP16KD") >= 1 and 'REGMODE_B("OUTREG")' in ecp5.replace(" ", "")
    ops = [(int(rng.integers(depth)), int(rng.integers(1 << min(width, 30))), int(writable and rng.random() < 0.5),
            int(rng.integers(depth))) for _ in range(300)]
    write_ports = ".write_addr(wa), .write_data(wd), .write_en(we)," if writable else ""
    bench = f"""
module bench;
    reg clk = 0, rst = 0; reg [10:0] wa = 0, ra = 0; reg [{width - 1}:0] wd = 0; reg we = 0;
    wire [{width - 1}:0] a, b;
    ecp5_form e(.clk(clk), .rst(rst), {write_ports} .read_addr(ra), .read_en(1'b1), .read_data(a));
    portable_form p(.clk(clk), .rst(rst), {write_ports} .read_addr(ra), .read_en(1'b1), .read_data(b));
    integer t;
    reg [63:0] stimulus [0:{len(ops) * 4 - 1}];
    initial begin
        $readmemh("ops.hex", stimulus);
        for (t = 0; t < {len(ops)}; t = t + 1) begin
            wa = stimulus[4 * t]; wd = stimulus[4 * t + 1]; we = stimulus[4 * t + 2]; ra = stimulus[4 * t + 3];
            #1 clk = 1; #1 clk = 0;
            $display("%0d %h %h", t, a, b);
        end
        $finish;
    end
endmodule
"""
    rows = icarus_side_by_side({"ecp5.v": ecp5, "portable.v": portable, "dp16kd.v": dp16kd_model()}, bench,
                               [v for op in ops for v in op])
    assert len(rows) == len(ops)
    settled = rows[2:]  # before the first read has passed both registers the outputs hold their start values
    assert all(a == b for _, a, b in settled), next(r for r in settled if r[1] != r[2])
    assert len({b for _, _, b in settled}) > 10  # the reads did return data
