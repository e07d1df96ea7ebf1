"""One run's change to the quotes and quote clusters, reading only the old rows it touches.

A run brings new quotes (from new or changed articles) and removes the quotes of deleted or
replaced articles. Clustering works on variants (copies of one wording by one speaker), whose
state row holds their cluster and the publication days of their copies, so an old variant is
read once however often it was copied. Only these old rows are read: the removed quotes and the
other members of their clusters, the variants sharing a key with a new variant (or with a known
variant copied on a new day), the members of clusters a new quote joins together, and the
members of the clusters whose rows change. The outcome says which old quotes change cluster,
which state and cluster rows go, and the rows that replace them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.arrays import looked_up
from tasks.config import QuoteConfig
from tasks.corpus import cached_lookup, only, read_parts, snapshot_lookup, without
from tasks.quote_clusters import (
    ASSIGNMENTS,
    UNKNOWN_DAY,
    ClusterUpdate,
    assign_clusters,
    cluster_quotes,
    exploded_days,
    grown_cluster_rows,
    quote_cluster_rows,
    quote_days,
    variant_rows,
    with_cluster_ids,
)
from tasks.schemas import (
    ARTICLES,
    QUOTE_CLUSTER_OUTLETS,
    QUOTE_CLUSTERS,
    QUOTE_EDGES,
    QUOTE_KEYS,
    QUOTE_VARIANTS,
    QUOTES,
    UTC_TS,
    VARIANT_FEATURES,
)
from tasks.storage import Snapshot, SnapshotBuilder

# Look-ups into the previous snapshot: (column, values) -> matching rows; (column, values, columns) -> some columns of them.
Lookup = Callable[..., pa.Table]
# What steps 3 and 5 of `update_quotes` read of the old members of clusters that moved or changed: their clusters and
# articles, not their text (the 100k +1% run's two look-ups of them: 0.37 / 0.21 -> 0.15 / 0.11 CPU s).
MEMBERS = ["quote_id", "article_id", "cluster_id"]


@dataclass
class OldTables:
    """Look-ups into the previous snapshot's quotes dataset, quote_clusters and the stage's state."""

    quotes: Lookup  # quotes
    keys: Lookup  # _state/quote_keys
    variants: Lookup  # _state/quote_variants
    clusters: Lookup  # quote_clusters
    outlets: Lookup  # _state/quote_cluster_outlets
    edges: Lookup  # _state/quote_edges
ARTICLE_META = pa.schema([ARTICLES.field(c) for c in ("article_id", "outlet", "published_at")])
# Quotes with their article's publication date, which the translation rule's date window reads.
DATED_QUOTES = QUOTES.append(pa.field("published_at", UTC_TS))


@dataclass
class QuoteOutcome:
    """What the quotes stage writes: new rows, changed old rows, and what goes."""

    new_quotes: pa.Table  # QUOTES, clustered
    updates: pa.Table  # quote_id, cluster_id of old quotes whose cluster changed
    removed_quote_ids: set[str]
    new_keys: pa.Table  # QUOTE_KEYS of variants the state does not hold yet
    dropped_key_variants: set[int]  # variants whose every copy went: their key rows go
    variants: pa.Table  # QUOTE_VARIANTS rows replacing `dropped_variants`
    dropped_variants: set[int]
    edges: pa.Table  # QUOTE_EDGES rows of the pairs this run joined
    dropped_edge_variants: set[int]  # variants that lost a day or went: the rows of their edges go
    clusters: pa.Table  # QUOTE_CLUSTERS rows of every touched cluster
    outlets: pa.Table  # QUOTE_CLUSTER_OUTLETS rows of every touched cluster
    dropped_clusters: set[str]  # old quote_clusters and outlet rows to drop (replaced or gone)
    new_clusters: set[str]  # clusters that did not exist before
    grown_clusters: set[str]  # existing clusters that gained new quotes
    quotes_added: int  # rows of new_quotes, also once they are written and let go (`written`)

    def written(self) -> QuoteOutcome:
        """The outcome once its rows are on disk: the rest of the run does not hold its quotes, keys, variants and
        outlets (at 100k articles 822k quotes with their text). The cluster rows stay, for the run's report."""
        # Empty tables, not zero-length slices: a slice keeps its parent's buffers.
        return replace(self, new_quotes=QUOTES.empty_table(), new_keys=QUOTE_KEYS.empty_table(),
                       variants=QUOTE_VARIANTS.empty_table(), outlets=QUOTE_CLUSTER_OUTLETS.empty_table(),
                       edges=QUOTE_EDGES.empty_table())

    def rows(self) -> dict[str, pa.Table]:
        """The rows to write, by dataset (the others only say which old rows go or change)."""
        return {"quotes": self.new_quotes, "_state/quote_keys": self.new_keys, "_state/quote_variants": self.variants,
                "quote_clusters": self.clusters, "_state/quote_cluster_outlets": self.outlets,
                "_state/quote_edges": self.edges}

    @staticmethod
    def combined(outcomes: list[QuoteOutcome]) -> QuoteOutcome:
        """One outcome of several over disjoint quotes that cluster independently (`speaker_slices`): rows
        concatenated, id sets joined, counts added."""
        if len(outcomes) == 1:
            return outcomes[0]

        def joined(parts: list):
            if isinstance(parts[0], pa.Table):
                return pa.concat_tables(parts)
            if isinstance(parts[0], set):
                return set().union(*parts)
            if isinstance(parts[0], int):
                return sum(parts)
            raise TypeError(f"no way to combine {type(parts[0]).__name__} fields")
        return QuoteOutcome(**{f.name: joined([getattr(o, f.name) for o in outcomes]) for f in fields(QuoteOutcome)})


