"""Dynamic fixed point: formats and the integer arithmetic the hardware implements.

A tensor in format (bits, frac, signed) holds integers q with value q * 2**-frac.
Requantization is a pure shift: multiply-free, so the accelerator needs no
scale multipliers. Every function here is the single definition of its
operation; the golden executor, the fake-quantized torch model and the
hardware's reference models all call it (or restate it and are tested equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from firebrick.errors import FirebrickError

MIN_BITS, MAX_BITS = 2, 16


class QuantizationError(FirebrickError):
    """Data or parameters that cannot be quantized (NaN weights, bad bit widths...)."""


@dataclass(frozen=True)
class Format:
    """A dynamic fixed-point format: `bits` wide, `frac` fractional bits (may be negative)."""

    bits: int
    frac: int
    signed: bool

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 1 <= self.bits <= 62:
            raise QuantizationError(f"bit width must be an integer in 1..62, not {self.bits!r}")

    @property
    def min_int(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_int(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def step(self) -> float:
        return 2.0**-self.frac

    def to_dict(self) -> dict[str, Any]:
        return {"bits": self.bits, "frac": self.frac, "signed": self.signed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Format:
        return cls(int(data["bits"]), int(data["frac"]), bool(data["signed"]))

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.bits}.{self.frac}"


def check_bits(bits: int, what: str = "bits") -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not MIN_BITS <= bits <= MAX_BITS:
        raise QuantizationError(f"{what} must be an integer in {MIN_BITS}..{MAX_BITS}, not {bits!r}")
    return bits


def integer_length(max_abs: float) -> int:
    """Ristretto's integer length: ceil(log2(max |x|)), 0 for an all-zero tensor."""
    if not math.isfinite(max_abs):
        raise QuantizationError(f"range {max_abs!r} is not finite")
    if max_abs <= 0.0:
        return 0
    return math.ceil(math.log2(max_abs))


def choose_format(max_abs: float, bits: int, signed: bool) -> Format:
    """The format that covers max |x| with the most fractional bits (+1 sign bit if signed)."""
    il = integer_length(max_abs) + (1 if signed else 0)
    return Format(bits, bits - il, signed)


def saturate(q: np.ndarray, fmt: Format) -> np.ndarray:
    return np.clip(q, fmt.min_int, fmt.max_int)


def quantize(x: np.ndarray, fmt: Format) -> np.ndarray:
    """Round a float array to nearest (half up) in `fmt` and saturate; returns int64."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise QuantizationError("cannot quantize NaN or infinite values")
    return saturate(np.floor(x * 2.0**fmt.frac + 0.5), fmt).astype(np.int64)


def dequantize(q: np.ndarray, fmt: Format) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) * 2.0**-fmt.frac


def round_shift(acc: np.ndarray, shift: int) -> np.ndarray:
    """Arithmetic shift right by `shift` with round-half-up; a negative shift is an exact left shift."""
    acc = np.asarray(acc, dtype=np.int64)
    if shift > 0:
        return (acc + (1 << (shift - 1))) >> shift
    return acc << (-shift)


def wrap(acc: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap to `bits`, as a hardware accumulator of that width does."""
    acc = np.asarray(acc, dtype=np.int64)
    if bits >= 64:
        return acc
    half = 1 << (bits - 1)
    return ((acc + half) & ((1 << bits) - 1)) - half


def requantize(acc: np.ndarray, shift: int, fmt: Format, relu: bool) -> np.ndarray:
    """Accumulator -> output: rounding shift, ReLU, saturate (the order the hardware uses)."""
    y = round_shift(acc, shift)
    if relu:
        y = np.maximum(y, 0)
    return saturate(y, fmt)
