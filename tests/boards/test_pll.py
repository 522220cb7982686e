"""PLL settings within the data sheets' ranges, the clock search's decisions, and the PLL in the board top."""

import pytest

from firebrick.boards.pll import (
    ECP5_VCO_MHZ, ICE40_PFD_MHZ, ICE40_VCO_MHZ, ClockError, pll_config,
)
from firebrick.boards.place_route import CLOCK_MARGIN, next_clock


@pytest.mark.parametrize("wanted", [100.0, 110.0, 125.0, 48.0, 30.0, 233.0])
def test_ecp5_settings_make_the_fastest_clock_not_above_the_wanted_one(wanted):
    c = pll_config("ecp5", 25.0, wanted)
    d = c.dividers
    assert c.output_mhz <= wanted + 1e-6 and c.output_mhz == pytest.approx(25.0 * d["CLKFB_DIV"] / d["CLKI_DIV"])
    assert ECP5_VCO_MHZ[0] <= c.output_mhz * d["CLKOP_DIV"] <= ECP5_VCO_MHZ[1]
    # nothing the dividers can make lies between the setting and the wanted clock
    better = [25.0 * fb / ci for ci in range(1, 9) for fb in range(1, 81) if c.output_mhz + 1e-6 < 25.0 * fb / ci <= wanted
              and any(ECP5_VCO_MHZ[0] <= 25.0 * fb / ci * op <= ECP5_VCO_MHZ[1] for op in range(1, 129)) and 25.0 / ci >= 3.125]
    assert not better


def test_ice40_settings_and_the_iCEBreakers_range():
    c = pll_config("ice40", 12.0, 24.0)
    d = c.dividers
    assert c.output_mhz == 24.0 and c.output_mhz == pytest.approx(12.0 * (d["DIVF"] + 1) / ((d["DIVR"] + 1) * 2 ** d["DIVQ"]))
    assert ICE40_PFD_MHZ[0] <= 12.0 / (d["DIVR"] + 1) <= ICE40_PFD_MHZ[1] and ICE40_VCO_MHZ[0] <= c.vco_mhz <= ICE40_VCO_MHZ[1]
    with pytest.raises(ClockError, match=r"the ice40 PLL cannot make 12 MHz or less from 12 MHz \(its output range is 16-275 MHz\)"):
        pll_config("ice40", 12.0, 12.0)
    with pytest.raises(ClockError, match="no PLL model for the xc7 family"):
        pll_config("xc7", 100.0, 100.0)


def test_the_clock_search_goes_faster_only_with_room_and_slower_when_missed():
    def make(mhz):
        return pll_config("ecp5", 25.0, mhz).output_mhz

    assert next_clock(100.0, 102.0, make) is None  # met, but no clock worth a run lies below 102 / 1.05
    faster = next_clock(100.0, 140.0, make)
    assert 100.0 * 1.02 < faster <= 140.0 / (1 + CLOCK_MARGIN) + 1e-9
    slower = next_clock(100.0, 90.0, make)
    assert slower <= 90.0 / (1 + CLOCK_MARGIN) + 1e-9 and slower < 100.0
    assert next_clock(100.0, None, make) is None  # no figure: stop
