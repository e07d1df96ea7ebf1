"""Batches on a Prefect task runner: one task run per batch of files, never one per article.

By default batch task runs run on Prefect's thread pool and hand their work to a pool of spawned
worker processes (one per core), which import only the pure stage modules; `threads` keeps the
work in the flow's process and `dask` sends batch task runs to a Dask cluster through prefect-dask.
With processes or threads, a run with a single batch stays in the flow's process: starting workers
would cost more than the batch. A stage may keep its batches there whatever the runner (`in_process`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np
from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from tasks.config import PipelineConfig
from tasks.storage import then_release
from tasks.workers import take_early_workers, worker_pool


def chunk(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split items into consecutive batches of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), max(1, size))]


# The least weight (bytes of raw files) worth a batch of its own when a small run is spread over the workers: a
# spawned worker takes about a second to start, in which the flow's process parses and normalises ~2 MB of
# seed-like articles; a run of a few new files stays one batch in the flow's process.
SPREAD_MIN_WEIGHT = 2 << 20


def spread(items: Sequence[Any], weights: Sequence[int], size: int, workers: int,
           min_weight: int = SPREAD_MIN_WEIGHT) -> list[Sequence[Any]]:
    """Consecutive batches of at most `size` items; too few items to give every worker a full batch, but weighing
    at least `min_weight` a worker, are cut into one batch per worker of about equal weight instead (the few
    hundred files an incremental run re-reads: both cores parse and normalise them, not one)."""
    ends = np.cumsum(np.maximum(np.asarray(weights, np.int64), 1))  # every item weighs at least 1
    parts = min(workers, len(items), int(ends[-1]) // max(min_weight, 1) if len(items) else 0)
    if parts < 2 or len(items) >= size * workers:
        return chunk(items, size)
    cuts = np.unique(np.searchsorted(ends, ends[-1] * np.arange(1, parts) / parts, side="right"))
    bounds = [0, *(int(c) for c in cuts if 0 < c < len(items)), len(items)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


class BatchFailed(RuntimeError):
    """A batch raised: the message names the stage, the batch and its inputs."""


class Parcel:
    """A batch's job or result handed through Prefect unopened. Prefect walks every element of task arguments
    and results (see `tasks.stages.call`); a plain object is not walked, and unlike Prefect's `quote` (a tuple)
    it is not taken for a task by Dask either."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


@task(name="batch", task_run_name="{stage}-{index:05d}", cache_policy=NONE, retries=2,
      retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5)
def run_batch(stage: str, index: int, fn: Callable[[Any], Any], job: Parcel, inputs: str,
              processes: Executor | None = None) -> Parcel:
    """Run one batch of a stage's pure function (in `processes` when given); a failure names its inputs."""
    try:
        return Parcel(processes.submit(then_release, fn, job.value).result() if processes is not None else fn(job.value))
    except Exception as error:
        raise BatchFailed(f"{stage} batch {index} failed on {inputs}: {type(error).__name__}: {error}") from error


def make_task_runner(config: PipelineConfig) -> TaskRunner:
    """The Prefect task runner the configuration asks for (processes: threads that hand batches to a pool)."""
    workers = config.resolved_workers()
    if config.task_runner == "dask":
        from prefect_dask import (
            DaskTaskRunner,  # imported when used: Dask takes a second to import
        )

        if config.dask_address:
            return DaskTaskRunner(address=config.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                              "dashboard_address": None})
    return ThreadPoolTaskRunner(max_workers=workers)


@contextmanager
def _shared_api_url() -> Iterator[None]:
    """Point worker processes at this run's Prefect API.

    Without PREFECT_API_URL each worker process of a pool would start a temporary server of its
    own (8 s each here) instead of reporting to the flow's embedded one.
    """
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    with get_client(sync_client=True) as client:
        os.environ["PREFECT_API_URL"] = str(client.api_url)
    try:
        yield
    finally:
        os.environ.pop("PREFECT_API_URL", None)


class Batches:
    """Submits a stage's batches to the configured task runner, started once per flow run when needed."""

    def __init__(self, config: PipelineConfig):
        self.config = config
        self._stack = ExitStack()
        self._runner: TaskRunner | None = None
        self._inline: TaskRunner | None = None
        self._processes: Executor | None = None

    def __enter__(self) -> Batches:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the task runner and its worker processes, whose memory the later, in-process stages can then use;
        a later `map` starts them again."""
        self._stack.close()
        self._stack, self._runner, self._inline, self._processes = ExitStack(), None, None, None

    def _runner_for(self, n_jobs: int) -> TaskRunner:
        if self._runner is None and (n_jobs > 1 or self.config.task_runner == "dask"):
            workers = self.config.resolved_workers()
            if self.config.task_runner == "dask":
                self._stack.enter_context(_shared_api_url())
            elif self.config.task_runner == "processes" and workers > 1:
                self._processes = self._stack.enter_context(take_early_workers(workers) or worker_pool(workers))
            self._runner = self._stack.enter_context(make_task_runner(self.config))
        return self._runner if self._runner is not None else self._inline_runner()

    def _inline_runner(self) -> TaskRunner:
        if self._inline is None:
            self._inline = self._stack.enter_context(ThreadPoolTaskRunner(max_workers=1))
        return self._inline

    def warm(self, fn: Callable[[Any], Any], arg: Any) -> None:
        """`fn(arg)` once in each running worker process, not waited for: what it loads into the worker's caches (a
        model, say) is then there for the next stage's batches. Given while the flow's process runs a stage of its
        own, the workers do it instead of sitting idle. Nothing happens without worker processes."""
        if self._processes is not None:
            for _ in range(self.config.resolved_workers()):
                self._processes.submit(fn, arg)

    def map(self, stage: str, fn: Callable[[Any], Any], jobs: Sequence[Any], inputs: Callable[[Any], str], *,
            in_process: bool = False) -> list:
        """Run fn over jobs as task runs named stage-00000..., returning results in job order; with `in_process`,
        in the flow's process whatever the task runner."""
        if not jobs:
            return []
        logger = get_run_logger()
        runner = self._inline_runner() if in_process else self._runner_for(len(jobs))
        progress = create_progress_artifact(0.0, description=f"{stage}: {len(jobs)} batches") if len(jobs) > 1 else None
        processes = self._processes if runner is self._runner else None
        futures = [runner.submit(run_batch, {"stage": stage, "index": i, "fn": fn, "job": Parcel(job), "inputs": inputs(job),
                                             "processes": processes})
                   for i, job in enumerate(jobs)]
        results = []
        for done, future in enumerate(futures, start=1):
            results.append(future.result().value)
            if done == len(jobs) or done % max(1, len(jobs) // 10) == 0:
                logger.info("%s: %d/%d batches done", stage, done, len(jobs))
                if progress is not None:
                    update_progress_artifact(progress, 100.0 * done / len(jobs))
        return results
