"""One run's change to the quotes and quote clusters, reading only the old rows it touches.

A run brings new quotes (from new or changed articles) and removes the quotes of deleted or
replaced articles. Only these old rows are read: the removed quotes and the other members of
their clusters, the old quotes sharing a key with a new one, and the members of clusters a new
quote joins together. The outcome says which old quotes change cluster, which quote-cluster rows
go, and the rows that replace them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from tasks.config import QuoteConfig
from tasks.quote_clusters import (
    assign_clusters,
    cluster_quotes,
    quote_cluster_rows,
    quote_keys,
    related_quotes,
)
from tasks.schemas import ARTICLES, QUOTE_CLUSTERS, QUOTE_KEYS, QUOTES, UTC_TS

# Look-ups into the previous snapshot: (column, values) -> matching rows.
Lookup = Callable[[str, Iterable], pa.Table]
ARTICLE_META = pa.schema([ARTICLES.field(c) for c in ("article_id", "outlet", "published_at")])
# Quotes with their article's publication date, which the translation rule's date window reads.
DATED_QUOTES = QUOTES.append(pa.field("published_at", UTC_TS))


@dataclass
class QuoteOutcome:
    """What the quotes stage writes: new rows, changed old rows, and what goes."""

    new_quotes: pa.Table  # QUOTES, clustered
    new_keys: pa.Table  # QUOTE_KEYS of the new quotes
    updates: pa.Table  # quote_id, cluster_id of old quotes whose cluster changed
    removed_quote_ids: set[str]
    clusters: pa.Table  # QUOTE_CLUSTERS rows of every touched cluster
    dropped_clusters: set[str]  # old quote_clusters rows to drop (replaced by `clusters` or gone)
    new_clusters: set[str]  # clusters that did not exist before
    grown_clusters: set[str]  # existing clusters that gained new quotes


def _values(table: pa.Table, column: str) -> set:
    return set(pc.drop_null(table.column(column)).to_pylist()) if table.num_rows else set()


def _without(table: pa.Table, column: str, values: set) -> pa.Table:
    if not values or not table.num_rows:
        return table
    return table.filter(pc.invert(pc.is_in(table.column(column), value_set=pa.array(sorted(values), table.schema.field(column).type))))


def _union(*tables: pa.Table) -> pa.Table:
    """Rows of several QUOTES tables, the first occurrence of each quote_id winning."""
    rows, seen = [], set()
    for table in tables:
        for row in table.to_pylist():
            if row["quote_id"] not in seen:
                seen.add(row["quote_id"])
                rows.append(row)
    return pa.Table.from_pylist(rows, schema=DATED_QUOTES)


class _ArticleMeta:
    """Outlet and publication date of articles, each looked up once per run however often it is asked for."""

    def __init__(self, articles: Callable[[set[str]], pa.Table]):
        self._articles = articles
        self._known: dict[str, dict] = {}

    def rows(self, ids: set[str]) -> dict[str, dict]:
        missing = ids - self._known.keys()
        if missing:
            self._known.update({r["article_id"]: r for r in self._articles(missing).to_pylist()})
        return {i: self._known[i] for i in ids if i in self._known}

    def table(self, ids: set[str]) -> pa.Table:
        return pa.Table.from_pylist(list(self.rows(ids).values()), schema=ARTICLE_META)

    def dated(self, quotes: pa.Table) -> pa.Table:
        """QUOTES rows with their article's published_at."""
        known = self.rows(_values(quotes, "article_id"))
        column = pa.array([known.get(a, {}).get("published_at") for a in quotes.column("article_id").to_pylist()], UTC_TS)
        return quotes.select(QUOTES.names).cast(QUOTES).append_column(DATED_QUOTES.field("published_at"), column)


