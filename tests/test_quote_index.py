"""The quotes stage's incremental update (`update_quotes`) against clustering everything at once.

A `Store` holds the stage's tables in memory and applies each run's outcome the way the commit step
changes the snapshot (drop rows, update cluster ids, add rows), so runs that add, change and delete
articles in any order can be compared with one run over the final corpus: quotes, quote clusters and
the stage's state must be equal.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tasks import quote_rules
from tasks.config import QuoteConfig
from tasks.quote_clusters import _Screen, keyed_variants
from tasks.quote_index import (
    ARTICLE_META,
    OldTables,
    QuoteOutcome,
    speaker_slices,
    table_slices,
    update_quotes_by_slice,
)
from tasks.quote_rules import features, same, wording
from tasks.schemas import (
    QUOTE_CLUSTER_OUTLETS,
    QUOTE_CLUSTERS,
    QUOTE_EDGES,
    QUOTE_KEYS,
    QUOTE_VARIANTS,
    QUOTES,
    VARIANT_FEATURES,
)
from tasks.storage import apply_updates

REPO = Path(__file__).resolve().parents[1]
CONFIG = QuoteConfig()
EXTRACTED = QUOTES.remove(QUOTES.get_field_index("variant"))
DAY0 = datetime(2022, 9, 15, tzinfo=UTC)


def _drop(table: pa.Table, column: str, values) -> pa.Table:
    values = pa.array(sorted(values), table.schema.field(column).type)
    return table.filter(pc.invert(pc.is_in(table.column(column), value_set=values))) if len(values) else table


class Store:
    """The quotes stage's datasets and state, in memory; `slice_rows` as the config's `quote_slice_rows`."""

    def __init__(self, slice_rows: int = 0):
        self.slice_rows, self.slices_written = slice_rows, 0
        self.quotes, self.keys = QUOTES.empty_table(), QUOTE_KEYS.empty_table()
        self.variants, self.clusters = QUOTE_VARIANTS.empty_table(), QUOTE_CLUSTERS.empty_table()
        self.outlets, self.edges = QUOTE_CLUSTER_OUTLETS.empty_table(), QUOTE_EDGES.empty_table()
        self.articles: dict[str, dict] = {}

    def _lookup(self, name: str):
        def lookup(column, values, columns=None):
            table = getattr(self, name)
            rows = table.filter(pc.is_in(table.column(column), value_set=pa.array(sorted(set(values)), table.schema.field(column).type)))
            return rows.select(columns) if columns else rows
        return lookup

    def old(self) -> OldTables:
        return OldTables(*(self._lookup(n) for n in ("quotes", "keys", "variants", "clusters", "outlets", "edges")))

    def run(self, articles: dict[str, tuple[dict, list[dict]]], removed: set[str]) -> QuoteOutcome:
        """One run: `articles` maps new or changed article ids to (meta, quote rows); `removed` are deleted or
        changed ids."""
        metas = {**{a: m for a, m in self.articles.items() if a not in removed}, **{a: m for a, (m, _) in articles.items()}}
        rows = [q for _, quotes in articles.values() for q in quotes]
        keyed = keyed_variants(pa.Table.from_pylist(rows, schema=EXTRACTED), CONFIG)
        written = []  # each slice's outcome, as the stage writes it
        slices = speaker_slices(keyed.quotes, keyed.features, 0 if removed else self.slice_rows)
        combined = update_quotes_by_slice(
            table_slices(keyed.quotes, keyed.keys, keyed.features, slices), removed,
            self.old(),
            lambda ids: pa.Table.from_pylist([metas[i] for i in ids if i in metas], schema=ARTICLE_META),
            CONFIG, lambda ids: pa.Table.from_pylist([self.articles[i] for i in ids if i in self.articles], schema=ARTICLE_META),
            lambda outcome, number: written.append(outcome))
        self.slices_written += len(written)
        outcome = QuoteOutcome.combined(written)
        assert combined.quotes_added == outcome.new_quotes.num_rows and combined.new_quotes.num_rows == 0
        quotes = _drop(self.quotes, "article_id", removed)
        if outcome.updates.num_rows:
            quotes = apply_updates(quotes, outcome.updates, "quote_id")
        self.quotes = pa.concat_tables([quotes, outcome.new_quotes])
        self.keys = pa.concat_tables([_drop(self.keys, "variant", outcome.dropped_key_variants), outcome.new_keys])
        self.variants = pa.concat_tables([_drop(self.variants, "variant", outcome.dropped_variants), outcome.variants])
        self.clusters = pa.concat_tables([_drop(self.clusters, "cluster_id", outcome.dropped_clusters), outcome.clusters])
        self.outlets = pa.concat_tables([_drop(self.outlets, "cluster_id", outcome.dropped_clusters), outcome.outlets])
        gone = outcome.dropped_edge_variants
        self.edges = pa.concat_tables([_drop(_drop(self.edges, "variant_a", gone), "variant_b", gone), outcome.edges])
        cluster = dict(zip(self.variants.column("variant").to_pylist(), self.variants.column("cluster_id").to_pylist()))
        for a, b in zip(self.edges.column("variant_a").to_pylist(), self.edges.column("variant_b").to_pylist()):
            assert a < b and cluster[a] == cluster[b]  # a stored link joins two variants of one cluster
        self.articles = metas
        return outcome

    def state(self) -> dict[str, list]:
        def rows(table: pa.Table, *key: str) -> list:
            return sorted(table.to_pylist(), key=lambda r: tuple(r[k] for k in key))
        return {"quotes": rows(self.quotes, "quote_id"), "keys": rows(self.keys, "key", "variant"),
                "variants": rows(self.variants, "variant"), "clusters": rows(self.clusters, "cluster_id"),
                "outlets": rows(self.outlets, "cluster_id", "outlet")}


def _texts() -> list[str]:
    gold = REPO / "tests" / "data" / "quotes" / "gold.jsonl"
    return [json.loads(line)["text"] for line in gold.read_text().splitlines() if line.strip()]


def _article(rng: random.Random, article_id: str, texts: list[str]) -> tuple[dict, list[dict]]:
    """An article of 1-4 quotes: copies, fragments, the same sentence naming other countries, other speakers
    and days (some undated, one before 1970). Quote ids are the article's and the quote's number, so a changed
    article reuses ids, as ids made of article id and offsets do."""
    day = rng.choice([None, DAY0, DAY0 + timedelta(days=2), DAY0 + timedelta(days=90), DAY0 + timedelta(days=190),
                      datetime(1969, 12, 30, tzinfo=UTC)])
    meta = {"article_id": article_id, "outlet": rng.choice(["a.example", "b.example", "c.example", None]),
            "published_at": day}
    quotes = []
    for n in range(rng.randint(1, 4)):
        words = rng.choice(texts).split()
        if rng.random() < 0.3:
            start = rng.randrange(len(words))
            words = words[start : start + rng.randint(4, 15)]
        if rng.random() < 0.3:
            words = [rng.choice(["Kenya", "Spain", "Norway"]) if w in ("Russia", "China") else w for w in words]
        speaker = rng.choice(["Q7747", "Q15031", None])
        text = " ".join(words)
        quotes.append({"quote_id": f"{article_id}-{n}", "article_id": article_id, "start": 0, "end": len(text),
                       "text": text, "kind": rng.choice(["direct", "direct", "reported"]), "speaker_entity_id": speaker,
                       "speaker_name": {"Q7747": "Vladimir Putin", "Q15031": "Xi Jinping"}.get(speaker),
                       "attribution_method": "named" if speaker else "unknown", "cluster_id": None})
    return meta, quotes


def _articles(rng: random.Random, prefix: str, n: int, texts: list[str]) -> dict[str, tuple[dict, list[dict]]]:
    """`n` articles as `Store.run` takes them, ids `prefix` and a number."""
    return {f"{prefix}{i:02d}": _article(rng, f"{prefix}{i:02d}", texts) for i in range(n)}


def _runs(seed: int) -> tuple[list[tuple[dict, set[str]]], dict]:
    """Six runs that add, change, delete, re-date and reprocess articles, as (articles, removed ids) for
    `Store.run`, and the articles there are after them."""
    rng, texts = random.Random(seed), _texts()
    runs, live = [], {}
    for run in range(6):
        added = {f"a{run}-{i:02d}": None for i in range(rng.randint(5, 25))}
        changed = set(rng.sample(sorted(live), min(len(live), rng.randint(0, 4))))
        deleted = set(rng.sample(sorted(set(live) - changed), min(len(live) - len(changed), rng.randint(0, 3))))
        batch = {a: _article(rng, a, texts) for a in [*added, *sorted(changed)]}
        # reprocessed articles (an outlet's boilerplate changed): the same quotes, some in a re-dated article, some
        # under new ids (a boilerplate line gone shifts the offsets the ids are made of)
        for a in rng.sample(sorted(set(live) - changed - deleted), min(len(live) - len(changed | deleted), rng.randint(0, 4))):
            meta, quotes = live[a]
            if rng.random() < 0.4:
                quotes = [{**q, "quote_id": f"{q['quote_id']}-r{run}"} for q in quotes]
            elif rng.random() < 0.5:  # ids made of the text keep their id when a line above goes
                quotes = [{**q, "start": q["start"] + 9, "end": q["end"] + 9} for q in quotes]
                if rng.random() < 0.5:  # and a quote that was not found before, a copy of one that was
                    quotes.append({**quotes[0], "quote_id": f"{quotes[0]['quote_id']}-c{run}", "start": 900})
            batch[a] = ({**meta, "published_at": DAY0 + timedelta(days=1)} if rng.random() < 0.3 else meta, quotes)
        runs.append((batch, set(batch) - set(added) | deleted))
        live = {a: v for a, v in live.items() if a not in deleted} | batch
    return runs, live


@pytest.mark.parametrize("seed", range(8))
def test_runs_that_add_change_and_delete_equal_one_run_over_the_final_corpus(seed):
    runs, live = _runs(seed)
    incremental = Store()
    for batch, removed in runs:
        incremental.run(batch, removed)
    everything = Store()
    everything.run(live, set())
    got, want = incremental.state(), everything.state()
    assert len({r["cluster_id"] for r in want["quotes"]}) < len(want["quotes"]) - 10  # the material does cluster
    assert got == want


def test_a_reprocessed_article_whose_quotes_only_moved_keeps_their_clusters_untouched():
    rng, texts = random.Random(3), _texts()
    store = Store()
    articles = _articles(rng, "m", 30, texts)
    store.run(articles, set())
    before = {r["quote_id"]: r for r in store.state()["quotes"]}
    # An outlet's boilerplate line above the quotes went: the same quotes, 12 characters earlier.
    moved = {a: (meta, [{**q, "start": q["start"] + 12, "end": q["end"] + 12} for q in quotes])
             for a, (meta, quotes) in list(articles.items())[:5]}
    clusters = store.state()["clusters"]
    outcome = store.run(moved, set(moved))
    assert not outcome.removed_quote_ids and not outcome.dropped_clusters and not outcome.dropped_variants
    assert outcome.updates.num_rows == 0 and outcome.clusters.num_rows == 0
    after = {r["quote_id"]: r for r in store.state()["quotes"]}
    assert after.keys() == before.keys() and store.state()["clusters"] == clusters
    for a, (_, quotes) in moved.items():
        for q in quotes:
            assert (after[q["quote_id"]]["start"], after[q["quote_id"]]["cluster_id"]) == \
                (before[q["quote_id"]]["start"] + 12, before[q["quote_id"]]["cluster_id"])


@pytest.mark.parametrize("seed", range(4))
def test_quotes_clustered_in_slices_of_whole_speakers_equal_one_call(seed):
    rng, texts = random.Random(seed), _texts()
    articles = _articles(rng, "s", 40, texts)
    at_once, sliced = Store(), Store(slice_rows=5)
    _same_outcomes(at_once.run(articles, set()), sliced.run(articles, set()))
    assert at_once.slices_written == 1 and sliced.slices_written > 3
    assert sliced.state() == at_once.state()
    # Incremental runs that remove nothing are sliced too, against the clusters already there.
    more = _articles(rng, "t", 20, texts)
    _same_outcomes(at_once.run(more, set()), sliced.run(more, set()))
    assert sliced.state() == at_once.state()


class _Unlinked(Store):
    """A Store whose repairs find no stored links: a cluster that lost a variant is clustered from scratch."""

    def old(self) -> OldTables:
        return replace(super().old(), edges=lambda column, values: QUOTE_EDGES.empty_table())


def test_clusters_repaired_from_their_links_equal_clusters_clustered_again_from_scratch_with_fewer_tests(monkeypatch):
    tests, store = Counter(), ["linked"]

    def counted(*args, **kwargs):
        tests[store[0]] += 1
        return same(*args, **kwargs)

    monkeypatch.setattr(quote_rules, "same", counted)
    for seed in range(8):
        linked, unlinked = Store(), _Unlinked()
        for batch, removed in _runs(seed)[0]:
            store[0] = "linked"
            linked.run(batch, removed)
            store[0] = "unlinked"
            unlinked.run(batch, removed)
            assert linked.state() == unlinked.state()
        assert linked.edges.num_rows > 0
    assert tests["linked"] < tests["unlinked"]


def _same_outcomes(one: QuoteOutcome, sliced: QuoteOutcome) -> None:
    """Two outcomes of one run say the same, whatever the order of their rows."""
    for name in ("new_quotes", "updates", "new_keys", "variants", "clusters", "outlets"):
        a, b = (getattr(o, name) for o in (one, sliced))
        assert sorted(a.to_pylist(), key=repr) == sorted(b.to_pylist(), key=repr), name
    for name in ("removed_quote_ids", "dropped_key_variants", "dropped_variants", "dropped_clusters", "new_clusters",
                 "grown_clusters", "quotes_added"):
        assert getattr(one, name) == getattr(sliced, name), name


def test_copies_of_one_wording_by_no_known_speaker_join_across_variants_whatever_the_slices():
    """Quotes of no known speaker join when their words are the same, even as two variants (a capital makes a
    name of one): slices keep such wordings together."""
    texts = ["We will work with the President on the new trade plan", "We will work with the president on the new trade plan",
             "We will work with the ministers on another plan today"]
    articles = {f"n{i}": ({"article_id": f"n{i}", "outlet": "a.example", "published_at": DAY0},
                          [{"quote_id": f"n{i}-0", "article_id": f"n{i}", "start": 0, "end": len(t), "text": t, "kind": "direct",
                            "speaker_entity_id": None, "speaker_name": None, "attribution_method": "unknown", "cluster_id": None}])
                for i, t in enumerate(texts)}
    keyed = keyed_variants(pa.Table.from_pylist([q for _, quotes in articles.values() for q in quotes], schema=EXTRACTED), CONFIG)
    assert len(set(keyed.quotes.column("variant").to_pylist())) == 3  # three variants, two of them one wording
    sliced = Store(slice_rows=1)
    sliced.run(articles, set())
    assert sliced.slices_written == 2
    clusters = {r["quote_id"]: r["cluster_id"] for r in sliced.quotes.to_pylist()}
    assert clusters == {"n0-0": "n0-0", "n1-0": "n0-0", "n2-0": "n2-0"}


def test_a_slice_holds_every_quote_of_its_speakers_and_every_copy_of_its_anonymous_wordings():
    rng, texts = random.Random(11), _texts()
    rows = [q for i in range(60) for q in _article(rng, f"x{i:02d}", texts)[1]]
    keyed = keyed_variants(pa.Table.from_pylist(rows, schema=EXTRACTED), CONFIG)
    slices = speaker_slices(keyed.quotes, keyed.features, 10)
    assert len(slices) > 3 and sorted(np.concatenate(slices).tolist()) == list(range(keyed.quotes.num_rows))
    owner = {}
    for n, rows in enumerate(slices):
        quotes = keyed.quotes.take(rows)
        for text, speaker in zip(quotes.column("text").to_pylist(), quotes.column("speaker_entity_id").to_pylist()):
            group = speaker or wording(text, None).words
            assert owner.setdefault(group, n) == n, group
    assert len({g for g in owner if g in ("Q7747", "Q15031")}) == 2 and len(owner) > 10
    assert [len(rows) for rows in speaker_slices(keyed.quotes, keyed.features, 0)] == [keyed.quotes.num_rows]
    with pytest.raises(ValueError, match="no variant features"):  # they say which quotes are copies of one wording
        speaker_slices(keyed.quotes, keyed.features.slice(0, keyed.features.num_rows // 2), 10)
    with pytest.raises(ValueError, match="one slice"):
        update_quotes_by_slice(table_slices(keyed.quotes, keyed.keys, keyed.features, slices), {"x00"}, Store().old(),
                               lambda ids: ARTICLE_META.empty_table(), CONFIG, None, lambda outcome, number: None)


def test_a_removed_bridge_splits_its_cluster_and_a_new_quote_merges_two():
    fragment = "We will keep building roads and bridges across the northern provinces this year."
    other = "We reject the tariffs announced by the trade ministry against our farmers last week."
    whole = f"{fragment} {other}"  # holds both: joins each as a fragment of it

    def article(article_id, *texts):
        return ({"article_id": article_id, "outlet": "a.example", "published_at": DAY0},
                [{"quote_id": f"{article_id}-{n}", "article_id": article_id, "start": 0, "end": len(t), "text": t,
                  "kind": "direct", "speaker_entity_id": "Q15031", "speaker_name": "Xi Jinping",
                  "attribution_method": "named", "cluster_id": None} for n, t in enumerate(texts)])

    store = Store()
    store.run({"b": article("b", fragment), "c": article("c", other)}, set())
    clusters = {r["quote_id"]: r["cluster_id"] for r in store.quotes.to_pylist()}
    assert clusters["b-0"] != clusters["c-0"]
    store.run({"a": article("a", whole)}, set())  # the whole line joins the fragment and its sibling
    clusters = {r["quote_id"]: r["cluster_id"] for r in store.quotes.to_pylist()}
    assert clusters == {"a-0": "a-0", "b-0": "a-0", "c-0": "a-0"}
    assert store.clusters.num_rows == 1 and store.clusters.column("n_quotes").to_pylist() == [3]
    store.run({}, {"a"})  # without the bridge the two fall apart again, named by their own quotes
    clusters = {r["quote_id"]: r["cluster_id"] for r in store.quotes.to_pylist()}
    assert clusters == {"b-0": "b-0", "c-0": "c-0"}
    assert sorted(store.clusters.column("cluster_id").to_pylist()) == ["b-0", "c-0"]
    assert sorted(store.variants.column("cluster_id").to_pylist()) == ["b-0", "c-0"]


def test_a_bridge_back_under_a_new_id_keeps_its_cluster_without_reclustering_it():
    """An article reprocessed with its offsets shifted brings its quotes back under new ids: its cluster lost no
    variant's day, so it is not clustered again, and the bridge rejoins it. Re-dated, it is clustered again."""
    fragment = "We will keep building roads and bridges across the northern provinces this year."
    other = "We reject the tariffs announced by the trade ministry against our farmers last week."

    def article(article_id, ids, day=DAY0):
        texts = [f"{fragment} {other}"] if article_id == "a" else [fragment] if article_id == "b" else [other]
        return ({"article_id": article_id, "outlet": "a.example", "published_at": day},
                [{"quote_id": f"{article_id}-{ids}{n}", "article_id": article_id, "start": 0, "end": len(t), "text": t,
                  "kind": "direct", "speaker_entity_id": "Q15031", "speaker_name": "Xi Jinping",
                  "attribution_method": "named", "cluster_id": None} for n, t in enumerate(texts)])

    store = Store()
    store.run({a: article(a, "") for a in "abc"}, set())
    asked = []
    lookup = store._lookup
    store._lookup = lambda name: (lambda column, values, *columns: asked.append((name, column)) or lookup(name)(column, values, *columns))
    store.run({"a": article("a", "x")}, {"a"})  # the bridge's only copy leaves and comes back as a-x0
    assert ("keys", "variant") not in asked  # the survivors b-0 and c-0 are not clustered again
    assert {r["quote_id"]: r["cluster_id"] for r in store.quotes.to_pylist()} == {"a-x0": "a-x0", "b-0": "a-x0",
                                                                                   "c-0": "a-x0"}
    everything = Store()
    everything.run({"a": article("a", "x"), "b": article("b", ""), "c": article("c", "")}, set())
    assert store.state() == everything.state()
    asked.clear()
    later = DAY0 + timedelta(days=400)
    store.run({"a": article("a", "y", later)}, {"a"})  # its day is gone: the survivors are clustered again
    assert ("keys", "variant") in asked
    everything = Store()
    everything.run({"a": article("a", "y", later), "b": article("b", ""), "c": article("c", "")}, set())
    assert store.state() == everything.state()


