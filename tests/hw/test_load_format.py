"""The load file: written whole with its header, read back checked; damage and other envelopes are refused by name."""

import dataclasses

import numpy as np
import pytest

from firebrick.hw.compiler import compile_graph
from firebrick.hw.load_format import (
    HEADER_WORDS, MAGIC, SECTIONS, LoadFileError, load_stream, program_envelope, read_load_file, section_words,
    write_load_file,
)
from firebrick.hw.params import ArrayParams


@pytest.fixture
def program(small_graph):
    return compile_graph(small_graph, ArrayParams(rows=2, cols=2))


def test_the_stream_holds_the_header_every_section_word_and_the_trailer(program):
    envelope = program_envelope(program)
    words = load_stream(program, envelope)
    sections = section_words(program)
    counts = [len(sections[name]) for name in SECTIONS]
    assert words[0] == MAGIC and words[1] == envelope.id and list(words[2:HEADER_WORDS]) == counts
    assert len(words) == HEADER_WORDS + sum(c * envelope.beats(n) for c, n in zip(counts, SECTIONS)) + 2
    # the first weight word, least significant stream word first
    first = HEADER_WORDS + counts[0] * envelope.beats("steps")
    beats = envelope.beats("weights")
    assert sum(int(w) << (32 * i) for i, w in enumerate(words[first:first + beats])) == sections["weights"][0]


def test_the_file_reads_back_and_damage_is_refused(program, tmp_path):
    envelope = program_envelope(program)
    path = tmp_path / "weights.fbl"
    written = write_load_file(path, program, envelope, model="m", graph_sha256="0" * 64)
    back = read_load_file(path, envelope)
    assert (back.words == written.words).all() and back.header["model"] == "m" and back.envelope == envelope
    raw = path.read_bytes()
    damaged = tmp_path / "damaged.fbl"
    damaged.write_bytes(raw[:-10])
    with pytest.raises(LoadFileError, match="truncated or padded: its header says"):
        read_load_file(damaged)
    flipped = bytearray(raw)
    flipped[-40] ^= 0x10  # a bit of the last section
    damaged.write_bytes(bytes(flipped))
    with pytest.raises(LoadFileError, match="corrupted: its checksum does not match"):
        read_load_file(damaged)
    damaged.write_bytes(b"not a load file")
    with pytest.raises(LoadFileError, match="is not a firebrick load file"):
        read_load_file(damaged)


def test_a_load_for_another_envelope_is_refused_naming_both(program, small_graph, tmp_path):
    other = program_envelope(compile_graph(small_graph, ArrayParams(rows=4, cols=4)))
    envelope = program_envelope(program)
    write_load_file(tmp_path / "w.fbl", program, envelope, model="m", graph_sha256="0" * 64)
    with pytest.raises(LoadFileError, match=rf"made for envelope {envelope.id:08x} \(.*\); this accelerator is envelope {other.id:08x}"):
        read_load_file(tmp_path / "w.fbl", other)


def test_a_model_larger_than_the_envelope_is_refused_with_the_numbers(program):
    envelope = program_envelope(program)
    smaller = dataclasses.replace(envelope, capacity={**envelope.capacity, "weights": envelope.capacity["weights"] - 1})
    with pytest.raises(LoadFileError, match=rf"does not fit envelope .*: weights memory: the model needs {envelope.capacity['weights']} words, "
                                            rf"the accelerator holds {envelope.capacity['weights'] - 1}"):
        load_stream(program, smaller)
    assert smaller.id != envelope.id and np.all(load_stream(program, envelope)[:1] == MAGIC)
