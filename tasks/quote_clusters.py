"""Quote clusters: the quotes of one remark across articles, exact copies, fragments and translations.

The rules and keys are in `tasks.quote_rules`. They compare variants: the copies of one wording by one
speaker (`keyed_variants` gives each quote its variant hash), each with the publication days of its copies; the date window holds when some two days are
close, so a copy on a new day is tested as if it were a variant of its own with that day, and a copy on a
day already seen needs no test at all. A cluster is a connected component of confirmed pairs, named by its
smallest member quote_id. Keys and rules read the two variants alone, and every pair with a new variant
(or new day) is tested, so adding articles run by run gives exactly the clusters of one batch over
everything. Old clusters are never re-read whole: a merge is returned as a rename of the absorbed cluster
id. Candidate pairs are made and screened (same speaker, enough shared content words, the template veto)
with vectorised arithmetic a chunk at a time, so memory stays flat however dense the keys; only the pairs
that pass meet the rules. `tasks.quote_index` applies a run's change: removals, state rows, cluster rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks import quote_rules as rules
from tasks.arrays import distinct, forest_roots, joined_roots, looked_up, positions
from tasks.config import QuoteConfig
from tasks.schemas import (
    QUOTE_CLUSTER_OUTLETS,
    QUOTE_CLUSTERS,
    QUOTE_EDGES,
    QUOTE_KEYS,
    QUOTE_VARIANTS,
    QUOTES,
    VARIANT_FEATURES,
)

ASSIGNMENTS = pa.schema([pa.field("quote_id", pa.string(), nullable=False),
                         pa.field("cluster_id", pa.string(), nullable=False)])
RENAMES = pa.schema([pa.field("cluster_id", pa.string(), nullable=False),
                     pa.field("new_cluster_id", pa.string(), nullable=False)])
@dataclass(frozen=True)
class Keyed:
    """Quotes with their variant, and the key rows and features of their distinct variants."""

    quotes: pa.Table  # QUOTES
    keys: pa.Table  # QUOTE_KEYS
    features: pa.Table  # VARIANT_FEATURES


def keyed_variants(quotes: pa.Table, config: QuoteConfig | None = None) -> Keyed:
    """The quotes with their `variant` set, and the keys and features of their distinct variants: everything
    clustering reads of a quote's text, computed once where the quote is found.

    Args:
        quotes: `QUOTES` rows (a `variant` column, if any, is recomputed).
        config: `sketch_size`, pairs per quote (the default config when None).
    """
    sketch_size = (config or QuoteConfig()).sketch_size
    cache: dict[tuple, int] = {}
    keys, key_variants, row_variants, features = [], [], [], {}
    for text, speaker in zip(quotes.column("text").to_pylist(), quotes.column("speaker_entity_id").to_pylist()):
        if (text, speaker) not in cache:
            w = rules.wording(text, speaker)
            cache[text, speaker] = w.variant
            if w.variant not in features:
                features[w.variant] = rules.features(w)
                row_keys = rules.keys_of(w, sketch_size)
                keys += row_keys
                key_variants += [w.variant] * len(row_keys)
        row_variants.append(cache[text, speaker])
    column = pa.array(row_variants, pa.int64())
    if "variant" in quotes.column_names:
        quotes = quotes.set_column(quotes.schema.get_field_index("variant"), QUOTES.field("variant"), column)
    else:
        quotes = quotes.append_column(QUOTES.field("variant"), column)
    return Keyed(quotes, pa.table([pa.array(keys, pa.int64()), pa.array(key_variants, pa.int64())], schema=QUOTE_KEYS),
                 pa.Table.from_pylist(list(features.values()), schema=VARIANT_FEATURES))


def keyed_quotes(quotes: pa.Table, config: QuoteConfig | None = None) -> tuple[pa.Table, pa.Table]:
    """The quotes with their `variant` set, and the key rows of their distinct variants."""
    keyed = keyed_variants(quotes, config)
    return keyed.quotes, keyed.keys


def quote_keys(quotes: pa.Table, config: QuoteConfig | None = None) -> pa.Table:
    """`QUOTE_KEYS` rows of the quotes' distinct variants: the wording's hash and a bottom-k sketch of its pairs."""
    return keyed_quotes(quotes, config)[1]


def quote_days(quotes: pa.Table) -> pa.Array:
    """Publication day (days since 1970, UTC) of each quote's article: its optional published_at, null when unknown."""
    if "published_at" not in quotes.column_names:
        return pa.nulls(quotes.num_rows, pa.int32())
    column = quotes.column("published_at")
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp(column.type.unit))  # UTC wall time
    return pc.cast(pc.cast(column, pa.date32()), pa.int32())


# A null day where a null cannot be: joins match no null, and numpy arrays hold none.
UNKNOWN_DAY = np.iinfo(np.int32).min


