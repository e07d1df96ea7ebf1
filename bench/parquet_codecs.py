#!/usr/bin/env python3
"""Parquet codec and file-size choice for the articles dataset: write time, size, DuckDB query time.

Example:
    python bench/parquet_codecs.py /tmp/newsflow-bench/out/articles --rows 100000

Reads an `articles` dataset written by newsflow (repeating its rows, with fresh ids, up to --rows
when it holds fewer, e.g. a 10k run stretched to 100k), then for each codec and rows-per-file
writes it the way the pipeline does (one file per normalise batch, `tasks.storage.write_parquet`'s
other options) and reports:

- write: CPU seconds to write every file (one thread; CPU time, as the machine may be busy);
- MB: bytes on disk;
- scan: DuckDB `select outlet, language, count(*), avg(n_words) ... group by all` over the files;
- text: DuckDB `select outlet, sum(length(text)) ... group by 1` (decompresses every text);
- arrow: `pyarrow.dataset(...).to_table()` of the whole dataset.

Query times are wall seconds, the best of five, each in a fresh DuckDB connection.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tasks.schemas import ARTICLES  # noqa: E402
from tasks.storage import PARQUET_OPTIONS  # noqa: E402

CODECS = {"zstd": ("zstd", None), "zstd-3": ("zstd", 3), "snappy": ("snappy", None), "lz4": ("lz4", None),
          "none": ("none", None)}
QUERIES = {
    "scan": "select outlet, language, count(*), avg(n_words) from read_parquet('{glob}') group by all",
    "text": "select outlet, sum(length(text)) from read_parquet('{glob}') group by 1",
}


def load(dataset: Path, rows: int) -> pa.Table:
    """The dataset's rows, repeated with fresh article ids until there are `rows` of them."""
    table = ds.dataset(dataset).to_table().cast(ARTICLES)
    copies, copy = [table], 1
    while sum(t.num_rows for t in copies) < rows:
        ids = pc.binary_join_element_wise(table.column("article_id"), pa.scalar(f"-{copy}"), "")
        copies.append(table.set_column(0, table.schema.field(0), ids.cast(pa.string())))
        copy += 1
    return pa.concat_tables(copies).slice(0, rows).combine_chunks()


def best_of(times: int, fn) -> float:
    """Smallest wall time of `times` calls."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    """Write the table with each setting and print the comparison."""
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="an articles dataset directory (or one Parquet file)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--file-rows", default="500,2000", help="rows per file to try (default 500,2000)")
    parser.add_argument("--codecs", default=",".join(CODECS), help=f"subset of {','.join(CODECS)}")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-codecs"))
    args = parser.parse_args(argv)
    table = load(args.dataset, args.rows)
    text_mb = pc.sum(pc.binary_length(table.column("text"))).as_py() / 1e6
    print(f"{table.num_rows:,} articles, {text_mb:,.0f} MB of text; other options {PARQUET_OPTIONS}")
    print(f"{'codec':8s} {'rows/file':>9s} {'files':>6s} {'write CPU s':>11s} {'MB':>8s} "
          f"{'scan s':>7s} {'text s':>7s} {'arrow s':>8s}")
    for file_rows in (int(n) for n in args.file_rows.split(",")):
        for name in args.codecs.split(","):
            codec, level = CODECS[name]
            out = args.workdir / f"{name}-{file_rows}"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            options = {**PARQUET_OPTIONS, "compression": codec, "compression_level": level}
            started = time.process_time()
            for i, start in enumerate(range(0, table.num_rows, file_rows)):
                pq.write_table(table.slice(start, file_rows), out / f"part-{i:05d}.parquet", **options)
            write = time.process_time() - started
            size = sum(p.stat().st_size for p in out.iterdir())
            glob = f"{out}/*.parquet"
            timings = [best_of(5, lambda q=q: duckdb.connect().sql(q.format(glob=glob)).fetchall())
                       for q in QUERIES.values()]
            arrow = best_of(5, lambda: ds.dataset(out).to_table())
            print(f"{name:8s} {file_rows:9,d} {len(list(out.iterdir())):6d} {write:11.2f} {size / 1e6:8.1f} "
                  f"{timings[0]:7.3f} {timings[1]:7.3f} {arrow:8.2f}", flush=True)
            shutil.rmtree(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
