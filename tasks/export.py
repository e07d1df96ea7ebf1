"""Export: assemble the new snapshot from this run's parts and the unchanged rest, then commit it."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from tasks.boilerplate import CorpusBoilerplate
from tasks.config import PIPELINE_VERSION
from tasks.corpus import final_article_parts, lookup, read_parts, staging_paths
from tasks.dedup import DedupOutcome
from tasks.entities import MentionCounts, update_entities
from tasks.faults import failpoint
from tasks.ingest import ParseResult
from tasks.knowledge import load_knowledge_base
from tasks.normalise import FINGERPRINTED, NormaliseResult, article_fingerprints
from tasks.passages import PassageOutcome
from tasks.quote_index import QuoteOutcome
from tasks.run import Run
from tasks.schemas import (
    DATASETS,
    ENTITY_MENTIONS,
    FILES_STATE,
    PARAGRAPH_STATE,
    PREVIOUS_VERSIONS,
)
from tasks.storage import PART_THREADS, Snapshot, apply_updates


def replaced_sources(run: Run, parsed: list[ParseResult]) -> set[str]:
    """Source paths whose previous rows this run removes: deleted, changed and reprocessed files."""
    touched = {raw.source_path for result in parsed for raw in result.touched}
    processed = {path for result in parsed for path in result.files_state.column("source_path").to_pylist()}
    return set(run.changes.deleted) | (processed - touched)


def redone_articles(parsed: list[ParseResult]) -> dict[str, list[str]]:
    """By source, the articles redone from files the run keeps (unchanged on disk, read again for outlet
    boilerplate): their previous rows go, the files' other rows stay."""
    return {source: ids for result in parsed for source, ids in result.redone.items()}


class CarryOvers:
    """An incremental run's carry-overs (the previous snapshot's rows brought into the new one, minus the rows
    going), made on a thread of their own, each dataset's as soon as the run knows which of its rows go.

    Their Parquet reading and writing then overlaps the dedup, passages and quotes stages, which run Python in
    the flow's process, instead of following them in commit. A full refresh or a first run carries nothing. On
    leaving the `with` block a carry-over under way is finished and those not started are dropped; `wait` raises
    the first failure.
    """

    def __init__(self, run: Run):
        self._builder = run.snapshot() if run.previous is not None and run.refresh_reason is None else None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="carry-over") if self._builder else None
        self._started: dict[str, Future] = {}  # each dataset's carry-over
        self._mentions_gone: list[pa.Table] = []  # the rows the entity_mentions carry-over drops
        self.seconds: dict[str, float] = {}  # each dataset's carry-over, on its thread
        self.replaced: set[str] = set()
        self.redone: set[str] = set()

    def __enter__(self) -> CarryOvers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _start(self, name: str, drop: dict, threads: int = 1, **kwargs) -> None:
        # One part at a time while a stage runs beside it; as many as storage allows once only commit waits.
        for future in self._started.values():  # a carry-over that failed stops the run now, not at commit
            if future.done() and future.exception() is not None:
                raise future.exception()
        if self._pool is not None:
            self._started[name] = self._pool.submit(self._carry, name, drop, threads=threads, **kwargs)

    def _carry(self, name: str, drop: dict, **kwargs) -> None:
        started = time.perf_counter()
        self._builder.carry_over(name, drop, **kwargs)
        self.seconds[name] = time.perf_counter() - started

    def after_normalise(self, run: Run, parsed: list[ParseResult]) -> None:
        """The datasets keyed by source: rejected rows and paragraph state."""
        self.replaced = replaced_sources(run, parsed)
        self.redone = set().union(*redone_articles(parsed).values())
        self._start("rejected", {"source_path": self.replaced})
        self._start("_state/paragraphs", {"source_path": self.replaced})

    def after_dedup(self, deduped: DedupOutcome) -> None:
        """Articles, with their new duplicate clusters, the MinHash index, and what goes with the removed articles:
        entity mentions and segments."""
        self._start("entity_mentions", {"article_id": deduped.removed_articles}, dropped=self._mentions_gone)
        self._start("_state/segments", {"article_id": deduped.removed_articles})
        self._start("articles", {"source_path": self.replaced, "article_id": self.redone}, updates=deduped.updates)
        self._start("_state/minhash", {"content_hash": deduped.dropped_contents})

    def after_passages(self, deduped: DedupOutcome, reused: PassageOutcome) -> None:
        """Reused passages."""
        self._start("passages", {"article_id": deduped.removed_articles, "passage_id": reused.removed_ids})

    def after_quotes(self, deduped: DedupOutcome, quoted: QuoteOutcome) -> None:
        """Quotes, their clusters and the clustering state."""
        for name, drop, kwargs in [
            ("quotes", {"article_id": deduped.removed_articles}, {"updates": quoted.updates, "key": "quote_id"}),
            ("_state/quote_keys", {"variant": quoted.dropped_key_variants}, {}),
            ("_state/quote_variants", {"variant": quoted.dropped_variants}, {}),
            ("_state/quote_edges", {"variant_a": quoted.dropped_edge_variants, "variant_b": quoted.dropped_edge_variants}, {}),
            ("quote_clusters", {"cluster_id": quoted.dropped_clusters}, {}),
            ("_state/quote_cluster_outlets", {"cluster_id": quoted.dropped_clusters}, {}),
        ]:
            self._start(name, drop, threads=PART_THREADS, **kwargs)

    def mentions_gone(self) -> pa.Table | None:
        """The entity mentions of the removed articles, as their carry-over dropped them (once it is done), or None
        when this run does not carry them over. Commit counts them out of the entities; a look-up of its own read the
        parts the carry-over reads (the 100k +1% run's: 157 articles, 5.7k mentions in 75 of 181 parts, ~0.5 CPU s)."""
        started = self._started.get("entity_mentions")
        if started is None:
            return None
        started.result()
        return pa.concat_tables([ENTITY_MENTIONS.empty_table(), *self._mentions_gone])

    def wait(self) -> None:
        """Every carry-over started, done; the first failure raised."""
        for future in self._started.values():
            future.result()


