"""Every Parquet schema newsflow writes, in one place; docs/schema.md describes the same fields."""

from __future__ import annotations

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")

ARTICLES = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("record_index", pa.int32()),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("source_hash", pa.string(), nullable=False),
        pa.field("encoding", pa.string()),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("outlet", pa.string()),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published_at", UTC_TS),
        pa.field("published_raw", pa.string()),
        pa.field("dateline", pa.string()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float32()),
        pa.field("language_reliable", pa.bool_(), nullable=False),
        pa.field("text", pa.large_string(), nullable=False),
        pa.field("n_words", pa.int32(), nullable=False),
        pa.field("n_paragraphs", pa.int32(), nullable=False),
        pa.field("n_boilerplate_removed", pa.int32(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string()),
        pa.field("ingested_at", UTC_TS, nullable=False),
        pa.field("pipeline_version", pa.string(), nullable=False),
    ],
    metadata={"description": "One row per article: clean body text, metadata, language and duplicate cluster."},
)

REJECTED = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("record_index", pa.int32()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("seen_at", UTC_TS, nullable=False),
    ],
    metadata={"description": "One row per input (file or record) that could not become an article."},
)

DUPLICATE_PAIRS = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("similarity", pa.float32(), nullable=False),
    ],
    metadata={"description": "One row per duplicate article: the canonical copy it duplicates."},
)

PASSAGES = pa.schema(
    [
        pa.field("passage_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
    ],
    metadata={"description": "One row per occurrence of a passage reused across different articles."},
)

ENTITY_MENTIONS = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("entity_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("surface", pa.string(), nullable=False),
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("method", pa.string(), nullable=False),
        pa.field("confidence", pa.float32(), nullable=False),
    ],
    metadata={"description": "One row per mention of a person, organisation or place in an article."},
)

ENTITIES = pa.schema(
    [
        pa.field("entity_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("wikidata", pa.string()),
        pa.field("linked", pa.bool_(), nullable=False),
        pa.field("aliases", pa.list_(pa.string()), nullable=False),
        pa.field("n_mentions", pa.int64(), nullable=False),
        pa.field("n_articles", pa.int64(), nullable=False),
    ],
    metadata={"description": "One row per distinct entity mentioned in the corpus."},
)

# State of the entities table: how often each entity was written each way, so a run updates only the entities
# its new and removed articles mention.
ENTITY_SURFACES = pa.schema(
    [
        pa.field("entity_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("surface", pa.string(), nullable=False),
        pa.field("n_mentions", pa.int64(), nullable=False),
    ],
    metadata={"description": "One row per entity and surface form, with its number of mentions in the corpus."},
)

QUOTES = pa.schema(
    [
        pa.field("quote_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("speaker_entity_id", pa.string()),
        pa.field("speaker_name", pa.string()),
        pa.field("attribution_method", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string()),
        pa.field("variant", pa.int64(), nullable=False),
    ],
    metadata={"description": "One row per quoted piece or reported-speech clause in an article, with its speaker."},
)

QUOTE_CLUSTERS = pa.schema(
    [
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("speaker_entity_id", pa.string()),
        pa.field("speaker_name", pa.string()),
        pa.field("n_quotes", pa.int32(), nullable=False),
        pa.field("n_articles", pa.int32(), nullable=False),
        pa.field("n_outlets", pa.int32(), nullable=False),
        pa.field("first_seen", UTC_TS),
        pa.field("last_seen", UTC_TS),
    ],
    metadata={"description": "One row per remark: quotes of the same words across articles, translations included."},
)

# State of the quotes stage, one row per variant (the distinct wordings of one speaker; copies share one): the
# word-pair keys that propose which variants to compare, and what the rules read of each variant.
QUOTE_KEYS = pa.schema(
    [
        pa.field("key", pa.int64(), nullable=False),
        pa.field("variant", pa.int64(), nullable=False),
    ],
    metadata={"description": "One row per key of a variant: its wording's hash and its distinct content-word pairs, hashed."},
)

# What the vectorised screen of candidate pairs reads of a variant (the rules' _Wording, in columns).
VARIANT_FEATURES = pa.schema(
    [
        pa.field("variant", pa.int64(), nullable=False),
        pa.field("n_words", pa.int32(), nullable=False),
        pa.field("words_hash", pa.int64(), nullable=False),
        pa.field("names_mask", pa.uint64(), nullable=False),
        pa.field("content", pa.list_(pa.string()), nullable=False),
        pa.field("plain", pa.list_(pa.string()), nullable=False),
    ],
    metadata={"description": "One row per quote variant: its word count, a hash of its words, a 64-bit mask of the "
                             "names in it, and its distinct content words and those that are not names."},
)

QUOTE_VARIANTS = pa.schema(
    [
        pa.field("variant", pa.int64(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("quote_id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("speaker_entity_id", pa.string()),
        pa.field("speaker_name", pa.string()),
        pa.field("n_quotes", pa.int32(), nullable=False),
        pa.field("days", pa.list_(pa.int32()), nullable=False),
        *[f for f in VARIANT_FEATURES if f.name != "variant"],
    ],
    metadata={"description": "One row per variant: its cluster, its best copy (a direct quote before a reported one, "
                             "then the longest text, then the smallest quote_id), how many copies it has, the distinct "
                             "publication days of its copies (days since 1970; a null day for a copy of unknown date), "
                             "and its features (VARIANT_FEATURES)."},
)

QUOTE_EDGES = pa.schema(
    [
        pa.field("variant_a", pa.int64(), nullable=False),
        pa.field("variant_b", pa.int64(), nullable=False),
    ],
    metadata={"description": "Pairs of quote variants the clustering rules joined (variant_a < variant_b): links of a "
                             "spanning forest of every cluster, so a cluster that loses a variant is repaired by testing "
                             "only pairs across the pieces the links leave."},
)

QUOTE_CLUSTER_OUTLETS = pa.schema(
    [
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("outlet", pa.string(), nullable=False),
    ],
    metadata={"description": "One row per quote cluster and outlet carrying it, so a cluster that only grows is "
                             "updated without reading its members."},
)

# Parse output handed from the parse pass to the normalise pass; never exported.
PARSED = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("record_index", pa.int32()),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("source_hash", pa.string(), nullable=False),
        pa.field("encoding", pa.string()),
        pa.field("outlet", pa.string()),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published_at", UTC_TS),
        pa.field("published_raw", pa.string()),
        pa.field("dateline", pa.string()),
        pa.field("paragraphs", pa.list_(pa.large_string()), nullable=False),
        pa.field("n_rule_removed", pa.int32(), nullable=False),
        pa.field("boilerplate_group", pa.string(), nullable=False),
        pa.field("paragraph_hashes", pa.list_(pa.int64()), nullable=False),
        pa.field("context_hashes", pa.list_(pa.int64()), nullable=False),
    ],
    metadata={"description": "Staging: one parsed article before corpus boilerplate removal."},
)

# The previous version of each article a run replaces (changed and reprocessed files), for the normalise pass.
PREVIOUS_VERSIONS = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("ingested_at", UTC_TS, nullable=False),
        pa.field("fingerprint", pa.string()),  # of the columns later stages read; null on a full refresh
        # The text's hash and language: a text that comes back the same is not detected again (null on a refresh).
        ARTICLES.field("content_hash").with_nullable(True),
        ARTICLES.field("language"),
        ARTICLES.field("language_score"),
        ARTICLES.field("language_reliable").with_nullable(True),
    ],
    metadata={"description": "Staging: first ingestion time, fingerprint, text hash and language of articles a run "
                             "replaces."},
)

# State kept beside the datasets so the next run knows what it has already seen.
FILES_STATE = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("source_hash", pa.string(), nullable=False),
        pa.field("n_articles", pa.int32(), nullable=False),
        pa.field("n_rejected", pa.int32(), nullable=False),
        pa.field("seen_at", UTC_TS, nullable=False),
    ],
    metadata={"description": "One row per raw file seen: its fingerprint and what it became."},
)