def exploded_days(rows: pa.Table) -> tuple[np.ndarray, pa.Array]:
    """The `days` list column of rows flattened: each day's row number, and the days."""
    days = rows.column("days").combine_chunks()
    return pc.list_parent_indices(days).to_numpy(zero_copy_only=False), pc.list_flatten(days)


# The copies `variant_rows` merges: a quote, or an existing variant row standing for its n_quotes copies.
_COPIES = pa.schema([QUOTE_VARIANTS.field(c) for c in
                     ("variant", "quote_id", "cluster_id", "text", "kind", "speaker_entity_id", "speaker_name")]
                    + [pa.field("n", pa.int64())])


def _best_first(table: pa.Table, group: str) -> pa.Array:
    """Row numbers that sort `table` by `group`, then best copy first: a direct quote before a reported one, the
    longest text, the smallest quote_id. (Only these columns are sorted: take rows in this order rather
    than sorting every column.)"""
    keys = pa.table({group: table.column(group), "_indirect": pc.not_equal(table.column("kind"), "direct"),
                     "_length": pc.utf8_length(table.column("text")), "quote_id": table.column("quote_id")})
    return pc.sort_indices(keys, [(group, "ascending"), ("_indirect", "ascending"), ("_length", "descending"),
                                  ("quote_id", "ascending")])


def variant_rows(quotes: pa.Table, *existing: pa.Table, features: pa.Table | None = None) -> pa.Table:
    """`QUOTE_VARIANTS` rows of clustered quotes (with `variant`, optional published_at), merged with existing
    rows of the same variants: one row per variant, its best copy, its number of copies, the distinct days of
    all copies, and the smallest cluster id given (copies of a variant are always in one cluster). Features come
    from the existing rows or `features` (VARIANT_FEATURES), else from the text."""
    copies = [pa.table({"variant": quotes.column("variant"), "quote_id": quotes.column("quote_id"),
                        "cluster_id": quotes.column("cluster_id"), "text": quotes.column("text"),
                        "kind": quotes.column("kind"), "speaker_entity_id": quotes.column("speaker_entity_id"),
                        "speaker_name": quotes.column("speaker_name"),
                        "n": pa.array(np.ones(quotes.num_rows, np.int64))})]
    variant_days = [(quotes.column("variant"), quote_days(quotes))]
    for rows in existing:  # one copy standing for its n_quotes; its days read apart, one per row
        copies.append(rows.select(_COPIES.names[:-1]).append_column("n", pc.cast(rows.column("n_quotes"), pa.int64())))
        parent, days = exploded_days(rows)
        variant_days.append((rows.column("variant").take(pa.array(parent)), days))
    copies = [t.cast(_COPIES) for t in copies if t.num_rows]
    if not copies:
        return QUOTE_VARIANTS.empty_table()
    table = pa.concat_tables(copies)
    order = _best_first(table, "variant")
    firsts = table.take(order.take(pa.array(_first_of_runs(table.column("variant").take(order)))))
    grouped = table.group_by("variant", use_threads=False).aggregate([("cluster_id", "min"), ("n", "sum")]).sort_by("variant")
    days = _distinct_days(_chunked([v for v, _ in variant_days], pa.int64()), _chunked([d for _, d in variant_days], pa.int32()))
    known = [t.select(VARIANT_FEATURES.names) for t in (*existing, *([features] if features is not None else []))]
    found = _aligned_features(firsts.column("variant"), firsts.column("text"), firsts.column("speaker_entity_id"), known)
    return pa.table([firsts.column("variant"), grouped.column("cluster_id_min"), firsts.column("quote_id"),
                     firsts.column("text"), firsts.column("kind"), firsts.column("speaker_entity_id"),
                     firsts.column("speaker_name"), pc.cast(grouped.column("n_sum"), pa.int32()), days,
                     *found.drop_columns(["variant"]).columns], schema=QUOTE_VARIANTS)


def _chunked(columns: list[pa.Array | pa.ChunkedArray], type_: pa.DataType) -> pa.ChunkedArray:
    """Arrays and chunked arrays as one chunked array."""
    return pa.chunked_array([c for column in columns for c in getattr(column, "chunks", [column])], type_)


def _distinct_days(variant: pa.ChunkedArray, day: pa.ChunkedArray) -> pa.ListArray:
    """The distinct days of each variant, unknown (null) first, then in order: a list per variant, in variant order."""
    variant, day = _distinct_pairs(variant.combine_chunks().to_numpy(),
                                   pc.fill_null(day, UNKNOWN_DAY).combine_chunks().to_numpy(zero_copy_only=False))
    offsets = np.r_[_first_of_runs(pa.array(variant)), len(variant)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(day, pa.int32(), mask=day == UNKNOWN_DAY))


