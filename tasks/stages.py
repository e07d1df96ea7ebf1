"""The Prefect layer: one thin task per stage, or one task run per batch of a stage run in batches (parse,
normalise, quotes), each calling the plain functions of its module.

Stage modules import no Prefect, so the worker processes that run their batch functions start
quickly and the logic stays usable (and testable) without an orchestrator.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import partial, wraps
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from tasks.batches import Batches, spread
from tasks.boilerplate import CorpusBoilerplate, update_corpus_boilerplate
from tasks.config import PipelineConfig
from tasks.corpus import (
    ARTICLE_KEYS,
    only,
    previous,
    read_parts,
    split_parts,
    staging_paths,
    texts_by,
    without,
)
from tasks.dedup import (
    DedupOutcome,
    assign_clusters,
    candidate_pairs,
    changed_assignments,
    confirm_pairs,
    duplicate_pair_rows,
    known_similarities,
    pairs_needing_similarity,
    similarities,
    stale_signatures,
)
from tasks.export import (
    CarryOvers,
    commit_snapshot,
    previous_versions,
    redone_articles,
    replaced_sources,
)
from tasks.ingest import ParseJob, ParseResult, parse_batch
from tasks.normalise import NormaliseJob, NormaliseResult, normalise_batch
from tasks.passages import PassageOutcome, update_passages
from tasks.quote_index import (
    ARTICLE_META,
    QuoteOutcome,
    QuoteSliceJob,
    cluster_slice,
    speaker_slices,
)
from tasks.remote import Transfer, mirror_raw, publish
from tasks.report import (
    duplicates_markdown,
    entities_markdown,
    new_duplicates,
    quote_clusters_markdown,
    run_report,
)
from tasks.run import RawFile, Run, begin_run, scan_key
from tasks.schemas import (
    ARTICLES,
    DUPLICATE_PAIRS,
    MINHASH_INDEX,
    PARAGRAPH_STATE,
    PASSAGE_STATE,
    PREVIOUS_VERSIONS,
    QUOTE_KEYS,
    QUOTES,
    VARIANT_FEATURES,
)
from tasks.storage import Snapshot, release_memory, write_parquet
from tasks.workers import take_early_result


def peak_rss_mb() -> float:
    """The high-water mark of this process's resident memory so far, in MB (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)  # bytes on macOS, KB on Linux