def _values(table: pa.Table, column: str) -> set:
    return set(pc.unique(pc.drop_null(table.column(column))).to_pylist()) if table.num_rows else set()


class _ArticleMeta:
    """Outlet and publication date of articles, each looked up once per run however often it is asked for."""

    def __init__(self, articles: Callable[[set[str]], pa.Table]):
        self._articles = articles
        self._known, self._table = set(), ARTICLE_META.empty_table()

    def table(self, ids: set[str]) -> pa.Table:
        missing = ids - self._known
        if missing:
            found = only(self._articles(missing).select(ARTICLE_META.names).cast(ARTICLE_META), "article_id", missing)
            self._table = pa.concat_tables([self._table, found])
            self._known |= missing
        return only(self._table, "article_id", ids)

    def dated(self, quotes: pa.Table) -> pa.Table:
        """QUOTES rows, in their order, with their article's published_at (a column added, the rest not copied; null
        for an article without metadata, which the date window then takes as close to any)."""
        quotes = quotes.select(QUOTES.names).cast(QUOTES)
        if not quotes.num_rows:
            return DATED_QUOTES.empty_table()
        meta = self.table(_values(quotes, "article_id"))
        return quotes.append_column(DATED_QUOTES.field("published_at"),
                                    looked_up(quotes.column("article_id"), meta, "article_id", "published_at"))


