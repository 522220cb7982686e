"""The loader: a load stream's words land in the right memories; a bad load is refused and never sets `loaded`."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from firebrick.hw.load_format import SECTIONS, Envelope, checksums, encode_load
from firebrick.hw.loader import Loader, LoadError

#: word widths that take 3, 2, 1 and 1 stream words per memory word
ENVELOPE = Envelope(capacity={"steps": 3, "weights": 5, "biases": 2, "codebooks": 4},
                    word_bits={"steps": 70, "weights": 40, "biases": 32, "codebooks": 8}, layout={"test": 1})


def random_words(rng, name, count):
    bits = ENVELOPE.word_bits[name]
    return [int.from_bytes(rng.bytes(16), "little") & ((1 << bits) - 1) for _ in range(count)]


def sections(rng, counts=None):
    counts = counts or ENVELOPE.capacity
    return {name: random_words(rng, name, counts[name]) for name in SECTIONS}


def run_loads(loads, *, gaps=0.0, seed=0):
    """Stream each load (a list of (word, last)) in turn; after each: (loaded, error, last_step, writes by section)."""
    dut = Loader(ENVELOPE)
    rng = np.random.default_rng(seed)
    outcomes = []

    async def bench(ctx):
        for load in loads:
            writes = {name: {} for name in SECTIONS}
            was_loaded_during = []
            for word, last in load:
                while rng.random() < gaps:  # a cycle without a word
                    ctx.set(dut.load.valid, 0)
                    await ctx.tick()
                    collect(ctx, writes)
                ctx.set(dut.load.payload, {"data": int(word), "last": int(last)})
                ctx.set(dut.load.valid, 1)
                assert ctx.get(dut.load.ready)
                await ctx.tick()
                collect(ctx, writes)
                was_loaded_during.append(ctx.get(dut.loaded))
            ctx.set(dut.load.valid, 0)
            for _ in range(2):
                await ctx.tick()
                collect(ctx, writes)
            outcomes.append((bool(ctx.get(dut.loaded)), LoadError(ctx.get(dut.error)), ctx.get(dut.last_step), writes,
                             any(was_loaded_during[:-1])))

    def collect(ctx, writes):
        for name in SECTIONS:
            port = getattr(dut, name)
            if ctx.get(port.en):
                writes[name][ctx.get(port.addr)] = ctx.get(port.data)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return outcomes


def marked(words):
    return [(int(w), i == len(words) - 1) for i, w in enumerate(words)]


def test_every_word_lands_at_its_address_with_gaps_in_the_stream():
    data = sections(np.random.default_rng(1))
    [(loaded, error, last_step, writes, early)] = run_loads([marked(encode_load(data, ENVELOPE))], gaps=0.3)
    assert loaded and error == LoadError.NONE and not early
    assert last_step == ENVELOPE.capacity["steps"] - 1
    for name in SECTIONS:
        assert writes[name] == dict(enumerate(data[name])), name


def test_a_load_may_fill_less_than_its_memories_and_skip_a_section():
    counts = {"steps": 2, "weights": 5, "biases": 0, "codebooks": 1}
    data = sections(np.random.default_rng(2), counts)
    [(loaded, error, last_step, writes, _)] = run_loads([marked(encode_load(data, ENVELOPE))])
    assert loaded and error == LoadError.NONE and last_step == 1
    assert writes["biases"] == {} and writes["steps"] == dict(enumerate(data["steps"]))


def corrupt(words, index, value=None):
    words = np.array(words, np.uint32)
    words[index] = words[index] ^ 1 if value is None else value
    return words


def resealed(words):
    """The words with a trailer that matches them again (a bad header that passes the checksum)."""
    body = np.array(words[:-2], np.uint32)
    return np.concatenate([body, np.array(checksums(body), np.uint32)])


@pytest.mark.parametrize("damage, expected", [
    (lambda w: marked(corrupt(w, 0)), LoadError.MAGIC),
    (lambda w: marked(resealed(corrupt(w, 1))), LoadError.ENVELOPE),
    (lambda w: marked(resealed(corrupt(w, 3, 6))), LoadError.CAPACITY),  # 6 weight words for a memory of 5
    (lambda w: marked(resealed(corrupt(w, 2, 0))), LoadError.CAPACITY),  # a program without steps
    (lambda w: marked(corrupt(w, 20)), LoadError.CHECKSUM),  # one bit of a weight
    (lambda w: marked(corrupt(w, len(w) - 1)), LoadError.CHECKSUM),  # the trailer itself
    (lambda w: marked(w[:-5]), LoadError.LENGTH),  # `last` early: a truncated load
    (lambda w: [(int(x), False) for x in w] + [(7, False), (7, True)], LoadError.LENGTH),  # no `last` on the trailer
])
def test_a_bad_load_is_refused_and_the_next_good_one_passes(damage, expected):
    good = encode_load(sections(np.random.default_rng(3)), ENVELOPE)
    first, second = run_loads([damage(good), marked(good)])
    assert first[:2] == (False, expected)
    assert second[:2] == (True, LoadError.NONE)


def test_loaded_falls_while_a_new_load_arrives():
    rng = np.random.default_rng(4)
    one, two = (encode_load(sections(rng), ENVELOPE) for _ in range(2))
    outcomes = run_loads([marked(one), marked(two)])
    assert [o[0] for o in outcomes] == [True, True]
    assert not outcomes[1][4], "loaded stayed high while the second load was overwriting the memories"