def timed(stage: str) -> Callable:
    """Record a stage's wall time in the run's timings (the run is the first argument), and the process's peak
    memory once it ends, in the order stages end: the first stage whose figure jumps is the one that set the peak.
    The memory the stage freed is then handed back (`release_memory`), so that the next stage, or the worker
    processes it starts, do not stand on top of it (the 100k +1% run's peak, replayed: 1,522 -> 1,409 MB)."""

    def decorate(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(run: Run, *args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(run, *args, **kwargs)
            finally:
                _record(run, stage, started)
                release_memory()

        return wrapper

    return decorate


def _record(run: Run, stage: str, started: float) -> None:
    """Add a stage's wall time since `started` to the run's timings, and note the peak memory as it ends."""
    run.timings[stage] = run.timings.get(stage, 0.0) + time.perf_counter() - started
    run.peak_rss_mb.pop(stage, None)  # a stage run twice (parse, for reprocessing) moves to its last end
    run.peak_rss_mb[stage] = peak_rss_mb()


def quoted_result(fn: Callable) -> Callable:
    """Hand a stage task's result to Prefect wrapped in `quote`, so Prefect does not walk it (see `call`)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        return quote(fn(*args, **kwargs))

    return wrapper


def call(stage: Callable, *args):
    """Run a stage task with its arguments and its result hidden from Prefect's introspection.

    Prefect walks every element of a task's arguments and result looking for futures and states: 12.8 s
    for a dict of 200k dataclasses here, and a run's plan, parse results and dedup outcome are such
    collections (at 100k articles these walks cost more wall time than some stages). Quoted arguments
    reach the task unwrapped; the price is that the UI draws no edges between stage task runs.
    """
    result = stage(*(quote(a) for a in args))
    return result.unquote() if isinstance(result, quote) else result


@task(name="sync-raw", task_run_name="sync-raw", cache_policy=NONE, retries=3,
      retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5)
def sync_raw(uri: str, local_dir: str) -> Transfer:
    """Mirror a remote raw prefix into the local working directory (only what changed moves)."""
    transfer = mirror_raw(uri, Path(local_dir))
    get_run_logger().info("sync-raw: %s -> %s: %d downloaded (%d bytes), %d deleted, %d unchanged", uri, local_dir,
                          transfer.copied, transfer.bytes_copied, transfer.deleted, transfer.unchanged)
    return transfer


@task(name="publish", task_run_name="publish", cache_policy=NONE, retries=3,
      retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5)
def publish_datasets(local_out: str, uri: str, snapshot: str | None) -> Transfer:
    """Upload the current datasets to a remote output prefix."""
    transfer = publish(Path(local_out), uri, snapshot)
    get_run_logger().info("publish: %s -> %s: %d parts uploaded (%d bytes), %d deleted, %d unchanged", local_out, uri,
                          transfer.copied, transfer.bytes_copied, transfer.deleted, transfer.unchanged)
    return transfer


@task(name="plan", task_run_name="plan", cache_policy=NONE)
@quoted_result
def plan(config: PipelineConfig) -> Run:
    """Scan the raw directory and work out what changed since the last snapshot."""
    started = time.perf_counter()
    early = take_early_result(scan_key(config.raw_dir, config.ingest))
    run = begin_run(config, early.result() if early is not None else None)
    _record(run, "plan", started)
    changes = run.changes
    get_run_logger().info(
        "plan: %d new, %d changed or touched, %d deleted, %d unchanged%s",
        changes.new, changes.modified, len(changes.deleted), changes.unchanged,
        f"; reprocessing everything: {run.refresh_reason}" if run.refresh_reason else "",
    )
    return run


@timed("parse")
def parse(run: Run, files: list[RawFile], label: str, batches: Batches,
          redo: dict[str, frozenset[str]] | None = None) -> list[ParseResult]:
    """Read, decode and parse files, one task run per batch of files. `redo`: files unchanged on disk, by source
    the articles of theirs to redo (`ParseJob.redo`)."""
    builder = run.snapshot()
    previous = {}
    if label == "changes" and run.refresh_reason is None and run.files_state.num_rows:
        previous = dict(zip(run.files_state.column("source_path").to_pylist(),
                            run.files_state.column("source_hash").to_pylist()))
    elif redo:
        # A file with rejected records is read again whole: which of its rejections stand would have to be
        # found again too.
        state = only(run.files_state, "source_path", redo).filter(pc.equal(pc.field("n_rejected"), 0))
        previous = dict(zip(state.column("source_path").to_pylist(), state.column("source_hash").to_pylist()))
    jobs = [
        ParseJob(files=list(batch), previous_hashes={f.source_path: previous[f.source_path] for f in batch if f.source_path in previous},
                 config=run.config, staging_path=str(builder.root / "_staging" / f"parsed-{label}-{i:05d}.parquet"),
                 rejected_path=str(builder.part_path("rejected", f"{label}-{i:05d}")), seen_at=run.started_at,
                 redo={f.source_path: redo[f.source_path] for f in batch if f.source_path in previous} if redo else {})
        for i, batch in enumerate(spread(files, [f.size for f in files], run.config.batch_size, run.config.resolved_workers()))
    ]
    results = batches.map(f"parse-{label}", parse_batch, jobs, _files_named)
    rejected = sum((r.rejected_reasons for r in results), Counter())
    get_run_logger().info("parse (%s): %d files, %d articles, %d unchanged content, rejected %s", label, len(files),
                          sum(r.n_articles for r in results), sum(len(r.touched) for r in results), dict(rejected) or 0)
    return results


def _files_named(job: ParseJob) -> str:
    """The inputs of a parse batch, as a failure message names them."""
    first, last = job.files[0].source_path, job.files[-1].source_path
    return f"{len(job.files)} files {first}" + (f" .. {last}" if len(job.files) > 1 else "")


@task(name="corpus-boilerplate", task_run_name="corpus-boilerplate", cache_policy=NONE)
@quoted_result
@timed("boilerplate")
def corpus_boilerplate(run: Run, parsed: list[ParseResult]) -> CorpusBoilerplate:
    """Count short paragraphs per outlet over the whole corpus and find what changed."""
    old_state = PARAGRAPH_STATE.empty_table()
    if run.previous and not run.refresh_reason:
        old_state = run.previous.read("_state/paragraphs")
    new_state = _concat([r.paragraph_state for r in parsed])
    boilerplate = update_corpus_boilerplate(old_state, new_state, replaced_sources(run, parsed),
                                            run.config.normalise.corpus_boilerplate_min_articles)
    if boilerplate.flipped:
        get_run_logger().info("boilerplate: %d paragraphs changed status in %d outlet groups; reprocessing %d articles"
                              " of %d files", sum(map(len, boilerplate.flipped.values())), len(boilerplate.flipped),
                              sum(map(len, boilerplate.held.values())), len(boilerplate.reprocess))
    return boilerplate


@timed("normalise")
def normalise(run: Run, parsed: list[ParseResult], boilerplate: CorpusBoilerplate, batches: Batches) -> list[NormaliseResult]:
    """Remove outlet boilerplate, finish the text, detect its language, hash it for dedup, one task run per batch."""
    builder = run.snapshot()
    staging = builder.root / "_staging"
    versions = previous_versions(run, replaced_sources(run, parsed), redone_articles(parsed))
    versions_path = str(write_parquet(versions, staging / "previous-versions.parquet", PREVIOUS_VERSIONS)) \
        if versions.num_rows else None
    jobs = [
        NormaliseJob(staging_path=path, boilerplate=boilerplate.sets, previous_versions_path=versions_path,
                     config=run.config, articles_path=str(staging / f"articles-{Path(path).stem}.parquet"),
                     rejected_path=str(builder.part_path("rejected", f"late-{Path(path).stem}")),
                     minhash_path=str(staging / f"minhash-{Path(path).stem}.parquet"),
                     segments_path=str(staging / f"segments-{Path(path).stem}.parquet"),
                     mentions_path=str(builder.part_path("entity_mentions", Path(path).stem)), now=run.started_at,
                     quotes_path=str(staging / f"quotes-{Path(path).stem}.parquet"),
                     quote_keys_path=str(staging / f"quote-keys-{Path(path).stem}.parquet"),
                     quote_features_path=str(staging / f"quote-features-{Path(path).stem}.parquet"))
        for path in (r.staging_path for r in parsed if r.staging_path)
    ]
    results = batches.map("normalise", normalise_batch, jobs, lambda job: f"parsed rows in {job.staging_path}")
    languages = sum((r.languages for r in results), Counter())
    get_run_logger().info("normalise: %d articles, languages %s", sum(r.n_articles for r in results),
                          dict(languages.most_common(10)))
    return results


@task(name="dedup", task_run_name="dedup", cache_policy=NONE)
@quoted_result
@timed("dedup")
def dedup(run: Run, parsed: list[ParseResult], normalised: list[NormaliseResult]) -> DedupOutcome:
    """Find exact and near duplicates of the new articles in the whole corpus and re-cluster."""
    config = run.config.dedup
    article_paths = staging_paths(normalised, "articles_path")
    previous_articles = previous(run, "articles", ARTICLE_KEYS)
    replaced, redone = replaced_sources(run, parsed), set().union(*redone_articles(parsed).values())
    kept = without(without(previous_articles, "source_path", replaced), "article_id", redone)
    current = pa.concat_tables([kept, read_parts(article_paths, ARTICLES, ARTICLE_KEYS)])
    present = pc.unique(current.column("content_hash"))
    old_index = previous(run, "_state/minhash")
    index = only(old_index, "content_hash", present)
    new_index = _distinct_new(read_parts(staging_paths(normalised, "minhash_path"), MINHASH_INDEX), index)
    pairs = candidate_pairs(new_index, index, config)
    wanted = set(pairs.column("content_a").to_pylist()) | set(pairs.column("content_b").to_pylist())
    new_edges = confirm_pairs(pairs, texts_by(run, "content_hash", wanted, article_paths), config)
    old_edges = previous(run, "_state/near_edges")
    old_edges = only(only(old_edges, "content_a", present), "content_b", present)
    edges = pa.concat_tables([old_edges, new_edges])
    assignments = assign_clusters(current, edges)
    known = known_similarities(edges, previous(run, "duplicate_pairs"), assignments)
    needed = pairs_needing_similarity(assignments, known)
    known.update(similarities(needed, texts_by(run, "content_hash", {h for pair in needed for h in pair}, article_paths)))
    outcome = DedupOutcome(
        assignments=assignments, updates=changed_assignments(kept, assignments),
        duplicate_pairs=duplicate_pair_rows(assignments, known), new_index=new_index,
        dropped_contents=stale_signatures(old_index, present), edges=edges,
        removed_articles=(set(only(previous_articles, "source_path", replaced).column("article_id").to_pylist())
                          | set(only(previous_articles, "article_id", redone).column("article_id").to_pylist()))
        - {i for r in normalised for i in r.unchanged},
        new_edges=new_edges.num_rows,
    )
    get_run_logger().info("dedup: %d candidate pairs, %d new near-duplicate edges, %d duplicates in %d clusters; "
                          "%d earlier articles re-clustered", pairs.num_rows, new_edges.num_rows,
                          outcome.duplicate_pairs.num_rows, pc.count_distinct(outcome.duplicate_pairs.column("duplicate_of")).as_py(),
                          outcome.updates.num_rows)
    return outcome


@task(name="passages", task_run_name="passages", cache_policy=NONE)
@quoted_result
@timed("passages")
def passages(run: Run, normalised: list[NormaliseResult], deduped: DedupOutcome) -> PassageOutcome:
    """Find sentences and quotations reused across articles of different duplicate clusters."""
    kept_segments = without(previous(run, "_state/segments"), "article_id", deduped.removed_articles)
    # Each staging file's segments with the texts of its articles, read when its rows are built.
    new_batches = [(read_parts([r.segments_path], PASSAGE_STATE), partial(texts_by, run, "article_id", new_articles_paths=[r.articles_path]))
                   for r in normalised if r.segments_path]
    before = previous(run, "passages", ["passage_id"]).column("passage_id")
    # Written into the snapshot under construction as they are built (it is switched in only by commit).
    builder = run.snapshot()
    parts = itertools.count()
    outcome = update_passages(kept_segments, new_batches, deduped.assignments,
                              before, partial(texts_by, run, "article_id", new_articles_paths=[]),
                              lambda rows: builder.write("passages", rows, f"new-{next(parts):05d}"))
    # A part per batch, as the articles: a later run rewrites only the parts holding an article it replaces.
    for number, (segments, _) in enumerate(new_batches):
        builder.write("_state/segments", segments, f"new-{number:05d}")
    get_run_logger().info("passages: %d reused passages; %d occurrences added, %d passages no longer reused",
                          outcome.reused_passages, outcome.rows_added, len(outcome.removed_ids))
    return outcome


@timed("quotes")
def quotes(run: Run, normalised: list[NormaliseResult], deduped: DedupOutcome, batches: Batches) -> QuoteOutcome:
    """Cluster the new quotes with the corpus's and repair clusters that lost quotes, one task run per slice of
    whole speakers (`speaker_slices`), the slices on the worker processes; one slice when the run removes quotes
    (`update_quotes` repairs the clusters that lost quotes in one pass)."""
    builder = run.snapshot()
    staging = builder.root / "_staging"
    # Three small columns of every article, read once and handed to the slices in a file: the clusters a run
    # touches reach articles in most parts, and a look-up per call rescans every part's ids.
    new_articles = read_parts(staging_paths(normalised, "articles_path"), ARTICLES, ARTICLE_META.names)
    old_meta = previous(run, "articles", ARTICLE_META.names)
    meta_path = write_parquet(pa.concat_tables([without(old_meta, "article_id", new_articles.column("article_id").to_pylist()),
                                                new_articles]), staging / "quote-article-meta.parquet", ARTICLE_META)
    before_path = write_parquet(old_meta, staging / "quote-article-meta-before.parquet", ARTICLE_META) \
        if deduped.removed_articles else None
    del new_articles, old_meta
    layout = read_parts(staging_paths(normalised, "quotes_path"), QUOTES, ["speaker_entity_id", "variant"])
    slices = speaker_slices(layout, read_parts(staging_paths(normalised, "quote_features_path"), VARIANT_FEATURES,
                                               ["variant", "words_hash"]),
                            0 if deduped.removed_articles else run.config.quote_slice_rows)
    jobs = [QuoteSliceJob(quotes_paths=quotes_paths, keys_paths=keys_paths, features_paths=features_paths,
                          removed_articles=deduped.removed_articles,
                          previous=None if run.refresh_reason else run.previous, meta_path=str(meta_path),
                          before_path=before_path and str(before_path), config=run.config.quotes,
                          builder=builder, tag=f"new-{number:03d}")
            for number, (quotes_paths, keys_paths, features_paths)
            in enumerate(_slice_files(staging, normalised, layout.column("variant"), slices))]
    del layout
    if deduped.removed_articles and len(jobs) > 1:
        raise ValueError("a run that removes quotes is clustered in one slice")
    # One slice (a run that removes quotes, or few quotes) runs in the flow's process, whatever the task runner.
    outcome = QuoteOutcome.combined(batches.map("quotes", cluster_slice, jobs, _slice_named, in_process=len(jobs) == 1))
    get_run_logger().info("quotes: %d new quotes in %d slices; %d new clusters, %d clusters grew; %d earlier quotes "
                          "re-clustered, %d removed", outcome.quotes_added, len(jobs), len(outcome.new_clusters),
                          len(outcome.grown_clusters), outcome.updates.num_rows, len(outcome.removed_quote_ids))
    return outcome


def _slice_named(job: QuoteSliceJob) -> str:
    """The inputs of a quote slice, as a failure message names them."""
    paths = job.quotes_paths
    if len(paths) < 2:
        return f"the quotes of {paths[0]}" if paths else "no new quotes"
    return f"the quotes of {len(paths)} staging files ({paths[0]} .. {paths[-1]})"


def _slice_files(staging: Path, normalised: list[NormaliseResult], variants: pa.ChunkedArray, slices: list[np.ndarray]
                 ) -> list[tuple[list[str], list[str], list[str]]]:
    """Each slice's staging files of quotes, key rows and features. With several slices, the staging files are
    first cut into one file per slice (a variant's rows are all in one slice), each read once."""
    staged = [(staging_paths(normalised, attribute), schema, name) for attribute, schema, name in
              (("quotes_path", QUOTES, "quotes"), ("quote_keys_path", QUOTE_KEYS, "quote-keys"),
               ("quote_features_path", VARIANT_FEATURES, "quote-features"))]
    if len(slices) == 1:
        return [tuple(paths for paths, _, _ in staged)]
    of_slice = [pc.unique(variants.take(pa.array(rows)).combine_chunks()) for rows in slices]
    cut = [split_parts(paths, schema, "variant", of_slice, staging / "quote-slices", name) for paths, schema, name in staged]
    return [tuple([str(path)] for path in files) for files in zip(*cut)]


@task(name="commit", task_run_name="commit", cache_policy=NONE)
@quoted_result
@timed("commit")
def commit(run: Run, parsed: list[ParseResult], normalised: list[NormaliseResult], deduped: DedupOutcome,
           reused: PassageOutcome, quoted: QuoteOutcome, carried: CarryOvers) -> Snapshot:
    """Write state, finish carrying unchanged rows forward and swap the new snapshot in atomically."""
    snapshot = commit_snapshot(run, parsed, normalised, deduped, reused, quoted, carried)
    if carried.seconds:
        get_run_logger().info("commit: carry-overs took %s", ", ".join(f"{name} {s:.2f} s" for name, s in carried.seconds.items()))
    get_run_logger().info("commit: snapshot %s is now current", snapshot.root.name)
    return snapshot


def _distinct_new(signatures: pa.Table, index: pa.Table) -> pa.Table:
    """One signature per content hash that the index does not hold yet."""
    fresh = without(signatures, "content_hash", index.column("content_hash").to_pylist())
    _, first = np.unique(fresh.column("content_hash").to_numpy(zero_copy_only=False), return_index=True)
    return fresh.take(np.sort(first))


@task(name="report", task_run_name="report", cache_policy=NONE)
def report(summary: dict, run: Run | None = None, snapshot: Snapshot | None = None,
           quoted: QuoteOutcome | None = None) -> dict:
    """Log the run's counts and publish them as Prefect artifacts: a table and a markdown report."""
    logger = get_run_logger()
    logger.info("summary: %s", {k: v for k, v in summary.items() if k not in ("seconds_by_stage", "peak_rss_mb_after_stage")})
    rows = [{"measure": k, "value": str(v)} for k, v in summary.items() if not isinstance(v, (dict, list))]
    rows += [{"measure": f"rejected: {k}", "value": str(v)} for k, v in summary["rejected_by_reason"].items()]
    rows += [{"measure": f"seconds: {k}", "value": str(v)} for k, v in summary["seconds_by_stage"].items()]
    rows += [{"measure": f"peak MB after: {k}", "value": str(v)} for k, v in summary["peak_rss_mb_after_stage"].items()]
    create_table_artifact(key="newsflow-run-summary", table=rows, description="newsflow run summary")
    duplicates, entities = "Nothing new in this run.\n", "Unchanged.\n"
    if snapshot is not None and summary["snapshot_written"]:
        # The previous snapshot is still on disk (at least two are kept); if pruned, every pair counts as new.
        before = run.previous.read("duplicate_pairs") if run and run.previous and run.previous.root.exists() else None
        pairs = new_duplicates(before if before is not None else DUPLICATE_PAIRS.empty_table(),
                               snapshot.read("duplicate_pairs"))
        ids = set(pairs.column("article_id").to_pylist()) | set(pairs.column("duplicate_of").to_pylist())
        duplicates = duplicates_markdown(pairs, snapshot.lookup("articles", "article_id", ids, ["article_id", "title", "outlet"]))
        entities = entities_markdown(snapshot.read("entities", ["name", "type", "n_mentions", "n_articles"]))
    create_markdown_artifact(key="newsflow-report", markdown=run_report(summary, duplicates, entities),
                             description="What this run found and where the datasets are")
    if quoted is not None:
        create_markdown_artifact(key="newsflow-quote-clusters",
                                 markdown=quote_clusters_markdown(quoted.clusters, quoted.new_clusters, quoted.grown_clusters),
                                 description="Quote clusters that appeared or grew in this run")
    return summary


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Concatenate tables conformed to the paragraph-state schema (none gives an empty table)."""
    return pa.concat_tables([PARAGRAPH_STATE.empty_table(), *(t.select(PARAGRAPH_STATE.names).cast(PARAGRAPH_STATE) for t in tables)])
