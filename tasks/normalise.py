"""Normalisation: corpus boilerplate removal, final text, word counts and language."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from tasks.boilerplate import paragraph_hash
from tasks.config import PIPELINE_VERSION, NormaliseConfig, PipelineConfig
from tasks.corpus import only, without
from tasks.dedup import signature_table
from tasks.entities import match as match_entities
from tasks.entities import mentions_table
from tasks.knowledge import load_knowledge_base
from tasks.language import Language, ProfileDetector
from tasks.passages import article_segments, segments_table
from tasks.quote_clusters import keyed_variants
from tasks.quotes import extract_quotes
from tasks.schemas import (
    ARTICLES,
    PARSED,
    PREVIOUS_VERSIONS,
    QUOTES,
    REJECTED,
)
from tasks.storage import write_parquet
from tasks.text import count_words

# What `extract_quotes` gives: quote rows before `keyed_variants` adds their variant.
_EXTRACTED = QUOTES.remove(QUOTES.get_field_index("variant"))

@lru_cache(maxsize=4)
def _factory(seed: int) -> DetectorFactory:
    """langdetect's profiles, loaded once per process and seeded (it samples at random otherwise)."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = seed
    return factory


def detect_language(text: str, config: NormaliseConfig) -> Language:
    """The language of a text by plain langdetect, deterministic for a given seed."""
    detector = _factory(config.language_seed).create()
    detector.append(text)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return Language(None, None, False)
    reliable = len(text) >= config.language_min_chars and best.prob >= config.language_min_probability
    return Language(best.lang, round(best.prob, 4), reliable)


@lru_cache(maxsize=4)
def _profile_detector(min_chars: int, min_probability: float) -> ProfileDetector:
    """One vectorised detector per process and settings (its model is built once, then read-only)."""
    return ProfileDetector(min_chars=min_chars, min_probability=min_probability)


def detect_languages(texts: list[str], config: NormaliseConfig) -> list[Language]:
    """Languages of many texts with the configured method: langdetect's profiles scored at once, or
    plain seeded langdetect (the same answers on article-length texts, about 15 times slower)."""
    if config.language_method == "langdetect":
        return [detect_language(text, config) for text in texts]
    return _profile_detector(config.language_min_chars, config.language_min_probability).detect_many(texts)


def prepare_worker(config: PipelineConfig) -> None:
    """What a worker process loads before its first batch of any stage: the parse stage's modules and the models."""
    import tasks.ingest  # noqa: F401  (HTML extraction and date parsing: most of a worker's imports)

    load_models(config)


def load_models(config: PipelineConfig) -> None:
    """Load what `normalise_batch` reads besides its batch (the knowledge base and the language profiles, about a
    second), into this process's caches."""
    load_knowledge_base(config.entities.kb_files, config.entities.min_city_population)
    if config.normalise.language_method == "langdetect":
        _factory(config.normalise.language_seed)
    else:
        detect_languages([], config.normalise)


