"""Run a pure batch function over many batches on all cores."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def map_batches(fn: Callable[[Job], Result], jobs: Sequence[Job], workers: int) -> Iterator[tuple[int, Result]]:
    """Yield (job index, result) as batches finish; in-process when one worker or one batch suffices.

    Worker processes are spawned rather than forked: the parent runs Prefect's threads and event
    loop, which a fork would copy in an unknown state.
    """
    if workers <= 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            yield index, fn(job)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(fn, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def chunk(items: Sequence[Job], size: int) -> list[Sequence[Job]]:
    """Split items into consecutive batches of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), max(1, size))]