MINHASH_INDEX = pa.schema(
    [
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("signature", pa.list_(pa.uint32()), nullable=False),
    ],
    metadata={"description": "One MinHash signature per distinct article text."},
)

NEAR_EDGES = pa.schema(
    [
        pa.field("content_a", pa.string(), nullable=False),
        pa.field("content_b", pa.string(), nullable=False),
        pa.field("jaccard", pa.float32(), nullable=False),
        pa.field("similarity", pa.float32(), nullable=False),
    ],
    metadata={"description": "Confirmed near-duplicate pairs of distinct texts (content_a < content_b)."},
)

PASSAGE_STATE = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("segment_hash", pa.int64(), nullable=False),
        pa.field("start", pa.int32(), nullable=False),
        pa.field("end", pa.int32(), nullable=False),
    ],
    metadata={"description": "Sentences and quotations long enough to track, per article."},
)

PARAGRAPH_STATE = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("boilerplate_group", pa.string(), nullable=False),
        pa.field("paragraph_hashes", pa.list_(pa.int64()), nullable=False),
        pa.field("context_hashes", pa.list_(pa.int64()), nullable=False),
    ],
    metadata={"description": "Distinct short-paragraph hashes per article, for corpus boilerplate counts."},
)

# Exported datasets (readable by users) and state tables (newsflow's own bookkeeping).
DATASETS: dict[str, pa.Schema] = {
    "articles": ARTICLES, "rejected": REJECTED, "duplicate_pairs": DUPLICATE_PAIRS, "passages": PASSAGES,
    "entity_mentions": ENTITY_MENTIONS, "entities": ENTITIES, "quotes": QUOTES, "quote_clusters": QUOTE_CLUSTERS,
}
STATE_TABLES: dict[str, pa.Schema] = {
    "_state/files": FILES_STATE, "_state/paragraphs": PARAGRAPH_STATE, "_state/minhash": MINHASH_INDEX,
    "_state/near_edges": NEAR_EDGES, "_state/segments": PASSAGE_STATE, "_state/quote_keys": QUOTE_KEYS,
    "_state/quote_variants": QUOTE_VARIANTS, "_state/quote_edges": QUOTE_EDGES,
    "_state/quote_cluster_outlets": QUOTE_CLUSTER_OUTLETS, "_state/entity_surfaces": ENTITY_SURFACES,
}
ALL_TABLES: dict[str, pa.Schema] = {**DATASETS, **STATE_TABLES}


def empty_table(schema: pa.Schema) -> pa.Table:
    """A zero-row table with the given schema."""
    return schema.empty_table()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast a table's columns to exactly the declared schema (raises on a mismatch)."""
    return table.select(schema.names).cast(schema)
