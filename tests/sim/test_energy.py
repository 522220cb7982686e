"""Energy per frame: the published 45 nm points, interpolation, and the sum over counters."""

import pytest

from firebrick.boards.board import load_board
from firebrick.boards.energy_table import EnergyTable, MemoryEnergy
from firebrick.hw.memories import MemoryShape
from firebrick.sim.energy import frame_energy
from firebrick.sim.energy_plot import plot_energy

HOROWITZ_45NM = load_board("asic45").energy


def test_the_published_points_are_reproduced():
    t = HOROWITZ_45NM
    assert t.mac_pj == pytest.approx(0.3)  # 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ
    assert t.memory.access_pj(64, 8 * 1024) == pytest.approx(10.0)
    assert t.memory.access_pj(64, 32 * 1024) == pytest.approx(20.0)
    assert t.memory.access_pj(64, 1024 * 1024) == pytest.approx(100.0)
    assert t.memory.access_pj(32, 8 * 1024) == pytest.approx(5.0)  # half the word, half the energy
    assert 10.0 < t.memory.access_pj(64, 16 * 1024) < 20.0  # log-log between the points


def test_block_ram_energy_counts_the_blocks_a_word_spans():
    bram = MemoryEnergy(model="block_ram", block_width=36, block_access_pj=8.0)
    assert bram.access_pj(9, 960 * 9 / 8) == 8.0           # one block, whatever the depth
    assert bram.access_pj(64, 1e6) == 16.0                 # 64 bits span two x36 blocks
    assert bram.access_pj(256, 100) == 8 * 8.0
    with pytest.raises(ValueError, match="block_ram needs a positive block_width"):
        MemoryEnergy(model="block_ram")
    with pytest.raises(ValueError, match="ascending size"):
        MemoryEnergy(model="sram_curve", points=((10.0, 1.0), (5.0, 2.0)))


def test_frame_energy_adds_counters_times_costs():
    memories = [
        MemoryShape("activations", 1, 1024, 64),   # 8 KB banks: 10 pJ a 64-bit access
        MemoryShape("weights", 1, 4096, 64),       # 32 KB: 20 pJ
        MemoryShape("biases", 1, 1024, 64),
    ]
    counters = {"cycles": 50_000, "mac_ops": 1_000_000, "act_reads": 1000, "act_writes": 500, "weight_reads": 100, "bias_reads": 10}
    energy = frame_energy(counters, memories, clock_mhz=100.0, table=HOROWITZ_45NM)
    b = energy["breakdown_uj"]
    assert b["macs"] == pytest.approx(1e6 * 0.3e-6)
    assert b["activation_reads"] == pytest.approx(1000 * 10e-6) and b["activation_writes"] == pytest.approx(500 * 10e-6)
    assert b["weight_reads"] == pytest.approx(100 * 20e-6)
    assert b["static"] == pytest.approx(5e-3 * 50_000 / 100e6 * 1e6)  # 5 mW for 0.5 ms
    assert energy["energy_uj_per_frame"] == pytest.approx(sum(b.values()))


def test_every_board_prices_a_frame_and_fpgas_cost_more_than_the_asic():
    memories = [MemoryShape("activations", 16, 960, 9), MemoryShape("weights", 1, 3266, 64), MemoryShape("biases", 1, 34, 256)]
    counters = {"cycles": 20_000, "mac_ops": 1_200_000, "act_reads": 40_000, "act_writes": 20_000, "weight_reads": 3_000, "bias_reads": 40}
    dynamic = {}
    for name in ("asic45", "ulx3s", "arty_a7", "zcu104"):
        table = load_board(name).energy
        b = frame_energy(counters, memories, 50.0, table)["breakdown_uj"]
        dynamic[name] = sum(b.values()) - b["static"]
    assert dynamic["asic45"] < dynamic["zcu104"] < dynamic["arty_a7"] < dynamic["ulx3s"]  # node and fabric overheads
    assert isinstance(load_board("ulx3s").energy, EnergyTable)


def test_plot(tmp_path):
    path = plot_energy({"macs": 1.0, "static": 2.0}, "title", tmp_path / "e.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
