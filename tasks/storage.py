"""Atomic, incremental storage of the Parquet datasets: snapshots swapped in by one rename.

Layout of an output directory:

    OUT/articles -> .newsflow/current/articles     (one symlink per exported dataset)
    OUT/.newsflow/current -> snapshots/00000007-ab12cd34
    OUT/.newsflow/snapshots/<seq>-<run>/<table>/part-*.parquet
    OUT/.newsflow/lock

A run builds a complete new snapshot beside the current one, hard-linking every part file it
does not change, then replaces the `current` symlink with one rename(2). Readers therefore see
either the old or the new datasets, never a mix, and a run killed at any moment leaves the
previous snapshot in place; its half-built directory is removed by the next run.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.faults import failpoint
from tasks.schemas import ALL_TABLES, DATASETS, conform

STATE_DIR = ".newsflow"
MANIFEST = "manifest.json"
PARQUET_OPTIONS = {"compression": "zstd", "row_group_size": 16_384, "write_statistics": True}
# Part files read or rewritten at once by a look-up or a carry-over: Arrow reads, filters and writes outside the
# GIL, so threads keep both cores busy on the part files an incremental run touches.
PART_THREADS = min(4, os.cpu_count() or 1)
T = TypeVar("T")


def read_part(path: Path | str, columns: list[str] | None = None) -> pa.Table:
    """Columns of one Parquet file, read by Parquet's own file reader. `pq.read_table` goes through the dataset
    layer, which for a single file costs more than the read: 3.0-3.2 ms a part against 1.9-2.0 whole, 0.7-1.6
    against 0.5-1.3 for one key column (parts of articles, passages and mentions of the 100k corpus)."""
    with pq.ParquetFile(path) as file:
        return file.read(columns=columns)


def read_keys(path: Path | str, keys: list[str], use_threads: bool = True) -> pa.Table:
    """Key columns of one Parquet file, those of text read as dictionaries for `_is_in`: an id repeats over a part's
    rows (~20k rows of mentions to a part, ~500 ids), and each distinct value is then looked up once."""
    with pq.ParquetFile(path, read_dictionary=keys) as file:  # other than text, a column is read as it is
        return file.read(columns=keys, use_threads=use_threads)


def _is_in(column: pa.ChunkedArray, values: pa.Array) -> pa.ChunkedArray:
    """pc.is_in, each chunk read as a dictionary looked up by its distinct values; false for nulls."""
    return pa.chunked_array([pc.take(pc.is_in(chunk.dictionary, value_set=values), chunk.indices).fill_null(False)
                             if pa.types.is_dictionary(chunk.type) else pc.is_in(chunk, value_set=values).fill_null(False)
                             for chunk in column.chunks], pa.bool_())


def matching_rows(path: Path | str, key: str, wanted: pa.Array, columns: list[str]) -> pa.Table | None:
    """Some columns of the rows of one Parquet file whose `key` is among `wanted`, or None when no row is: the
    key column is read first (`read_keys`), the others only from a file that holds a wanted row."""
    hit = _is_in(read_keys(path, [key]).column(key), wanted)
    if not pc.any(hit).as_py():
        return None
    with pq.ParquetFile(path) as file:
        return file.read(columns=columns).filter(hit)


def each_part(fn: Callable[[Path], T], parts: list[Path], threads: int = PART_THREADS) -> list[T]:
    """`fn` of every part file, in order, `threads` at a time."""
    if len(parts) < 2 or threads < 2:
        return [fn(part) for part in parts]
    with ThreadPoolExecutor(threads, thread_name_prefix="parts") as pool:
        return list(pool.map(fn, parts))


# glibc's mallopt parameter for the number of heaps ("arenas") threads allocate from.
_M_ARENA_MAX = -8


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: its own allocator's defaults stand
        return None


def use_system_allocator() -> None:
    """Make the C library's malloc Arrow's memory pool in this process (the flow's, and each worker process of
    the `processes` task runner; Dask workers keep their default, ARROW_DEFAULT_MEMORY_POOL=system sets it
    there), allocating from at most two heaps.

    Arrow's default allocator (mimalloc in these wheels) keeps memory that was freed: replaying the quotes
    stage on a 100k run's staging files, its peak was +752 MB against +605 MB with malloc, at the same CPU.
    glibc gives each thread that allocates a heap of its own, up to eight per core, and memory one heap frees
    serves no other: the batch threads, Prefect's and the part-file threads each kept theirs (the 100k +1%
    run's peak, 1,701 MB, is 1,522 MB with two heaps, at the same speed).
    """
    pa.set_memory_pool(pa.system_memory_pool())
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, 2)


def release_memory() -> None:
    """Hand back to the system the heap memory this process has freed (glibc's `malloc_trim`; nothing where
    there is no glibc). Arrow's pool is the C library's malloc (`use_system_allocator`), and glibc keeps freed
    heap pages for reuse: before worker processes start, they are better given back."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def then_release(fn: Callable[[T], object], job: T) -> object:
    """`fn(job)`, then the memory it freed handed back (`release_memory`): a batch in a worker process, which
    would otherwise keep the largest batch's heap (and grow with the run) until it stops."""
    try:
        return fn(job)
    finally:
        release_memory()


