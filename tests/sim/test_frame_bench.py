import numpy as np
import pytest

from firebrick.hw.packing import unpack_lane
from firebrick.sim.frame_bench import unpack_lanes


@pytest.mark.parametrize("lanes, lane_bits", [(8, 9), (16, 9), (4, 8), (2, 17), (1, 3)])
def test_bank_wide_words_unpack_as_lane_by_lane(lanes, lane_bits):
    rng = np.random.default_rng(lanes * 100 + lane_bits)
    words = [int.from_bytes(rng.bytes(-(-lanes * lane_bits // 8)), "little") & ((1 << lanes * lane_bits) - 1)
             for _ in range(50)]
    words += [0, (1 << lanes * lane_bits) - 1]  # all lanes 0, all lanes -1
    expected = [[unpack_lane(w, lane * lane_bits, lane_bits) for lane in range(lanes)] for w in words]
    assert unpack_lanes(words, lanes, lane_bits).tolist() == expected
    assert unpack_lanes([], lanes, lane_bits).shape == (0, lanes)
