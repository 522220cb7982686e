"""The accelerator on a real board: images in and class scores out over the board's USB serial port.

The accelerator's clock comes from the board's oscillator through the FPGA's
PLL (`pll.py`) when a PLL setting is given, else from the oscillator itself.

Protocol (8N1, `BAUD` baud): the host sends the image as the accelerator's
stream beats (channel by channel, `cols` pixels per beat, the last beat of a
channel padded with zeros), each pixel as two bytes, little-endian two's
complement of the lane width. After the frame the board sends every class
score as two bytes, little-endian, and shows the predicted class (the first
highest score) in binary on the LEDs. Send the next image after the scores
of the last: bytes that arrive while the accelerator is not loading an image
are dropped (there is no flow control on the line). `frame_bytes` and
`scores_from_bytes` are the host's side.
"""

from __future__ import annotations

from amaranth.build import ResourceError
from amaranth.hdl import Elaboratable, Module, Mux, Signal, signed
from amaranth.lib import data, io

from firebrick.boards.pll import ClockGenerator, PllConfig
from firebrick.boards.uart import UartRx, UartTx
from firebrick.hw.accelerator import Accelerator
from firebrick.hw.compiler import Program

BAUD = 115_200


class BoardTop(Elaboratable):
    """`Accelerator` + UART (+ the PLL). With `platform` None (simulation) the pins are the attributes `rx`, `tx`, `leds`.

    `clock_hz` is the accelerator's clock: the PLL's output when `pll` is given, else the oscillator's.
    """

    def __init__(self, program: Program, clock_hz: float, baud: int = BAUD, led_count: int = 8,
                 pll: PllConfig | None = None, dsp_multipliers: bool = False) -> None:
        if program.params.lane_act_bits + 1 > 16:
            raise ValueError(f"the UART protocol carries 16-bit pixels and scores; {program.params.act_bits}-bit activations need more")
        if pll is not None and abs(pll.output_mhz * 1e6 - clock_hz) > 1:
            raise ValueError(f"clock_hz {clock_hz:g} is not the PLL's output ({pll.output_mhz:g} MHz)")
        self.program, self.pll, self.dsp_multipliers = program, pll, dsp_multipliers
        self.divisor = round(clock_hz / baud)
        self.rx = Signal(init=1)
        self.tx = Signal(init=1)
        self.leds = Signal(led_count)

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.program.params
        m.submodules.accelerator = acc = Accelerator(self.program, dsp_multipliers=self.dsp_multipliers)
        m.submodules.uart_rx = rx = UartRx(self.divisor)
        m.submodules.uart_tx = tx = UartTx(self.divisor)
        if platform is not None and self.pll is not None:
            m.submodules.clock = ClockGenerator(self.pll)
        if platform is not None:
            uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
            m.submodules.rx_pin = rx_pin = io.Buffer("i", uart.rx)
            m.submodules.tx_pin = tx_pin = io.Buffer("o", uart.tx)
            m.d.comb += [rx.rx.eq(rx_pin.i), tx_pin.o.eq(tx.tx)]
            for i in range(len(self.leds)):  # as many LEDs as the board has (the iCEBreaker: 2, the low bits)
                try:
                    led = platform.request("led", i, dir="-")
                except ResourceError:
                    break
                m.submodules[f"led_{i}"] = led_pin = io.Buffer("o", led)
                m.d.comb += led_pin.o.eq(self.leds[i])
        else:
            m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]

        # bytes -> pixels -> beats
        beat = Signal(data.ArrayLayout(signed(p.lane_act_bits), p.cols))
        lane = Signal(range(p.cols + 1))
        low = Signal(8)
        high_next = Signal()
        m.d.comb += [acc.image.payload.eq(beat), acc.image.valid.eq(lane == p.cols)]
        with m.If(acc.image.valid & acc.image.ready):
            m.d.sync += lane.eq(0)
        with m.Elif(rx.valid & (lane < p.cols)):
            m.d.sync += high_next.eq(~high_next)
            with m.If(~high_next):
                m.d.sync += low.eq(rx.data)
            with m.Else():
                with m.Switch(lane):
                    for i in range(p.cols):
                        with m.Case(i):
                            m.d.sync += beat[i].eq((rx.data << 8 | low)[: p.lane_act_bits])
                m.d.sync += lane.eq(lane + 1)

        # scores -> bytes, and the running argmax to the LEDs
        score = Signal(16)
        best = Signal(signed(p.lane_act_bits + 1))
        best_index = Signal(range(max(self.program.num_classes, 2)))
        index = Signal.like(best_index)
        stage = Signal(range(3))  # 0: take a score, 1: send its low byte, 2: its high byte
        m.d.comb += acc.scores.ready.eq(stage == 0)
        with m.If(acc.scores.valid & (stage == 0)):
            m.d.sync += [score.eq(acc.scores.payload.as_signed()), stage.eq(1), index.eq(index + 1)]
            with m.If((index == 0) | (acc.scores.payload > best)):
                m.d.sync += [best.eq(acc.scores.payload), best_index.eq(index)]
            with m.If(index == self.program.num_classes - 1):
                m.d.sync += index.eq(0)
        m.d.comb += [tx.valid.eq(stage != 0), tx.data.eq(Mux(stage == 1, score[:8], score[8:]))]
        with m.If(tx.valid & tx.ready):
            m.d.sync += stage.eq(Mux(stage == 2, 0, stage + 1))
        m.d.comb += self.leds.eq(best_index)
        return m


def frame_bytes(image, cols: int, lane_bits: int) -> bytes:
    """What the host sends for one integer image (C, H, W): every beat's pixels, two bytes each."""
    from firebrick.hw.packing import image_beats

    mask = (1 << lane_bits) - 1
    return b"".join((int(v) & mask).to_bytes(2, "little") for beat in image_beats(image, cols) for v in beat)


def scores_from_bytes(raw: bytes) -> list[int]:
    """The class scores from the bytes the board sends back (two per score, little-endian, signed)."""
    return [int.from_bytes(raw[i : i + 2], "little", signed=True) for i in range(0, len(raw) - 1, 2)]