def update_quotes(new_quotes: pa.Table, new_keys: pa.Table, new_features: pa.Table, removed_articles: set[str],
                  old: OldTables, articles: Callable[[set[str]], pa.Table], config: QuoteConfig,
                  articles_before: Callable[[set[str]], pa.Table] | None = None) -> QuoteOutcome:
    """Cluster new quotes against the corpus and repair clusters that lost members.

    Args:
        new_quotes: QUOTES rows of this run's articles, with `variant` (cluster_id ignored).
        new_keys: QUOTE_KEYS rows of the new quotes' variants (repeats allowed).
        new_features: VARIANT_FEATURES rows of the new quotes' variants (repeats allowed).
        removed_articles: ids of articles deleted or replaced by this run.
        old: look-ups into the previous snapshot.
        articles: article_id, outlet, published_at of the given articles, old or new.
        config: clustering thresholds.
        articles_before: the same as the previous snapshot has them. A quote of a reprocessed article that comes
            back unchanged (same id, text, speaker, article outlet and date) then keeps its cluster untouched.
    """
    meta = _ArticleMeta(articles)
    no_keys = QUOTE_KEYS.empty_table()

    # 1. Quotes leaving, and the survivors of their clusters re-clustered among themselves. Unchanged quotes of
    # reprocessed articles neither leave nor come: they are written again, at their new offsets, with their
    # (final) cluster.
    removed = old.quotes("article_id", removed_articles) if removed_articles else QUOTES.empty_table()
    unchanged = _unchanged(removed, new_quotes, articles_before, meta.table) if articles_before else set()
    carried = _with_clusters_of(only(new_quotes, "quote_id", unchanged), removed)
    removed = without(removed, "quote_id", unchanged)
    new_quotes = meta.dated(without(new_quotes, "quote_id", unchanged))
    removed_ids, hit = _values(removed, "quote_id"), _values(removed, "cluster_id")
    survivors = meta.dated(without(old.quotes("cluster_id", hit), "quote_id", removed_ids)) if hit \
        else DATED_QUOTES.empty_table()
    survivor_cluster = survivors.select(["quote_id", "cluster_id"])  # before they are clustered again
    hit_rows = old.variants("cluster_id", hit) if hit else QUOTE_VARIANTS.empty_table()
    hit_features = hit_rows.select(VARIANT_FEATURES.names)
    # A variant that lost a day among the survivors may no longer pass the rules with its linked variants (they
    # read its days): the links of those, and of variants gone, go.
    lost = _lost_days(hit_rows, survivors)
    broken = _values(lost, "variant")
    redo_edges = QUOTE_EDGES.empty_table()
    if survivors.num_rows:
        # Only a cluster that lost a variant, or a day of one, can fall apart; the others keep their shape and
        # are named again by their smallest remaining quote_id. A copy among the new quotes keeps a variant's day:
        # every pair the rules joined still holds (they read a variant's wording and days, and more days only
        # bring copies nearer), and a variant whose copies all left and come back under new ids (an article
        # reprocessed with its offsets shifted) rejoins in step 2 as a new variant, by the same pairs.
        reshaped = _values(lost.join(_variant_days(new_quotes.column("variant"), quote_days(new_quotes)),
                                     ["variant", "day"], join_type="left anti", use_threads=False), "cluster_id")
        redo = only(survivors, "cluster_id", reshaped)
        if redo.num_rows:
            # Clustered again from the links that still hold: only pairs across the pieces they leave are tested.
            redo_variants = _values(redo, "variant")
            linked = redo_variants - broken
            update = cluster_quotes(redo, old.keys("variant", redo_variants), QUOTE_VARIANTS.empty_table(),
                                    no_keys, config, hit_features,
                                    only(old.edges("variant_a", linked), "variant_b", linked) if linked else None)
            redo, redo_edges = assign_clusters(redo, update), update.edges
        survivors = pa.concat_tables([redo, _named_by_smallest(without(survivors, "cluster_id", reshaped))])
    hit_variants = _values(hit_rows, "variant")
    repaired = variant_rows(survivors, features=hit_features)
    gone_variants = hit_variants - _values(repaired, "variant")

    def current(variants: set[int]) -> pa.Table:
        """The state rows of variants once the removals are applied."""
        if not variants:
            return QUOTE_VARIANTS.empty_table()
        return pa.concat_tables([old.variants("variant", variants - hit_variants), only(repaired, "variant", variants)])

    # 2. New quotes against the variants sharing a key with them. A known variant copied on days it has
    # already been seen on adds nothing to compare: it only joins its cluster.
    new_keys = new_keys.group_by(["key", "variant"], use_threads=False).aggregate([]).select(QUOTE_KEYS.names) \
        if new_keys.num_rows else no_keys
    new_variants = _values(new_quotes, "variant")
    known = current(new_variants)
    parent, known_days = exploded_days(known)
    active = _values(_variant_days(new_quotes.column("variant"), quote_days(new_quotes))
                     .join(_variant_days(known.column("variant").take(parent), known_days), ["variant", "day"],
                           join_type="left anti", use_threads=False), "variant")
    active_keys = only(new_keys, "variant", active)
    candidate_keys = without(old.keys("key", _values(active_keys, "key")), "variant", gone_variants) \
        if active_keys.num_rows else no_keys
    related = pa.concat_tables([known, current(_values(candidate_keys, "variant") - new_variants)])
    update = cluster_quotes(new_quotes, active_keys, related, candidate_keys, config, new_features)
    clustered = assign_clusters(new_quotes, update)

    # 3. Clusters merged by a new quote: every member moves to the merged id.
    renamed = _values(update.renames, "cluster_id")
    members = without(old.quotes("cluster_id", renamed - hit, MEMBERS), "quote_id", removed_ids) if renamed - hit \
        else QUOTES.empty_table().select(MEMBERS)
    before = pa.concat_tables([survivor_cluster, members.select(survivor_cluster.column_names)]).combine_chunks()
    working = assign_clusters(pa.concat_tables([survivors.select(MEMBERS), members.select(MEMBERS)]), update)
    was = looked_up(working.column("quote_id"), before, "quote_id", "cluster_id")
    changed = pc.invert(pc.equal(working.column("cluster_id"), was))
    updates = without(working.filter(changed).select(["quote_id", "cluster_id"]), "quote_id", unchanged)
    if carried.num_rows:  # an unchanged quote moves with its cluster
        carried = with_cluster_ids(carried, pc.coalesce(looked_up(carried.column("quote_id"), working, "quote_id", "cluster_id"),
                                                        carried.column("cluster_id")))

    # 4. State rows of every variant whose cluster or days changed. The final clusters' other variants (step 5)
    # are read with them, in one pass over the state's parts.
    final = _values(clustered, "cluster_id") | _values(working, "cluster_id")
    reached = old.variants("cluster_id", (renamed | final) - hit) if (renamed | final) - hit \
        else QUOTE_VARIANTS.empty_table()
    renamed_rows = only(reached, "cluster_id", renamed - hit)
    touched_rows = assign_clusters(pa.concat_tables([known, without(repaired, "variant", new_variants),
                                                     without(renamed_rows, "variant", new_variants)]),
                                   ClusterUpdate(ASSIGNMENTS.empty_table(), update.renames))
    variants = variant_rows(clustered, touched_rows, features=new_features)

    # 5. Rows of the clusters that changed. One that only gained new quotes is updated from its previous row
    # and outlets; one that lost, split or merged is summarised from all its members.
    rebuilt = final & (_values(working, "cluster_id") | hit)  # a hit cluster's name may come back with new quotes
    grown = final - rebuilt
    others = only(reached, "cluster_id", final - hit)
    cluster_variants = pa.concat_tables([without(others, "variant", _values(variants, "variant") | hit_variants), variants])
    old_members = old.quotes("cluster_id", rebuilt - hit, MEMBERS) if rebuilt - hit else QUOTES.empty_table().select(MEMBERS)
    members = pa.concat_tables([without(without(old_members, "quote_id", removed_ids), "quote_id", working.column("quote_id")),
                                working, clustered.select(MEMBERS)])
    members = only(members, "cluster_id", rebuilt)
    rebuilt_rows, rebuilt_outlets = quote_cluster_rows(only(cluster_variants, "cluster_id", rebuilt), members,
                                                       meta.table(_values(members, "article_id")))
    grown_new = only(clustered, "cluster_id", grown)
    if carried.num_rows:  # a reprocessed article whose carried quotes were members already counts once
        grown_new = grown_new.join(carried.select(["cluster_id", "article_id"]), ["cluster_id", "article_id"],
                                   join_type="left anti", use_threads=False)
    previous = old.clusters("cluster_id", grown) if grown else QUOTE_CLUSTERS.empty_table()
    grown_rows, grown_outlets = grown_cluster_rows(
        only(cluster_variants, "cluster_id", grown), previous,
        old.outlets("cluster_id", grown) if grown else QUOTE_CLUSTER_OUTLETS.empty_table(), grown_new,
        meta.table(_values(grown_new, "article_id")))
    existed = hit | renamed | _values(old_members, "cluster_id") | _values(previous, "cluster_id")
    written = pa.concat_tables([clustered.select(QUOTES.names).cast(QUOTES), carried.select(QUOTES.names).cast(QUOTES)])
    return QuoteOutcome(
        new_quotes=written, quotes_added=written.num_rows,
        updates=updates, removed_quote_ids=removed_ids,
        new_keys=without(new_keys, "variant", _values(known, "variant") | _values(carried, "variant")),
        dropped_key_variants=gone_variants,
        variants=variants, dropped_variants=hit_variants | _values(variants, "variant"),
        edges=pa.concat_tables([redo_edges, update.edges]), dropped_edge_variants=broken,
        clusters=pa.concat_tables([rebuilt_rows, grown_rows]).cast(QUOTE_CLUSTERS),
        outlets=pa.concat_tables([rebuilt_outlets, grown_outlets]), dropped_clusters=hit | renamed | final,
        new_clusters=final - existed, grown_clusters=_values(clustered, "cluster_id") & existed,
    )


