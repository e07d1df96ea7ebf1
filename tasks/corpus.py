"""The corpus as the global stages see it: rows carried from the last snapshot plus this run's new rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.arrays import looked_up
from tasks.run import Run
from tasks.schemas import ALL_TABLES, ARTICLES, conform
from tasks.storage import Snapshot, matching_rows, read_part, write_parquet

ARTICLE_KEYS = ["article_id", "source_path", "content_hash", "published_at", "ingested_at", "cluster_id", "duplicate_of"]


def read_parts(paths: Iterable[str | None], schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """Concatenate staging files (None entries skipped) conformed to a schema or some of its columns."""
    wanted = pa.schema([schema.field(c) for c in columns]) if columns else schema
    return pa.concat_tables([wanted.empty_table(), *(conform(read_part(p, wanted.names), wanted) for p in paths if p)])


def split_parts(paths: list[str], schema: pa.Schema, column: str, parts: list[pa.Array], directory: Path,
                name: str) -> list[Path]:
    """Staging files cut again into one file per part, reading each once: part i holds the rows whose `column`
    is among `parts[i]` (disjoint value sets; a row of none is left out). Returns the new files, in order."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = [directory / f"{name}-{i:03d}.parquet" for i in range(len(parts))]
    value_type = schema.field(column).type
    values = pa.concat_arrays([pa.array([], value_type), *(p.cast(value_type) for p in parts)])
    # The part of each value, and -1 (no part) at the end for rows whose value is in none.
    part_of = np.append(np.repeat(np.arange(len(parts)), [len(p) for p in parts]), -1)
    writers = [pq.ParquetWriter(target, schema) for target in targets]
    try:
        for path in paths:
            table = conform(read_part(path, schema.names), schema)
            at = pc.fill_null(pc.index_in(table.column(column), value_set=values), -1).to_numpy(zero_copy_only=False)
            part = part_of[at]
            for i, writer in enumerate(writers):
                writer.write_table(table.filter(pa.array(part == i)))
    finally:
        for writer in writers:
            writer.close()
    return targets


def previous(run: Run, name: str, columns: list[str] | None = None) -> pa.Table:
    """A table of the last snapshot, or an empty one when there is none or everything is redone."""
    schema = ALL_TABLES[name]
    if run.previous is None or run.refresh_reason:
        return (pa.schema([schema.field(c) for c in columns]) if columns else schema).empty_table()
    return run.previous.read(name, columns=columns)


def lookup(run: Run, name: str, columns: list[str] | None = None) -> Callable[..., pa.Table]:
    """Look-ups into a table of the last snapshot, reading only the parts that hold a wanted value; nothing to
    find when there is none or everything is redone."""
    return snapshot_lookup(None if run.refresh_reason else run.previous, name, columns)


def snapshot_lookup(snapshot: Snapshot | None, name: str, columns: list[str] | None = None
                    ) -> Callable[..., pa.Table]:
    """Look-ups into a table of a snapshot, reading only the parts that hold a wanted value (nothing to find
    without a snapshot): `(column, values)` gives rows with `columns` (all by default), `(column, values, some)`
    rows with `some` of them."""
    schema = ALL_TABLES[name]

    def rows(column: str, values: Iterable, some: list[str] | None = None) -> pa.Table:
        names = some or columns or schema.names
        if snapshot is None:
            return pa.schema([schema.field(c) for c in names]).empty_table()
        return snapshot.lookup(name, column, values, names)

    return rows


def cached_lookup(snapshot: Snapshot | None, name: str, max_rows: int) -> Callable[..., pa.Table]:
    """Look-ups as `snapshot_lookup` gives them, for a table looked up again and again whose wanted values are
    spread over every part: the first reads the whole table, the others filter it in memory. A table of more than
    `max_rows` rows is looked up part by part, as `snapshot_lookup` does."""
    if snapshot is None or snapshot.count_rows(name) > max_rows:
        return snapshot_lookup(snapshot, name)
    whole: list[pa.Table] = []

    def rows(column: str, values: Iterable, some: list[str] | None = None) -> pa.Table:
        if not whole:
            whole.append(snapshot.read(name))
        found = only(whole[0], column, values)
        return found.select(some) if some else found

    return rows


Values = Iterable | pa.Array | pa.ChunkedArray


def _value_set(values: Values, value_type: pa.DataType) -> pa.Array:
    """Values to look rows up by: an Arrow array as it is (repeats do no harm), with no Python object per value (a
    column of hundreds of thousands of ids), anything else as a sorted array of its distinct values."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(value_type)
    return pa.array(sorted(set(values)), value_type)


def only(table: pa.Table, column: str, values: Values) -> pa.Table:
    """The rows whose `column` value is among `values` (the table itself when that is every row: no copy)."""
    if not table.num_rows:
        return table
    hit = pc.is_in(table.column(column), value_set=_value_set(values, table.schema.field(column).type))
    return table if pc.all(hit).as_py() else table.filter(hit)


def without(table: pa.Table, column: str, values: Values) -> pa.Table:
    """The rows whose `column` value is not among `values`."""
    value_set = _value_set(values, table.schema.field(column).type)
    return table.filter(pc.invert(pc.is_in(table.column(column), value_set=value_set))) if len(value_set) else table


def texts_by(run: Run, key: str, values: set[str], new_articles_paths: list[str | None]) -> dict[str, str]:
    """Article text for each value of `key` (content_hash or article_id), from this run's staging
    files first, then the last snapshot (reading only the parts that hold one)."""
    texts = staged_texts(key, values, new_articles_paths)
    missing = values - texts.keys()
    if missing and run.previous is not None:
        found = run.previous.lookup("articles", key, missing, [key, "text"])
        texts.update(zip(found.column(key).to_pylist(), found.column("text").to_pylist()))
    return texts


def staged_texts(key: str, values: set[str], paths: list[str | None]) -> dict[str, str]:
    """Texts of staging article rows whose `key` is among `values`."""
    texts: dict[str, str] = {}
    if not values:
        return texts
    value_set = pa.array(sorted(values), pa.string())
    for path in filter(None, paths):
        rows = matching_rows(path, key, value_set, [key, "text"])
        if rows is not None:
            texts.update(zip(rows.column(key).to_pylist(), rows.column("text").to_pylist()))
    return texts


def staging_paths(results: Iterable, attribute: str) -> list[str]:
    """The non-empty staging paths of one kind from a list of batch results."""
    return [getattr(r, attribute) for r in results if getattr(r, attribute)]


def final_article_parts(paths: list[str], assignments: pa.Table, part_path) -> list[Path]:
    """Write staged article rows with their duplicate cluster (`assignments`: article_id, cluster_id, duplicate_of of
    every article) as the snapshot's new article parts."""
    # Every part's ids are looked up in one call: a call per part hashed the corpus's assignments each time (a full
    # run ~2.6 CPU s, 181 parts).
    ids = [read_part(path, ["article_id"]).column("article_id") for path in paths]
    columns = ("cluster_id", "duplicate_of")
    found = looked_up(pa.chunked_array([chunk for column in ids for chunk in column.chunks], pa.string()),
                      assignments, "article_id", *columns)
    written, start = [], 0
    for path, column in zip(paths, ids):
        rows = read_part(path)
        for name, values in zip(columns, found):
            rows = rows.set_column(rows.column_names.index(name), name, values.slice(start, len(column)))
        start += len(column)
        written.append(write_parquet(rows, part_path(Path(path).stem), ARTICLES))
    return written
