#!/usr/bin/env python3
"""Run the pure parse and normalise functions over a corpus, save every table, compare two saves.

Examples:
    python bench/compare_outputs.py dump /tmp/perf/raw /tmp/perf/before     # before a change
    python bench/compare_outputs.py dump /tmp/perf/raw /tmp/perf/after      # after it
    python bench/compare_outputs.py compare /tmp/perf/before /tmp/perf/after
    python bench/compare_outputs.py dump /tmp/perf/raw /tmp/perf/before --code /tmp/perf/baseline  # old copy

`dump` does what the parse and normalise batches do, in one process and without Prefect: every
file through `parse_file` (in sorted path order), outlet boilerplate counted over the whole corpus,
then `finish_articles`, MinHash signatures, passage segments and entity mentions. It writes one
Parquet file per table (parsed, rejected, articles, late_rejected, minhash, segments, mentions) and
prints the CPU seconds each step took (process time, less disturbed than wall time on a shared
machine). `compare` says, per table, whether the two saves are identical and shows the first
differing rows when they are not; it exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]

TABLES = ("parsed", "rejected", "articles", "late_rejected", "minhash", "segments", "mentions")
NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)  # fixed so ingested_at and seen_at compare equal
REJECTED_SCHEMA = pa.schema([("source_path", pa.string()), ("record_index", pa.int32()),
                             ("reason", pa.string()), ("detail", pa.string())])


def dump(corpus: Path, out: Path, code: Path = REPO) -> dict[str, float]:
    """Compute every table for the corpus with the `tasks` package under code, write them under out,
    return seconds per step."""
    sys.path.insert(0, str(code))
    from tasks.boilerplate import boilerplate_sets
    from tasks.config import PipelineConfig
    from tasks.dedup import signature_table
    from tasks.entities import match, mentions_table
    from tasks.ingest import parse_file
    from tasks.knowledge import load_knowledge_base
    from tasks.normalise import finish_articles
    from tasks.passages import article_segments, segments_table
    from tasks.schemas import PARAGRAPH_STATE, PARSED

    config = PipelineConfig()
    seconds: dict[str, float] = {}
    files = sorted(p for p in corpus.rglob("*") if p.is_file())

    started = time.process_time()
    articles, rejected = [], []
    for path in files:
        source_path = path.relative_to(corpus).as_posix()
        parsed = parse_file(path.read_bytes(), source_path, "h", config)
        articles += parsed.articles
        rejected += [{"source_path": source_path, "record_index": i, "reason": r, "detail": d}
                     for i, r, d in parsed.rejected]
    parsed_table = pa.Table.from_pylist(articles, schema=PARSED)
    seconds["parse"] = time.process_time() - started

    started = time.process_time()
    sets = boilerplate_sets(parsed_table.select(PARAGRAPH_STATE.names).cast(PARAGRAPH_STATE),
                            config.normalise.corpus_boilerplate_min_articles)
    finished, late = finish_articles(parsed_table, sets, {}, config, NOW)
    seconds["finish + language"] = time.process_time() - started

    texts = finished.column("text").to_pylist()
    ids = finished.column("article_id").to_pylist()
    started = time.process_time()
    distinct = dict(zip(finished.column("content_hash").to_pylist(), texts))
    minhash = signature_table(list(distinct), list(distinct.values()), config.dedup)
    seconds["minhash"] = time.process_time() - started

    started = time.process_time()
    segments = segments_table([row for i, t in zip(ids, texts)
                               for row in article_segments(i, t, config.dedup.passage_min_words)])
    seconds["segments"] = time.process_time() - started

    kb = load_knowledge_base(config.entities.kb_files, config.entities.min_city_population)
    started = time.process_time()
    mentions = mentions_table(ids, [match(t, kb, config.entities) for t in texts])
    seconds["entities"] = time.process_time() - started

    tables = {"parsed": parsed_table, "rejected": pa.Table.from_pylist(rejected, schema=REJECTED_SCHEMA),
              "articles": finished, "late_rejected": late, "minhash": minhash, "segments": segments,
              "mentions": mentions}
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, out / f"{name}.parquet", compression="zstd")
    (out / "seconds.json").write_text(json.dumps({"articles": finished.num_rows, "seconds": seconds}), encoding="utf-8")
    print(f"{len(files):,} files -> {finished.num_rows:,} articles, {len(rejected) + late.num_rows:,} rejected; "
          f"tables in {out}")
    for step, value in seconds.items():
        print(f"  {step:20s} {value:7.2f} CPU s  {finished.num_rows / value:9,.0f} articles/s")
    return seconds


def compare(left: Path, right: Path) -> bool:
    """Print, per table, whether two dumps are identical; True when all are."""
    same = True
    for name in TABLES:
        a, b = pq.read_table(left / f"{name}.parquet"), pq.read_table(right / f"{name}.parquet")
        if a.equals(b):
            print(f"{name:14s} identical ({a.num_rows:,} rows)")
            continue
        same = False
        print(f"{name:14s} DIFFERENT: {a.num_rows:,} vs {b.num_rows:,} rows")
        if a.schema != b.schema:
            print(f"  schemas differ:\n{a.schema}\n---\n{b.schema}")
            continue
        for column in a.column_names:
            x, y = a.column(column).to_pylist(), b.column(column).to_pylist()
            differing = [i for i, (u, v) in enumerate(zip(x, y)) if u != v]
            if differing or len(x) != len(y):
                print(f"  column {column}: {len(differing)} differing rows")
                for i in differing[:3]:
                    print(f"    row {i}: {str(x[i])[:300]!r}\n       vs {str(y[i])[:300]!r}")
    return same


def main(argv: list[str] | None = None) -> int:
    """Dump or compare, as the subcommand says."""
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    dump_parser = commands.add_parser("dump", help="compute and save the tables of a corpus")
    dump_parser.add_argument("corpus", type=Path)
    dump_parser.add_argument("out", type=Path)
    dump_parser.add_argument("--code", type=Path, default=REPO,
                             help="directory holding the tasks package to run (default: this repository); "
                                  "a copy taken before a change gives the 'before' figures")
    compare_parser = commands.add_parser("compare", help="compare two saved dumps")
    compare_parser.add_argument("left", type=Path)
    compare_parser.add_argument("right", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.corpus, args.out, args.code)
        return 0
    return 0 if compare(args.left, args.right) else 1


if __name__ == "__main__":
    sys.exit(main())