class OutputLocked(RuntimeError):
    """Another run holds the output directory."""


@contextmanager
def output_lock(out_dir: Path, *, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on an output directory; the kernel drops it if the process dies."""
    state = out_dir / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    handle = open(state / "lock", "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown process"
            raise OutputLocked(
                f"output directory {out_dir} is locked by another newsflow run ({holder}); "
                "wait for it to finish or pass --wait"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass(frozen=True)
class Snapshot:
    """One committed, immutable version of every table."""

    root: Path
    manifest: dict

    def table_dir(self, name: str) -> Path:
        """Directory holding one table's part files."""
        return self.root / name

    def part_files(self, name: str) -> list[Path]:
        """The table's part files, in name order."""
        directory = self.table_dir(name)
        return sorted(directory.glob("*.parquet")) if directory.is_dir() else []

    def read(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """The whole table (or some columns), conformed to its declared schema."""
        schema = ALL_TABLES[name]
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        parts = each_part(lambda part: conform(read_part(part, schema.names), schema), self.part_files(name))
        return pa.concat_tables(parts) if parts else schema.empty_table()

    def lookup(self, name: str, key: str, values: Iterable, columns: list[str]) -> pa.Table:
        """Rows whose `key` is among `values`, reading other columns only from parts that hold one."""
        schema = ALL_TABLES[name]
        wanted = pa.array(sorted(set(values)), schema.field(key).type)
        out_schema = pa.schema([schema.field(c) for c in columns])

        def found(part: Path) -> pa.Table | None:
            rows = matching_rows(part, key, wanted, columns)
            return None if rows is None else conform(rows, out_schema)

        parts = each_part(found, self.part_files(name)) if len(wanted) else []
        return pa.concat_tables([out_schema.empty_table(), *filter(None, parts)])

    def count_rows(self, name: str) -> int:
        """Row count from the Parquet footers, without reading data."""
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.part_files(name))


def current_snapshot(out_dir: Path) -> Snapshot | None:
    """The committed snapshot readers see now, or None before the first run."""
    link = out_dir / STATE_DIR / "current"
    if not link.is_symlink() and not link.is_dir():
        return None
    root = link.resolve()
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        return None
    return Snapshot(root=root, manifest=json.loads(manifest_path.read_text(encoding="utf-8")))


def write_parquet(table: pa.Table, path: Path, schema: pa.Schema) -> Path:
    """Write a table with its declared schema, through a temporary name so no half file is seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(conform(table, schema), tmp, **PARQUET_OPTIONS)
    failpoint("parquet.written", tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    failpoint("parquet.replaced", path)
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link an unchanged part into the new snapshot; copy where links are unsupported."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    failpoint("carry_over.linked", target)


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotBuilder:
    """A snapshot under construction: new parts, carried-over parts, then one atomic commit."""

    def __init__(self, out_dir: Path, previous: Snapshot | None, run_id: str):
        self.out_dir = out_dir
        self.previous = previous
        seq = int(previous.manifest["sequence"]) + 1 if previous else 1
        self.sequence = seq
        self.root = out_dir / STATE_DIR / "snapshots" / f"{seq:08d}-{run_id[:8]}"
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.run_id = run_id

    def part_path(self, name: str, tag: str) -> Path:
        """Path for a new part file of a table (tags must be unique within a run)."""
        return self.root / name / f"part-{self.sequence:08d}-{tag}.parquet"

    def write(self, name: str, table: pa.Table, tag: str) -> Path | None:
        """Add rows to a table as a new part file; nothing is written for zero rows."""
        if table.num_rows == 0:
            return None
        return write_parquet(table, self.part_path(name, tag), ALL_TABLES[name])

    def carry_over(self, name: str, drop: Mapping[str, Iterable] | None = None,
                   updates: pa.Table | None = None, key: str = "article_id", threads: int = PART_THREADS,
                   dropped: list[pa.Table] | None = None) -> int:
        """Bring the previous snapshot's rows forward, minus dropped rows, with updated values.

        `drop` maps a column to values whose rows go; `updates` holds replacement values for some
        columns of the rows whose `key` it lists. Parts neither touches are hard-linked untouched;
        the rest are rewritten, `threads` at a time. Returns the number of rows dropped; `dropped`, when
        given, receives them, a table per rewritten part in part order (read once for both).
        """
        if self.previous is None:
            return 0
        schema = ALL_TABLES[name]
        drop_sets = {c: pa.array(sorted(set(v)), schema.field(c).type) for c, v in (drop or {}).items()}
        drop_sets = {c: v for c, v in drop_sets.items() if len(v)}
        update_keys = updates.column(key).combine_chunks() if updates is not None and updates.num_rows else None
        probe = sorted(set(drop_sets) | ({key} if update_keys is not None else set()))

        def carry(part: Path) -> tuple[int, pa.Table | None]:
            """The part brought forward: how many rows went, and those rows when `dropped` wants them."""
            target = self.root / name / part.name
            if not probe:
                _link_or_copy(part, target)
                return 0, None
            # One part at a time (a carry-over beside a stage) reads on this thread alone: Arrow's pool would take
            # the second core from the stage running in the flow's process.
            columns = read_keys(part, probe, use_threads=threads > 1)
            gone = pa.array(np.zeros(columns.num_rows, bool))
            for column, values in drop_sets.items():
                gone = pc.or_(gone, _is_in(columns.column(column), values))
            n_gone = pc.sum(gone).as_py() or 0
            changed = update_keys is not None and pc.any(_is_in(columns.column(key), update_keys)).as_py()
            if n_gone == 0 and not changed:
                _link_or_copy(part, target)
                return 0, None
            with pq.ParquetFile(part) as file:
                rows = file.read(use_threads=threads > 1)
            kept = rows.filter(pc.invert(gone))
            if changed:
                kept = apply_updates(kept, updates, key)
            if kept.num_rows:
                write_parquet(kept, target, schema)
            return n_gone, conform(rows.filter(gone), schema) if dropped is not None and n_gone else None

        carried = each_part(carry, self.previous.part_files(name), threads)
        if dropped is not None:
            dropped.extend(rows for _, rows in carried if rows is not None)
        return sum(n for n, _ in carried)

    def read(self, name: str, columns: list[str]) -> pa.Table:
        """Some columns of a table as this snapshot holds it so far (carried and new parts)."""
        return Snapshot(self.root, {}).read(name, columns=columns)

    def commit(self, manifest: dict, *, keep: int = 2) -> Snapshot:
        """Make this snapshot the current one with a single rename, then prune old snapshots."""
        for name, schema in ALL_TABLES.items():
            directory = self.root / name
            if not any(directory.glob("*.parquet")):
                # Readers glob '<dataset>/*.parquet'; an empty part keeps that glob valid.
                write_parquet(schema.empty_table(), directory / "part-empty.parquet", schema)
            _fsync_dir(directory)
        manifest = {**manifest, "sequence": self.sequence, "run_id": self.run_id}
        (self.root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        _fsync_dir(self.root)
        failpoint("commit.manifest_written", self.root)

        ensure_dataset_links(self.out_dir)  # before the swap: a failure here leaves the old snapshot current
        state = self.out_dir / STATE_DIR
        tmp_link = state / f"current.{os.getpid()}.tmp"
        if tmp_link.is_symlink():
            tmp_link.unlink()
        os.symlink(self.root.relative_to(state), tmp_link)
        failpoint("commit.before_rename", tmp_link)
        os.replace(tmp_link, state / "current")
        _fsync_dir(state)
        failpoint("commit.after_rename", self.root)
        prune_snapshots(self.out_dir, keep=keep)
        return Snapshot(root=self.root, manifest=manifest)

    def abort(self) -> None:
        """Throw the unfinished snapshot away."""
        shutil.rmtree(self.root, ignore_errors=True)


def apply_updates(table: pa.Table, updates: pa.Table, key: str) -> pa.Table:
    """Replace the update columns' values in the rows whose key appears in `updates`."""
    position = pc.index_in(table.column(key), value_set=updates.column(key).combine_chunks())
    matched = pc.is_valid(position)
    for column in updates.column_names:
        if column == key:
            continue
        replacement = pc.take(updates.column(column), position.fill_null(0)) if updates.num_rows else table.column(column)
        index = table.column_names.index(column)
        table = table.set_column(index, column, pc.if_else(matched, replacement, table.column(column)))
    return table


def ensure_dataset_links(out_dir: Path) -> None:
    """Point OUT/<dataset> at the current snapshot's copy, once per dataset."""
    for name in DATASETS:
        link = out_dir / name
        target = Path(STATE_DIR) / "current" / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.exists() and not link.is_symlink():
            raise FileExistsError(f"{link} exists and is not a newsflow dataset link; move it away")
        tmp = out_dir / f".{name}.{os.getpid()}.tmp"
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(target, tmp)
        failpoint("links.before_rename", tmp)
        os.replace(tmp, link)


def prune_snapshots(out_dir: Path, *, keep: int) -> list[Path]:
    """Delete snapshots beyond the newest `keep` committed ones, and any half-built one."""
    state = out_dir / STATE_DIR
    # Links a killed run left between creating and renaming them (callers hold the output lock).
    for stale in [*state.glob("current.*.tmp"), *(p for n in DATASETS for p in out_dir.glob(f".{n}.*.tmp"))]:
        if stale.is_symlink():
            stale.unlink()
    snapshots_dir = state / "snapshots"
    if not snapshots_dir.is_dir():
        return []
    current = current_snapshot(out_dir)
    # By name, not path: `current` resolves to an absolute path while out_dir may be relative.
    current_name = current.root.name if current else None
    # Only snapshots older than the current one were ever current: a newer one with a manifest
    # belongs to a run killed between writing the manifest and the rename.
    older = sorted((p.name for p in snapshots_dir.iterdir()
                    if current_name and _sequence(p.name) < _sequence(current_name) and (p / MANIFEST).is_file()),
                   reverse=True)
    retained = set(older[: max(keep - 1, 0)]) | {current_name}
    removed = []
    for path in sorted(snapshots_dir.iterdir()):
        if path.name not in retained:
            failpoint("prune.removing", path)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _sequence(snapshot_name: str) -> int:
    """A snapshot's sequence number from its directory name (`00000007-ab12cd34`); -1 if none."""
    head = snapshot_name.split("-", 1)[0]
    return int(head) if head.isdigit() else -1
