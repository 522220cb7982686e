"""The weight path: the weight and codebook memories and the decode table in front of the array.

Weights are stored one `rows`-wide word per reduction step and channel tile
(row r of the word feeds array row r), as int weights or as k-bit codebook
indices. The controller keeps the word's address in a register; the word is
read, registered, decoded through the layer's table when weights are shared
(`CodebookDecoder`), and delayed so that it reaches the array WEIGHT_LATENCY
cycles after its address, in step with the activations of the same reduction
step (`FETCH_LATENCY`). The memory is split into chunks one block RAM deep
(`RegisteredMemory`: 1024 words on the ECP5's DP16KD at x18; elsewhere one
7-series RAMB36 deep in the shape that stores the memory in the fewest blocks,
`chunk_words`), each registered at its own output before one chunk is
selected: a block RAM's output is slow without its register, and the
synthesised depth cascade of a deep memory would put a multiplexer there.
(Biases are added in the write-back, which holds
their memory: `conv_writeback.py`.) A codebook
layer's table is loaded before it runs: `table_index` walks 0..2**k, reading
entry i from the codebook memory while writing entry i-1 into the decoder.

Built for run-time loading (`loaded`: the memories' depths, no contents), the
weight chunks and the codebook memory get write ports (`weight_write`,
`codebook_write`) that the loader drives.
"""

from __future__ import annotations

import math

import numpy as np
from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.block_ram import (
    DP16KD_DEPTH, cheapest_tiling, LargeRam, RegisteredMemory, connect_ports, is_ecp5, ram_style, single_port, uninitialised_attrs,
)
from firebrick.hw.codebook_decoder import CodebookDecoder
from firebrick.hw.latency import WEIGHT_LATENCY
from firebrick.hw.loader import memory_write
from firebrick.hw.packing import pack_lanes
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths

#: 7-series RAMB36 shapes: data width (with parity bits) -> words
RAMB36_DEPTH = {1: 32768, 2: 16384, 4: 8192, 9: 4096, 18: 2048, 36: 1024, 72: 512}
RAMB36_SHAPES = [(depth, width) for width, depth in RAMB36_DEPTH.items()]


def chunked_blocks(words: int, word_bits: int, width: int) -> int:
    """RAMB36 blocks of a memory of `words` x `word_bits` in chunks one block deep in the RAMB36 shape of `width`
    bits: each full chunk takes ceil(word_bits / width) blocks side by side, the last part one its cheapest way."""
    full, rest = divmod(words, RAMB36_DEPTH[width])
    return full * math.ceil(word_bits / width) + (cheapest_tiling(rest, word_bits, RAMB36_SHAPES) if rest else 0)


def chunk_words(word_bits: int, words: int) -> int:
    """Words per chunk of a memory of `words` x `word_bits` off the ECP5: one block deep in the RAMB36 shape that
    chunks it into the fewest blocks (the deepest of equals). ZynqNet's 157,772 words of 128 bits: 4096 x 9 bits,
    15 blocks side by side, 39 chunks and 580 blocks, against 309 chunks of 512 x 72 bits and 618 blocks. One block
    deep, a chunk has no depth cascade in front of its output register; fewer chunks make a smaller select and
    Verilog generated faster.
    """
    width = min(RAMB36_DEPTH, key=lambda w: (chunked_blocks(words, word_bits, w), -RAMB36_DEPTH[w]))
    return RAMB36_DEPTH[width]