def update_quotes_by_slice(slices: Iterable[tuple[pa.Table, pa.Table, pa.Table]], removed_articles: set[str],
                           old: OldTables, articles: Callable[[set[str]], pa.Table], config: QuoteConfig,
                           articles_before: Callable[[set[str]], pa.Table] | None,
                           write: Callable[[QuoteOutcome, int], None]) -> QuoteOutcome:
    """`update_quotes` a slice of the new quotes at a time, each slice's outcome handed to `write` (with the
    slice's number) and then let go: the working set of a corpus-sized run is a slice's, not the corpus's.

    Args:
        slices: the new quotes, key rows and features of each slice (as `update_quotes` takes them), made when
            asked for (`table_slices` cuts tables in memory; the stage runs `cluster_slice` over each slice's
            files, a task run each). Slices hold whole speakers (`speaker_slices`), so they cluster
            independently and the result is the one of a single call.
        removed_articles, old, articles, config, articles_before: as `update_quotes` takes them.
        write: called with each slice's outcome and number.

    A run that removes quotes must come in one slice: `update_quotes` repairs the clusters that lost quotes in
    one pass over all the removals. Returns the slices' outcomes combined, their rows written and let go (`QuoteOutcome.written`).
    """
    outcomes = []
    for number, (quotes, keys, features) in enumerate(slices):
        if removed_articles and number:
            raise ValueError("a run that removes quotes is clustered in one slice")
        outcome = update_quotes(quotes, keys, features, removed_articles, old, articles, config, articles_before)
        del quotes, keys, features  # before the next slice is made
        write(outcome, number)
        outcomes.append(outcome.written())
        del outcome  # its rows, before the next slice is made
    return QuoteOutcome.combined(outcomes)