def test_a_link_to_a_variant_that_lost_a_day_is_tested_again():
    """A paraphrase holds only between copies published close together. Its link is kept while the variant keeps
    the day that made it hold, and tested again once that day's copy goes."""
    said = "We will keep building roads and bridges across the northern provinces this year."
    paraphrase = "This year we will keep building bridges and roads across all the northern provinces."

    def article(article_id, text, day):
        return ({"article_id": article_id, "outlet": "a.example", "published_at": day},
                [{"quote_id": f"{article_id}-0", "article_id": article_id, "start": 0, "end": len(text), "text": text,
                  "kind": "direct", "speaker_entity_id": "Q15031", "speaker_name": "Xi Jinping",
                  "attribution_method": "named", "cluster_id": None}])

    later = DAY0 + timedelta(days=400)
    store = Store()
    store.run({"a": article("a", paraphrase, DAY0), "b": article("b", said, DAY0), "d": article("d", paraphrase, later)},
              set())
    assert len(set(store.quotes.column("cluster_id").to_pylist())) == 1 and store.edges.num_rows == 1
    store.run({"e": article("e", "Another remark on a different matter entirely, made in a later speech.", later)},
              set())
    assert store.edges.num_rows == 1  # a cluster that loses nothing keeps its link
    store.run({}, {"a"})  # the paraphrase's copy of that day goes: its later copy is too far from the other
    assert {r["quote_id"]: r["cluster_id"] for r in store.quotes.to_pylist()} == {"b-0": "b-0", "d-0": "d-0", "e-0": "e-0"}
    assert store.edges.num_rows == 0
    everything = Store()
    everything.run({"b": article("b", said, DAY0), "d": article("d", paraphrase, later),
                    "e": article("e", "Another remark on a different matter entirely, made in a later speech.", later)}, set())
    assert store.state() == everything.state()


