"""Reused passages: sentences and quotations that recur in articles of different duplicate clusters.

A segment is a sentence or a quotation of at least `passage_min_words` words. Its hash ignores
case, quote style and punctuation, so "Russia’s" and "Russia's" match; each occurrence keeps its
own character offsets into `articles.text`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.schemas import PASSAGE_STATE, PASSAGES

# A sentence ends at . ! ? … (with any closing quotes) before whitespace and a capital, digit or
# opening quote; a paragraph break always ends one.
_SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s+[\"“‘'(\[]?[A-Z0-9А-ЯЁ])|\n\n")
_QUOTATION = re.compile(r"“([^”\n]+)(?:”|$)|\"([^\"\n]+)(?:\"|$)", re.MULTILINE)
_NOISE_CHARACTERS = "“”„‟‘’‚‛«»‹›–—―…·•\"'`´.,;:!?()[]{}"
_NOISE = str.maketrans({c: " " for c in _NOISE_CHARACTERS})
# The same folding as one regex over a whole article: it keeps offsets, and no character's casefold
# holds a noise character, so folding before or after casefold gives the same words.
_NOISE_RE = re.compile("[" + re.escape(_NOISE_CHARACTERS) + "]")


def segment_key(text: str) -> tuple[int, int]:
    """(hash, word count) of a segment's normalised words; equal for differently punctuated copies."""
    words = text.casefold().translate(_NOISE).split()
    return _words_hash(words), len(words)


def _words_hash(words: list[str]) -> int:
    """Signed 64-bit hash of normalised words."""
    digest = hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences and quotations of a text, stripped of spaces and quote marks."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end() if match.group() != "\n\n" else match.start()))
        start = match.end()
    spans.append((start, len(text)))
    for match in _QUOTATION.finditer(text):
        group = 1 if match.group(1) is not None else 2
        spans.append((match.start(group), match.end(group)))
    stripped = []
    for begin, end in spans:
        while begin < end and text[begin] in " \n\"“‘'":
            begin += 1
        while end > begin and text[end - 1] in " \n\"”’'":
            end -= 1
        if end > begin:
            stripped.append((begin, end))
    return sorted(set(stripped))


def article_segments(article_id: str, text: str, min_words: int) -> list[dict]:
    """The trackable segments of one article, as segment-state rows."""
    rows = []
    folded = _NOISE_RE.sub(" ", text)  # segment_key's folding, once per article
    for begin, end in _spans(text):
        words = folded[begin:end].casefold().split()
        if len(words) >= min_words:
            rows.append({"article_id": article_id, "segment_hash": _words_hash(words), "start": begin, "end": end})
    return rows


def passage_hashes(segments: pa.Table, clusters: pa.Table) -> pa.Array:
    """Segment hashes found in articles of at least two different duplicate clusters (`clusters`: article_id,
    cluster_id; an article missing from it is a cluster of its own), each once."""
    if segments.num_rows == 0:
        return pa.array([], pa.int64())
    # Clusters as integer codes, not strings: at 100k articles the segments are ~2.3M rows.
    ids = segments.column("article_id")
    at = pc.index_in(ids, value_set=clusters.column("article_id").combine_chunks())
    cluster = pc.take(pc.dictionary_encode(clusters.column("cluster_id").combine_chunks()).indices.cast(pa.int64()), at)
    if cluster.null_count:  # an article of no cluster: a negative code of its own, which no cluster's code equals
        cluster = pc.coalesce(cluster, pc.subtract(-1, pc.index_in(ids, value_set=pc.unique(ids)).cast(pa.int64())))
    table = pa.table({"segment_hash": segments.column("segment_hash"), "cluster": cluster})
    # Two clusters or more is a smallest code other than the largest: no set of codes per hash, as a distinct count
    # keeps (2.3M segments of the 100k corpus: 0.37-0.43 -> 0.16-0.18 CPU s).
    codes = table.group_by("segment_hash", use_threads=False).aggregate([("cluster", "min"), ("cluster", "max")])
    return codes.filter(pc.not_equal(codes.column("cluster_min"), codes.column("cluster_max"))).column("segment_hash").combine_chunks()


def passage_id(segment_hash: int) -> str:
    """Printable id of a passage (the hash of its normalised words)."""
    return f"{segment_hash & 0xFFFFFFFFFFFFFFFF:016x}"


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
_NIBBLE_SHIFTS = np.arange(60, -1, -4, dtype=np.uint64)  # most significant digit first
_DIGIT_VALUE = np.zeros(256, np.uint64)
_DIGIT_VALUE[_HEX_DIGITS] = np.arange(16, dtype=np.uint64)


