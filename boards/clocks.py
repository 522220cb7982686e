"""Default clocks per board until the board files exist (issue 6): enough for frames/s figures."""

from __future__ import annotations

from firebrick.errors import unknown_name

#: MHz; ULX3S and iCEBreaker from their oscillators' common PLL targets, the Xilinx boards at a
#: conservative fabric clock for an unpipelined array, the ASIC at a typical 45 nm target.
DEFAULT_CLOCK_MHZ = {
    "ulx3s": 50.0,
    "icebreaker": 12.0,
    "arty_a7": 100.0,
    "pynq_z2": 100.0,
    "zc706": 150.0,
    "zcu104": 200.0,
    "asic45": 500.0,
}
DEFAULT_BOARD = "ulx3s"


def board_clock_mhz(board: str) -> float:
    try:
        return DEFAULT_CLOCK_MHZ[board]
    except KeyError:
        raise unknown_name("board", board, DEFAULT_CLOCK_MHZ) from None