def _distinct_pairs(key: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (key, day) pairs, by key and then day (UNKNOWN_DAY, which stands for null, first)."""
    order = np.lexsort((day, key))
    key, day = key[order], day[order]
    first = np.r_[True, (key[1:] != key[:-1]) | (day[1:] != day[:-1])] if len(key) else np.zeros(0, bool)
    return key[first], day[first]


def _aligned_features(variants: pa.ChunkedArray, texts: pa.ChunkedArray, speakers: pa.ChunkedArray,
                      known: list[pa.Table]) -> pa.Table:
    """VARIANT_FEATURES rows for the given variants, in their order: from `known` tables, else from the text."""
    table, rows = _feature_rows(variants, texts, speakers, known)
    return table.take(pa.array(rows))


def _feature_rows(variants: pa.ChunkedArray, texts: pa.ChunkedArray, speakers: pa.ChunkedArray,
                  known: list[pa.Table]) -> tuple[pa.Table, np.ndarray]:
    """VARIANT_FEATURES rows holding the given variants' (from `known` tables, else from the text), and the row of
    each variant in it, in their order. The rows are not taken: their word lists are what the rows weigh."""
    wanted = variants.to_numpy() if isinstance(variants, pa.Array) else variants.combine_chunks().to_numpy(zero_copy_only=False)
    table = pa.concat_tables([VARIANT_FEATURES.empty_table(), *[t.cast(VARIANT_FEATURES) for t in known]])
    # The row of each variant's first copy, found in numpy: the rows themselves (word lists and all) stay where they are.
    variant = table.column("variant").combine_chunks().to_numpy()
    order = np.argsort(variant, kind="stable")
    firsts = order[_first_of_runs(pa.array(variant[order]))]
    at, hit = positions(variant[firsts], wanted)
    row = firsts[at] if len(firsts) else at  # read only where hit
    if hit.all():
        return table, row
    missing = np.flatnonzero(~hit)
    texts, speakers = texts.take(pa.array(missing)).to_pylist(), speakers.take(pa.array(missing)).to_pylist()
    extra = pa.Table.from_pylist([rules.features(rules.wording(t, sp)) for t, sp in zip(texts, speakers)], schema=VARIANT_FEATURES)
    return pa.concat_tables([table, extra]), np.where(hit, row, table.num_rows + np.cumsum(~hit) - 1)


def _first_of_runs(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Row numbers where a sorted column takes a new value."""
    values = column.to_numpy() if isinstance(column, pa.Array) else column.combine_chunks().to_numpy(zero_copy_only=False)
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]]) if len(values) else np.empty(0, np.int64)


# Candidate pairs are made this many at a time, so memory stays flat however dense the keys.
PAIR_CHUNK = 500_000


def _candidate_pairs(new_keys: pa.Table, old_keys: pa.Table, variants: np.ndarray, owner_rank: np.ndarray | None = None,
                     component: np.ndarray | None = None):
    """Chunks of node pairs (a < b, indexes into the sorted `variants`) sharing a key, at least one of them from
    `new_keys`; key rows of variants not in `variants` are ignored. Each pair comes once over all chunks: its new
    node makes it (the smaller of two new ones), and a chunk holds every pair of a range of such owners, so a pair
    sharing several keys is deduplicated within its chunk. Owners are taken in order of `owner_rank` (distinct
    values, one per node; by default the node's own number).

    With `component` (a label per node, such as the clusters already joined), a key whose nodes all have one label
    makes no pairs: those pairs are joined already. Pairs of one label may still come from a key with others."""
    if not len(variants):
        return
    key = np.concatenate([new_keys.column("key").to_numpy(), old_keys.column("key").to_numpy()])
    var = np.concatenate([new_keys.column("variant").to_numpy(), old_keys.column("variant").to_numpy()])
    node, known = positions(variants, var)
    new = np.zeros(len(key), bool)
    new[: new_keys.num_rows] = True
    key, node, new = key[known], node[known], new[known]
    order = np.lexsort((~new, node, key))  # per (key, node), a new row first
    key, node, new = key[order], node[order], new[order]
    first = np.r_[True, (key[1:] != key[:-1]) | (node[1:] != node[:-1])] if len(key) else np.zeros(0, bool)
    key, node, new = key[first], node[first], new[first]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, np.int64)
    sizes = np.diff(np.r_[starts, len(key)])
    group = np.repeat(np.arange(len(starts)), sizes)
    pairing = sizes > 1
    if component is not None and len(starts):  # a key whose nodes are all of one component pairs none of them
        label = component[node]
        pairing &= np.minimum.reduceat(label, starts) != np.maximum.reduceat(label, starts)
    rows = np.flatnonzero(new & pairing[group])  # a new node meets every node of its key
    rank = np.arange(len(variants)) if owner_rank is None else owner_rank
    rows = rows[np.argsort(rank[node[rows]], kind="stable")]  # by owner
    owners, counts = rank[node[rows]], sizes[group[rows]]
    ends = np.cumsum(counts)
    begin = 0
    while begin < len(rows):
        stop = max(int(np.searchsorted(ends, ends[begin] - counts[begin] + PAIR_CHUNK, "right")), begin + 1)
        stop = int(np.searchsorted(owners, owners[stop - 1], "right"))  # an owner's pairs stay in one chunk
        part_rows, part_counts = rows[begin:stop], counts[begin:stop]
        left = np.repeat(part_rows, part_counts)
        right = starts[group[left]] + np.arange(len(left)) - np.repeat(np.cumsum(part_counts) - part_counts, part_counts)
        x, y = node[left], node[right]
        keep = (x != y) & ~(new[right] & (y < x))
        code = distinct(np.minimum(x, y)[keep] * len(variants) + np.maximum(x, y)[keep])
        yield code // len(variants), code % len(variants)
        begin = stop