def passage_ids(segment_hashes: pa.Array | np.ndarray) -> pa.Array:
    """`passage_id` of many segment hashes, in numpy: a run has hundreds of thousands (at 100k articles, 185k
    reused passages in 1.9M rows), which formatting one at a time in Python took over a second."""
    hashes = np.ascontiguousarray(np.asarray(segment_hashes, np.int64)).view(np.uint64)
    digits = _HEX_DIGITS[(hashes[:, None] >> _NIBBLE_SHIFTS) & np.uint64(15)]
    offsets = np.arange(0, 16 * (len(hashes) + 1), 16, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(hashes), [None, pa.py_buffer(offsets), pa.py_buffer(digits.tobytes())])


def segment_hashes_of(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The segment hashes (int64) of passage ids: `passage_ids` undone."""
    fixed = pc.cast(ids, pa.binary(16))
    fixed = fixed.combine_chunks() if isinstance(fixed, pa.ChunkedArray) else fixed
    if not len(fixed):
        return np.zeros(0, np.int64)
    digits = np.frombuffer(fixed.buffers()[1], np.uint8, count=16 * len(fixed), offset=16 * fixed.offset)
    value = np.zeros(len(fixed), np.uint64)
    for column in _DIGIT_VALUE[digits.reshape(-1, 16)].T:
        value = (value << np.uint64(4)) | column
    return value.view(np.int64)


ROWS_AT_ONCE = 50_000  # passage rows built as Python values at a time; the rest of the work stays in Arrow


def passage_rows(hits: pa.Table, texts: dict[str, str]) -> pa.Table:
    """Passage rows for segments (of reused hashes), with each occurrence's own text."""
    parts = [PASSAGES.empty_table()]
    for lo in range(0, hits.num_rows, ROWS_AT_ONCE):
        chunk = hits.slice(lo, ROWS_AT_ONCE)
        ids, starts, ends = (chunk.column(c).to_pylist() for c in ("article_id", "start", "end"))
        parts.append(pa.table({
            "passage_id": passage_ids(chunk.column("segment_hash").to_numpy()),
            "article_id": chunk.column("article_id"), "start": chunk.column("start"), "end": chunk.column("end"),
            "text": pa.array([texts[a][s:e] for a, s, e in zip(ids, starts, ends)], pa.string()),
        }).select(PASSAGES.names).cast(PASSAGES))
    return pa.concat_tables(parts)


def segments_table(rows: list[dict]) -> pa.Table:
    """Segment-state rows as a table."""
    return pa.Table.from_pylist(rows, schema=PASSAGE_STATE)


@dataclass(frozen=True)
class PassageOutcome:
    """What a run changed in the passages: its rows are written as they are built, so only counts are kept."""

    removed_ids: set[str]  # passages of the last snapshot no longer reused
    reused_passages: int
    rows_added: int  # passage rows written for this run


# Article texts by id.
TextsOf = Callable[[set[str]], dict[str, str]]


def update_passages(kept_segments: pa.Table, new_batches: list[tuple[pa.Table, TextsOf]], clusters: pa.Table,
                    before: pa.Array | pa.ChunkedArray, old_texts: TextsOf, write: Callable[[pa.Table], object]) -> PassageOutcome:
    """Passage rows for new articles, and for old articles whose segment became reused, handed to `write`.

    `new_batches` holds the run's segments in batches, each with where its articles' texts are (one staging
    file); a batch's rows are built and written before the next batch's texts are read, then the rows of old
    articles (`kept_segments`, texts from `old_texts`). At 100k articles a run's texts were ~370 MB held at once.
    `clusters` holds the duplicate cluster of every article (article_id, cluster_id), `before` the passage ids of
    the last snapshot's rows (repeats allowed; none in a full run).
    """
    reused = passage_hashes(pa.concat_tables([kept_segments, *(segments for segments, _ in new_batches)]), clusters)
    known = pa.array(segment_hashes_of(pc.unique(before)), pa.int64())
    removed = set(passage_ids(known.filter(pc.invert(pc.is_in(known, value_set=reused)))).to_pylist())
    added = reused.filter(pc.invert(pc.is_in(reused, value_set=known)))
    rows_added = 0
    for segments, hashes, texts in [*((s, reused, t) for s, t in new_batches), (kept_segments, added, old_texts)]:
        hits = segments.filter(pc.is_in(segments.column("segment_hash"), value_set=hashes))
        if hits.num_rows:
            rows = passage_rows(hits, texts(set(pc.unique(hits.column("article_id")).to_pylist())))
            write(rows)
            rows_added += rows.num_rows
    return PassageOutcome(removed_ids=removed, reused_passages=len(reused), rows_added=rows_added)