def previous_versions(run: Run, sources: set[str], redone: dict[str, list[str]] | None = None) -> pa.Table:
    """PREVIOUS_VERSIONS rows of the previous articles of the given sources, and of the `redone` articles (by
    source, `redone_articles`): re-ingested ones keep their ingested_at, one that comes back unchanged for the
    later stages (the same fingerprint) is not redone by them, and a text that comes back the same keeps its
    language. A full refresh redoes everything: no fingerprints nor languages then (nor their columns read)."""
    if run.previous is None or not (sources or redone):
        return PREVIOUS_VERSIONS.empty_table()
    if run.refresh_reason is not None:
        rows = run.previous.lookup("articles", "source_path", sources, ["article_id", "ingested_at"])
        return pa.table({name: rows.column(name) if name in rows.column_names else pa.nulls(rows.num_rows, field.type)
                         for name, field in zip(PREVIOUS_VERSIONS.names, PREVIOUS_VERSIONS)}, schema=PREVIOUS_VERSIONS)
    rows = run.previous.lookup("articles", "source_path", sources | set(redone or ()), ["ingested_at", *FINGERPRINTED])
    if redone:  # not the other articles of the files they are in
        rows = rows.filter(pc.or_(pc.is_in(rows.column("source_path"), value_set=pa.array(sorted(sources), pa.string())),
                                  pc.is_in(rows.column("article_id"), value_set=pa.array(sorted(set().union(*redone.values())), pa.string()))))
    return rows.append_column("fingerprint", pa.array(article_fingerprints(rows), pa.string())) \
        .select(PREVIOUS_VERSIONS.names).cast(PREVIOUS_VERSIONS)