@dataclass(frozen=True)
class ClusterUpdate:
    """What a clustering run changes: the new quotes' clusters, and old clusters merged into others."""

    assignments: pa.Table  # ASSIGNMENTS: quote_id -> cluster_id for every new quote
    renames: pa.Table  # RENAMES: old cluster_id -> the id of the cluster it joined
    edges: pa.Table = field(default_factory=QUOTE_EDGES.empty_table)  # QUOTE_EDGES: the pairs the rules joined


def _root(parent: np.ndarray, a: int) -> int:
    while parent[a] != a:
        a = parent[a]
    return a


def cluster_quotes(new_quotes: pa.Table, new_keys: pa.Table, old_variants: pa.Table, old_keys: pa.Table,
                   config: QuoteConfig, new_features: pa.Table | None = None,
                   known_edges: pa.Table | None = None) -> ClusterUpdate:
    """Cluster ids for new quotes, and renames of old clusters that a new quote joins together.

    The rules compare variants (copies of one wording by one speaker), each with the publication days of its
    copies. A new copy of a known variant on a day it already has adds nothing to compare: leave its variant's
    key rows out of `new_keys`, and it just joins its variant's cluster.

    Args:
        new_quotes: quotes not yet clustered (`QUOTES` rows, cluster_id ignored; optional published_at; the
            variant is computed when the table has no `variant` column).
        new_keys: key rows of the variants whose pairs are to be tested (`quote_keys(new_quotes)`, or fewer).
        old_variants: `QUOTE_VARIANTS` rows of the clustered variants sharing a key with `new_keys`, at least,
            and of the new quotes' variants that exist already (no rows: a batch from scratch).
        old_keys: key rows of old variants (only rows sharing a key with `new_keys` matter).
        config: the confirmation thresholds.
        new_features: VARIANT_FEATURES of the new quotes' variants (computed from their text when None).
        known_edges: QUOTE_EDGES rows of pairs known to pass the rules with the days the variants have here (the
            links kept of clusters being repaired): their variants are joined without a test, so only pairs
            across the pieces they leave are tested. Rows naming a variant not clustered here are ignored.

    The update's `edges` are the pairs the rules joined here: with the known edges, a spanning forest.
    """
    if "variant" not in new_quotes.column_names or new_features is None:
        keyed = keyed_variants(new_quotes, config)
        new_quotes, new_features = keyed.quotes, keyed.features
    old = old_variants if old_variants.num_rows else QUOTE_VARIANTS.empty_table()
    new_ids, new_variant = new_quotes.column("quote_id").combine_chunks(), new_quotes.column("variant").to_numpy()
    variants = distinct(np.concatenate([old.column("variant").to_numpy(), new_variant]))
    old_node = np.searchsorted(variants, old.column("variant").to_numpy())
    new_node = np.searchsorted(variants, new_variant)
    # Each node's text and speaker: its old state row's, else its first new quote's (no Python string per quote).
    node = np.concatenate([old_node, new_node])
    by_node = np.argsort(node, kind="stable")
    first = pa.array(by_node[np.searchsorted(node[by_node], np.arange(len(variants)))])  # every node has a row
    # Kept in Arrow: only the nodes a pair is tested on need their text as a Python string (`_Wordings`).
    texts, speakers = (pa.chunked_array(old.column(c).chunks + new_quotes.column(c).chunks, pa.string()).take(first)
                       .combine_chunks() for c in ("text", "speaker_entity_id"))
    days_of = _NodeDays(len(variants), old, old_node, new_node, quote_days(new_quotes))
    # Nodes: one per variant, then one per old cluster id.
    old_cluster = old.column("cluster_id").combine_chunks()
    clusters = pc.unique(old_cluster)
    clusters = clusters.take(pc.sort_indices(clusters))
    code = pc.index_in(old_cluster, value_set=clusters).to_numpy(zero_copy_only=False)
    cluster_node = len(variants) + code.astype(np.int64)
    ends = [(old_node, cluster_node)]  # pairs to join: each old variant and its cluster, then the known edges
    if known_edges is not None and known_edges.num_rows:
        at_a, a_here = positions(variants, known_edges.column("variant_a").to_numpy())
        at_b, b_here = positions(variants, known_edges.column("variant_b").to_numpy())
        ends.append((at_a[a_here & b_here], at_b[a_here & b_here]))
    parent = joined_roots(np.arange(len(variants) + len(clusters)), *(np.concatenate(side) for side in zip(*ends)))
    joined: list[tuple[int, int]] = []
    features, rows = _feature_rows(pa.array(variants), texts, speakers, [old.select(VARIANT_FEATURES.names), new_features])
    screen = _Screen(features, speakers, config, rows)
    wording = _Wordings(texts, speakers, screen.speaker)
    # Owners in speaker order: the pairs the screen keeps join one speaker's nodes, so once a chunk's kept pairs
    # start at a speaker, no later pair needs the wordings of the speakers before it.
    owner_rank = (screen.speaker + 1) * len(variants) + np.arange(len(variants))
    for a, b in _candidate_pairs(new_keys, old_keys, variants, owner_rank, forest_roots(parent)):  # each pair once
        roots = forest_roots(parent)
        apart = roots[a] != roots[b]  # a pair already joined (by a known link, say) needs no screen nor test
        a, b = screen.keep(a[apart], b[apart])
        if len(a):
            wording.release_before(int(screen.speaker[a].min()))
            _test_pairs(a, b, parent,
                        lambda i, j: rules.same(wording(i), wording(j), config, lambda: rules.near(days_of[i], days_of[j], config)),
                        joined)
    # Each component is named by the smallest id in it: an old cluster's id (the smallest quote_id of its members)
    # or a new quote's id.
    roots = forest_roots(parent)
    ids = pa.concat_arrays([clusters.cast(pa.string()), new_ids])
    root_of = pa.array(np.concatenate([roots[len(variants) + np.arange(len(clusters), dtype=np.int64)], roots[new_node]]))
    names = pa.table({"root": root_of, "id": ids}).group_by("root", use_threads=False).aggregate([("id", "min")])
    name = pc.take(names.column("id_min"), pc.index_in(root_of, value_set=names.column("root").combine_chunks()))
    assignments = name.slice(len(clusters))
    cluster_names = name.slice(0, len(clusters))
    moved = pc.not_equal(cluster_names, ids.slice(0, len(clusters)))
    pairs = np.array(joined, np.int64).reshape(-1, 2)
    ends = np.sort(variants[pairs], axis=1) if len(pairs) else pairs
    return ClusterUpdate(pa.table([new_ids, assignments], schema=ASSIGNMENTS),
                         pa.table([ids.slice(0, len(clusters)).filter(moved), cluster_names.filter(moved)], schema=RENAMES),
                         pa.table([ends[:, 0], ends[:, 1]], schema=QUOTE_EDGES))


