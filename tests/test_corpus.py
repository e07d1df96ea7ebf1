"""Reading a stage's staging files (all of them, or cut again into one file per part) and looking rows up in a
snapshot."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.corpus import cached_lookup, read_parts, snapshot_lookup, split_parts
from tasks.schemas import QUOTE_KEYS
from tasks.storage import SnapshotBuilder


def _staging(tmp_path, sizes: list[int]) -> list[str]:
    """QUOTE_KEYS staging files of the given sizes; row i of their concatenation has key i and variant i % 7."""
    paths, start = [], 0
    for n, size in enumerate(sizes):
        keys = np.arange(start, start + size)
        path = tmp_path / f"quote-keys-{n}.parquet"
        pq.write_table(pa.table({"key": keys, "variant": keys % 7}, schema=QUOTE_KEYS), path)
        paths.append(str(path))
        start += size
    return paths


def test_files_cut_into_parts_by_value_hold_each_row_once_in_its_part(tmp_path):
    paths = _staging(tmp_path, [10, 4, 9])
    parts = [pa.array([0, 3]), pa.array([5]), pa.array([1, 2, 4])]  # variant 6 is in no part: left out
    cut = split_parts(paths, QUOTE_KEYS, "variant", parts, tmp_path / "cut", "keys")
    assert [p.name for p in cut] == ["keys-000.parquet", "keys-001.parquet", "keys-002.parquet"]
    everything = read_parts(paths, QUOTE_KEYS).to_pylist()
    for values, path in zip(parts, cut):
        got = pq.read_table(path)
        assert got.schema.equals(QUOTE_KEYS, check_metadata=False)
        assert got.to_pylist() == [r for r in everything if r["variant"] in values.to_pylist()]
    assert sum(pq.read_metadata(p).num_rows for p in cut) == sum(1 for r in everything if r["variant"] != 6)


def test_parts_of_another_integer_type_or_none_at_all(tmp_path):
    paths = _staging(tmp_path, [6, 6])
    cut = split_parts(paths, QUOTE_KEYS, "variant", [pa.array([2, 5], pa.int32())], tmp_path / "cut", "keys")
    assert pq.read_table(cut[0]).column("key").to_pylist() == [2, 5, 9]
    assert split_parts(paths, QUOTE_KEYS, "variant", [], tmp_path / "none", "keys") == []


def _key_snapshot(tmp_path):
    """A snapshot whose quote key state is 5 parts of 6 rows: key k, variant k % 4."""
    builder = SnapshotBuilder(tmp_path, None, run_id="first000")
    for part in range(5):
        keys = np.arange(part * 6, part * 6 + 6)
        builder.write("_state/quote_keys", pa.table({"key": keys, "variant": keys % 4}, schema=QUOTE_KEYS), f"{part}")
    return builder.commit({})


@pytest.mark.parametrize("max_rows", [30, 29])
def test_a_cached_look_up_finds_what_a_look_up_by_part_finds(tmp_path, max_rows):
    snapshot = _key_snapshot(tmp_path)
    by_part, cached = snapshot_lookup(snapshot, "_state/quote_keys"), cached_lookup(snapshot, "_state/quote_keys", max_rows)
    for column, values, some in [("variant", {3}, None), ("key", [29, 0, 7, 7], None), ("key", [2, 1], ["variant"]),
                                 ("variant", set(), None), ("variant", {9}, ["key"])]:
        got = cached(column, values, some)
        assert got.equals(by_part(column, values, some)), (column, values, some)
        assert got.schema.names == (some or QUOTE_KEYS.names)


def test_a_cached_look_up_reads_the_parts_once_and_a_table_past_the_bound_every_time(tmp_path):
    snapshot = _key_snapshot(tmp_path)
    cached, past = cached_lookup(snapshot, "_state/quote_keys", 30), cached_lookup(snapshot, "_state/quote_keys", 29)
    assert cached("key", [4]).to_pylist() == past("key", [4]).to_pylist() == [{"key": 4, "variant": 0}]
    for part in snapshot.part_files("_state/quote_keys"):
        part.unlink()
    assert cached("variant", {2}).column("key").to_pylist() == [2, 6, 10, 14, 18, 22, 26]  # from memory
    assert past("variant", {2}).num_rows == 0  # the parts, read again, are gone
