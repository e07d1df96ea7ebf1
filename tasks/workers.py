"""Worker processes for the stages' batches, and starting them before the flow run that takes them up.

No Prefect here: a command starts the workers before it imports Prefect.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from tasks.storage import use_system_allocator


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for batches: spawned, not forked (the flow's process runs Prefect's threads and event loop),
    and importing only the pure modules, so a worker starts in about a second, not Prefect's eight."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=use_system_allocator)


_early: dict[int, ProcessPoolExecutor] = {}  # started by `early_workers` and not yet taken, by number of workers
_results: dict[Hashable, Future] = {}  # of the jobs `early_workers` ran next, not yet taken, by key


@contextmanager
def early_workers(workers: int, fn: Callable[[Any], Any], arg: Any,
                  then: Mapping[Hashable, tuple[Callable[..., Any], tuple]] | None = None) -> Iterator[None]:
    """Start the worker processes now, each running fn(arg) (imports, models), for a flow run inside the block to
    take up with its first batches (`take_early_workers`): a command starts them while Prefect imports and starts
    its server, and the first stage finds them ready. Stopped on leaving unless a flow run took them.

    `then` maps keys to jobs (a function and its arguments) that the workers run next: the flow run takes each
    one's result by its key (`take_early_result`), such as the scan of the raw directory its plan reads. They come
    after fn(arg), so that each worker is ready for the first batches when the flow's plan is done."""
    pool = worker_pool(workers)
    for _ in range(workers):
        pool.submit(fn, arg)
    started = {key: pool.submit(job, *args) for key, (job, args) in (then or {}).items()}
    _early[workers] = pool
    _results.update(started)
    try:
        yield
    finally:
        for key, future in started.items():
            if _results.get(key) is future:
                del _results[key]
        if _early.get(workers) is pool:
            del _early[workers]
            pool.shutdown(cancel_futures=True)


def take_early_workers(workers: int) -> ProcessPoolExecutor | None:
    """The worker processes `early_workers` started, if there are that many and no one took them yet."""
    return _early.pop(workers, None)


def take_early_result(key: Hashable) -> Future | None:
    """The job `early_workers` ran under this key, if there is one and no one took it yet."""
    return _results.pop(key, None)
