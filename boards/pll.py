"""Clock generation on the Lattice boards: the accelerator's clock derived from the oscillator by the FPGA's PLL.

`pll_config` finds the divider settings that come closest to a wanted
frequency without exceeding it (the same search as Project Trellis' `ecppll`
and IceStorm's `icepll`, within the data sheets' ranges), and `ClockGenerator`
instantiates the primitive (ECP5 `EHXPLLL`, iCE40 `SB_PLL40_PAD`) with the
`sync` domain on its output, held in reset until the PLL has locked (and, on
the iCE40, for the few microseconds its block RAM reads as zero after
configuration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from amaranth.hdl import ClockDomain, Elaboratable, Instance, Module, Signal
from amaranth.lib import io

from firebrick.errors import FirebrickError


class ClockError(FirebrickError):
    """A clock the board's PLL cannot make."""


@dataclass(frozen=True)
class PllConfig:
    family: str
    input_mhz: float
    #: the frequency the dividers make (at most the one asked for)
    output_mhz: float
    vco_mhz: float
    #: ECP5: CLKI_DIV, CLKFB_DIV, CLKOP_DIV (and CLKOP_CPHASE); iCE40: DIVR, DIVF, DIVQ, FILTER_RANGE
    dividers: dict[str, int]


# ECP5: Lattice FPGA-TN-02200 (ECP5 sysCLOCK PLL/DLL Design and Usage Guide), as Trellis' ecppll uses them
ECP5_PFD_MHZ = (3.125, 400.0)
ECP5_VCO_MHZ = (400.0, 800.0)
ECP5_OUTPUT_MHZ = (3.125, 400.0)
# iCE40: Lattice TN1251 (iCE40 sysCLOCK PLL Design and Usage Guide), as IceStorm's icepll uses them
ICE40_PFD_MHZ = (10.0, 133.0)
ICE40_VCO_MHZ = (533.0, 1066.0)
ICE40_OUTPUT_MHZ = (16.0, 275.0)