def test_a_copy_on_a_day_already_seen_reads_nothing_but_its_variant():
    text = "We will stand together with our partners in the face of every challenge ahead"
    store = Store()

    def article(article_id, day):
        return ({"article_id": article_id, "outlet": "a.example", "published_at": day},
                [{"quote_id": f"{article_id}-0", "article_id": article_id, "start": 0, "end": len(text), "text": text,
                  "kind": "direct", "speaker_entity_id": "Q15031", "speaker_name": "Xi Jinping",
                  "attribution_method": "named", "cluster_id": None}])

    store.run({"a": article("a", DAY0)}, set())
    asked = []
    lookup = store._lookup
    store._lookup = lambda name: (lambda column, values, *columns: asked.append((name, column)) or lookup(name)(column, values, *columns))
    store.run({"b": article("b", DAY0)}, set())
    assert ("keys", "key") not in asked  # nothing new to compare: no key look-up
    assert store.variants.column("days").to_pylist() == [[(DAY0.date() - datetime(1970, 1, 1).date()).days]]
    store.run({"c": article("c", DAY0 + timedelta(days=1))}, set())
    assert ("keys", "key") in asked  # a new day may open a translation's date window
    assert store.clusters.column("n_quotes").to_pylist() == [3]


def test_a_written_outcome_keeps_counts_and_cluster_rows_and_lets_go_of_the_rest():
    """The quotes stage writes its rows, then passes on an outcome that holds no buffer of them."""
    rng, texts = random.Random(5), _texts()
    articles = _articles(rng, "w", 20, texts)
    outcome = Store().run(articles, set())
    written = outcome.written()
    assert written.quotes_added == outcome.new_quotes.num_rows == sum(len(q) for _, q in articles.values())
    for name in ("new_quotes", "new_keys", "variants", "outlets"):
        before, after = getattr(outcome, name), getattr(written, name)
        assert before.num_rows and after.num_rows == 0 and after.get_total_buffer_size() < 100, name  # offsets only
        assert after.schema == before.schema, name
    assert written.clusters.equals(outcome.clusters) and written.new_clusters == outcome.new_clusters