class WeightPath(wiring.Component):
    def __init__(self, params: ArrayParams, widths: ProgramWidths, *, weights: np.ndarray,
                 codebook_bits: int | None = None, codebooks: np.ndarray | None = None,
                 loaded: dict[str, int] | None = None, large_ram: LargeRam | None = None) -> None:
        """`loaded`: {"weights": depth, "codebooks": depth} of memories the loader fills, instead of `weights`/`codebooks`;
        `large_ram`: where the weights or codebooks go when the fit check put them in the board's large RAM (the weight
        chunks are then one of its blocks deep)."""
        self.large_ram = large_ram
        self.params, self.widths = params, widths
        self.weights, self.codebook_bits, self.codebooks = weights, codebook_bits, codebooks
        self.loaded = loaded
        rows = params.rows
        stored_bits = codebook_bits or params.weight_bits
        members = {
            "weight_address": In(unsigned(widths.weight_address)),
            "codebook_base": In(unsigned(widths.codebook_address)),
            "table_load": In(1),
            "table_index": In(range((1 << (codebook_bits or 1)) + 1)),
            "w": Out(data.ArrayLayout(signed(params.weight_bits), rows)),
        }
        if loaded is not None:
            members["weight_write"] = In(memory_write(loaded["weights"], rows * stored_bits))
            if codebook_bits:
                members["codebook_write"] = In(memory_write(loaded["codebooks"], params.weight_bits))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        rows = p.rows
        stored_bits = self.codebook_bits or p.weight_bits
        loaded = self.loaded is not None
        total = self.loaded["weights"] if loaded else len(self.weights)
        words = [] if loaded else [pack_lanes(w, stored_bits) for w in self.weights]
        style = ram_style(self.large_ram, "weights")
        if style is not None:
            depth = self.large_ram.block_depth
        else:
            depth = DP16KD_DEPTH[18] if is_ecp5(platform) else chunk_words(rows * stored_bits, total)
        chunks = [(i, min(depth, total - i)) for i in range(0, total, depth)]  # (first word, words)
        chunk_bits = (depth - 1).bit_length() if len(chunks) > 1 else len(self.weight_address)
        outputs = []
        for i, (first, count) in enumerate(chunks):
            m.submodules[f"weights{i}"] = chunk_memory = RegisteredMemory(
                width=rows * stored_bits, depth=count, init=words[first:first + count], writable=loaded, ram_style=style,
                single_port=single_port(self.large_ram, "weights"))
            m.d.comb += chunk_memory.read_addr.eq(self.weight_address[:chunk_bits])
            if loaded:
                write = self.weight_write
                chosen = (write.addr[chunk_bits:] == i) if len(chunks) > 1 else 1
                m.d.comb += [chunk_memory.write_addr.eq(write.addr[:chunk_bits]), chunk_memory.write_data.eq(write.data),
                             chunk_memory.write_en.eq(write.en & chosen)]
            outputs.append(chunk_memory.read_data)
        which = [Signal(range(len(chunks)), name=f"chunk_d{i}") for i in (1, 2)]  # the address's chunk, beside the read
        m.d.sync += [which[0].eq(self.weight_address[chunk_bits:] if len(chunks) > 1 else 0), which[1].eq(which[0])]
        word = Signal(unsigned(rows * stored_bits), reset_less=True)  # the chosen chunk's word, registered
        with m.Switch(which[1]):
            for i, registered in enumerate(outputs):
                with m.Case(i):
                    m.d.sync += word.eq(registered)
        stages = 3  # address -> SRAM data -> its output register -> word register
        decoded = Signal(data.ArrayLayout(signed(p.weight_bits), rows), reset_less=True)
        if self.codebook_bits:
            k = self.codebook_bits
            m.submodules.decoder = decoder = CodebookDecoder(index_bits=k, weight_bits=p.weight_bits, lanes=rows)
            if loaded:
                m.submodules.codebooks = tables = memory.Memory(
                    shape=signed(p.weight_bits), depth=self.loaded["codebooks"], init=[],
                    attrs=uninitialised_attrs(ram_style(self.large_ram, "codebooks")))
                table_port = tables.read_port()
                write = self.codebook_write
                connect_ports(m, table_port, tables.write_port(), read_addr=self.codebook_base + self.table_index, read_en=1,
                              write_addr=write.addr, write_data=write.data, write_en=write.en,
                              single_port=single_port(self.large_ram, "codebooks"))
            else:
                m.submodules.codebooks = tables = memory.Memory(
                    shape=signed(p.weight_bits), depth=len(self.codebooks), init=[int(v) for v in self.codebooks])
                table_port = tables.read_port()
                m.d.comb += table_port.addr.eq(self.codebook_base + self.table_index)
            loaded = Signal(range(1 << k))
            m.d.sync += loaded.eq(self.table_index)
            m.d.comb += [
                decoder.write_enable.eq(self.table_load & (self.table_index != 0)),
                decoder.write_index.eq(loaded), decoder.write_weight.eq(table_port.data),
            ]
            for r in range(rows):
                m.d.comb += decoder.index[r].eq(word[r * k:(r + 1) * k])
                m.d.sync += decoded[r].eq(decoder.weight[r])
        else:
            for r in range(rows):
                m.d.sync += decoded[r].eq(word[r * p.weight_bits:(r + 1) * p.weight_bits].as_signed())
        stages += 1
        delayed = decoded
        while stages < WEIGHT_LATENCY:
            nxt = Signal.like(decoded, name=f"w_d{stages}", reset_less=True)
            m.d.sync += nxt.eq(delayed)
            delayed, stages = nxt, stages + 1
        m.d.comb += self.w.eq(delayed)
        return m
