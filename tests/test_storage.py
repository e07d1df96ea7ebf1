"""Snapshot storage: atomic swaps, carried-over parts, crash leftovers and the run lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tasks.schemas import REJECTED
from tasks.storage import STATE_DIR, OutputLocked, SnapshotBuilder, current_snapshot, output_lock, prune_snapshots

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _rejected(*paths: str) -> pa.Table:
    return pa.Table.from_pylist(
        [{"source_path": p, "record_index": None, "reason": "empty", "detail": "", "seen_at": NOW} for p in paths],
        schema=REJECTED,
    )


def _commit(out: Path, tables: dict[str, pa.Table], drop: set[str] | None = None):
    builder = SnapshotBuilder(out, current_snapshot(out), run_id=os.urandom(8).hex())
    if drop is not None:
        builder.carry_over("rejected", {"source_path": drop})
    for tag, table in tables.items():
        builder.write("rejected", table, tag)
    return builder.commit({"pipeline_version": "test"})


def _read(out: Path) -> list[str]:
    return sorted(ds.dataset(out / "rejected").to_table().column("source_path").to_pylist())


def test_commit_publishes_datasets_readable_by_pyarrow_and_duckdb(tmp_path):
    _commit(tmp_path, {"a": _rejected("a.txt", "b.txt")})
    assert _read(tmp_path) == ["a.txt", "b.txt"]
    assert duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/rejected/*.parquet')").fetchall() == [(2,)]
    # every dataset exists even when empty, so readers' globs never fail
    assert duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/articles/*.parquet')").fetchall() == [(0,)]


def test_carry_over_links_untouched_parts_and_rewrites_the_rest(tmp_path):
    first = _commit(tmp_path, {"a": _rejected("a.txt", "b.txt"), "c": _rejected("c.txt")})
    second = _commit(tmp_path, {"d": _rejected("d.txt")}, drop={"b.txt"})
    assert _read(tmp_path) == ["a.txt", "c.txt", "d.txt"]
    untouched = [p for p in second.part_files("rejected") if p.name.endswith("-c.parquet")]
    assert os.stat(untouched[0]).st_ino == os.stat(first.root / "rejected" / untouched[0].name).st_ino


def test_an_unfinished_snapshot_is_invisible_and_cleaned_up(tmp_path):
    _commit(tmp_path, {"a": _rejected("a.txt")})
    crashed = SnapshotBuilder(tmp_path, current_snapshot(tmp_path), run_id="deadbeef")
    crashed.write("rejected", _rejected("half.txt"), "x")  # then the process dies: no commit
    assert _read(tmp_path) == ["a.txt"]
    assert crashed.root in prune_snapshots(tmp_path, keep=2)
    assert not crashed.root.exists()


def test_old_snapshots_beyond_keep_are_pruned(tmp_path):
    for i in range(4):
        _commit(tmp_path, {str(i): _rejected(f"{i}.txt")}, drop=set())
    assert len(list((tmp_path / STATE_DIR / "snapshots").iterdir())) == 2
    assert _read(tmp_path) == ["0.txt", "1.txt", "2.txt", "3.txt"]


def test_lock_refuses_a_second_holder_with_a_clear_message(tmp_path):
    with output_lock(tmp_path):
        with pytest.raises(OutputLocked, match="locked by another newsflow run"):
            with output_lock(tmp_path):
                pass
    with output_lock(tmp_path):  # released afterwards
        pass


def test_lock_dies_with_a_killed_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from tasks.storage import output_lock\n"
         f"with output_lock(Path({str(tmp_path)!r})):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputLocked):
            with output_lock(tmp_path):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    time.sleep(0.1)
    with output_lock(tmp_path):
        pass


def test_carry_over_rewrites_only_parts_with_updated_or_dropped_rows(tmp_path):
    from tasks.schemas import PASSAGES

    def passages(*rows):
        return pa.Table.from_pylist([{"passage_id": p, "article_id": a, "start": 0, "end": 1, "text": "x"} for p, a in rows],
                                    schema=PASSAGES)

    builder = SnapshotBuilder(tmp_path, None, run_id="first000")
    builder.write("passages", passages(("p1", "a"), ("p2", "b")), "one")
    builder.write("passages", passages(("p3", "c")), "two")
    first = builder.commit({})
    builder = SnapshotBuilder(tmp_path, first, run_id="second00")
    updates = pa.table({"article_id": ["a"], "text": ["y"]})
    builder.carry_over("passages", {"passage_id": ["p2"]}, updates=updates)
    second = builder.commit({})
    rows = sorted(ds.dataset(tmp_path / "passages").to_table().to_pylist(), key=lambda r: r["passage_id"])
    assert [(r["passage_id"], r["text"]) for r in rows] == [("p1", "y"), ("p3", "x")]
    untouched = second.root / "passages" / "part-00000001-two.parquet"
    assert os.stat(untouched).st_ino == os.stat(first.root / "passages" / untouched.name).st_ino


def test_a_carry_over_hands_back_the_rows_it_drops_a_part_at_a_time_in_part_order(tmp_path):
    builder = SnapshotBuilder(tmp_path, None, run_id="first000")
    for i in range(6):
        builder.write("rejected", _rejected(*(f"{i:02d}-{j}.txt" for j in range(3))), f"{i:02d}")
    first = builder.commit({})
    wanted = [f"{i:02d}-{j}.txt" for i in (5, 1, 4) for j in (2, 0)]
    builder = SnapshotBuilder(tmp_path, first, run_id="second00")
    dropped: list[pa.Table] = []
    assert builder.carry_over("rejected", {"source_path": wanted}, dropped=dropped) == len(wanted)
    assert [t.column("source_path").to_pylist() for t in dropped] == [["01-0.txt", "01-2.txt"], ["04-0.txt", "04-2.txt"],
                                                                    ["05-0.txt", "05-2.txt"]]
    assert all(t.schema.equals(REJECTED, check_metadata=False) for t in dropped)
    builder.commit({})
    assert _read(tmp_path) == sorted(f"{i:02d}-{j}.txt" for i in range(6) for j in range(3) if f"{i:02d}-{j}.txt" not in wanted)


def test_look_ups_and_carry_overs_over_many_parts_keep_part_order_and_every_row(tmp_path):
    """Parts are read and rewritten by several threads: the rows found and kept are those of one at a time."""
    builder = SnapshotBuilder(tmp_path, None, run_id="first000")
    for i in range(12):
        builder.write("rejected", _rejected(*(f"{i:02d}-{j}.txt" for j in range(3))), f"{i:02d}")
    first = builder.commit({})
    wanted = [f"{i:02d}-1.txt" for i in range(0, 12, 2)]
    found = first.lookup("rejected", "source_path", wanted, ["source_path"])
    assert found.column("source_path").to_pylist() == wanted  # in part order
    builder = SnapshotBuilder(tmp_path, first, run_id="second00")
    assert builder.carry_over("rejected", {"source_path": wanted}) == len(wanted)
    builder.commit({})
    assert _read(tmp_path) == sorted(f"{i:02d}-{j}.txt" for i in range(12) for j in range(3)
                                     if f"{i:02d}-{j}.txt" not in wanted)


def test_a_failing_part_fails_the_carry_over_and_leaves_the_current_snapshot(tmp_path, monkeypatch):
    from tasks import storage

    _commit(tmp_path, {f"{i:02d}": _rejected(f"{i:02d}.txt", f"{i:02d}-b.txt") for i in range(6)})
    real = storage.write_parquet

    def full_disk(table, path, schema):
        if path.name.endswith("-03.parquet"):
            raise OSError(28, "No space left on device")
        return real(table, path, schema)

    monkeypatch.setattr(storage, "write_parquet", full_disk)
    with pytest.raises(OSError, match="No space"):
        _commit(tmp_path, {}, drop={f"{i:02d}.txt" for i in range(0, 6, 3)} | {"04.txt"})
    assert _read(tmp_path) == sorted(f"{i:02d}{b}.txt" for i in range(6) for b in ("", "-b"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc; malloc_trim is glibc's")
def test_a_batch_in_a_worker_hands_back_the_memory_it_freed():
    import numpy as np

    from tasks.storage import then_release, use_system_allocator

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def batch(n: int) -> int:
        arrays = [pa.array(np.random.default_rng(i).random(20_000)) for i in range(n)]  # ~150 MB
        kept = arrays[::50]  # a few survivors pin the heap: glibc keeps the pages between them
        del arrays
        return len(kept)

    use_system_allocator()
    before = rss_mb()
    assert then_release(batch, 1_000) == 20
    assert rss_mb() - before < 60
