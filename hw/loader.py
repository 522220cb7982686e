"""The loader: takes the load stream (load_format.py) and writes the program, weight, bias and codebook memories.

One stream word a cycle, never stalling (`load.ready` is always high): a
memory word is written the cycle after its last stream word. Each memory gets
a write port (`memory_write`: address and enable registered, the data the
word buffer's top, where the word stays for that cycle). The
header is checked as it arrives (magic, envelope ID, section counts against
the memories' depths), the checksum at the end; `loaded` rises only after a
load passed all of them, and falls at the first word of the next load, so no
frame runs on half-loaded memories. A failed load sets `error` (a
`LoadError`) and skips the rest of its stream up to the word marked `last`;
the next word starts a new load.
"""

from __future__ import annotations

from amaranth import Cat, Module, Signal, unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from firebrick.hw.load_format import HEADER_WORDS, LOAD_WORD_BITS, MAGIC, SECTIONS, Envelope

#: a stream word of the load port
LoadBeat = data.StructLayout({"data": unsigned(LOAD_WORD_BITS), "last": unsigned(1)})


class LoadError(enum.Enum, shape=3):
    NONE = 0
    #: the first word is not the load magic
    MAGIC = 1
    #: the load was made for another envelope
    ENVELOPE = 2
    #: a section has more words than its memory (or the program none)
    CAPACITY = 3
    #: the trailer does not match the words
    CHECKSUM = 4
    #: `last` came before the trailer, or not with it
    LENGTH = 5


#: at most this many cycles from the handshake of a load's last word (at the accelerator's port, through its
#: register stage) until `loaded` and `error` show the outcome
LOAD_OUTCOME_CYCLES = 4


def address_bits(depth: int) -> int:
    return max((depth - 1).bit_length(), 1)


def memory_write(depth: int, data_bits: int) -> wiring.Signature:
    """The write port of a memory `depth` words deep, as its writer drives it."""
    return wiring.Signature({"addr": Out(unsigned(address_bits(depth))), "data": Out(unsigned(data_bits)), "en": Out(1)})


