"""Dedup: MinHash, LSH candidates, rapidfuzz confirmation, clusters and reused passages."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks.config import DedupConfig
from tasks.dedup import (
    ARTICLE_ASSIGNMENTS,
    STALE_INDEX_SHARE,
    assign_clusters,
    candidate_pairs,
    changed_assignments,
    near_duplicate_edges,
    stale_signatures,
)
from tasks import minhash
from tasks.minhash import MinHasher, estimated_jaccard, token_hashes
from tasks.normalise import content_hash
from tasks import passages
from tasks.passages import (
    article_segments,
    passage_hashes,
    passage_id,
    passage_ids,
    passage_rows,
    segment_hashes_of,
    segment_key,
    segments_table,
    update_passages,
)
from tasks.schemas import PASSAGE_STATE, PASSAGES

from conftest import SEEDS, TEST_DATA

DEDUP_DATA = TEST_DATA / "dedup"
NO_IDS = pa.array([], pa.string())  # no passages before: a first run
ANSWERS = json.loads((DEDUP_DATA / "answers.json").read_text())["duplicates"]
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


_CLUSTERS = pa.schema([("article_id", pa.string()), ("cluster_id", pa.string())])


def _clusters(cluster_of: dict[str, str]) -> pa.Table:
    """The duplicate cluster of some articles, as update_passages reads it."""
    return pa.table({"article_id": list(cluster_of), "cluster_id": list(cluster_of.values())}, schema=_CLUSTERS)


NO_CLUSTERS = _clusters({})


def test_token_hashes_are_pinned_and_ignore_case_spacing_and_quote_style():
    expected = [7027355053757536558, 3039481451237660438, 4675517471828686866]
    assert token_hashes("Xi met Putin").tolist() == expected  # the same on every machine
    assert token_hashes('xi   MET "Putin"').tolist() == expected
    assert token_hashes("Xi met “Putin”").tolist() == expected
    assert token_hashes("").size == 0 and token_hashes("— … —").size == 0


def test_signatures_estimate_jaccard():
    hasher = MinHasher()
    text = (SEEDS / "000_00d65d564b3f9c64.txt").read_text()
    other = (SEEDS / "002_cd11cc6e04f149dc.txt").read_text()
    signatures = hasher.signatures([text, text, other, ""])
    assert estimated_jaccard(signatures[:1], signatures[1:2])[0] == 1.0
    assert estimated_jaccard(signatures[:1], signatures[2:3])[0] < 0.1
    assert (signatures[3] == np.iinfo(np.uint32).max).all()
    np.testing.assert_array_equal(MinHasher().signatures([text]), signatures[:1])  # deterministic


def test_signatures_of_a_batch_are_each_texts_own():
    """Texts are tokenised together in groups: every row is still the minimum over that text's shingles alone,
    for texts shorter than a shingle, without words, and spread over several groups."""
    seeds = [path.read_text() for path in sorted(SEEDS.glob("*.txt"))]
    texts = ["", "Xi", "Xi met Putin", "— … —", *seeds, seeds[0] * 200, "a b c d e", "Straße “quoted” Москва", *seeds]
    assert sum(len(t) for t in texts) > 2 * minhash._GROUP_BYTES
    hasher = MinHasher(num_perm=16, bands=4)
    signatures = hasher.signatures(texts)
    for text, row in zip(texts, signatures):
        shingles = (minhash.shingle_hashes(token_hashes(text), hasher.shingle_words) >> np.uint64(32)).astype(np.uint32)
        with np.errstate(over="ignore"):
            expected = (hasher._a[:, None] * shingles[None, :] + hasher._b[:, None]).min(axis=1) if shingles.size \
                else np.full(16, np.iinfo(np.uint32).max, np.uint32)
        np.testing.assert_array_equal(row, expected)


def test_candidate_pairs_are_every_pair_sharing_a_band_whatever_the_sizes():
    """A few new texts against a much larger index (an incremental run) look up only the index rows sharing a key
    with them; against an index of their size every key is sorted. Either way the pairs are exactly those a brute
    force finds: new with new or with old, some band's values all equal, estimated Jaccard at the bar or above."""
    config = DedupConfig()
    rng = np.random.default_rng(7)
    rows = config.num_perm // config.bands
    for n_old in (400, 8):
        old = rng.integers(0, 2**32, size=(n_old, config.num_perm), dtype=np.uint64).astype(np.uint32)
        new = np.concatenate([old[rng.choice(n_old, 6, replace=False)], old[:2]])  # copies of old texts
        for row, kept in zip(new, rng.integers(0, config.bands, size=len(new))):  # keep a few bands, redraw the rest
            redraw = rng.permutation(config.bands)[kept:]
            for band in redraw:
                row[band * rows : (band + 1) * rows] = rng.integers(0, 2**32, size=rows, dtype=np.uint64)
        # Half of every band of an old text, so half its values: a pair at the bar that shares no whole band.
        halves = old[3].copy().reshape(config.bands, rows)
        halves[:, rows // 2 :] = rng.integers(0, 2**32, size=(config.bands, rows - rows // 2), dtype=np.uint64)
        new = np.concatenate([new, halves.reshape(1, -1)])

        def table(signatures, prefix):
            ids = [f"{prefix}{i:03d}" for i in range(len(signatures))]
            return pa.table({"content_hash": ids, "signature": pa.array(list(signatures), pa.list_(pa.uint32()))})

        found = candidate_pairs(table(new, "n"), table(old, "o"), config)
        got = set(zip(found.column("content_a").to_pylist(), found.column("content_b").to_pylist()))
        expected, below_bar = set(), 0
        others = [(f"n{j:03d}", b) for j, b in enumerate(new)] + [(f"o{j:03d}", b) for j, b in enumerate(old)]
        for i, a in enumerate(new):
            for name, b in others:
                if name <= f"n{i:03d}" and name.startswith("n"):
                    continue  # each pair of new texts once
                shares = (a.reshape(config.bands, rows) == b.reshape(config.bands, rows)).all(axis=1).any()
                if shares and estimated_jaccard(a[None], b[None])[0] >= config.candidate_min_jaccard:
                    expected.add(tuple(sorted((f"n{i:03d}", name))))
                else:
                    below_bar += bool(shares)
        assert got == expected and len(expected) >= 4 and below_bar, n_old


def _texts() -> dict[str, str]:
    """Seeds and their variants, as the pipeline would see them (parsed and normalised)."""
    from tasks.config import PipelineConfig
    from tasks.ingest import parse_file

    texts = {}
    for path in [*sorted(SEEDS.glob("*.txt")), *(DEDUP_DATA / a["path"] for a in ANSWERS)]:
        (article,) = parse_file(path.read_bytes(), path.name, "h", PipelineConfig()).articles
        texts[path.name] = "\n\n".join(article["paragraphs"])
    return texts


def test_near_duplicate_edges_find_the_variants_and_keep_different_articles_apart():
    texts = _texts()
    by_hash: dict[str, str] = {}
    for name, text in texts.items():  # seeds first, so each text is named after its original
        by_hash.setdefault(content_hash(text), name)
    edges, index = near_duplicate_edges(list(by_hash), [texts[n] for n in by_hash.values()], DedupConfig())
    found = {frozenset((by_hash[a], by_hash[b])) for a, b in zip(edges.column("content_a").to_pylist(),
                                                                 edges.column("content_b").to_pylist())}
    expected = {frozenset((Path(a["path"]).name, a["duplicate_of"])) for a in ANSWERS if a["kind"] == "near"}
    assert found == expected
    assert index.num_rows == len(by_hash)
    for answer in ANSWERS:  # exact duplicates are identical once normalised
        same = content_hash(texts[Path(answer["path"]).name]) == content_hash(texts[answer["duplicate_of"]])
        assert same == (answer["kind"] == "exact"), answer


def test_new_texts_are_checked_against_an_existing_index():
    texts = _texts()
    seeds = [p.name for p in sorted(SEEDS.glob("*.txt"))]
    _, index = near_duplicate_edges([content_hash(texts[n]) for n in seeds], [texts[n] for n in seeds], DedupConfig())
    variant = texts["002-one-word.txt"]
    edges, grown = near_duplicate_edges([content_hash(variant)], [variant], DedupConfig(), index=index,
                                        index_texts={content_hash(texts[n]): texts[n] for n in seeds})
    assert edges.num_rows == 1 and edges.column("similarity")[0].as_py() > 0.99
    assert grown.num_rows == len(seeds) + 1


def _articles(rows):
    schema = pa.schema([("article_id", pa.string()), ("content_hash", pa.string()),
                        ("published_at", pa.timestamp("us", tz="UTC")), ("ingested_at", pa.timestamp("us", tz="UTC"))])
    return pa.Table.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)


