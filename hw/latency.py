"""Pipeline latencies of the accelerator, named once: the RTL is built to them and the schedule counts with them.

Every figure is in clock cycles. Each component that owns a latency builds
exactly that many register stages and its test measures it; `schedule.py`
derives every step's cycle count from these numbers, and the whole-frame tests
hold the RTL's cycle counter equal to the schedule.
"""

from __future__ import annotations

#: the controller's outputs to the datapath pass two registers (one beside the controller, one beside the
#: datapath): the datapath acts this many cycles after a decision
CONTROL_LATENCY = 2

#: activation SRAM read: lane addresses visible at cycle t -> bank crossbar into a register at each bank (t) ->
#: SRAM (t + 1) -> its output register (t + 2) -> each lane's pick within a group of banks, registered (t + 3)
#: -> the lane's group: lane data visible at t + 4
ACTIVATION_READ_LATENCY = 4
#: operand fetch: command at t -> lane address register -> SRAM read -> mask register: lanes visible at t + 6
FETCH_LATENCY = 1 + ACTIVATION_READ_LATENCY + 1
#: weight path: weight address at t -> SRAM -> data register [-> codebook decode] -> padded to FETCH_LATENCY
WEIGHT_LATENCY = FETCH_LATENCY
#: a multiplier: operands visible at t -> operand registers -> product register: the product visible at t + 2
MULTIPLY_LATENCY = 2
#: a PE: operands visible at t -> multiplier -> accumulator: the finished sum is `done` at t + 3
PE_LATENCY = MULTIPLY_LATENCY + 1
#: the requantizer core shared by write-back, bypass add and pool: + rounding constant, shift, clip
ROUND_SHIFT_CLIP_LATENCY = 3
#: conv write-back: a drained sum visible at t -> input register (address) -> its bias -> wrap(acc + bias) -> core
WRITEBACK_LATENCY = 3 + ROUND_SHIFT_CLIP_LATENCY
#: activation write: presented at t -> lane register -> bank crossbar into a register at each bank -> the SRAM;
#: readable by reads presented from t + 2 (which meet the same bank register)
WRITE_LATENCY = 2
#: an image beat: accepted at t -> through the controller's output registers -> written at the walker's lanes
LOAD_WRITE_LATENCY = CONTROL_LATENCY + WRITE_LATENCY
#: bypass add: second input's lanes visible at t -> aligned -> summed -> core
ADD_LATENCY = 2 + ROUND_SHIFT_CLIP_LATENCY
#: global pool: a channel's last lanes visible at t -> lane sum -> accumulated -> product halves -> product -> core
POOL_LATENCY = 4 + ROUND_SHIFT_CLIP_LATENCY
#: the global pool's score queue (score_queue.py): a score into the queue at t is on the stream at t + 2
SCORE_QUEUE_LATENCY = 2
#: a pool channel: its last read issued by the controller at t -> its score on the stream at t + this
POOL_SCORE_CYCLES = CONTROL_LATENCY + FETCH_LATENCY + POOL_LATENCY + SCORE_QUEUE_LATENCY
#: the scores the queue takes on: every score on its way at one a cycle, plus one, so that a stream that is always
#: ready never holds the pool back
SCORE_QUEUE_CAPACITY = POOL_SCORE_CYCLES + 1
#: activity counters: events registered, reduced to counts (registered), accumulated: totals final this many cycles after an event
COUNTER_LATENCY = 3
#: the controller's cycle between two steps (the next step's descriptor and lane starts are loaded)
SETUP_CYCLES = 1


def prefetch_cycles(cols: int) -> int:
    """Fewest cycles from one step's set-up to the next: the next descriptor's register, then one lane per cycle.

    The lane walkers' start positions for the next step are found by a registered chain, lane c from
    lane c - 1 (no division in hardware), while the current step runs.
    """
    return 2 + cols
