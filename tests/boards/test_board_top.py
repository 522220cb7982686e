"""The bitstream's top level in Amaranth's simulator: an image in over the UART, the golden scores out."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.boards.board_top import BoardTop, frame_bytes, scores_from_bytes
from firebrick.boards.uart import UartRx, UartTx
from firebrick.hw.compiler import compile_graph
from firebrick.hw.params import ArrayParams
from firebrick.quant.executor import quantize_images, run_int

DIVISOR = 3  # clock cycles per UART bit: a fast line keeps the simulation short


async def send_byte(ctx, pin, byte, divisor):
    for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
        ctx.set(pin, bit)
        await ctx.tick().repeat(divisor)


async def receive_byte(ctx, pin, divisor, timeout=200_000):
    for _ in range(timeout):
        if not ctx.get(pin):
            break
        await ctx.tick()
    else:
        raise AssertionError(f"no start bit for {timeout} cycles: the board top hung")
    await ctx.tick().repeat(divisor + divisor // 2)  # to the middle of bit 0
    byte = 0
    for i in range(8):
        byte |= ctx.get(pin) << i
        await ctx.tick().repeat(divisor)
    assert ctx.get(pin) == 1, "stop bit"
    return byte


def test_uart_transmitter_and_receiver_agree():
    rx, tx = UartRx(5), UartTx(5)
    sent, got = [0x00, 0xFF, 0xA5, 0x3C, 0x81], []

    async def drive(ctx):
        for byte in sent:
            ctx.set(tx.data, byte)
            ctx.set(tx.valid, 1)
            await ctx.tick().until(tx.ready)
            await ctx.tick()
            ctx.set(tx.valid, 0)
        await ctx.tick().repeat(200)

    async def loop(ctx):
        async for _, _, tx_bit in ctx.tick().sample(tx.tx):
            ctx.set(rx.rx, tx_bit)

    async def collect(ctx):
        async for _, _, valid, byte in ctx.tick().sample(rx.valid, rx.data):
            if valid:
                got.append(byte)

    from amaranth.hdl import Module
    m = Module()
    m.submodules.rx, m.submodules.tx = rx, tx
    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_process(loop)
    sim.add_process(collect)
    sim.run()
    assert got == sent


@pytest.mark.parametrize("params", [ArrayParams(rows=4, cols=4)])
def test_an_image_over_the_uart_gives_the_golden_scores_and_the_leds_show_the_class(small_graph, params):
    rng = np.random.default_rng(0)
    image = quantize_images(small_graph, rng.random((1, 1, 8, 8)).astype(np.float32))[0]
    golden = run_int(small_graph, image[None])[small_graph.output].ravel().tolist()
    program = compile_graph(small_graph, params)
    top = BoardTop(program, clock_hz=DIVISOR * 115_200)
    assert top.divisor == DIVISOR
    payload = frame_bytes(image, params.cols, params.lane_act_bits)
    received, leds = [], []

    async def host(ctx):
        await ctx.tick().repeat(4)
        for byte in payload:
            await send_byte(ctx, top.rx, byte, DIVISOR)

    async def listen(ctx):
        for _ in range(2 * len(golden)):
            received.append(await receive_byte(ctx, top.tx, DIVISOR))
        await ctx.tick().repeat(4 * DIVISOR)
        leds.append(ctx.get(top.leds))

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(host, background=True)
    sim.add_testbench(listen)
    sim.run()  # ends when `listen` has every score
    assert scores_from_bytes(bytes(received)) == golden
    assert leds == [int(np.argmax(golden))]  # the first highest score's index, once the frame is out