EDGES = pa.table({"content_a": ["h1"], "content_b": ["h2"], "jaccard": pa.array([0.9], pa.float32()),
                  "similarity": pa.array([0.95], pa.float32())})


def _assigned(articles: pa.Table, edges: pa.Table) -> dict[str, dict]:
    """assign_clusters' rows by article_id."""
    table = assign_clusters(articles, edges)
    assert table.schema == ARTICLE_ASSIGNMENTS
    return {row["article_id"]: row for row in table.to_pylist()}


@pytest.mark.parametrize(
    ("rows", "canonical"),
    [
        # earliest published wins
        ([("b", "h1", datetime(2022, 9, 15, tzinfo=timezone.utc), T0), ("a", "h2", datetime(2022, 9, 16, tzinfo=timezone.utc), T0)], "b"),
        # an unknown date sorts last
        ([("a", "h1", None, T0), ("b", "h2", datetime(2022, 9, 16, tzinfo=timezone.utc), T0)], "b"),
        # then the earliest ingested
        ([("a", "h1", None, datetime(2024, 2, 1, tzinfo=timezone.utc)), ("b", "h2", None, T0)], "b"),
        # then the smallest id
        ([("b", "h1", None, T0), ("a", "h2", None, T0)], "a"),
    ],
)
def test_canonical_copy_is_chosen_deterministically(rows, canonical):
    assignments = _assigned(_articles(rows), EDGES)
    assert {a["cluster_id"] for a in assignments.values()} == {canonical}
    assert (assignments[canonical]["duplicate_of"], assignments[canonical]["kind"]) == (None, None)
    (other,) = [k for k in assignments if k != canonical]
    assert (assignments[other]["duplicate_of"], assignments[other]["kind"]) == (canonical, "near")
    assert assignments[other]["canonical_hash"] == assignments[canonical]["content_hash"] != assignments[other]["content_hash"]


