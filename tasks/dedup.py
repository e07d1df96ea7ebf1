"""Duplicate articles: exact (same clean text) and near (MinHash LSH candidates confirmed by rapidfuzz).

Everything works on distinct texts (`content_hash`): exact duplicates share one, so each text is
hashed and compared once however many files carry it, and the persisted index holds one MinHash
signature per distinct text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from tasks.arrays import joined_roots, looked_up
from tasks.config import DedupConfig
from tasks.corpus import without
from tasks.minhash import MinHasher, estimated_jaccard
from tasks.schemas import DUPLICATE_PAIRS, MINHASH_INDEX, NEAR_EDGES

_LATEST = datetime.max.replace(tzinfo=timezone.utc)


def hasher(config: DedupConfig) -> MinHasher:
    """The MinHasher a config describes."""
    return MinHasher(num_perm=config.num_perm, bands=config.bands, shingle_words=config.shingle_words)


def signature_table(content_hashes: list[str], texts: list[str], config: DedupConfig) -> pa.Table:
    """MinHash signatures of distinct texts, as index rows."""
    signatures = hasher(config).signatures(texts)
    flat = pa.array(signatures.reshape(-1), pa.uint32())
    lists = pa.FixedSizeListArray.from_arrays(flat, config.num_perm).cast(MINHASH_INDEX.field("signature").type)
    return pa.table({"content_hash": pa.array(content_hashes, pa.string()), "signature": lists}, schema=MINHASH_INDEX)


def signatures_of(index: pa.Table, num_perm: int) -> np.ndarray:
    """The index's signatures as an (n, num_perm) uint32 matrix."""
    if index.num_rows == 0:
        return np.empty((0, num_perm), np.uint32)
    values = pc.list_flatten(index.column("signature")).to_numpy(zero_copy_only=False)
    return values.astype(np.uint32, copy=False).reshape(-1, num_perm)


# Candidate pairs scored at a time: bounds memory however large a bucket gets. Each pair gathers two signature
# rows, so a chunk costs ~1 KB a pair; on the 30k corpus's index (846 pairs found) 2^18 pairs at a time peaked at
# +316 MB and 1.21 CPU s, 2^14 at +52 MB and 0.75 s (smaller chunks stay in cache), 2^12 at 0.88 s.
_CHUNK = 1 << 14