def content_hash(text: str) -> str:
    """Hash of the clean text: equal for articles that are identical after normalisation."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# The article columns the later stages (dedup, passages, entities, quotes) read: an article that comes back with
# the same values in all of them, such as an untouched record of a changed or reprocessed JSON Lines file, is
# written again but not redone by them. The rest are the file's hash and what those stages assign.
FINGERPRINTED = [name for name in ARTICLES.names if name not in {"source_hash", "cluster_id", "duplicate_of", "ingested_at"}]


def article_fingerprints(articles: pa.Table) -> list[str]:
    """A hash per article row of its FINGERPRINTED columns: equal rows, equal hashes, in any process."""
    columns = [articles.column(name).to_pylist() for name in FINGERPRINTED]
    return [hashlib.sha256(repr(values).encode("utf-8", "surrogatepass")).hexdigest()[:32] for values in zip(*columns)]


def unchanged_articles(articles: pa.Table, fingerprints: dict[str, str]) -> list[str]:
    """Ids of the articles whose row has the fingerprint of their previous version."""
    known = only(articles, "article_id", fingerprints)
    return [i for i, f in zip(known.column("article_id").to_pylist(), article_fingerprints(known)) if fingerprints[i] == f]


def finish_articles(parsed: pa.Table, boilerplate: dict[str, frozenset[int]],
                    first_ingested: dict[str, datetime], config: PipelineConfig,
                    now: datetime, known_languages: dict[str, Language] | None = None) -> tuple[pa.Table, pa.Table]:
    """Parsed rows to article rows: drop corpus boilerplate, join paragraphs, detect language.

    Articles left with too little text become rejected rows instead. `known_languages` holds the languages of
    texts (by content hash) already detected with this config, such as the previous versions' of re-read
    articles: those are not detected again.
    """
    kept: list[tuple[dict, list[str], str]] = []
    rejected: list[dict] = []
    for row in parsed.to_pylist():
        common = boilerplate.get(row["boilerplate_group"], frozenset())
        body = [p for p in row["paragraphs"] if paragraph_hash(p) not in common] if common else row["paragraphs"]
        text = "\n\n".join(body)
        if len(text) < config.ingest.min_article_chars:
            rejected.append({"source_path": row["source_path"], "record_index": row["record_index"],
                             "reason": "no_article_text", "seen_at": now,
                             "detail": f"{len(text)} characters left after removing outlet boilerplate"})
            continue
        kept.append((row, body, text))
    hashes = [content_hash(text) for _, _, text in kept]
    known = known_languages or {}
    unknown = [i for i, h in enumerate(hashes) if h not in known]
    detected = dict(zip(unknown, detect_languages([kept[i][2] for i in unknown], config.normalise)))
    languages = [detected[i] if i in detected else known[h] for i, h in enumerate(hashes)]
    articles = [
        {
            **{name: row[name] for name in ARTICLES.names if name in PARSED.names},
            "content_hash": text_hash,
            "language": language.code,
            "language_score": language.score,
            "language_reliable": language.reliable,
            "text": text,
            "n_words": count_words(text),
            "n_paragraphs": len(body),
            "n_boilerplate_removed": row["n_rule_removed"] + len(row["paragraphs"]) - len(body),
            "cluster_id": row["article_id"],  # a singleton until the dedup stage says otherwise
            "duplicate_of": None,
            "ingested_at": first_ingested.get(row["article_id"], now),
            "pipeline_version": PIPELINE_VERSION,
        }
        for (row, body, text), text_hash, language in zip(kept, hashes, languages)
    ]
    return pa.Table.from_pylist(articles, schema=ARTICLES), pa.Table.from_pylist(rejected, schema=REJECTED)


@dataclass(frozen=True)
class NormaliseJob:
    """One staging file of parsed rows for a worker to finish."""

    staging_path: str
    boilerplate: dict[str, frozenset[int]]
    previous_versions_path: str | None  # PREVIOUS_VERSIONS rows of the articles this run replaces
    config: PipelineConfig
    articles_path: str
    rejected_path: str
    minhash_path: str
    segments_path: str
    mentions_path: str
    now: datetime
    quotes_path: str | None = None
    quote_keys_path: str | None = None
    quote_features_path: str | None = None


@dataclass
class NormaliseResult:
    """Where a finished batch went, and its counts."""

    articles_path: str | None
    rejected_path: str | None
    minhash_path: str | None
    segments_path: str | None
    mentions_path: str | None
    n_articles: int
    rejected_by_source: Counter[str]
    languages: Counter[str]
    unchanged: list[str] = field(default_factory=list)  # ids written again but, unchanged, not redone downstream
    quotes_path: str | None = None
    quote_keys_path: str | None = None
    quote_features_path: str | None = None


def normalise_batch(job: NormaliseJob) -> NormaliseResult:
    """Finish one staging file: article rows, and the MinHash signatures, passage segments, entity mentions and
    quotes of those not unchanged since their previous version."""
    parsed = pq.read_table(job.staging_path, schema=PARSED)
    versions = pq.read_table(job.previous_versions_path, schema=PREVIOUS_VERSIONS) if job.previous_versions_path \
        else PREVIOUS_VERSIONS.empty_table()
    ids = versions.column("article_id").to_pylist()
    first_ingested = dict(zip(ids, versions.column("ingested_at").to_pylist()))
    fingerprints = {i: f for i, f in zip(ids, versions.column("fingerprint").to_pylist()) if f is not None}
    languages = {h: Language(code, score, reliable) for h, code, score, reliable in zip(
        *(versions.column(c).to_pylist() for c in ("content_hash", "language", "language_score", "language_reliable")))
        if h is not None}
    groups = set(parsed.column("boilerplate_group").to_pylist())
    boilerplate = {g: job.boilerplate[g] for g in groups if g in job.boilerplate}
    articles, rejected = finish_articles(parsed, boilerplate, first_ingested, job.config, job.now, languages)
    unchanged = unchanged_articles(articles, fingerprints)
    fresh = without(articles, "article_id", unchanged)
    distinct = dict(zip(fresh.column("content_hash").to_pylist(), fresh.column("text").to_pylist()))
    signatures = signature_table(list(distinct), list(distinct.values()), job.config.dedup)
    ids, texts = fresh.column("article_id").to_pylist(), fresh.column("text").to_pylist()
    segments = segments_table([row for article_id, text in zip(ids, texts)
                               for row in article_segments(article_id, text, job.config.dedup.passage_min_words)])
    entity_config = job.config.entities
    kb = load_knowledge_base(entity_config.kb_files, entity_config.min_city_population)
    found = [match_entities(text, kb, entity_config) for text in texts]
    mentions = mentions_table(ids, found)
    keyed = keyed_variants(pa.Table.from_pylist(
        [row for article_id, text, matched in zip(ids, texts, found)
         for row in extract_quotes(article_id, text, matched, job.config.quotes)], schema=_EXTRACTED), job.config.quotes)

    def write(table: pa.Table, path: str) -> str | None:
        return str(write_parquet(table, Path(path), table.schema)) if table.num_rows else None

    return NormaliseResult(
        articles_path=write(articles, job.articles_path),
        rejected_path=write(rejected, job.rejected_path),
        minhash_path=write(signatures, job.minhash_path),
        segments_path=write(segments, job.segments_path),
        mentions_path=write(mentions, job.mentions_path),
        n_articles=articles.num_rows,
        unchanged=unchanged,
        rejected_by_source=Counter(rejected.column("source_path").to_pylist()),
        languages=Counter(lang or "unknown" for lang in articles.column("language").to_pylist()),
        quotes_path=write(keyed.quotes.cast(QUOTES), job.quotes_path) if job.quotes_path else None,
        quote_keys_path=write(keyed.keys, job.quote_keys_path) if job.quote_keys_path else None,
        quote_features_path=write(keyed.features, job.quote_features_path) if job.quote_features_path else None,
    )