def test_exact_copies_cluster_without_edges_and_singletons_are_their_own_cluster():
    assignments = _assigned(_articles([("a", "h1", None, T0), ("b", "h1", None, T0), ("c", "h3", None, T0)]),
                            EDGES.slice(0, 0))
    assert (assignments["b"]["duplicate_of"], assignments["b"]["kind"], assignments["b"]["canonical_hash"]) == ("a", "exact", "h1")
    assert (assignments["c"]["cluster_id"], assignments["c"]["duplicate_of"]) == ("c", None)


def test_a_changed_assignment_is_one_whose_cluster_or_canonical_copy_moved():
    # Now a and b are copies of one text (a canonical), c and d texts of their own.
    assignments = assign_clusters(_articles([("a", "h1", None, T0), ("b", "h1", None, T0), ("c", "h3", None, T0),
                                             ("d", "h4", None, T0)]), EDGES.slice(0, 0))
    kept = pa.table({"article_id": ["a", "b", "c", "d"], "cluster_id": ["a", "a", "a", "x"],
                     "duplicate_of": [None, None, "a", None]})
    assert changed_assignments(kept, assignments).to_pylist() == [
        {"article_id": "b", "cluster_id": "a", "duplicate_of": "a"},  # a canonical copy that became a duplicate
        {"article_id": "c", "cluster_id": "c", "duplicate_of": None},  # a duplicate that became one of its own
        {"article_id": "d", "cluster_id": "d", "duplicate_of": None},  # another cluster
    ]
    assert changed_assignments(kept.slice(0, 0), assignments).num_rows == 0


def test_segments_have_offsets_into_the_text_and_quotations_are_their_own_segments():
    text = ("In Samarkand, President Xi told Putin that “China is willing to make efforts with Russia to "
            "assume the role of great powers.” Officials said the talks lasted two hours on Thursday.")
    segments = article_segments("a", text, min_words=8)
    pieces = [text[s["start"] : s["end"]] for s in segments]
    assert "China is willing to make efforts with Russia to assume the role of great powers." in pieces
    assert "Officials said the talks lasted two hours on Thursday." in pieces
    assert all(not p.startswith((" ", "“")) for p in pieces)


def test_a_passage_needs_two_different_clusters():
    quote = "China is willing to make efforts with Russia to assume the role of great powers."
    segments = segments_table([*article_segments("a", f"Xi said: “{quote}”", 8), *article_segments("b", f"RT quoted “{quote}”", 8)])
    assert len(passage_hashes(segments, _clusters({"a": "a", "b": "b"}))) == 1
    assert len(passage_hashes(segments, _clusters({"a": "a", "b": "a"}))) == 0  # duplicates of one story do not count
    assert len(passage_hashes(segments, NO_CLUSTERS)) == 1  # an article of no cluster is one of its own


