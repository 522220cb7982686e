"""The weight path: weight, bias and codebook memories and the decode table in front of the array.

Weights are stored one `rows`-wide word per reduction step and channel tile
(row r of the word feeds array row r), as int weights or as k-bit codebook
indices. The controller keeps the word's address in a register; the word is
read, registered, decoded through the layer's table when weights are shared
(`CodebookDecoder`), and delayed so that it reaches the array WEIGHT_LATENCY
cycles after its address, in step with the activations of the same reduction
step (`FETCH_LATENCY`). Biases: one word per channel tile, read as the tile
starts, ready one cycle after its address for the tile's record. A codebook
layer's table is loaded before it runs: `table_index` walks 0..2**k, reading
entry i from the codebook memory while writing entry i-1 into the decoder.
"""

from __future__ import annotations

import numpy as np
from amaranth import Module, Signal, signed, unsigned
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.codebook_decoder import CodebookDecoder
from firebrick.hw.latency import WEIGHT_LATENCY
from firebrick.hw.packing import pack_lanes
from firebrick.hw.params import ArrayParams
from firebrick.hw.program import ProgramWidths


class WeightPath(wiring.Component):
    def __init__(self, params: ArrayParams, widths: ProgramWidths, *, weights: np.ndarray, biases: np.ndarray,
                 codebook_bits: int | None = None, codebooks: np.ndarray | None = None) -> None:
        self.params, self.widths = params, widths
        self.weights, self.biases, self.codebook_bits, self.codebooks = weights, biases, codebook_bits, codebooks
        rows = params.rows
        super().__init__({
            "weight_address": In(unsigned(widths.weight_address)),
            "bias_address": In(unsigned(widths.bias_address)),
            "codebook_base": In(unsigned(widths.codebook_address)),
            "table_load": In(1),
            "table_index": In(range((1 << (codebook_bits or 1)) + 1)),
            "w": Out(data.ArrayLayout(signed(params.weight_bits), rows)),
            "biases_word": Out(unsigned(rows * params.acc_bits)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p = self.params
        rows = p.rows
        stored_bits = self.codebook_bits or p.weight_bits
        m.submodules.weights = weights = memory.Memory(
            shape=unsigned(rows * stored_bits), depth=len(self.weights), init=[pack_lanes(w, stored_bits) for w in self.weights])
        m.submodules.biases = biases = memory.Memory(
            shape=unsigned(rows * p.acc_bits), depth=len(self.biases), init=[pack_lanes(b, p.acc_bits) for b in self.biases])
        weight_port, bias_port = weights.read_port(), biases.read_port()
        m.d.comb += [weight_port.addr.eq(self.weight_address), bias_port.addr.eq(self.bias_address),
                     self.biases_word.eq(bias_port.data)]

        word = Signal(unsigned(rows * stored_bits))  # the SRAM's output, registered
        m.d.sync += word.eq(weight_port.data)
        stages = 2  # address -> SRAM data -> register
        decoded = Signal(data.ArrayLayout(signed(p.weight_bits), rows))
        if self.codebook_bits:
            k = self.codebook_bits
            m.submodules.decoder = decoder = CodebookDecoder(index_bits=k, weight_bits=p.weight_bits, lanes=rows)
            m.submodules.codebooks = tables = memory.Memory(
                shape=signed(p.weight_bits), depth=len(self.codebooks), init=[int(v) for v in self.codebooks])
            table_port = tables.read_port()
            loaded = Signal(range(1 << k))
            m.d.comb += table_port.addr.eq(self.codebook_base + self.table_index)
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
            nxt = Signal.like(decoded, name=f"w_d{stages}")
            m.d.sync += nxt.eq(delayed)
            delayed, stages = nxt, stages + 1
        m.d.comb += self.w.eq(delayed)
        return m
