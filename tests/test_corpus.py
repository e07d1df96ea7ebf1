"""Reading a stage's staging files: all of them, or cut again into one file per part."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.corpus import read_parts, split_parts
from tasks.schemas import QUOTE_KEYS


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