def test_passages_are_the_hashes_of_two_clusters_or_more():
    rng = random.Random(7)
    articles = [f"a{i}" for i in range(60)]
    rows = [{"article_id": rng.choice(articles), "segment_hash": rng.randrange(-40, 40), "start": 0, "end": 1}
            for _ in range(400)]
    cluster_of = {a: f"c{rng.randrange(12)}" for a in articles[:50]}  # the last ten are clusters of their own
    clusters: dict[int, set] = {}
    for row in rows:
        clusters.setdefault(row["segment_hash"], set()).add(cluster_of.get(row["article_id"], row["article_id"]))
    expected = {h for h, seen in clusters.items() if len(seen) >= 2}
    assert 0 < len(expected) < len(clusters)
    assert set(passage_hashes(segments_table(rows), _clusters(cluster_of)).to_pylist()) == expected


def test_passage_rows_built_in_chunks_equal_one_chunk(monkeypatch):
    texts = {f"s{i}": (SEEDS / name).read_text(encoding="utf-8") for i, name in enumerate(sorted(p.name for p in SEEDS.glob("*.txt")))}
    texts["copy"] = texts["s0"]  # a whole article reused: every one of its segments is a passage
    segments = segments_table([s for a, t in texts.items() for s in article_segments(a, t, 8)])
    reused = passage_hashes(segments, _clusters({a: a for a in texts}))
    hits = segments.filter(pc.is_in(segments.column("segment_hash"), value_set=reused))
    whole = passage_rows(hits, texts)
    monkeypatch.setattr(passages, "ROWS_AT_ONCE", 3)
    chunked = passage_rows(hits, texts)
    assert whole.num_rows > 6 and chunked.equals(whole) and chunked.schema == PASSAGES
    assert all(texts[r["article_id"]][r["start"] : r["end"]] == r["text"] for r in chunked.to_pylist())


def test_update_passages_adds_old_occurrences_when_a_segment_becomes_reused():
    quote = "China is willing to make efforts with Russia to assume the role of great powers."
    texts = {"old": f"Xi said: “{quote}”", "new": f"RT quoted Xi: “{quote.replace('China', 'china')}”"}
    old = segments_table(article_segments("old", texts["old"], 8))
    new = segments_table(article_segments("new", texts["new"], 8))
    written: list[pa.Table] = []
    outcome = update_passages(old, [(new, lambda ids: {i: texts[i] for i in ids if i == "new"})], NO_CLUSTERS, before=NO_IDS,
                              old_texts=lambda ids: {i: texts[i] for i in ids if i == "old"}, write=written.append)
    rows = pa.concat_tables(written).to_pylist()
    assert sorted(r["article_id"] for r in rows) == ["new", "old"] and len({r["passage_id"] for r in rows}) == 1
    assert all(texts[r["article_id"]][r["start"] : r["end"]] == r["text"] for r in rows)
    assert outcome.rows_added == len(rows) and outcome.reused_passages == 1
    written.clear()
    gone = update_passages(old, [], NO_CLUSTERS, before=pa.array([rows[0]["passage_id"]]), old_texts=lambda ids: {}, write=written.append)
    assert gone.removed_ids == {rows[0]["passage_id"]} and not written and gone.rows_added == 0


def test_passage_ids_of_many_hashes_are_those_of_one_and_read_back():
    """The vectorised ids equal `passage_id` one hash at a time (signed hashes as their unsigned hex), and
    `segment_hashes_of` reads them back, from a sliced and a chunked array too."""
    rng = np.random.default_rng(5)
    hashes = np.concatenate([[0, 1, -1, np.iinfo(np.int64).min, np.iinfo(np.int64).max],
                             rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 2_000, dtype=np.int64)])
    ids = passage_ids(hashes)
    assert ids.type == pa.string() and ids.to_pylist() == [passage_id(h) for h in hashes.tolist()]
    assert segment_hashes_of(ids).tolist() == hashes.tolist()
    assert segment_hashes_of(ids.slice(3, 10)).tolist() == hashes[3:13].tolist()
    assert segment_hashes_of(pa.chunked_array([ids.slice(0, 7), ids.slice(7)])).tolist() == hashes.tolist()
    assert passage_ids(np.zeros(0, np.int64)).to_pylist() == [] and segment_hashes_of(NO_IDS).tolist() == []