def test_the_vectorised_screen_drops_only_pairs_the_rules_reject():
    rng, texts = random.Random(7), _texts()
    rows = [q for i in range(60) for q in _article(rng, f"s{i}", texts)[1]]
    wordings = [wording(r["text"], r["speaker_entity_id"]) for r in rows]
    table = pa.Table.from_pylist([features(w) for w in wordings], schema=VARIANT_FEATURES)
    screen = _Screen(table, pa.array([r["speaker_entity_id"] for r in rows], pa.string()), CONFIG)
    a, b = (np.array(x, np.int64) for x in zip(*itertools.combinations(range(len(rows)), 2)))
    kept = set(zip(*(x.tolist() for x in screen.keep(a, b))))
    confirmed = {(i, j) for i, j in zip(a.tolist(), b.tolist()) if same(wordings[i], wordings[j], CONFIG)}
    assert confirmed <= kept
    assert len(kept) < len(a) / 4  # and it does drop most candidates
    # Nodes read their rows of a larger table, in another order, as they read a table of their own rows.
    order = np.array(rng.sample(range(len(rows)), len(rows)) * 2)
    rows_of = np.argsort(order[: len(rows)])  # node i's row in the shuffled table
    shuffled = pa.concat_tables([table.take(pa.array(order[: len(rows)]))] * 2)
    screen_rows = _Screen(shuffled, pa.array([r["speaker_entity_id"] for r in rows], pa.string()), CONFIG,
                          rows_of + len(rows) * (np.arange(len(rows)) % 2))
    assert set(zip(*(x.tolist() for x in screen_rows.keep(a, b)))) == kept