class _NodeDays:
    """The distinct publication days of each node's copies (None: unknown), from its state row's days and its new
    quotes'."""

    def __init__(self, n_nodes: int, old: pa.Table, old_node: np.ndarray, new_node: np.ndarray, new_days: pa.Array):
        parent, old_days = exploded_days(old)
        node = np.concatenate([old_node[parent], new_node])
        day = np.concatenate([pc.fill_null(old_days, UNKNOWN_DAY).to_numpy(zero_copy_only=False),
                              pc.fill_null(new_days, UNKNOWN_DAY).to_numpy(zero_copy_only=False)]).astype(np.int64)
        node, self._day = _distinct_pairs(node, day)  # a wording copied thousands of times on a few days keeps a few
        self._bounds = np.searchsorted(node, np.arange(n_nodes + 1))

    def __getitem__(self, node: int) -> list[int | None]:
        return [None if d == UNKNOWN_DAY else d for d in self._day[self._bounds[node] : self._bounds[node + 1]].tolist()]


class _Wordings:
    """Each node's `rules.Wording`, made on first use and kept until `release_before` lets go of the wordings of
    speakers before a given one. An unbounded cache held every tested node's (~4.9 KB each: ~250 MB over the 30k
    corpus's 51k tested variants); pairs in speaker order need only the current chunk's speakers' (so the most
    quoted speaker's variants set the bound)."""

    def __init__(self, texts: pa.Array, speakers: pa.Array, speaker_code: np.ndarray):
        self._texts, self._speakers, self._code = texts, speakers, speaker_code
        self._held: dict[int, dict[int, rules.Wording]] = {}  # speaker code -> node -> wording

    def __call__(self, node: int) -> rules.Wording:
        held = self._held.setdefault(int(self._code[node]), {})
        if node not in held:
            held[node] = rules.wording(self._texts[node].as_py(), self._speakers[node].as_py())
        return held[node]

    def release_before(self, code: int) -> None:
        for gone in [c for c in self._held if c < code]:
            del self._held[gone]