# The quotes stage's datasets and state tables, by the `OldTables` field that looks each up.
QUOTE_TABLES = {"quotes": "quotes", "keys": "_state/quote_keys", "variants": "_state/quote_variants",
                "clusters": "quote_clusters", "outlets": "_state/quote_cluster_outlets", "edges": "_state/quote_edges"}


# The variant state is looked up four times in a run, and every part holds some of the wanted variants: up to this
# many rows it is read once and kept (the 100k corpus's 188k variants: ~140 MB; the +1% run's quotes stage, 3 rounds:
# median 5.22 -> 4.79 s, tree peak 1.40-1.49 -> 1.58-1.60 GB), past it looked up part by part.
CACHED_VARIANTS = 400_000


def old_tables(previous: Snapshot | None) -> OldTables:
    """Look-ups into a snapshot's quotes and quote state (nothing to find without one: a first run, a full
    refresh)."""
    return OldTables(**{field: cached_lookup(previous, name, CACHED_VARIANTS) if field == "variants"
                        else snapshot_lookup(previous, name) for field, name in QUOTE_TABLES.items()})


@dataclass(frozen=True)
class QuoteSliceJob:
    """One slice of a run's new quotes (whole speakers, `speaker_slices`) for a worker to cluster and write."""

    quotes_paths: list[str]  # staging files of the slice's quotes (QUOTES with variant)
    keys_paths: list[str]  # ... of their variants' key rows (QUOTE_KEYS)
    features_paths: list[str]  # ... of their variants' features (VARIANT_FEATURES)
    removed_articles: set[str]  # a run that removes quotes has one slice
    previous: Snapshot | None  # where old rows are looked up (None: nothing to find)
    meta_path: str  # ARTICLE_META of every article, this run's rows replacing the previous snapshot's
    before_path: str | None  # ARTICLE_META as the previous snapshot has it, when the run removes quotes
    config: QuoteConfig
    builder: SnapshotBuilder  # the snapshot under construction, which the slice's rows join
    tag: str  # the slice's part files' tag, unique in the run


