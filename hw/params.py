"""Hardware parameters of the accelerator, validated with exact messages.

The array is output-stationary: row r accumulates output channel n0 + r,
column c output pixel p0 + c, while the reduction (input channel x kernel tap)
streams through time. Why output-stationary first: the reduction length of a
layer (K = Cin * k * k) never has to be cut to the array's size, so a 3-channel
first layer or a 16-channel squeeze output wastes no rows; partial sums never
leave the PE; and a tile's results drain while the next tile accumulates, so
the array is busy whenever K >= rows.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

from firebrick.errors import FirebrickError


class HardwareParamError(FirebrickError, ValueError):
    """Hardware parameters that cannot work."""


class Dataflow(str, enum.Enum):
    OUTPUT_STATIONARY = "output_stationary"
    WEIGHT_STATIONARY = "weight_stationary"


IMPLEMENTED_DATAFLOWS = (Dataflow.OUTPUT_STATIONARY,)


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HardwareParamError(f"{name} must be a positive integer, not {value!r}")


@dataclass(frozen=True)
class ArrayParams:
    """The systolic array and its arithmetic."""

    #: PE rows: output channels computed at once
    rows: int = 8
    #: PE columns: output pixels computed at once
    cols: int = 8
    #: activation width; activations travel as signed act_bits + 1 so that unsigned ones fit
    act_bits: int = 8
    #: weight width (signed)
    weight_bits: int = 8
    #: accumulator (and bias) width
    acc_bits: int = 32
    dataflow: Dataflow = Dataflow.OUTPUT_STATIONARY

    def __post_init__(self) -> None:
        _positive("array rows", self.rows)
        _positive("array cols", self.cols)
        for name in ("act_bits", "weight_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 16:
                raise HardwareParamError(f"{name.replace('_', ' ')} must be an integer in 2..16, not {value!r}")
        if isinstance(self.acc_bits, bool) or not isinstance(self.acc_bits, int) or not 16 <= self.acc_bits <= 48:
            raise HardwareParamError(f"acc bits must be an integer in 16..48, not {self.acc_bits!r}")
        try:
            dataflow = Dataflow(self.dataflow)
        except ValueError:
            raise HardwareParamError(
                f"dataflow must be one of {', '.join(d.value for d in Dataflow)}, not {self.dataflow!r}"
            ) from None
        if dataflow not in IMPLEMENTED_DATAFLOWS:
            raise HardwareParamError(f"dataflow {dataflow.value!r} is not implemented yet; use 'output_stationary'")
        object.__setattr__(self, "dataflow", dataflow)

    @property
    def lane_act_bits(self) -> int:
        """Width of an activation inside the array: signed, one bit wider than the data."""
        return self.act_bits + 1

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dataflow"] = self.dataflow.value
        return d
