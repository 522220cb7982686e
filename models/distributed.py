"""Data-parallel workers on torch.distributed (gloo, CPU): start them, or join a group torchrun started.

One machine: `run_workers` spawns the workers itself; they meet through a file
store in a temporary folder, so no port has to be free. Several machines:
`torchrun` starts one process per worker and sets RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT; `join_launcher_group` meets the others there.
Either way each worker runs the same training code; only rank 0 writes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from firebrick.models.train_config import BACKEND
from firebrick.processes import exit_with_parent

#: torchrun's variables; all present means this process is one worker of a group it started
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Group:
    """This process's place among the workers: rank 0 of 1 when not distributed."""

    rank: int = 0
    size: int = 1

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def leader(self) -> bool:
        return self.rank == 0


class WorkerDied(Exception):
    """A worker process exited before finishing; `rank` says which, `reason` how."""

    def __init__(self, rank: int, reason: str) -> None:
        super().__init__(f"worker rank {rank} {reason}")
        self.rank = rank
        self.reason = reason


def current_group() -> Group:
    """The group this process belongs to (rank 0 of 1 outside torch.distributed)."""
    if dist.is_available() and dist.is_initialized():
        return Group(dist.get_rank(), dist.get_world_size())
    return Group()


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in LAUNCHER_VARIABLES)


def join_launcher_group() -> Group:
    """Meet the other workers torchrun started (its environment says where); idempotent."""
    if not dist.is_initialized():
        dist.init_process_group(BACKEND, init_method="env://")
    return current_group()


def _bootstrap(rank: int, size: int, store: str, parent: int, entry: Callable[..., Any], args: tuple) -> None:
    exit_with_parent(parent)
    dist.init_process_group(BACKEND, init_method=f"file://{store}", rank=rank, world_size=size)
    try:
        entry(*args)
        # Leave together: a worker that tears its group down while another still reads the last
        # collective makes gloo abort that one ("terminate called without an active exception").
        dist.barrier()
    finally:
        dist.destroy_process_group()


def run_workers(size: int, entry: Callable[..., Any], args: tuple = ()) -> None:
    """Run `entry(*args)` in `size` fresh processes joined in one gloo group; return when all finished.

    When one worker fails the others are stopped and `WorkerDied` names the first
    that failed. Ctrl-C stops them all and is raised again here. Workers end
    themselves when this process dies.
    """
    with tempfile.TemporaryDirectory(prefix="firebrick-workers-") as folder:
        context = mp.start_processes(
            _bootstrap, args=(size, os.path.join(folder, "store"), os.getpid(), entry, args), nprocs=size, join=False,
            start_method="spawn",  # no forked torch or gloo state; each worker imports afresh
        )
        try:
            while not context.join():
                pass
        except mp.ProcessExitedException as exc:
            how = f"was killed by {exc.signal_name}" if exc.signal_name else f"exited with code {exc.exit_code}"
            raise WorkerDied(exc.error_index, how) from None
        except mp.ProcessRaisedException as exc:
            lines = [line for line in str(exc).strip().splitlines() if line.strip()]
            if lines and lines[-1].startswith("KeyboardInterrupt"):
                raise KeyboardInterrupt from None  # Ctrl-C reached the workers first: an interrupt, not a failure
            raise WorkerDied(exc.error_index, f"failed: {lines[-1] if lines else 'no message'}") from None
        except BaseException:
            for process in context.processes:
                if process.is_alive():
                    process.terminate()
            for process in context.processes:
                process.join(10)
            raise


def sum_over_workers(values: list[float], group: Group) -> list[float]:
    """Each value summed over all workers (float64; the values themselves where not distributed)."""
    if not group.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor)
    return tensor.tolist()


def from_leader(value: Any, group: Group) -> Any:
    """Rank 0's `value` on every worker (a picklable object)."""
    if not group.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