def update_quotes(new_quotes: pa.Table, removed_articles: set[str], old_quotes: Lookup, old_keys: Lookup,
                  articles: Callable[[set[str]], pa.Table], config: QuoteConfig) -> QuoteOutcome:
    """Cluster new quotes against the corpus and repair clusters that lost members.

    Args:
        new_quotes: QUOTES rows of this run's articles (cluster_id ignored).
        removed_articles: ids of articles deleted or replaced by this run.
        old_quotes: look-up into the previous `quotes` dataset.
        old_keys: look-up into the previous `_state/quote_keys`.
        articles: article_id, outlet, published_at of the given articles, old or new.
        config: clustering thresholds.
    """
    meta = _ArticleMeta(articles)
    dated = meta.dated

    def old(column: str, values: Iterable) -> pa.Table:
        return dated(old_quotes(column, values))

    # 1. Quotes leaving, and the survivors of their clusters re-clustered among themselves.
    removed = old("article_id", removed_articles) if removed_articles else DATED_QUOTES.empty_table()
    removed_ids = _values(removed, "quote_id")
    hit_clusters = _values(removed, "cluster_id")
    survivors = _without(old("cluster_id", hit_clusters), "quote_id", removed_ids) if hit_clusters else DATED_QUOTES.empty_table()
    if survivors.num_rows:
        survivor_keys = old_keys("quote_id", _values(survivors, "quote_id"))
        survivors = assign_clusters(survivors, cluster_quotes(survivors, survivor_keys, QUOTES.empty_table(),
                                                              QUOTE_KEYS.empty_table(), config))

    # 2. New quotes against the old quotes that share a key with them.
    new_quotes = dated(new_quotes)
    new_keys = quote_keys(new_quotes, config)
    candidate_keys = _without(old_keys("key", _values(new_keys, "key")), "quote_id", removed_ids)
    related = _without(old("quote_id", set(related_quotes(new_keys, candidate_keys).to_pylist())), "quote_id", removed_ids)
    working = _union(survivors, related)  # survivors carry their repaired cluster ids
    update = cluster_quotes(new_quotes, new_keys, working, candidate_keys, config)
    clustered = assign_clusters(new_quotes, update)

    # 3. Clusters merged by a new quote: every member moves to the merged id.
    renamed = _values(update.renames, "cluster_id")
    members = _without(old("cluster_id", renamed), "quote_id", removed_ids) if renamed else DATED_QUOTES.empty_table()
    working = assign_clusters(_union(working, members), update)

    # 4. Old quotes whose cluster id changed, and the clusters to rewrite.
    previous = old_quotes("quote_id", _values(working, "quote_id")) if working.num_rows else QUOTES.empty_table()
    before = dict(zip(previous.column("quote_id").to_pylist(), previous.column("cluster_id").to_pylist()))
    changed = [(q, c) for q, c in zip(working.column("quote_id").to_pylist(), working.column("cluster_id").to_pylist())
               if before.get(q) != c]
    updates = pa.table({"quote_id": pa.array([q for q, _ in changed], pa.string()),
                        "cluster_id": pa.array([c for _, c in changed], pa.string())})
    final = _values(clustered, "cluster_id") | _values(working, "cluster_id")
    old_touched = hit_clusters | renamed | {before[q] for q, _ in changed if before.get(q)}
    unchanged_members = _without(old("cluster_id", final), "quote_id", removed_ids | _values(working, "quote_id"))
    everyone = pa.concat_tables([unchanged_members, working, clustered])
    everyone = everyone.filter(pc.is_in(everyone.column("cluster_id"), value_set=pa.array(sorted(final), pa.string())))
    clusters = quote_cluster_rows(everyone, meta.table(_values(everyone, "article_id")))
    existed = old_touched | _values(old_quotes("cluster_id", final), "cluster_id")
    return QuoteOutcome(
        new_quotes=clustered.select(QUOTES.names).cast(QUOTES), new_keys=new_keys.cast(QUOTE_KEYS), updates=updates,
        removed_quote_ids=removed_ids,
        clusters=clusters.cast(QUOTE_CLUSTERS), dropped_clusters=old_touched | final,
        new_clusters=final - existed, grown_clusters=_values(clustered, "cluster_id") & existed,
    )
