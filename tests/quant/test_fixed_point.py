"""Dynamic fixed point: format choice, rounding, saturation, wrap — the arithmetic every stage shares."""

import numpy as np
import pytest

from firebrick.quant.fixed_point import (
    Format, QuantizationError, choose_format, dequantize, quantize, requantize, round_shift, wrap,
)


@pytest.mark.parametrize(
    "max_abs, bits, signed, expected",
    [
        (1.0, 8, False, Format(8, 8, False)),   # IL = ceil(log2 1) = 0
        (0.9, 8, True, Format(8, 7, True)),     # IL 0 + sign
        (3.2, 8, True, Format(8, 5, True)),     # ceil(log2 3.2) = 2, + sign
        (700.0, 8, False, Format(8, -2, False)),  # deep activations: negative frac
        (0.0, 8, True, Format(8, 7, True)),
    ],
)
def test_choose_format(max_abs, bits, signed, expected):
    assert choose_format(max_abs, bits, signed) == expected


def test_format_limits():
    assert (Format(8, 0, True).min_int, Format(8, 0, True).max_int) == (-128, 127)
    assert (Format(8, 0, False).min_int, Format(8, 0, False).max_int) == (0, 255)
    assert str(Format(8, -2, False)) == "u8.-2"


def test_quantize_rounds_half_up_and_saturates():
    fmt = Format(4, 1, True)  # step 0.5, range -8..7 -> -4.0..3.5
    q = quantize(np.array([0.25, -0.25, 0.74, 100.0, -100.0]), fmt)
    assert q.tolist() == [1, 0, 1, 7, -8]
    assert dequantize(q, fmt).tolist() == [0.5, 0.0, 0.5, 3.5, -4.0]


def test_quantize_refuses_nan():
    with pytest.raises(QuantizationError, match="NaN or infinite"):
        quantize(np.array([np.nan]), Format(8, 0, True))


def test_round_shift_is_round_half_up_in_both_signs():
    acc = np.array([5, 6, 7, -5, -6, -7, -2])
    assert round_shift(acc, 2).tolist() == [1, 2, 2, -1, -1, -2, 0]  # 1.25, 1.5, 1.75, -1.25, -1.5, -1.75, -0.5
    assert round_shift(acc, -3).tolist() == (acc * 8).tolist()
    assert round_shift(acc, 0).tolist() == acc.tolist()


def test_requantize_orders_shift_relu_saturate():
    fmt = Format(8, 0, False)
    assert requantize(np.array([-1000, 2 * 300, 2 * 100 + 1]), 1, fmt, relu=True).tolist() == [0, 255, 101]
    signed = Format(8, 0, True)
    assert requantize(np.array([-1000, 1000]), 0, signed, relu=False).tolist() == [-128, 127]


def test_wrap_is_twos_complement():
    assert wrap(np.array([2**31, -(2**31) - 1, 5]), 32).tolist() == [-(2**31), 2**31 - 1, 5]
