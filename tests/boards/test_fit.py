"""The fit check: block RAM and multipliers estimated from the compiled design, refused before synthesis."""

import pytest

from firebrick.boards.board import load_board
from firebrick.boards.fit import DesignDoesNotFit, blocks_for, check_fit, estimate_fit
from firebrick.boards.build import build_accelerator
from firebrick.hw.memories import MemoryShape
from firebrick.hw.params import ArrayParams


def test_blocks_take_the_cheapest_shape():
    ecp5 = load_board("ulx3s").resources.block_ram
    assert blocks_for(960, 9, ecp5) == 1        # 2048 x 9 holds it
    assert blocks_for(3266, 64, ecp5) == 14     # 512 x 36: 2 wide, 7 deep
    assert blocks_for(512, 72, load_board("arty_a7").resources.block_ram) == 1  # RAMB36 at x72
    ice40 = load_board("icebreaker").resources.block_ram
    assert blocks_for(256, 16, ice40) == 1 and blocks_for(257, 16, ice40) == 2


def test_estimate_counts_banks_lut_ram_and_dsps():
    memories = [MemoryShape("activations", 16, 960, 9), MemoryShape("biases", 1, 34, 256)]
    fit = estimate_fit(memories, 64, load_board("ulx3s"), cols=8)
    assert fit.block_ram_blocks == 16 and fit.lut_ram_bits == 34 * 256 and fit.dsps == 64 and fit.multiplier_luts == 0
    assert abs(fit.luts - 27_469) / 27_469 < 0.02  # the default model's 8x8 synthesized to 27,469 LUTs (ulx3s.yaml)
    # the lanes cost more than the rows: 16x8 and 8x16 synthesized to 33,999 and 59,132
    assert abs(estimate_fit(memories, 128, load_board("ulx3s"), cols=8).luts - 33_999) / 33_999 < 0.02
    assert abs(estimate_fit(memories, 128, load_board("ulx3s"), cols=16).luts - 59_132) / 59_132 < 0.02
    wide = estimate_fit(memories, 256, load_board("ulx3s"), cols=16)  # 256 > 156 DSPs: every product in LUTs
    assert wide.dsps == 0 and wide.multiplier_luts == 256 * 195
    assert abs(wide.luts - 122_490) / 122_490 < 0.02  # measured for 16x16: 146 % of the LFE5U-85F
    assert wide.shortfalls() == [f"LUTs: needs ~{wide.luts:,}, 49,920 of them for the 256 array multipliers (more than the "
                                 "156 DSP blocks), ulx3s has 83,640"]
    assert estimate_fit(memories, 64, load_board("asic45"), cols=8) is None  # a technology has no fixed budget


def test_a_design_too_big_for_the_board_is_refused_with_needed_and_available(small_graph, tmp_path):
    memories = [MemoryShape("weights", 1, 100_000, 64)]
    with pytest.raises(DesignDoesNotFit, match=r"does not fit icebreaker \(iCE40UP5K\): block RAM: needs 1564 blocks, icebreaker has 30"):
        check_fit(memories, 4, load_board("icebreaker"), cols=2)
    with pytest.raises(DesignDoesNotFit, match=r"LUTs: needs ~[\d,]+, 199,680 of them for the 1024 array multipliers .* has 83,640"):
        check_fit([], 32 * 32, load_board("ulx3s"), cols=32)
    # build refuses before writing any Verilog
    with pytest.raises(DesignDoesNotFit, match=r"does not fit ulx3s_12f \(LFE5U-12F\): LUTs: needs ~[\d,]+, 49,920 of them for the 256 array multipliers"):
        build_accelerator(small_graph, ArrayParams(rows=16, cols=16), tmp_path / "no", board="ulx3s_12f")
    assert not (tmp_path / "no").exists()


def test_build_records_the_estimate_and_the_board(small_graph, tmp_path):
    manifest = build_accelerator(small_graph, ArrayParams(rows=2, cols=2), tmp_path, board="icebreaker", bake_weights=True)
    assert manifest.board == "icebreaker" and manifest.clock_mhz == 24.0  # the PLL clock, not the 12 MHz oscillator
    assert manifest.fit_estimate.block_ram_blocks <= 30 and manifest.fit_estimate.dsps == 4