def _test_pairs(a: np.ndarray, b: np.ndarray, parent: np.ndarray, same: Callable[[int, int], bool],
                joined: list[tuple[int, int]]) -> None:
    """Join the pairs `same` confirms, in rounds of one pair per two components still apart, skipping pairs
    joined meanwhile (in a round too: of its pairs (x, y), (y, z), (x, z), the last is not tested when the first
    two joined). Each pair that joined two components is appended to `joined`."""
    while len(a):
        roots = forest_roots(parent)
        apart = roots[a] != roots[b]
        a, b = a[apart], b[apart]
        if not len(a):
            break
        ra, rb = roots[a], roots[b]
        order = np.lexsort((rb, ra))
        firsts = order[np.r_[True, (ra[order][1:] != ra[order][:-1]) | (rb[order][1:] != rb[order][:-1])]]
        for i, j in zip(a[firsts].tolist(), b[firsts].tolist()):
            ri, rj = _root(parent, i), _root(parent, j)
            if ri != rj and same(i, j):
                parent[max(ri, rj)] = min(ri, rj)
                joined.append((i, j))
        tested = np.zeros(len(a), bool)
        tested[firsts] = True
        a, b = a[~tested], b[~tested]


class _WordSets:
    """One kind of word set of every node (row `rows[i]` of a list column for node i) as dense word ids in one array
    sorted by (node, id), so the words two nodes share are counted with a binary search per word of one side."""

    def __init__(self, lists: pa.ChunkedArray, rows: np.ndarray):
        lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
        ids = pc.dictionary_encode(pc.list_flatten(lists)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        offsets = lists.offsets.to_numpy().astype(np.int64)
        self.count = (offsets[1:] - offsets[:-1])[rows]
        self._start = np.cumsum(self.count) - self.count
        # Each node's words gathered from its row: the ids of the row's words, node after node.
        ids = ids[np.repeat(offsets[rows] - offsets[0] - self._start, self.count) + np.arange(int(self.count.sum()))]
        # In node order already, each node's few words not: a stable sort (a radix-merge of the sorted runs) takes a
        # third of the time of the default quicksort on it (1.2M codes: 0.078 -> 0.021 s).
        self._codes = np.sort(np.repeat(np.arange(len(rows), dtype=np.int64), self.count) << 32 | ids, kind="stable")

    def shared(self, probe: np.ndarray, other: np.ndarray) -> np.ndarray:
        """How many words of each `probe` node are among its `other` node's."""
        order = np.argsort(other, kind="stable")  # look-ups near each other: fewer cache misses
        probe, other = probe[order], other[order]
        count = self.count[probe]
        pair = np.repeat(np.arange(len(probe)), count)
        offset = np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
        words = self._codes[self._start[probe][pair] + offset] & 0xFFFFFFFF
        wanted = other[pair] << 32 | words
        found = positions(self._codes, wanted)[1]
        shared = np.empty(len(probe), np.int64)
        shared[order] = np.bincount(pair, weights=found, minlength=len(probe))
        return shared


class _Screen:
    """The cheap rejections of `rules.same`, for whole arrays of candidate pairs at once: another speaker, too few
    shared content words, a part of another quote too short to be its fragment or translation with too few
    shared words to be its paraphrase, and "the same sentence, other names". A pair with fewer shared words is kept
    when shared phrases may join it (whole, `phrases_min_content_words` shared, no names on both sides that the
    other lacks). It reads the variants' features (row `rows[i]` for node i), never their text, and drops only
    pairs `rules.same` rejects; where it cannot tell exactly (a collision of name bits or word hashes) it keeps the
    pair for `rules.same`."""

    PAIRS_AT_ONCE = 50_000  # pairs per vectorised step: about 12 words each, so a few MB

    def __init__(self, features: pa.Table, speakers: pa.Array, config: QuoteConfig, rows: np.ndarray | None = None):
        """Node i reads row `rows[i]` of `features` (row i without `rows`)."""
        rows = np.arange(features.num_rows) if rows is None else rows
        self._config = config
        # Each speaker's number in the sorted order of the speakers (UTF-8 sorts as code points); -1: none known.
        known = pc.unique(pc.drop_null(speakers))
        known = known.filter(pc.not_equal(known, ""))
        known = known.take(pc.sort_indices(known))
        self.speaker = pc.fill_null(pc.index_in(speakers, value_set=known), -1).to_numpy(zero_copy_only=False).astype(np.int64)
        self._n_words = features.column("n_words").to_numpy().astype(np.int64)[rows]
        self._words = features.column("words_hash").to_numpy()[rows]
        self._names = features.column("names_mask").to_numpy()[rows]
        self._content, self._plain = _WordSets(features.column("content"), rows), _WordSets(features.column("plain"), rows)

    def keep(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs `rules.same` may confirm: one known speaker (or two copies of one wording by no known speaker,
        which are one node), then the word tests."""
        same_speaker = self.speaker[a] == self.speaker[b]
        a, b = a[same_speaker], b[same_speaker]
        keep = np.zeros(len(a), bool)
        for lo in range(0, len(a), self.PAIRS_AT_ONCE):
            keep[lo : lo + self.PAIRS_AT_ONCE] = self._keep(a[lo : lo + self.PAIRS_AT_ONCE], b[lo : lo + self.PAIRS_AT_ONCE])
        return a[keep], b[keep]

    def _keep(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        config, content, plain, n_words = self._config, self._content, self._plain, self._n_words
        exact = self._words[a] == self._words[b]  # or a hash collision: kept for `rules.same` either way
        probe = np.where(content.count[a] <= content.count[b], a, b)
        shared = content.shared(probe, np.where(probe == a, b, a))
        whole = np.minimum(n_words[a], n_words[b]) >= config.min_length_ratio * np.maximum(n_words[a], n_words[b])
        # Each names something the other does not: a bit one side has and the other lacks is such a name.
        ma, mb = self._names[a], self._names[b]
        other_names = ((ma & ~mb) != 0) & ((mb & ~ma) != 0)
        enough = ((shared >= config.min_shared_content * content.count[probe]) &
                  (whole | (shared >= config.speaker_paraphrase_min_shared))) | \
            (whole & (shared >= config.phrases_min_content_words) & ~other_names)  # shared phrases
        # "Same sentence, other names": other names, and the shorter's plain words nearly all recur in the longer.
        # When both have as many words, which is "shorter" depends on their wording, so the veto must then hold
        # both ways.
        keep = exact | (enough & (self.speaker[a] >= 0))  # quotes of no known speaker join their exact copies only
        ask = np.flatnonzero(keep & ~exact & other_names)
        a, b = a[ask], b[ask]
        a_in_b = plain.shared(a, b) >= rules.TEMPLATE_SHARE * plain.count[a]
        b_in_a = plain.shared(b, a) >= rules.TEMPLATE_SHARE * plain.count[b]
        keep[ask] = ~np.where(n_words[a] < n_words[b], a_in_b, np.where(n_words[b] < n_words[a], b_in_a, a_in_b & b_in_a))
        return keep


def with_cluster_ids(quotes: pa.Table, column: pa.ChunkedArray | pa.Array) -> pa.Table:
    """The quotes with their cluster_id column replaced."""
    return quotes.set_column(quotes.schema.get_field_index("cluster_id"), QUOTES.field("cluster_id"), column)


def assign_clusters(quotes: pa.Table, update: ClusterUpdate) -> pa.Table:
    """The quotes with a clustering run applied: new quotes' ids set, renamed clusters' members moved."""
    current = quotes.column("cluster_id")
    renamed = pc.coalesce(looked_up(current, update.renames, "cluster_id", "new_cluster_id"), current)
    return with_cluster_ids(quotes, pc.coalesce(looked_up(quotes.column("quote_id"), update.assignments, "quote_id",
                                                          "cluster_id"), renamed))


def _summaries(variants: pa.Table) -> pa.Table:
    """Per cluster of `variants` (QUOTE_VARIANTS rows, all of each cluster's): the representative text (the best
    copy of its most repeated variant), the speaker of most quotes (then the smallest id), and n_quotes."""
    ranked = variants.select(["cluster_id", "n_quotes", "quote_id", "text", "kind"]) \
        .append_column("_fewer", pc.negate(variants.column("n_quotes")))
    ranked = ranked.take(_best_first(ranked, "cluster_id"))
    ranked = ranked.sort_by([("cluster_id", "ascending"), ("_fewer", "ascending")])  # stable: the best copy order stays
    best = ranked.take(_first_of_runs(ranked.column("cluster_id"))).select(["cluster_id", "text"])
    known = variants.filter(pc.is_valid(variants.column("speaker_entity_id")))
    speakers = known.group_by(["cluster_id", "speaker_entity_id", "speaker_name"], use_threads=False) \
        .aggregate([("n_quotes", "sum")]).sort_by([("cluster_id", "ascending"), ("n_quotes_sum", "descending"),
                                                    ("speaker_entity_id", "ascending"), ("speaker_name", "ascending")])
    speakers = speakers.take(_first_of_runs(speakers.column("cluster_id"))).drop_columns(["n_quotes_sum"])
    counts = variants.group_by("cluster_id", use_threads=False).aggregate([("n_quotes", "sum")])
    return best.join(speakers, "cluster_id", use_threads=False).join(counts, "cluster_id", use_threads=False)


def _reach(members: pa.Table, articles: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Per cluster of `members` (cluster_id, article_id of quotes): distinct articles, first and last published_at;
    and the distinct (cluster_id, outlet) rows. `articles`: article_id, outlet, published_at."""
    meta = articles.select(["article_id", "outlet", "published_at"])
    meta = meta.take(_first_of_runs(meta.sort_by("article_id").column("article_id"))) if meta.num_rows else meta
    pairs = members.select(["cluster_id", "article_id"]).group_by(["cluster_id", "article_id"], use_threads=False) \
        .aggregate([]).join(meta, "article_id", use_threads=False)
    reach = pairs.group_by("cluster_id", use_threads=False).aggregate([
        ("article_id", "count"), ("published_at", "min"), ("published_at", "max")])
    reach = reach.rename_columns(["cluster_id", "n_articles", "first_seen", "last_seen"])
    outlets = pairs.filter(pc.is_valid(pairs.column("outlet"))).group_by(["cluster_id", "outlet"], use_threads=False) \
        .aggregate([])
    return reach, outlets.select(QUOTE_CLUSTER_OUTLETS.names).cast(QUOTE_CLUSTER_OUTLETS)


def _cluster_table(summaries: pa.Table, reach: pa.Table, outlets: pa.Table) -> pa.Table:
    n_outlets = outlets.group_by("cluster_id", use_threads=False).aggregate([("outlet", "count")])
    rows = summaries.join(reach, "cluster_id", use_threads=False).join(n_outlets, "cluster_id", use_threads=False) \
        .sort_by("cluster_id")
    return pa.table({
        "cluster_id": rows.column("cluster_id"), "text": rows.column("text"),
        "speaker_entity_id": rows.column("speaker_entity_id"), "speaker_name": rows.column("speaker_name"),
        "n_quotes": pc.cast(rows.column("n_quotes_sum"), pa.int32()),
        "n_articles": pc.cast(pc.coalesce(rows.column("n_articles"), 0), pa.int32()),
        "n_outlets": pc.cast(pc.coalesce(rows.column("outlet_count"), 0), pa.int32()),
        "first_seen": pc.cast(rows.column("first_seen"), QUOTE_CLUSTERS.field("first_seen").type),
        "last_seen": pc.cast(rows.column("last_seen"), QUOTE_CLUSTERS.field("last_seen").type),
    }, schema=QUOTE_CLUSTERS)


def quote_cluster_rows(variants: pa.Table, members: pa.Table, articles: pa.Table) -> tuple[pa.Table, pa.Table]:
    """`quote_clusters` rows of the clusters of `variants`, and their outlets (QUOTE_CLUSTER_OUTLETS rows).

    Args:
        variants: QUOTE_VARIANTS rows of every variant of the clusters.
        members: cluster_id and article_id of every quote of the clusters.
        articles: article_id, outlet, published_at of their articles; articles without an outlet or date add
            nothing to n_outlets, first_seen or last_seen.
    """
    if not variants.num_rows:
        return QUOTE_CLUSTERS.empty_table(), QUOTE_CLUSTER_OUTLETS.empty_table()
    reach, outlets = _reach(members, articles)
    return _cluster_table(_summaries(variants), reach, outlets), outlets


def grown_cluster_rows(variants: pa.Table, old_rows: pa.Table, old_outlets: pa.Table, new_members: pa.Table,
                       articles: pa.Table) -> tuple[pa.Table, pa.Table]:
    """`quote_clusters` rows and outlets of clusters that only gained quotes (no member left or moved), from their
    previous rows and outlets and the new members alone (none of whose articles was in the cluster before).

    Args:
        variants: QUOTE_VARIANTS rows of every variant of the clusters, updated.
        old_rows, old_outlets: the clusters' previous `quote_clusters` and outlet rows (none for a new cluster).
        new_members: cluster_id and article_id of the new quotes.
        articles: article_id, outlet, published_at of the new quotes' articles.
    """
    if not variants.num_rows:
        return QUOTE_CLUSTERS.empty_table(), QUOTE_CLUSTER_OUTLETS.empty_table()
    reach, outlets = _reach(new_members, articles)
    old = old_rows.select(["cluster_id", "n_articles", "first_seen", "last_seen"])
    reach = pa.concat_tables([old.cast(reach.schema), reach]).group_by("cluster_id", use_threads=False).aggregate([
        ("n_articles", "sum"), ("first_seen", "min"), ("last_seen", "max")])
    reach = reach.rename_columns(["cluster_id", "n_articles", "first_seen", "last_seen"])
    outlets = pa.concat_tables([old_outlets.cast(QUOTE_CLUSTER_OUTLETS), outlets]) \
        .group_by(["cluster_id", "outlet"], use_threads=False).aggregate([]).select(QUOTE_CLUSTER_OUTLETS.names)
    return _cluster_table(_summaries(variants), reach, outlets), outlets.cast(QUOTE_CLUSTER_OUTLETS)