def files_state(run: Run, parsed: list[ParseResult], normalised: list[NormaliseResult]) -> pa.Table:
    """The new per-file state: untouched rows kept, touched rows re-stamped, parsed rows added, and the counts of
    a kept file updated when one of its redone articles is now rejected."""
    replaced = replaced_sources(run, parsed)
    touched = {raw.source_path: raw for result in parsed for raw in result.touched}
    late_rejections: Counter[str] = Counter()
    for result in normalised:
        late_rejections.update(result.rejected_by_source)
    previous = run.files_state
    if run.refresh_reason is None and previous.num_rows:
        previous = previous.filter(pc.invert(pc.is_in(previous.column("source_path"),
                                                      value_set=pa.array(sorted(replaced), pa.string()))))
        if touched:  # re-stamp in Arrow: no per-file Python over the whole corpus
            stamps = pa.table({"source_path": pa.array(list(touched), pa.string()),
                               "size": pa.array([r.size for r in touched.values()], pa.int64()),
                               "mtime_ns": pa.array([r.mtime_ns for r in touched.values()], pa.int64())})
            previous = apply_updates(previous, stamps, "source_path").cast(FILES_STATE)
        redone = redone_articles(parsed)
        if late := {source: n for source, n in late_rejections.items() if source in redone}:
            counts = previous.filter(pc.is_in(previous.column("source_path"), value_set=pa.array(list(late), pa.string())))
            moved = pa.array([late[source] for source in counts.column("source_path").to_pylist()], pa.int32())
            previous = apply_updates(previous, pa.table({"source_path": counts.column("source_path"),
                                                         "n_articles": pc.subtract(counts.column("n_articles"), moved),
                                                         "n_rejected": pc.add(counts.column("n_rejected"), moved)}),
                                     "source_path").cast(FILES_STATE)
    else:
        previous = FILES_STATE.empty_table()
    new_rows = pa.concat_tables([r.files_state for r in parsed]).to_pylist() if parsed else []
    for row in new_rows:
        moved = late_rejections.get(row["source_path"], 0)
        row.update(n_articles=row["n_articles"] - moved, n_rejected=row["n_rejected"] + moved)
    return pa.concat_tables([previous, pa.Table.from_pylist(new_rows, schema=FILES_STATE)])


def _entity_changes(run: Run, normalised: list[NormaliseResult], removed: set[str], gone: pa.Table | None
                    ) -> tuple[pa.Table, pa.Table, set[str]]:
    """New `entities` rows and surface counts of the entities this run's new and removed articles mention, and
    their ids; the previous rows of only these entities are read. `gone` holds the removed articles' mentions
    when the run has them already (else they are looked up)."""
    columns = ["article_id", "entity_id", "name", "type", "surface"]
    if gone is None:
        gone = lookup(run, "entity_mentions", columns)("article_id", removed)
    # A staging file holds every mention of its articles: counted one file at a time.
    changes = MentionCounts.of(read_parts([path], ENTITY_MENTIONS, columns) for path in staging_paths(normalised, "mentions_path")) \
        + MentionCounts.of([gone.select(columns)], -1)
    touched = changes.entity_ids()
    config = run.config.entities
    entities, surfaces = update_entities(lookup(run, "entities")("entity_id", touched),
                                         lookup(run, "_state/entity_surfaces")("entity_id", touched),
                                         changes, partial(load_knowledge_base, config.kb_files, config.min_city_population))
    return entities, surfaces, touched


def commit_snapshot(run: Run, parsed: list[ParseResult], normalised: list[NormaliseResult],
                    deduped: DedupOutcome, reused: PassageOutcome, quoted: QuoteOutcome, carried: CarryOvers) -> Snapshot:
    """Add this run's rows and state to the carried-over ones (`carried` has had every earlier stage's step) and
    swap the snapshot in."""
    builder = run.snapshot()
    carried.after_quotes(deduped, quoted)  # on their thread while this one writes the run's own rows
    final_article_parts(staging_paths(normalised, "articles_path"), deduped.assignments,
                        lambda tag: builder.part_path("articles", tag))
    paragraph_rows = [r.paragraph_state for r in parsed if r.paragraph_state.num_rows]
    if paragraph_rows:
        builder.write("_state/paragraphs", pa.concat_tables(paragraph_rows).cast(PARAGRAPH_STATE), "new")
    builder.write("_state/minhash", deduped.new_index, "new")
    builder.write("_state/near_edges", deduped.edges, "all")
    builder.write("duplicate_pairs", deduped.duplicate_pairs, "all")
    builder.write("_state/files", files_state(run, parsed, normalised), "all")
    entities, surfaces, touched = _entity_changes(run, normalised, deduped.removed_articles, carried.mentions_gone())
    if run.refresh_reason is None:
        builder.carry_over("entities", {"entity_id": touched})
        builder.carry_over("_state/entity_surfaces", {"entity_id": touched})
    builder.write("entities", entities, "new")
    builder.write("_state/entity_surfaces", surfaces, "new")
    carried.wait()
    failpoint("export.carried_over")
    shutil.rmtree(builder.root / "_staging", ignore_errors=True)
    manifest = {
        "pipeline_version": PIPELINE_VERSION,
        "config_fingerprint": run.config.processing_fingerprint(),
        "created_at": datetime.now(timezone.utc).isoformat(),
        "raw_dir": str(run.raw_dir),
    }
    failpoint("export.state_written")
    return builder.commit(manifest, keep=run.config.keep_snapshots)