def cluster_slice(job: QuoteSliceJob) -> QuoteOutcome:
    """Cluster one slice (`update_quotes_by_slice` of one), write its rows into the snapshot under construction
    and return its outcome without them (`QuoteOutcome.written`)."""
    meta = pq.read_table(job.meta_path, schema=ARTICLE_META)
    before = pq.read_table(job.before_path, schema=ARTICLE_META) if job.before_path else None

    def write(outcome: QuoteOutcome, _: int) -> None:
        for name, rows in outcome.rows().items():
            job.builder.write(name, rows, job.tag)

    def staged() -> Iterator[tuple[pa.Table, pa.Table, pa.Table]]:
        yield (read_parts(job.quotes_paths, QUOTES), read_parts(job.keys_paths, QUOTE_KEYS),
               read_parts(job.features_paths, VARIANT_FEATURES))

    return update_quotes_by_slice(staged(), job.removed_articles, old_tables(job.previous),
                                  lambda ids: only(meta, "article_id", ids), job.config,
                                  None if before is None else lambda ids: only(before, "article_id", ids), write)


def table_slices(quotes: pa.Table, keys: pa.Table, features: pa.Table, slices: list[np.ndarray]
                 ) -> Iterator[tuple[pa.Table, pa.Table, pa.Table]]:
    """The quotes at each slice's row numbers, with the key rows and features of their variants."""
    for rows in slices:
        part = quotes.take(pa.array(rows))
        variants = pc.unique(part.column("variant").combine_chunks()).to_pylist()
        yield part, only(keys, "variant", variants), only(features, "variant", variants)


