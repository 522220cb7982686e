"""A training worker whose rank 1 dies, as if killed, in the middle of its second epoch (for the data-parallel tests)."""

import math
import os

from firebrick.models import training
from firebrick.models.distributed import current_group


def train_or_die(spec, dataset, config, output, *rest):
    if current_group().rank == 1:
        steps_per_epoch = math.ceil(math.ceil(len(dataset.splits["train"]) / config.workers) / config.batch_size)
        real_shift = training.random_shift
        calls = {"n": 0}

        def shift_then_die(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == steps_per_epoch + steps_per_epoch // 2:
                os._exit(9)
            return real_shift(*args, **kwargs)

        training.random_shift = shift_then_die
    return training._train_worker(spec, dataset, config, output, *rest)