def test_memories_without_contents_move_to_ultraram_when_block_ram_is_short():
    zcu104 = load_board("zcu104")
    # ZynqNet's shapes on 16x16 (approximately): 32 activation banks of 8 bits, 128-bit weight words, 512-bit biases
    activations = MemoryShape("activations", 32, 40_000, 8)
    loaded = [activations, MemoryShape("weights", 1, 156_000, 128), MemoryShape("biases", 1, 300, 512)]
    fit = estimate_fit(loaded, 256, zcu104, cols=16)
    # the weights save the most block RAM per UltraRAM (610 RAMB36 against 2 x 39 URAM288: 128-bit words, tiled in
    # the block's own 4096 x 72) and go first; still short (328 of 312), activation banks follow one at a time (10
    # RAMB36 against 2 URAM288 each: Yosys packs the 8-bit words into the block's 9-bit byte lanes) until two
    # bring the block RAM to 308; the biases (8 for 8) stay
    assert fit.in_other_ram == {"weights": 1, "activations": 2}
    assert fit.other_ram_blocks == 78 + 2 * 2 and fit.other_ram_available == 96
    assert fit.block_ram_blocks == 30 * 10 + 8 and fit.shortfalls() == []
    # twice the weights: 2 x 78 URAM288 would be more than there are; the banks go instead (all 32 in 64 URAM288)
    # and the weights' 1,155 RAMB36 (15 x 77 of 4096 x 9) stay short
    heavier = [activations, MemoryShape("weights", 1, 312_000, 128), MemoryShape("biases", 1, 300, 512)]
    short = estimate_fit(heavier, 256, zcu104, cols=16)
    assert short.in_other_ram == {"activations": 32, "biases": 1} and short.block_ram_blocks == 1155
    assert short.shortfalls() == ["block RAM: needs 1155 blocks, zcu104 has 312 (with activations (32 banks), biases in 72 "
                                  "of its 96 URAM288)"]
    with pytest.raises(DesignDoesNotFit, match=r"KiB of block RAM \(RAMB36E2\) and 3,456.0 KiB of URAM288 counted"):
        check_fit(heavier, 256, zcu104, cols=16)
    # memories with contents (baked weights) stay in block RAM: UltraRAM starts empty; activation banks fill it
    baked = [activations, MemoryShape("weights", 1, 156_000, 128, initialised=True)]
    assert estimate_fit(baked, 256, zcu104, cols=16).in_other_ram == {"activations": 32}
    # nothing moves while the block RAM suffices (the Verilog stays as it was)
    small = [MemoryShape("activations", 16, 960, 9), MemoryShape("weights", 1, 3266, 64)]
    assert estimate_fit(small, 64, zcu104, cols=8).in_other_ram == {}
    # an estimate read back from a manifest keeps the placement
    assert type(fit).from_dict(fit.to_dict()) == fit


def test_single_port_spram_takes_loaded_memories_and_never_the_activations():
    """squeezenet_tiny8_hw's memories on a 2x2 array (loaded at run time) on the iCEBreaker: 107 EBRs of 30."""
    icebreaker = load_board("icebreaker")
    memories = [MemoryShape("program", 1, 16, 635), MemoryShape("activations", 4, 912, 9),
                MemoryShape("weights", 1, 12_872, 16), MemoryShape("biases", 1, 133, 64)]
    # the weights (51 EBRs of 256 x 16) fit one 16K x 16 SPRAM and go first; the biases would take 4 (64 bits wide)
    # of the 3 left, the program 40; the activation banks (3 EBRs each for 1 SPRAM) would be next, but SPRAM is
    # single-port and the banks are read and written in one cycle
    fit = estimate_fit(memories, 4, icebreaker, cols=2)
    assert fit.in_other_ram == {"weights": 1} and fit.other_ram_blocks == 1
    assert fit.block_ram_blocks == 40 + 4 * 3 + 4
    assert fit.shortfalls()[0] == "block RAM: needs 56 blocks, icebreaker has 30 (with weights in 1 of its 4 SB_SPRAM256KA)"
    with pytest.raises(DesignDoesNotFit, match=r"128.0 KiB of SB_SPRAM256KA counted \(single-port: for the memories "
                                               r"loaded before the frames run, not the activations\)"):
        check_fit(memories, 4, icebreaker, cols=2)


def test_the_ice40_logic_model_counts_the_loader_of_a_design_loaded_at_run_time():
    """The iCEBreaker's logic model against the Yosys SB_LUT4 counts of the 2-fire test network (icebreaker.yaml)."""
    icebreaker = load_board("icebreaker")
    baked = [MemoryShape("activations", 4, 200, 9), MemoryShape("weights", 1, 500, 16, initialised=True)]
    loaded = [MemoryShape("program", 1, 10, 564), MemoryShape("activations", 4, 200, 9), MemoryShape("weights", 1, 500, 16)]
    for cols, measured_baked, measured_loaded in ((2, 3_372, 6_291), (4, 5_684, 10_143)):
        assert abs(estimate_fit(baked, 2 * cols, icebreaker, cols=cols).luts - measured_baked) / measured_baked < 0.02
        assert abs(estimate_fit(loaded, 2 * cols, icebreaker, cols=cols).luts - measured_loaded) / measured_loaded < 0.02
    # a baked 2x2 fits the UP5K's 5,280 logic cells, a loaded one does not, and the refusal says by how much
    assert not any(s.startswith("LUTs") for s in estimate_fit(baked, 4, icebreaker, cols=2).shortfalls())
    assert "LUTs: needs ~6,291, icebreaker has 5,280" in estimate_fit(loaded, 4, icebreaker, cols=2).shortfalls()