def speaker_slices(quotes: pa.Table, features: pa.Table, max_rows: int) -> list[np.ndarray]:
    """Row numbers of the quotes in slices that cluster independently, about `max_rows` each (one slice of every
    row when there are no more, or `max_rows` is 0). A speaker is never split, so a slice holds more than
    `max_rows` quotes when one speaker has more.

    Only quotes of one speaker ever join (`rules.same`), and quotes of no known speaker only their exact copies:
    each speaker's quotes stay in one slice, and each wording of no known speaker with its copies. The groups go
    biggest first to the slice with the fewest rows, so the slices come out about even.

    Args:
        quotes: the `speaker_entity_id` and `variant` of each quote (other columns are not read).
        features: the `variant` and `words_hash` of at least the variants of the quotes of no known speaker.
    """
    n_slices = -(-quotes.num_rows // max_rows) if max_rows > 0 else 1
    if n_slices <= 1:
        return [np.arange(quotes.num_rows)]
    group = _independent_groups(quotes, features)
    sizes = np.bincount(group)
    slice_of = np.zeros(len(sizes), np.int64)
    loads = [(0, s) for s in range(n_slices)]
    for g in np.argsort(-sizes, kind="stable")[: np.count_nonzero(sizes)].tolist():
        load, s = heapq.heappop(loads)
        slice_of[g] = s
        heapq.heappush(loads, (load + int(sizes[g]), s))
    row_slice = slice_of[group]
    slices = [np.flatnonzero(row_slice == s) for s in range(n_slices)]
    return [rows for rows in slices if len(rows)]  # none empty, when there are fewer groups than slices


def _independent_groups(quotes: pa.Table, features: pa.Table) -> np.ndarray:
    """A group number per quote: its speaker's, or for a quote of no known speaker its wording's (words hash)."""
    speakers = quotes.column("speaker_entity_id").combine_chunks().dictionary_encode()
    code = pc.fill_null(speakers.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    anonymous = np.flatnonzero(code < 0)
    if len(anonymous):
        variants = quotes.column("variant").take(pa.array(anonymous))
        at = pc.index_in(variants, value_set=features.column("variant").combine_chunks())
        if at.null_count:
            raise ValueError(f"{at.null_count} quotes of no known speaker have no variant features")
        words = pc.take(features.column("words_hash").combine_chunks(), at).to_numpy()
        code[anonymous] = len(speakers.dictionary) + np.unique(words, return_inverse=True)[1].ravel()
    return code


def _variant_days(variants: pa.ChunkedArray | pa.Array, days: pa.ChunkedArray | pa.Array) -> pa.Table:
    """(variant, day) rows, an unknown day as UNKNOWN_DAY."""
    return pa.table({"variant": variants, "day": pc.fill_null(days, UNKNOWN_DAY)})


def _lost_days(before: pa.Table, now: pa.Table) -> pa.Table:
    """(variant, day, cluster_id) of `before` (QUOTE_VARIANTS rows) that no quote of `now` (quotes with `variant`
    and published_at) has: the days of variants gone, and days gone of others."""
    parent, days = exploded_days(before)
    had = _variant_days(before.column("variant").take(pa.array(parent)), days) \
        .append_column("cluster_id", before.column("cluster_id").take(pa.array(parent)))
    return had.join(_variant_days(now.column("variant"), quote_days(now)), ["variant", "day"], join_type="left anti",
                    use_threads=False)


def _named_by_smallest(quotes: pa.Table) -> pa.Table:
    """Quotes with each cluster named by its smallest quote_id."""
    if not quotes.num_rows:
        return quotes
    smallest = quotes.group_by("cluster_id", use_threads=False).aggregate([("quote_id", "min")])
    return with_cluster_ids(quotes, looked_up(quotes.column("cluster_id"), smallest, "cluster_id", "quote_id_min"))


def _with_clusters_of(quotes: pa.Table, old: pa.Table) -> pa.Table:
    """QUOTES rows with the cluster_id their quote_id has in `old` (which holds each of them)."""
    quotes = quotes.select(QUOTES.names).cast(QUOTES)
    return with_cluster_ids(quotes, looked_up(quotes.column("quote_id"), old, "quote_id", "cluster_id"))


def _unchanged(removed: pa.Table, new: pa.Table, before: Callable[[set[str]], pa.Table],
               now: Callable[[set[str]], pa.Table]) -> set[str]:
    """Ids of removed quotes that come back the same, perhaps at other offsets (what clustering reads: text,
    speaker, kind, variant), in an article whose outlet and date did not change."""
    if not removed.num_rows or not new.num_rows:
        return set()
    ids = _values(removed, "article_id") & _values(new, "article_id")

    def meta(lookup: Callable[[set[str]], pa.Table]) -> dict:
        table = only(lookup(ids), "article_id", ids)
        return dict(zip(table.column("article_id").to_pylist(), zip(table.column("outlet").to_pylist(),
                                                                    table.column("published_at").to_pylist())))

    then, current = meta(before), meta(now)
    same_articles = {a for a, m in then.items() if current.get(a) == m}
    columns = [c for c in QUOTES.names if c not in ("cluster_id", "start", "end")]

    def rows(table: pa.Table) -> dict:
        return dict(zip(table.column("quote_id").to_pylist(), zip(*(table.column(c).to_pylist() for c in columns))))

    was, comes = rows(removed), rows(only(new, "article_id", same_articles))
    return {q for q, row in comes.items() if was.get(q) == row}
