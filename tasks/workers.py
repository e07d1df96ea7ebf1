"""Worker processes for the stages' batches, and starting them before the flow run that takes them up.

No Prefect here: a command starts the workers before it imports Prefect.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from tasks.storage import use_system_allocator


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for batches: spawned, not forked (the flow's process runs Prefect's threads and event loop),
    and importing only the pure modules, so a worker starts in about a second, not Prefect's eight."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=use_system_allocator)


_early: dict[int, ProcessPoolExecutor] = {}  # started by `early_workers` and not yet taken, by number of workers


@contextmanager
def early_workers(workers: int, fn: Callable[[Any], Any], arg: Any) -> Iterator[None]:
    """Start the worker processes now, each running fn(arg) (imports, models), for a flow run inside the block to
    take up with its first batches (`take_early_workers`): a command starts them while Prefect imports and starts
    its server, and the first stage finds them ready. Stopped on leaving unless a flow run took them."""
    pool = worker_pool(workers)
    for _ in range(workers):
        pool.submit(fn, arg)
    _early[workers] = pool
    try:
        yield
    finally:
        if _early.get(workers) is pool:
            del _early[workers]
            pool.shutdown(cancel_futures=True)


def take_early_workers(workers: int) -> ProcessPoolExecutor | None:
    """The worker processes `early_workers` started, if there are that many and no one took them yet."""
    return _early.pop(workers, None)