def run_summary(run: Run, parsed: list[ParseResult], normalised: list[NormaliseResult], snapshot: Snapshot | None,
                boilerplate: CorpusBoilerplate | None = None, deduped: DedupOutcome | None = None,
                reused: PassageOutcome | None = None, quoted: QuoteOutcome | None = None) -> dict:
    """Counts and timings of one run, for the CLI, the logs and the Prefect artifact."""
    rejected = Counter()
    for result in parsed:
        rejected.update(result.rejected_reasons)
    languages = Counter()
    for result in normalised:
        languages.update(result.languages)
        if late := sum(result.rejected_by_source.values()):
            rejected["no_article_text"] += late
    touched = sum(len(r.touched) for r in parsed)
    totals = {name: snapshot.count_rows(name) for name in DATASETS} if snapshot else {}
    return {
        "run_id": run.run_id,
        "raw_dir": str(run.raw_dir),
        "out_dir": str(run.out_dir),
        "refresh_reason": run.refresh_reason,
        "files_seen": run.changes.unchanged + len(run.changes.to_parse),
        "files_new": run.changes.new,
        "files_changed": run.changes.modified - touched,
        "files_touched_unchanged": touched,
        "files_deleted": len(run.changes.deleted),
        "files_unchanged": run.changes.unchanged + touched,
        "files_reprocessed_for_boilerplate": len(boilerplate.reprocess) if boilerplate else 0,
        "articles_written": sum(r.n_articles for r in normalised),
        "articles_unchanged": sum(len(r.unchanged) for r in normalised),  # written again, not redone downstream
        "rejected_written": sum(rejected.values()),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "languages": dict(languages.most_common()),
        "boilerplate_groups_changed": sorted(boilerplate.flipped) if boilerplate else [],
        "snapshot": snapshot.root.name if snapshot else None,
        "snapshot_written": bool(parsed or run.changes.deleted or run.refresh_reason),
        "new_near_duplicate_edges": deduped.new_edges if deduped else 0,
        "articles_reclustered": deduped.updates.num_rows if deduped else 0,
        "passage_occurrences_added": reused.rows_added if reused else 0,
        "total_articles": totals.get("articles"),
        "total_rejected": totals.get("rejected"),
        "total_duplicates": totals.get("duplicate_pairs"),
        "total_passage_occurrences": totals.get("passages"),
        "total_entity_mentions": totals.get("entity_mentions"),
        "total_entities": totals.get("entities"),
        "quotes_added": quoted.quotes_added if quoted else 0,
        "quote_clusters_new": len(quoted.new_clusters) if quoted else 0,
        "quote_clusters_grown": len(quoted.grown_clusters) if quoted else 0,
        "total_quotes": totals.get("quotes"),
        "total_quote_clusters": totals.get("quote_clusters"),
        "seconds_by_stage": {k: round(v, 3) for k, v in run.timings.items()},
        "seconds_total": round(sum(run.timings.values()), 3),
        # The flow process's peak resident memory when each stage ended (worker processes not included).
        "peak_rss_mb_after_stage": dict(run.peak_rss_mb),
        # Wall time from the start of planning (its scan precedes started_at) to this summary.
        "seconds_flow": round(run.timings.get("plan", 0.0) + (datetime.now(timezone.utc) - run.started_at).total_seconds(), 3),
    }
