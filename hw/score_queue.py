"""The global pool's scores on their way out: a queue, so that the pool can run channel after channel back to back.

The pool's pipeline cannot wait: a score comes out a fixed latency after its
channel's last read. So the controller reserves a place for each score when it
issues that channel's last group (`reserve`), and issues no last group while
the queue is `full`. Reserved places count the scores in the pool's pipeline,
in the queue and in the output register, until each one is sent. With
`capacity` = SCORE_QUEUE_CAPACITY (a score's whole way from its reservation to
the stream, plus one), a stream that is always ready never makes it full: the
pool then runs at one group a cycle, and the schedule counts exactly that.

`start` (the pool step's set-up) takes the number of scores, less one; `last`
marks the step's last score on the stream, and `sent_last` is its handshake.
Every output (the stream's valid and payload, `last`, `full`) comes from a
flip-flop.
"""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from firebrick.hw.latency import SCORE_QUEUE_CAPACITY


class ScoreQueue(wiring.Component):
    def __init__(self, score_shape, count_bits: int, *, capacity: int = SCORE_QUEUE_CAPACITY) -> None:
        self.score_shape, self.capacity = score_shape, capacity
        super().__init__({
            "start": In(1),
            "scores_less_one": In(unsigned(count_bits)),
            "reserve": In(1),
            "full": Out(1),
            "score": In(score_shape),
            "score_valid": In(1),
            "scores": Out(stream.Signature(score_shape)),
            "last": Out(1),
            "sent_last": Out(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        # the queue's read data and its valid are registers (a block RAM's output register where there is one: on
        # iCE40 an EBR, which has no LUT RAM to spare logic cells for); a score written at t is out at t + 2
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=len(self.score), depth=self.capacity)
        out = self.scores
        sent = Signal()
        m.d.comb += [fifo.w_data.eq(self.score), fifo.w_en.eq(self.score_valid),
                     out.payload.eq(fifo.r_data), out.valid.eq(fifo.r_rdy), fifo.r_en.eq(out.ready),
                     sent.eq(out.valid & out.ready), self.sent_last.eq(sent & self.last)]
        # places reserved and not yet sent; `full` from a register, set a cycle ahead
        held = Signal(range(self.capacity + 1))
        held_next = Signal.like(held)
        m.d.comb += held_next.eq(held + self.reserve - sent)
        m.d.sync += [held.eq(held_next), self.full.eq(held_next >= self.capacity)]
        # which score is the step's last
        left = Signal.like(self.scores_less_one)
        with m.If(self.start):
            m.d.sync += [left.eq(self.scores_less_one), self.last.eq(self.scores_less_one == 0)]
        with m.Elif(sent):
            m.d.sync += [left.eq(left - 1), self.last.eq(left == 1)]
        return m


def score_queue_model(scores: int, group_cycles: int, ready: list[bool], capacity: int,
                      latency: int) -> tuple[list[int], list[int]]:
    """Reference model, cycle by cycle, of a pool step over the queue: the cycles at which its reservations are made
    and at which its scores are sent. A channel's last read wants its reservation `group_cycles` after the previous
    one (from cycle 0), and waits while the queue is full; its score reaches the queue `latency` cycles after the
    reservation; the stream is ready on the cycles `ready` says."""
    made: list[int] = []
    sent: list[int] = []
    queue: list[int] = []
    held, full, wanted, out = 0, False, 0, None
    for cycle in range(len(ready)):
        reserve = len(made) < scores and cycle >= wanted and not full
        if reserve:
            made.append(cycle)
            wanted = cycle + group_cycles
        send = out is not None and ready[cycle]
        if send:
            sent.append(cycle)
        # the output register takes the queue's head when it is empty or sending; what arrives now is there next cycle
        if out is None or send:
            out = queue.pop(0) if queue else None
        queue.extend(i for i, t in enumerate(made) if t + latency == cycle)
        held += reserve - send
        full = held >= capacity
    return made, sent