def test_update_passages_after_a_snapshot_adds_rows_for_new_passages_only_and_drops_gone_ones():
    """Old articles get rows only for a passage that becomes reused now (their rows of one reused before are
    carried over); new articles get rows for every reused segment; a passage no longer reused goes."""
    known = "China is willing to make efforts with Russia to assume the role of great powers."
    fresh = "The world is undergoing major changes unseen in a century, and they are accelerating."
    texts = {"o1": f"Xi said: “{known}”", "o2": f"RT quoted Xi: “{known}”", "o3": f"Xi added: “{fresh}”",
             "n": f"Reports quoted “{known}” and “{fresh}”"}
    old = segments_table([s for a in ("o1", "o2", "o3") for s in article_segments(a, texts[a], 8)])
    new = segments_table(article_segments("n", texts["n"], 8))
    known_id = passage_id(segment_key(known)[0])
    fresh_id = passage_id(segment_key(fresh)[0])
    written: list[pa.Table] = []
    outcome = update_passages(old, [(new, lambda ids: {i: texts[i] for i in ids if i == "n"})], NO_CLUSTERS,
                              before=pa.array([known_id, "0123456789abcdef", known_id]),
                              old_texts=lambda ids: {i: texts[i] for i in ids if i != "n"}, write=written.append)
    rows = sorted((r["passage_id"], r["article_id"]) for r in pa.concat_tables(written).to_pylist())
    assert rows == sorted([(known_id, "n"), (fresh_id, "n"), (fresh_id, "o3")])
    assert outcome.removed_ids == {"0123456789abcdef"} and outcome.reused_passages == 2


def test_update_passages_reads_texts_and_writes_rows_one_batch_at_a_time():
    """Each batch's rows are written before the next batch's texts are read, each from its own source; the rows
    equal those of one batch holding everything."""
    texts = {f"s{i}": (SEEDS / name).read_text(encoding="utf-8") for i, name in enumerate(sorted(p.name for p in SEEDS.glob("*.txt")))}
    events: list[tuple] = []

    def source(name: str, ids_there: list[str]):
        def fetch(ids: set[str]) -> dict[str, str]:
            assert ids <= set(ids_there)
            events.append(("read " + name, frozenset(ids)))
            return {i: texts[i] for i in ids}
        return fetch

    def write(rows: pa.Table) -> None:
        events.append(("write", frozenset(rows.column("article_id").to_pylist())))
        written.append(rows)

    groups = {"a": ["s0", "s1"], "b": ["s2", "s3", "s4"]}
    batches = [(segments_table([s for a in ids for s in article_segments(a, texts[a], 8)]), source(name, ids)) for name, ids in groups.items()]
    written: list[pa.Table] = []
    batched = update_passages(PASSAGE_STATE.empty_table(), batches, NO_CLUSTERS, NO_IDS, source("old", []), write)
    assert [kind for kind, _ in events] == ["read a", "write", "read b", "write"]
    assert events[1][1] == events[0][1] and events[3][1] == events[2][1]
    together: list[pa.Table] = []
    whole = update_passages(PASSAGE_STATE.empty_table(), [(pa.concat_tables([s for s, _ in batches]), source("all", list(texts)))], NO_CLUSTERS,
                            NO_IDS, source("old", []), together.append)
    assert batched == whole and batched.rows_added > 0
    order = [(c, "ascending") for c in ("passage_id", "article_id", "start")]
    assert pa.concat_tables(written).sort_by(order).equals(pa.concat_tables(together).sort_by(order))


def test_stale_signatures_leave_the_index_only_past_their_share():
    """No signature of a text gone leaves while they are at most STALE_INDEX_SHARE of the index rows; past it,
    all of them do, and never one of a text present."""
    index = pa.table({"content_hash": pa.array([f"h{i:02d}" for i in range(20)]),
                      "signature": pa.array([[i] for i in range(20)], pa.list_(pa.uint32()))})
    allowed = int(STALE_INDEX_SHARE * 20)
    assert allowed >= 1
    assert stale_signatures(index, pa.array([f"h{i:02d}" for i in range(allowed, 20)])) == set()
    present = pa.array([f"h{i:02d}" for i in range(allowed + 1, 20)] + ["a text not indexed"])
    assert stale_signatures(index, present) == {f"h{i:02d}" for i in range(allowed + 1)}
    assert stale_signatures(index.slice(0, 0), present) == set()
