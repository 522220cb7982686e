"""8N1 UART receiver and transmitter: how a board bitstream talks to a host over the board's USB serial port."""

# no `from __future__ import annotations`: Amaranth reads the port annotations as objects
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def _checked_divisor(divisor: int) -> int:
    if divisor < 2:
        raise ValueError(f"the UART needs at least 2 clock cycles per bit, not {divisor}")
    return divisor


class UartRx(wiring.Component):
    """One byte per `valid` pulse; the start bit is checked at its middle, then each bit sampled at its middle."""

    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)

    def __init__(self, divisor: int) -> None:
        self.divisor = _checked_divisor(divisor)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)  # the pin is asynchronous to our clock
        timer = Signal(range(self.divisor))
        bit = Signal(range(8))
        shift = Signal(8)
        m.d.sync += self.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                    with m.If(rx):  # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), shift.eq((shift >> 1) | (rx << 7)), bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(rx):  # a framing error drops the byte
                        m.d.sync += [self.data.eq(shift), self.valid.eq(1)]
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """Sends `data` when `valid` and `ready` are both high; `ready` is low while a byte is on the line."""

    tx: Out(1, init=1)
    data: In(8)
    valid: In(1)
    ready: Out(1)

    def __init__(self, divisor: int) -> None:
        self.divisor = _checked_divisor(divisor)
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        timer = Signal(range(self.divisor))
        # idle bit, stop bit, 8 data bits (LSB first), start bit: the idle bit keeps the stop bit a whole bit long
        frame = Signal(11)
        bits_left = Signal(range(12))
        m.d.comb += self.ready.eq(bits_left == 0)
        with m.If(bits_left == 0):
            with m.If(self.valid):
                m.d.sync += [frame.eq((0b11 << 9) | (self.data << 1)), bits_left.eq(11), timer.eq(0)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [self.tx.eq(frame[0]), frame.eq(frame >> 1), bits_left.eq(bits_left - 1), timer.eq(self.divisor - 1)]
        return m
