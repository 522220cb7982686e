"""A signed multiplier with registered operands and a registered product: operands at t, product visible at t + 2.

The portable form is two operand registers and a product register around `*`.
On the ECP5, when the array's multipliers go to DSP blocks, the multiplier is
the `MULT18X18D` primitive with its input and output registers enabled
(REG_INPUTA/B_CLK, REG_OUTPUT_CLK = CLK0). Yosys maps `*` to a MULT18X18D but
does not fold registers into it, and nextpnr places such a block where a DSP
site is, often far from the logic around it: the multiplier's delay then adds
to a long route both ways (seen: 14 ns from an operand register through the
DSP back to the product register). With the block's own registers each route
to or from the DSP site is a path of its own. Both forms have the same
latency, so simulation (the portable form) and the bitstream run the same
schedule.
"""

from __future__ import annotations

from amaranth import ClockSignal, Const, Module, Signal, signed
from amaranth.hdl import Instance
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.block_ram import is_ecp5
from firebrick.hw.latency import MULTIPLY_LATENCY

#: MULT18X18D operand width (signed)
DSP_OPERAND_BITS = 18


class RegisteredMultiplier(wiring.Component):
    def __init__(self, a_bits: int, b_bits: int, *, dsp: bool = False) -> None:
        """`dsp`: use the device's DSP block (on the ECP5 the primitive; elsewhere `*` is left to synthesis)."""
        self.a_bits, self.b_bits, self.dsp = a_bits, b_bits, dsp
        super().__init__({"a": In(signed(a_bits)), "b": In(signed(b_bits)), "product": Out(signed(a_bits + b_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        if self.dsp and is_ecp5(platform) and max(self.a_bits, self.b_bits) <= DSP_OPERAND_BITS:
            self._mult18x18d(m)
            return m
        assert MULTIPLY_LATENCY == 2
        a = Signal.like(self.a, reset_less=True)
        b = Signal.like(self.b, reset_less=True)
        product = Signal.like(self.product, reset_less=True)
        m.d.sync += [a.eq(self.a), b.eq(self.b), product.eq(a * b)]
        m.d.comb += self.product.eq(product)
        return m

    def _mult18x18d(self, m: Module) -> None:
        a = Signal(signed(DSP_OPERAND_BITS))
        b = Signal(signed(DSP_OPERAND_BITS))
        p = Signal(2 * DSP_OPERAND_BITS)
        m.d.comb += [a.eq(self.a), b.eq(self.b), self.product.eq(p[:len(self.product)])]  # sign-extended operands
        zero, one = Const(0, 1), Const(1, 1)
        ports = {}
        # as Yosys' own mapping (lattice/dsp_map_18x18.v) does: C tied low, the cascade inputs (SRIA/SRIB) and the
        # unused clocks left open; tied to a constant, nextpnr must route the constant to the cascade pins and
        # fails (seen: "Failed to route arc ... of net '$PACKER_GND_NET' ... JSRIB9_MULT18")
        for i in range(DSP_OPERAND_BITS):
            ports[f"i_A{i}"], ports[f"i_B{i}"], ports[f"i_C{i}"] = a[i], b[i], zero
        for i in range(2 * DSP_OPERAND_BITS):
            ports[f"o_P{i}"] = p[i]
        m.submodules.dsp = Instance(
            "MULT18X18D",
            p_REG_INPUTA_CLK="CLK0", p_REG_INPUTA_CE="CE0", p_REG_INPUTA_RST="RST0",
            p_REG_INPUTB_CLK="CLK0", p_REG_INPUTB_CE="CE0", p_REG_INPUTB_RST="RST0",
            p_REG_INPUTC_CLK="NONE", p_REG_PIPELINE_CLK="NONE",
            p_REG_OUTPUT_CLK="CLK0", p_REG_OUTPUT_CE="CE0", p_REG_OUTPUT_RST="RST0",
            p_CLK0_DIV="ENABLED", p_CLK1_DIV="ENABLED", p_CLK2_DIV="ENABLED", p_CLK3_DIV="ENABLED",
            p_HIGHSPEED_CLK="NONE", p_GSR="DISABLED", p_CAS_MATCH_REG="FALSE", p_SOURCEB_MODE="B_SHIFT",
            p_MULT_BYPASS="DISABLED", p_RESETMODE="SYNC",
            i_SIGNEDA=one, i_SIGNEDB=one, i_SOURCEA=zero, i_SOURCEB=zero,
            i_CLK0=ClockSignal(), i_CE0=one, i_RST0=zero,
            **ports,
        )