class Loader(wiring.Component):
    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope
        capacity = envelope.capacity
        members = {
            "load": In(stream.Signature(LoadBeat)),
            "loaded": Out(1),
            "busy": Out(1),
            "error": Out(LoadError),
            #: the index of the program's last step (the sequencer wraps after it)
            "last_step": Out(range(max(capacity["steps"], 1))),
        }
        for name in SECTIONS:
            if capacity[name]:
                members[name] = Out(memory_write(capacity[name], envelope.word_bits[name]))
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        env = self.envelope
        sections = [name for name in SECTIONS if env.capacity[name]]
        most_beats = max(env.beats(name) for name in sections)
        beat = self.load.payload
        take = self.load.valid  # always ready
        m.d.comb += self.load.ready.eq(1)

        counts = [Signal(range(env.capacity[name] + 1), name=f"{name}_count") for name in SECTIONS]
        sum_a = Signal(LOAD_WORD_BITS)
        sum_b = Signal(LOAD_WORD_BITS)
        next_a = Signal(LOAD_WORD_BITS)
        m.d.comb += next_a.eq(sum_a + beat.data)
        header_index = Signal(range(HEADER_WORDS))
        section = Signal(range(len(SECTIONS)))  # index into SECTIONS
        word = Signal(range(max(env.capacity.values()) + 1))
        part = Signal(range(most_beats))
        buffer = Signal(most_beats * LOAD_WORD_BITS)
        shifted = Cat(buffer[LOAD_WORD_BITS:], beat.data)  # the buffer with this beat at the top
        write_addr = Signal(max(address_bits(env.capacity[name]) for name in sections))
        write_en = Signal(len(SECTIONS))
        last_step = Signal.like(self.last_step)
        m.d.sync += write_en.eq(0)
        for index, name in enumerate(SECTIONS):
            if env.capacity[name]:
                # a finished word sits at the top of the buffer in the cycle of its write: no data register
                low = (most_beats - env.beats(name)) * LOAD_WORD_BITS
                port = getattr(self, name)
                m.d.comb += [port.addr.eq(write_addr), port.data.eq(buffer[low:low + env.word_bits[name]]),
                             port.en.eq(write_en[index])]
        m.d.comb += self.last_step.eq(last_step)

        def fail(code: LoadError) -> None:
            m.d.sync += [self.error.eq(code), self.busy.eq(0)]
            with m.If(beat.last):
                m.next = "IDLE"
            with m.Else():
                m.next = "SKIP"

        def accumulate() -> None:
            m.d.sync += [sum_a.eq(next_a), sum_b.eq(sum_b + next_a)]

        def go_to_first(nonempty, start: int) -> None:
            """Start the first section from `start` on that has words, or the trailer if none has."""
            chain = False
            for index in range(start, len(SECTIONS)):
                if not env.capacity[SECTIONS[index]]:
                    continue
                with (m.Elif if chain else m.If)(nonempty[index]):
                    m.d.sync += [section.eq(index), word.eq(0), part.eq(0)]
                    m.next = "DATA"
                chain = True
            if chain:
                with m.Else():
                    m.next = "TRAILER_A"
            else:
                m.next = "TRAILER_A"

        nonempty = Signal(len(SECTIONS))
        checksum_a_ok = Signal()
        with m.FSM():
            with m.State("IDLE"):
                with m.If(take):
                    m.d.sync += [self.loaded.eq(0), self.busy.eq(1), self.error.eq(LoadError.NONE),
                                 sum_a.eq(beat.data), sum_b.eq(beat.data), header_index.eq(1)]
                    with m.If(beat.data != MAGIC):
                        fail(LoadError.MAGIC)
                    with m.Elif(beat.last):
                        fail(LoadError.LENGTH)
                    with m.Else():
                        m.next = "HEADER"
            with m.State("HEADER"):  # the envelope ID, then the section counts
                with m.If(take):
                    accumulate()
                    m.d.sync += header_index.eq(header_index + 1)
                    with m.If(beat.last):
                        fail(LoadError.LENGTH)
                    with m.Elif(header_index == 1):
                        with m.If(beat.data != env.id):
                            fail(LoadError.ENVELOPE)
                    for index, name in enumerate(SECTIONS):
                        with m.Elif(header_index == 2 + index):
                            too_many = beat.data > env.capacity[name]
                            with m.If(too_many | (beat.data == 0) if name == "steps" else too_many):  # a program has a step
                                fail(LoadError.CAPACITY)
                            with m.Else():
                                m.d.sync += counts[index].eq(beat.data)
                                if name == "steps":
                                    m.d.sync += last_step.eq(beat.data - 1)
                                if index == len(SECTIONS) - 1:  # the counts are known: the first section with words
                                    now = Cat(*(c != 0 for c in counts[:-1]), beat.data != 0)
                                    m.d.sync += nonempty.eq(now)
                                    go_to_first(now, 0)
            with m.State("DATA"):
                with m.If(take):
                    accumulate()
                    m.d.sync += [buffer.eq(shifted), part.eq(part + 1)]
                    with m.If(beat.last):
                        fail(LoadError.LENGTH)
                    with m.Else():
                        with m.Switch(section):
                            for index, name in enumerate(SECTIONS):
                                if not env.capacity[name]:
                                    continue
                                beats = env.beats(name)
                                with m.Case(index):
                                    with m.If(part == beats - 1):  # the word is complete: write it
                                        m.d.sync += [part.eq(0), word.eq(word + 1), write_addr.eq(word), write_en[index].eq(1)]
                                        with m.If(word == counts[index] - 1):
                                            go_to_first(nonempty, index + 1)
            with m.State("TRAILER_A"):
                with m.If(take):
                    m.d.sync += checksum_a_ok.eq(beat.data == sum_a)
                    with m.If(beat.last):
                        fail(LoadError.LENGTH)
                    with m.Else():
                        m.next = "TRAILER_B"
            with m.State("TRAILER_B"):
                with m.If(take):
                    with m.If(~beat.last):
                        fail(LoadError.LENGTH)
                    with m.Elif(checksum_a_ok & (beat.data == sum_b)):
                        m.d.sync += [self.loaded.eq(1), self.busy.eq(0)]
                        m.next = "IDLE"
                    with m.Else():
                        fail(LoadError.CHECKSUM)
            with m.State("SKIP"):  # after an error: the rest of the failed load, up to its last word
                with m.If(take & beat.last):
                    m.next = "IDLE"
        return m
