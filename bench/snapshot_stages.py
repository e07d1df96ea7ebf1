#!/usr/bin/env python3
"""Peak memory and CPU of the in-process stages, replayed as a full run on a finished run's snapshot.

Example (after `bench/pipeline.py --n 100000 --workdir /tmp/nf100`):
    python bench/snapshot_stages.py /tmp/nf100/out quotes

Each stage runs in its own process (so one stage's peak is not another's), on inputs read from the oldest
snapshot under OUT/.newsflow/snapshots (the full run's), as if every article were new:
    quotes    update_quotes_by_slice over every quote, key and variant feature (no previous state);
    passages  update_passages over every segment, one batch per articles part (rows kept only with --save);
    entities  MentionCounts over every entity_mentions part, then update_entities.
It prints the stage's CPU seconds and its peak RSS above what the inputs took (ru_maxrss), and with --save a
Parquet file of the outputs, to compare two versions of the code.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.config import config_from_env
from tasks.corpus import only, staged_texts
from tasks.storage import Snapshot


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quotes(snapshot: Snapshot, keep: bool) -> tuple[Callable[[], pa.Table], str]:
    from tasks.quote_index import (
        ARTICLE_META,
        old_tables,
        speaker_slices,
        table_slices,
        update_quotes_by_slice,
    )
    from tasks.schemas import VARIANT_FEATURES

    new_quotes, keys = snapshot.read("quotes"), snapshot.read("_state/quote_keys")
    features = snapshot.read("_state/quote_variants", VARIANT_FEATURES.names)
    meta = snapshot.read("articles", ARTICLE_META.names)
    old = old_tables(None)  # a full run: nothing to find
    config = config_from_env()

    def run() -> pa.Table:
        clustered = []  # each slice's quote ids and clusters, as the stage writes its rows and lets them go

        def write(outcome, slice_number: int) -> None:
            clustered.append(outcome.new_quotes.select(["quote_id", "cluster_id"]))
        slices = speaker_slices(new_quotes, features, config.quote_slice_rows)
        update_quotes_by_slice(table_slices(new_quotes, keys, features, slices), set(), old,
                               lambda ids: only(meta, "article_id", ids), config.quotes, None, write)
        print(f"quotes: {len(clustered)} slices of at most {config.quote_slice_rows:,} quotes (NEWSFLOW_CONFIG sets "
              f"quote_slice_rows)")
        return pa.concat_tables(clustered).sort_by("quote_id")
    return run, f"{new_quotes.num_rows:,} quotes, {features.num_rows:,} variants, {keys.num_rows:,} keys"


def passages(snapshot: Snapshot, keep: bool) -> tuple[Callable[[], pa.Table], str]:
    import pyarrow.compute as pc

    from tasks.passages import update_passages
    from tasks.schemas import PASSAGE_STATE, PASSAGES

    segments = snapshot.read("_state/segments")
    clusters = snapshot.read("articles", ["article_id", "cluster_id"])
    batches = []
    for part in snapshot.part_files("articles"):  # as the stage's staging files, one batch each
        ids = pq.read_table(part, columns=["article_id"]).column("article_id").combine_chunks()
        batch = segments.filter(pc.is_in(segments.column("article_id"), value_set=ids))
        if batch.num_rows:
            batches.append((batch, partial(staged_texts, "article_id", paths=[str(part)])))
    del segments
    written: list[pa.Table] = [PASSAGES.empty_table()]  # with --save only: the stage itself writes and lets go

    def run() -> pa.Table:
        outcome = update_passages(PASSAGE_STATE.empty_table(), batches, clusters, pa.array([], pa.string()), lambda ids: {},
                                  written.append if keep else lambda rows: None)
        print(f"passages: {outcome.rows_added:,} rows written")
        return pa.concat_tables(written).sort_by([(c, "ascending") for c in ("passage_id", "article_id", "start")])
    return run, f"{sum(b.num_rows for b, _ in batches):,} segments in {len(batches)} batches"


def entities(snapshot: Snapshot, keep: bool) -> tuple[Callable[[], pa.Table], str]:
    from tasks.entities import MentionCounts, update_entities
    from tasks.knowledge import load_knowledge_base
    from tasks.schemas import ENTITIES, ENTITY_SURFACES

    config = config_from_env().entities
    kb = load_knowledge_base(config.kb_files, config.min_city_population)
    parts = snapshot.part_files("entity_mentions")
    columns = ["article_id", "entity_id", "name", "type", "surface"]

    def run() -> pa.Table:
        changes = MentionCounts.of(pq.read_table(p, columns=columns) for p in parts)
        rows, _ = update_entities(ENTITIES.empty_table(), ENTITY_SURFACES.empty_table(), changes, lambda: kb)
        return rows.sort_by("entity_id")
    return run, f"{len(parts)} entity_mentions parts"


STAGES = {"quotes": quotes, "passages": passages, "entities": entities}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the pipeline's output directory (holding .newsflow/snapshots)")
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("--save", type=Path, help="write the stage's outputs here (Parquet), to compare versions")
    args = parser.parse_args()
    snapshots = sorted((args.out / ".newsflow" / "snapshots").iterdir())
    if not snapshots:
        parser.error(f"no snapshot under {args.out}")
    run, inputs = STAGES[args.stage](Snapshot(snapshots[0], {}), keep=args.save is not None)
    before, started = _peak_mb(), time.process_time()
    result = run()
    cpu = time.process_time() - started
    print(f"{args.stage} on {snapshots[0].name} ({inputs}): {cpu:.2f} CPU s, peak +{_peak_mb() - before:,.0f} MB "
          f"over the {before:,.0f} MB the inputs took; {result.num_rows:,} output rows")
    if args.save:
        pq.write_table(result, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