def _bucket_pairs(query: np.ndarray, reference: np.ndarray, same: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Row pairs (query row, reference row) with equal keys in one band, in chunks of about _CHUNK.

    With `same`, query and reference are one array and each pair comes once (the later row of a
    bucket paired with the earlier ones is skipped).
    """
    if not same and reference.size > 4 * query.size:
        # An incremental run's few new texts against the whole index: only the index rows whose key some new text
        # has can pair (a hash look-up of each, instead of sorting the index's keys in every band).
        kept = np.flatnonzero(pc.is_in(reference, value_set=pa.array(query)).to_numpy(zero_copy_only=False))
        order = kept[np.argsort(reference[kept], kind="stable")]
    else:
        order = np.argsort(reference, kind="stable")
    ordered = reference[order]
    lo = np.searchsorted(ordered, query, side="left")
    hi = np.searchsorted(ordered, query, side="right")
    if same:  # pair a row only with the bucket members after it in sorted order
        position = np.empty_like(order)
        position[order] = np.arange(order.size)
        lo = position + 1
    counts = np.maximum(hi - lo, 0)
    rows = np.flatnonzero(counts)
    if rows.size == 0:
        return
    cumulative = np.cumsum(counts[rows])
    start = 0
    while start < rows.size:
        stop = int(np.searchsorted(cumulative, (cumulative[start - 1] if start else 0) + _CHUNK, side="right"))
        stop = max(stop, start + 1)
        chunk_rows, chunk_counts = rows[start:stop], counts[rows[start:stop]]
        total = int(chunk_counts.sum())
        offsets = np.arange(total) - np.repeat(np.cumsum(chunk_counts) - chunk_counts, chunk_counts)
        yield np.repeat(chunk_rows, chunk_counts), order[np.repeat(lo[chunk_rows], chunk_counts) + offsets]
        start = stop


def _similar_rows(query_sigs: np.ndarray, reference_sigs: np.ndarray, query_keys: np.ndarray,
                  reference_keys: np.ndarray, same: bool, min_jaccard: float) -> tuple[np.ndarray, ...]:
    """Row pairs sharing any LSH band whose estimated Jaccard reaches min_jaccard, each pair once."""
    found_i, found_j, found_s = [], [], []
    for band in range(query_keys.shape[1]):
        for i, j in _bucket_pairs(query_keys[:, band], reference_keys[:, band], same):
            jaccard = estimated_jaccard(query_sigs[i], reference_sigs[j])
            keep = jaccard >= min_jaccard
            found_i.append(i[keep])
            found_j.append(j[keep])
            found_s.append(jaccard[keep])
    if not found_i:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    i, j, score = np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)
    if same:
        i, j = np.minimum(i, j), np.maximum(i, j)
    _, first = np.unique(i.astype(np.int64) * max(len(reference_sigs), 1) + j, return_index=True)
    return i[first], j[first], score[first]


def candidate_pairs(new: pa.Table, index: pa.Table, config: DedupConfig) -> pa.Table:
    """Pairs of distinct texts whose signatures share an LSH band and estimated Jaccard passes the bar.

    New texts are compared with each other and with the index; index texts are not compared with
    each other again. Candidates are scored band by band in bounded chunks, so memory stays flat
    even when a bucket holds thousands of texts.
    """
    minhash = hasher(config)
    new_sigs, old_sigs = signatures_of(new, config.num_perm), signatures_of(index, config.num_perm)
    new_keys, old_keys = minhash.band_keys(new_sigs), minhash.band_keys(old_sigs)
    ni, nj, ns = _similar_rows(new_sigs, new_sigs, new_keys, new_keys, True, config.candidate_min_jaccard)
    ci, cj, cs = _similar_rows(new_sigs, old_sigs, new_keys, old_keys, False, config.candidate_min_jaccard)
    new_hashes = new.column("content_hash").to_numpy(zero_copy_only=False)
    old_hashes = index.column("content_hash").to_numpy(zero_copy_only=False)
    a = np.concatenate([new_hashes[ni], new_hashes[ci]]).astype(object)
    b = np.concatenate([new_hashes[nj], old_hashes[cj]]).astype(object)
    return pa.table({"content_a": pa.array(np.where(a < b, a, b), pa.string()),
                     "content_b": pa.array(np.where(a < b, b, a), pa.string()),
                     "jaccard": pa.array(np.concatenate([ns, cs]), pa.float32())})


def confirm_pairs(pairs: pa.Table, texts: dict[str, str], config: DedupConfig) -> pa.Table:
    """Keep the candidate pairs whose texts are similar by rapidfuzz's normalised Indel ratio."""
    left = [texts[h] for h in pairs.column("content_a").to_pylist()]
    right = [texts[h] for h in pairs.column("content_b").to_pylist()]
    similarity = cpdist(left, right, scorer=fuzz.ratio, workers=-1) / 100.0 if left else np.empty(0)
    edges = pairs.append_column("similarity", pa.array(similarity, pa.float32()))
    edges = edges.filter(pc.greater_equal(edges.column("similarity"), config.near_min_similarity))
    return edges.select(NEAR_EDGES.names).cast(NEAR_EDGES)


# Where each article of the corpus sits among duplicates, one row per article: a table, not an object per article, as
# every run assigns the whole corpus (the 100k corpus's +1% run, best of 5 CPU ms for its 101k articles: the
# assignments and what the stage derives from them, 540 -> 110).
ARTICLE_ASSIGNMENTS = pa.schema([
    pa.field("article_id", pa.string(), nullable=False),
    pa.field("cluster_id", pa.string(), nullable=False),  # the article_id of the group's canonical copy
    pa.field("duplicate_of", pa.string()),  # the same for a duplicate, null for the canonical copy
    pa.field("kind", pa.string()),  # 'exact' or 'near' for a duplicate, null for the canonical copy
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("canonical_hash", pa.string(), nullable=False),  # the canonical copy's content_hash
])


def assign_clusters(articles: pa.Table, edges: pa.Table) -> pa.Table:
    """Group articles by identical text and by near-duplicate edges; pick each group's canonical copy.

    The canonical copy is the earliest published (unknown dates last), then the earliest
    ingested, then the smallest article_id: a deterministic choice that reruns never flip.
    Returns ARTICLE_ASSIGNMENTS rows, a group's rows together, its canonical copy first.
    """
    if not articles.num_rows:
        return ARTICLE_ASSIGNMENTS.empty_table()
    hashes = articles.column("content_hash")
    contents = pc.unique(hashes).sort()
    # Texts joined by an edge, as positions in `contents`; every other text is a group of its own.
    both = pa.concat_arrays([edges.column(c).combine_chunks() for c in ("content_a", "content_b")])
    ends = pc.fill_null(pc.index_in(both, value_set=contents), -1).to_numpy().reshape(2, -1)
    linked = ends[:, (ends >= 0).all(axis=0)]
    roots = joined_roots(np.arange(len(contents), dtype=np.int64), linked[0], linked[1])
    # Sorted by group, then the canonical order; a group's first row is its canonical copy.
    published = pc.fill_null(articles.column("published_at"), pa.scalar(_LATEST, articles.schema.field("published_at").type))
    ranked = pa.table({"group": roots[pc.index_in(hashes, value_set=contents).to_numpy(zero_copy_only=False)],
                       "published": published, "ingested": articles.column("ingested_at"),
                       "article_id": articles.column("article_id"), "content_hash": hashes})
    ranked = ranked.take(pc.sort_indices(ranked, [(c, "ascending") for c in ("group", "published", "ingested", "article_id")]))
    group = ranked.column("group").to_numpy()
    first = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    canonical_row = np.repeat(first, np.diff(np.r_[first, len(group)]))
    duplicate = pa.array(canonical_row != np.arange(len(group)))
    ids, content = ranked.column("article_id").combine_chunks(), ranked.column("content_hash").combine_chunks()
    canonical, canonical_content = ids.take(canonical_row), content.take(canonical_row)
    none = pa.scalar(None, pa.string())
    kind = pc.if_else(pc.equal(content, canonical_content), "exact", "near")
    return pa.table([ids, canonical, pc.if_else(duplicate, canonical, none), pc.if_else(duplicate, kind, none), content,
                     canonical_content], schema=ARTICLE_ASSIGNMENTS)


def duplicate_pair_rows(assignments: pa.Table, similarity: dict[tuple[str, str], float]) -> pa.Table:
    """One row per duplicate article, by article_id: its canonical copy, how it matched, and how similar they are."""
    found = assignments.filter(pc.is_valid(assignments.column("duplicate_of"))).sort_by("article_id")
    scores = [1.0 if kind == "exact" else similarity[_ordered(a, b)]
              for kind, a, b in zip(*(found.column(c).to_pylist() for c in ("kind", "content_hash", "canonical_hash")))]
    return pa.table([found.column("article_id"), found.column("duplicate_of"), found.column("kind"),
                     pa.array(scores, pa.float64())], schema=DUPLICATE_PAIRS)


def _ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def pairs_needing_similarity(assignments: pa.Table, known: dict[tuple[str, str], float]) -> list[tuple[str, str]]:
    """Near-duplicate (text, canonical text) pairs whose similarity is not known yet."""
    near = assignments.filter(pc.equal(assignments.column("kind"), "near"))
    pairs = {_ordered(a, b) for a, b in zip(near.column("content_hash").to_pylist(), near.column("canonical_hash").to_pylist())}
    return sorted(pairs - known.keys())


def similarities(pairs: list[tuple[str, str]], texts: dict[str, str]) -> dict[tuple[str, str], float]:
    """rapidfuzz ratio (0..1) of each pair of texts."""
    if not pairs:
        return {}
    scores = cpdist([texts[a] for a, _ in pairs], [texts[b] for _, b in pairs], scorer=fuzz.ratio, workers=-1)
    return {pair: float(score) / 100.0 for pair, score in zip(pairs, scores)}


def near_duplicate_edges(content_hashes: list[str], texts: list[str], config: DedupConfig,
                         index: pa.Table | None = None,
                         index_texts: dict[str, str] | None = None) -> tuple[pa.Table, pa.Table]:
    """Near-duplicate edges among new distinct texts and between them and an index; and the grown index.

    The whole corpus-scale path in one call (signatures, LSH candidates, rapidfuzz confirmation),
    for benchmarks and tests; the pipeline runs the same steps with its own I/O in between.
    """
    index = MINHASH_INDEX.empty_table() if index is None else index
    new = signature_table(content_hashes, texts, config)
    pairs = candidate_pairs(new, index, config)
    lookup = {**(index_texts or {}), **dict(zip(content_hashes, texts))}
    return confirm_pairs(pairs, lookup, config), pa.concat_tables([index, new])


@dataclass(frozen=True)
class DedupOutcome:
    """What the dedup stage decided for the corpus after this run's changes."""

    assignments: pa.Table  # ARTICLE_ASSIGNMENTS of every article of the corpus
    updates: pa.Table  # article_id, cluster_id, duplicate_of of carried rows that changed
    duplicate_pairs: pa.Table
    new_index: pa.Table
    dropped_contents: set[str]  # content hashes whose MinHash index rows go (`stale_signatures`)
    edges: pa.Table
    removed_articles: set[str]
    new_edges: int


# Signatures of texts no longer in the corpus stay in the index (whose one part a +1% run of the 100k corpus
# otherwise rewrote to drop ~150 of its 100k rows: 0.9 s) until they are this share of its rows. They do no harm:
# readers take the index rows of the corpus's texts only, and a signature depends on its text alone (a change of
# the dedup settings redoes everything), so one kept for a text that comes back is the one it would get.
STALE_INDEX_SHARE = 0.1


def stale_signatures(index: pa.Table, present: pa.Array) -> set[str]:
    """The content hashes whose signatures leave the MinHash index now: none while those of texts not `present`
    are at most STALE_INDEX_SHARE of its rows, then all of them."""
    stale = without(index, "content_hash", present)
    if stale.num_rows <= STALE_INDEX_SHARE * index.num_rows:
        return set()
    return set(stale.column("content_hash").to_pylist())


_CHANGED = pa.schema([("article_id", pa.string()), ("cluster_id", pa.string()), ("duplicate_of", pa.string())])


def changed_assignments(kept: pa.Table, assignments: pa.Table) -> pa.Table:
    """Carried article rows whose cluster or canonical copy changed, with the new values."""
    now = dict(zip(("cluster_id", "duplicate_of"),
                   looked_up(kept.column("article_id"), assignments, "article_id", "cluster_id", "duplicate_of")))
    # Ids are never empty: "" stands for null, so that a canonical copy that became a duplicate (or back) differs.
    changed = pc.or_(*(pc.not_equal(pc.fill_null(now[c], ""), pc.fill_null(kept.column(c), "")) for c in now))
    return pa.table([kept.column("article_id"), now["cluster_id"], now["duplicate_of"]], schema=_CHANGED).filter(changed)


def known_similarities(edges: pa.Table, previous_pairs: pa.Table, assignments: pa.Table) -> dict[tuple[str, str], float]:
    """Similarities already measured: confirmed edges and the last run's duplicate pairs (of articles still in the
    corpus, by their texts)."""
    known = {_ordered(a, b): s for a, b, s in zip(edges.column("content_a").to_pylist(),
                                                 edges.column("content_b").to_pylist(),
                                                 edges.column("similarity").to_pylist())}
    texts = [looked_up(previous_pairs.column(c), assignments, "article_id", "content_hash").to_pylist()
             for c in ("article_id", "duplicate_of")]
    for a, b, similarity in zip(*texts, previous_pairs.column("similarity").to_pylist()):
        if a is not None and b is not None:
            known.setdefault(_ordered(a, b), similarity)
    return known