def _ecp5(input_mhz: float, wanted_mhz: float) -> PllConfig | None:
    best = None
    for clki in range(1, 129):
        pfd = input_mhz / clki
        if not ECP5_PFD_MHZ[0] <= pfd <= ECP5_PFD_MHZ[1]:
            continue
        for clkfb in range(1, 81):
            out = input_mhz * clkfb / clki
            if out > wanted_mhz + 1e-9 or not ECP5_OUTPUT_MHZ[0] <= out <= ECP5_OUTPUT_MHZ[1]:
                continue
            for clkop in range(max(1, math.ceil(ECP5_VCO_MHZ[0] / out)), min(128, math.floor(ECP5_VCO_MHZ[1] / out)) + 1):
                vco = out * clkop
                key = (out, -abs(vco - 600.0))  # closest to the wanted clock, then a VCO near the middle
                if best is None or key > best[0]:
                    best = (key, PllConfig("ecp5", input_mhz, out, vco, {
                        "CLKI_DIV": clki, "CLKFB_DIV": clkfb, "CLKOP_DIV": clkop, "CLKOP_CPHASE": clkop // 2}))
    return None if best is None else best[1]


def _ice40_filter_range(pfd_mhz: float) -> int:
    for limit, value in ((17, 1), (26, 2), (44, 3), (66, 4), (101, 5)):
        if pfd_mhz < limit:
            return value
    return 6


def _ice40(input_mhz: float, wanted_mhz: float) -> PllConfig | None:
    best = None
    for divr in range(16):
        pfd = input_mhz / (divr + 1)
        if not ICE40_PFD_MHZ[0] <= pfd <= ICE40_PFD_MHZ[1]:
            continue
        for divf in range(128):
            vco = input_mhz * (divf + 1) / (divr + 1)
            if not ICE40_VCO_MHZ[0] <= vco <= ICE40_VCO_MHZ[1]:
                continue
            for divq in range(1, 7):
                out = vco / 2**divq
                if out > wanted_mhz + 1e-9 or not ICE40_OUTPUT_MHZ[0] <= out <= ICE40_OUTPUT_MHZ[1]:
                    continue
                if best is None or out > best.output_mhz:
                    best = PllConfig("ice40", input_mhz, out, vco, {
                        "DIVR": divr, "DIVF": divf, "DIVQ": divq, "FILTER_RANGE": _ice40_filter_range(pfd)})
    return best


def pll_config(family: str, input_mhz: float, wanted_mhz: float) -> PllConfig:
    """The PLL setting whose output is closest to `wanted_mhz` without exceeding it."""
    search = {"ecp5": (_ecp5, ECP5_OUTPUT_MHZ), "ice40": (_ice40, ICE40_OUTPUT_MHZ)}
    if family not in search:
        raise ClockError(f"no PLL model for the {family} family (known: {', '.join(search)})")
    find, (low, high) = search[family]
    config = find(input_mhz, wanted_mhz)
    if config is None:
        raise ClockError(f"the {family} PLL cannot make {wanted_mhz:g} MHz or less from {input_mhz:g} MHz "
                         f"(its output range is {low:g}-{high:g} MHz)")
    return config


class ClockGenerator(Elaboratable):
    """The `sync` domain from the board's oscillator through its PLL; reset until locked and settled."""

    #: cycles of the new clock to hold reset after lock (iCE40 block RAM reads zero for ~3 µs after configuration)
    SETTLE_US = 15.0

    def __init__(self, config: PllConfig) -> None:
        self.config = config

    def elaborate(self, platform) -> Module:
        m = Module()
        c = self.config
        m.domains.sync = sync = ClockDomain("sync")
        m.domains.por = por = ClockDomain("por", reset_less=True, local=True)
        locked = Signal()
        pad = platform.request(platform.default_clk, dir="-")
        if c.family == "ecp5":
            m.submodules.clock_buffer = buffer = io.Buffer("i", pad)
            d = c.dividers
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{c.input_mhz:g}", a_FREQUENCY_PIN_CLKOP=f"{c.output_mhz:g}",
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED", p_DPHASE_SOURCE="DISABLED",
                p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB", p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
                p_CLKI_DIV=d["CLKI_DIV"], p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=d["CLKOP_DIV"],
                p_CLKOP_CPHASE=d["CLKOP_CPHASE"], p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=d["CLKFB_DIV"],
                i_RST=0, i_STDBY=0, i_CLKI=buffer.i, o_CLKOP=sync.clk, i_CLKFB=sync.clk,
                i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0,
                i_ENCLKOP=0, o_LOCK=locked,
            )
        elif c.family == "ice40":
            d = c.dividers
            # the PLL pad: on the iCEBreaker the oscillator's pin is the PLL's own, which only _PAD may use
            m.submodules.pll = Instance(
                "SB_PLL40_PAD", p_FEEDBACK_PATH="SIMPLE", p_DIVR=d["DIVR"], p_DIVF=d["DIVF"], p_DIVQ=d["DIVQ"],
                p_FILTER_RANGE=d["FILTER_RANGE"], i_PACKAGEPIN=pad.io, i_RESETB=1, i_BYPASS=0,
                o_PLLOUTGLOBAL=sync.clk, o_LOCK=locked,
            )
        else:
            raise ClockError(f"no PLL for the {c.family} family")
        platform.add_clock_constraint(sync.clk, c.output_mhz * 1e6)
        delay = max(int(self.SETTLE_US * c.output_mhz), 1)
        timer = Signal(range(delay + 1))
        held = Signal(init=1)  # the reset, straight from a flip-flop (it fans out to the whole design)
        m.d.comb += por.clk.eq(sync.clk)
        with m.If(~locked):
            m.d.por += [timer.eq(0), held.eq(1)]
        with m.Elif(timer == delay):
            m.d.por += held.eq(0)
        with m.Else():
            m.d.por += timer.eq(timer + 1)
        m.d.comb += sync.rst.eq(held)
        return m
