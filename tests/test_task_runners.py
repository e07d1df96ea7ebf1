"""Batches on every supported Prefect task runner give the same datasets, one task run per batch."""

from __future__ import annotations

import os
import shutil
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from conftest import dataset_rows
from flows.cli import _workers_while_prefect_starts
from flows.pipeline import newsflow
from tasks.batches import Batches, BatchFailed, Parcel, run_batch, spread
from tasks.config import PipelineConfig
from tasks.run import scan_key, scan_raw
from tasks.workers import early_workers, take_early_result, take_early_workers

pytestmark = pytest.mark.usefixtures("prefect_harness")

DEDUP_DATA = Path(__file__).resolve().parent / "data" / "dedup"
@pytest.fixture
def corpus(seed_corpus: Path) -> Path:
    """The seeds plus the labelled duplicate variants: enough files for several batches."""
    for path in DEDUP_DATA.rglob("*.txt"):
        target = seed_corpus / path.relative_to(DEDUP_DATA)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return seed_corpus


def test_threads_processes_and_a_local_dask_cluster_give_the_same_datasets(corpus, tmp_path):
    reference = tmp_path / "threads-1"
    newsflow(PipelineConfig(raw_dir=str(corpus), out_dir=str(reference), task_runner="threads", workers=1))
    expected = dataset_rows(reference)
    assert len(expected["articles"]) >= 10 and expected["duplicate_pairs"]

    for runner in ("processes", "dask"):
        out = tmp_path / runner
        state = newsflow(PipelineConfig(raw_dir=str(corpus), out_dir=str(out), task_runner=runner, workers=2,
                                        batch_size=3), return_state=True)
        assert state.is_completed(), runner
        assert dataset_rows(out) == expected, runner

        batches = -(-len(list(corpus.rglob("*.txt"))) // 3)
        names = {f"{stage}-{i:05d}" for stage in ("parse-changes", "normalise") for i in range(batches)} | \
            {"plan", "dedup", "passages", "quotes-00000", "commit", "report"}
        task_runs = settled_task_runs(state.state_details.flow_run_id, names)
        assert names <= {run.name for run in task_runs}, runner
        assert all(run.state.is_completed() for run in task_runs), runner


def settled_task_runs(flow_run_id, names: set[str], timeout: float = 60) -> list:
    """A flow run's task runs once the named ones are there and every one is final (their states reach the
    server as events, a moment after the flow run itself completes), or at the timeout."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            final = {run.name for run in runs if run.state is not None and run.state.is_final()}
            if (names <= final and len(final) == len(runs)) or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


def _pid(job: int) -> int:
    return os.getpid()


def test_closed_batches_stop_their_worker_processes_and_a_later_map_starts_new_ones():
    """The flow closes its batches after the last batch stage, so idle workers do not hold memory to the end."""
    @flow
    def two_stages() -> tuple[set[int], set[int]]:
        with Batches(PipelineConfig(task_runner="processes", workers=2)) as batches:
            first = set(batches.map("first", _pid, list(range(6)), str))
            batches.close()
            stopped = [pid for pid in first if _alive(pid)]
            assert not stopped, f"workers still running after close: {stopped}"
            return first, set(batches.map("second", _pid, list(range(6)), str))

    first, second = two_stages()
    assert os.getpid() not in first | second and first and second and not first & second


def test_warm_runs_in_the_worker_processes_only(tmp_path):
    """The flow has the workers load what normalise reads (knowledge base, language profiles) while it counts the
    corpus boilerplate itself: in the worker processes, never in the flow's; with no worker processes, nowhere."""
    marks, unmarked = _new_dirs(tmp_path, "processes", "threads")

    @flow
    def warmed() -> set[int]:
        with Batches(PipelineConfig(task_runner="processes", workers=2)) as batches:
            first = set(batches.map("first", _pid, list(range(6)), str))
            batches.warm(_mark, str(marks))
            return first | set(batches.map("second", _pid, list(range(6)), str))

    workers = warmed()  # leaving the block waited for the warm-ups too
    marked = {int(p.name) for p in marks.iterdir()}
    assert marked and marked <= workers and os.getpid() not in marked

    with Batches(PipelineConfig(task_runner="threads", workers=2)) as batches:
        batches.warm(_mark, str(unmarked))
    assert not list(unmarked.iterdir())


def test_workers_started_before_the_flow_run_its_batches_and_stop_when_no_flow_takes_them(tmp_path):
    """A command starts the worker processes while Prefect starts (`early_workers`): the flow's batches run in
    them; started for a run with nothing to do, they stop when the command leaves the block."""
    taken, untaken = _new_dirs(tmp_path, "taken", "untaken")
    with early_workers(2, _mark_with_the_other, str(taken)):
        workers = _batch_pids()
        again = _batch_pids()  # the first run took them: a later one starts its own
    started = {int(p.name) for p in taken.iterdir()}
    assert workers <= started and os.getpid() not in started and not again & started
    assert take_early_workers(2) is None

    with early_workers(2, _mark_with_the_other, str(untaken)):
        pass
    idle = {int(p.name) for p in untaken.iterdir()}  # the block waited for them to start, then stopped them
    assert idle and not [pid for pid in idle if _alive(pid)]


def _scan_but(raw: Path, ingest, left_out: str) -> list:
    return [f for f in scan_raw(raw, ingest) if f.source_path != left_out]


def test_the_plan_takes_the_scan_the_early_workers_made(seed_corpus, tmp_path):
    """The workers started early scan the raw directory for the flow's plan (here a scan that leaves a file out):
    the plan reads that scan, once; the next run scans again."""
    out = tmp_path / "out"
    config = PipelineConfig(raw_dir=str(seed_corpus), out_dir=str(out), task_runner="processes", workers=2)
    key, left_out = scan_key(seed_corpus, config.ingest), sorted(p.name for p in seed_corpus.iterdir())[0]
    with early_workers(2, _pid, 0, {key: (_scan_but, (seed_corpus, config.ingest, left_out))}):
        assert take_early_result(scan_key(tmp_path, config.ingest)) is None  # another directory's
        assert newsflow(config)["files_new"] == 4
        assert take_early_result(key) is None  # taken
    assert newsflow(config)["files_new"] == 1

    with early_workers(2, _pid, 0, {key: (_scan_but, (seed_corpus, config.ingest, left_out))}):
        pass
    assert take_early_result(key) is None  # one no run took goes with its workers


def test_the_command_starts_workers_early_for_a_full_refresh_or_a_large_corpus_only(seed_corpus, tmp_path):
    out = tmp_path / "out"
    config = PipelineConfig(raw_dir=str(seed_corpus), out_dir=str(out), task_runner="processes", workers=2)
    assert isinstance(_workers_while_prefect_starts(config), nullcontext)  # no snapshot yet
    newsflow(config)
    assert isinstance(_workers_while_prefect_starts(config), nullcontext)  # 5 files
    assert isinstance(_workers_while_prefect_starts(config.model_copy(update={"task_runner": "threads",
                                                                               "full_refresh": True})), nullcontext)
    key = scan_key(seed_corpus, config.ingest)
    with _workers_while_prefect_starts(config.model_copy(update={"full_refresh": True})):
        with take_early_workers(2) as pool:  # as the flow's batches take them
            assert pool.submit(_pid, 0).result() != os.getpid()
        assert take_early_result(key).result() == scan_raw(seed_corpus, config.ingest)  # with the plan's scan
    with _workers_while_prefect_starts(config.model_copy(update={"full_refresh": True, "wait_for_lock": True})):
        assert take_early_result(key) is None  # a run that may wait for the lock scans when it has it


@flow
def _batch_pids() -> set[int]:
    """The processes a flow's batches ran in."""
    with Batches(PipelineConfig(task_runner="processes", workers=2)) as batches:
        return set(batches.map("first", _pid, list(range(6)), str))


def _new_dirs(parent: Path, *names: str) -> list[Path]:
    for name in names:
        (parent / name).mkdir()
    return [parent / name for name in names]


def _mark(directory: str) -> None:
    (Path(directory) / str(os.getpid())).touch()


def _mark_with_the_other(directory: str) -> None:
    """Mark this worker, then wait for the other one's mark: the second job cannot go to this worker."""
    _mark(directory)
    deadline = time.monotonic() + 60
    while len(list(Path(directory).iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _unreadable(job: str) -> None:
    raise ValueError(f"cannot read {job}")


def test_a_failing_batch_says_which_stage_batch_and_inputs():
    with pytest.raises(BatchFailed, match=r"^parse-changes batch 3 failed on 2 files a.txt \.\. b.txt: "
                                          r"ValueError: cannot read a.txt$"):
        run_batch.fn("parse-changes", 3, _unreadable, Parcel("a.txt"), "2 files a.txt .. b.txt")


def test_batches_retry_with_backoff():
    assert run_batch.retries == 2
    delays = run_batch.retry_delay_seconds
    assert list(delays) == sorted(delays) and delays[0] > 0


def test_spread_cuts_a_small_run_into_a_batch_per_worker_of_about_equal_weight():
    files = list(range(10))
    weights = [100, 1, 1, 1, 1, 100, 1, 1, 1, 1]
    # Fewer items than would fill every worker: one batch per worker, consecutive, cut near half the weight.
    assert spread(files, weights, 500, 2, min_weight=10) == [files[:5], files[5:]]
    assert spread(files, [1] * 10, 500, 3, min_weight=1) == [files[:3], files[3:6], files[6:]]
    # Enough to fill every worker, a single worker, or a single item: batches of the configured size.
    assert spread(files, weights, 4, 2, min_weight=10) == [files[:4], files[4:8], files[8:]]
    assert spread(files, weights, 500, 1, min_weight=10) == [files]
    assert spread(files[:1], weights[:1], 500, 2, min_weight=10) == [files[:1]]
    # Too little weight for a batch a worker: as many batches as the weight allows (one, then two of three).
    assert spread(files, weights, 500, 2, min_weight=150) == [files]
    assert spread(files, [1] * 10, 500, 3, min_weight=5) == [files[:5], files[5:]]
    # One item heavier than the rest together: no empty batch, every item once, in order.
    heavy = spread(files[:4], [1000, 1, 1, 1], 500, 3, min_weight=10)
    assert [i for batch in heavy for i in batch] == files[:4] and all(heavy)


def test_a_run_of_a_few_small_files_stays_one_batch():
    # The seeds (a few KB each) or a handful of new files: one batch in the flow's process, no workers started.
    assert spread(list(range(5)), [4_000] * 5, 500, 2) == [list(range(5))]
