"""Quote clusters: the quotes of one remark across articles, exact copies, fragments and translations.

A quote's keys are fixed by its own text, never by the rest of the corpus: the hash of its
normalised wording, and for a known speaker the `sketch_size` smallest hashes of its consecutive
content-word pairs scoped by the speaker (a bottom-k sketch). Quotes sharing a key are candidates;
the rules of `same_remark` confirm them:

- exact: the same words once case, quote style and punctuation are ignored;
- fragment: the shorter (at least `fragment_min_words` words) sits inside the longer
  (`partial_ratio` >= `fragment_min_score`);
- translation: both have at least `paraphrase_min_content_words` content words and
  `token_set_ratio` of the stemmed content words reaches `paraphrase_min_score`;
- paraphrase: at least `speaker_paraphrase_min_shared` shared content words, one consecutive pair
  among them, making `speaker_paraphrase_min_overlap` of the shorter quote's content words.

All but exact copies need the same known speaker, `min_shared_content` of the shorter quote's content
words in the other, and no "same sentence, other names" ("Kenya ... Spain" vs "Ireland ... Norway";
"US" stands for "United States"). Quotes of no known speaker join their exact copies only: as wildcards
they bridged the remarks of different speakers into clusters of thousands. Fragments and translations
need the shorter quote to hold `min_length_ratio` of the longer's words, or a speech quoted whole would
chain its remarks together. Translations and paraphrases need two copies published at most
`paraphrase_max_days` apart, or a date unknown (an optional `published_at` column of the quotes
tables): a leader repeats a phrase at the next summit, and that is another remark.

A cluster is a connected component of confirmed pairs, named by its smallest member quote_id. Keys and
rules read the two quotes alone, and every pair with a new quote is tested, so adding articles run by
run gives exactly the clusters of one batch over everything. Old clusters are never re-read whole: a
merge is returned as a rename of the absorbed cluster id. When a member is removed (`drop_articles`),
the survivors of its cluster are re-clustered among themselves.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz

from tasks.config import QuoteConfig
from tasks.schemas import QUOTE_CLUSTERS, QUOTE_KEYS, QUOTES

ASSIGNMENTS = pa.schema([pa.field("quote_id", pa.string(), nullable=False),
                         pa.field("cluster_id", pa.string(), nullable=False)])
RENAMES = pa.schema([pa.field("cluster_id", pa.string(), nullable=False),
                     pa.field("new_cluster_id", pa.string(), nullable=False)])
_STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "for", "with", "by", "at", "from", "as", "into", "onto", "over", "than", "then", "that", "this", "these", "those", "there", "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "it", "its", "we", "our", "us", "i", "me", "my", "you", "your", "he", "him", "his", "she", "her", "they", "them", "their", "who", "whom", "whose", "which", "what", "while", "also", "very", "such", "all", "any", "both", "each", "more", "most", "other", "some", "so", "not", "no", "nor", "up", "out", "about", "if"])
_TOKEN = re.compile(r"[^\W_]+")
_TOKEN_OR_STOP = re.compile(r"[^\W_]+|[.!?;:]")
_POSSESSIVE = re.compile(r"['’]s\b")


def _words(text: str) -> list[str]:
    """Lower-case words without punctuation, quote style or possessive endings."""
    return _TOKEN.findall(_POSSESSIVE.sub("", text.casefold()))


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A crude plural stem, enough for "provocations"/"provocation" and "limits"/"limit"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little", signed=True)


def _key_hash(value: str) -> int:
    """A fast stable 32-bit hash for keys: a collision only proposes one more pair to compare."""
    return zlib.crc32(value.encode())


def _days(quotes: pa.Table) -> list[int | None]:
    """Publication day of each quote's article (an optional published_at column), None when unknown."""
    if "published_at" not in quotes.column_names:
        return [None] * quotes.num_rows
    column = quotes.column("published_at")
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp(column.type.unit))  # UTC wall time
    return pc.cast(column, pa.date32()).cast(pa.int32()).to_pylist()


@dataclass(frozen=True)
class _Wording:
    """What the confirmation rules read of one quote's text; quotes of one variant have equal wordings."""

    words: str
    n_words: int
    content: str
    content_set: frozenset[str]
    pairs: frozenset[str]
    names: frozenset[str]
    plain: frozenset[str]  # content words that are not names
    speaker: str | None

    @property
    def variant(self) -> int:
        """Hash of everything the rules read but the date: copies of one quote share it."""
        return _hash("\x00".join([self.words, self.content, " ".join(sorted(self.names)), self.speaker or ""]))


def _wording(text: str, speaker_entity_id: str | None) -> _Wording:
    """The words and stemmed content words of a text (acronyms such as "US" are never stopwords), and its
    names and figures: capitalised words not opening a sentence, acronyms, numbers, and the initials of
    runs of names, so that "US" matches "United States"."""
    words, content, names, run, opening = [], [], set(), [], True
    for token in _TOKEN_OR_STOP.findall(_POSSESSIVE.sub("", text)):
        if token in ".!?;:":
            opening = True
            if len(run) > 1:
                names.add("".join(run))
            run = []
            continue
        folded = token.casefold()
        words.append(folded)
        acronym = len(token) > 1 and token.isupper()
        if folded not in _STOPWORDS or acronym:
            content.append(_stem(folded))
        if acronym or (not opening and token[0].isupper() and folded not in _STOPWORDS):
            names.add(folded if acronym else folded[:4])
            run.append(folded[0])
        else:
            if token.isdigit():
                names.add(token)
            if len(run) > 1:
                names.add("".join(run))
            run = []
        opening = False
    if len(run) > 1:
        names.add("".join(run))
    names = frozenset(names)
    plain = frozenset(w for w in content if w[:4] not in names and w not in names)
    return _Wording(" ".join(words), len(words), " ".join(content), frozenset(content),
                    frozenset(f"{a} {b}" for a, b in itertools.pairwise(content)), names, plain, speaker_entity_id)


def variant(text: str, speaker_entity_id: str | None) -> int:
    """Hash of a quote's normalised wording, names and speaker: copies of one quote share it."""
    return _wording(text, speaker_entity_id).variant


def _near(a_days: Iterable[int | None], b_days: Iterable[int | None], config: QuoteConfig) -> bool:
    """Whether some copies of two quotes were published close enough, or one date is unknown."""
    a_days, b_days = sorted(a_days, key=lambda d: -1 if d is None else d), sorted(b_days, key=lambda d: -1 if d is None else d)
    if not a_days or not b_days or a_days[0] is None or b_days[0] is None:
        return True
    i = j = 0
    while i < len(a_days) and j < len(b_days):  # the closest two days of two sorted lists
        if abs(a_days[i] - b_days[j]) <= config.paraphrase_max_days:
            return True
        if a_days[i] < b_days[j]:
            i += 1
        else:
            j += 1
    return False


def _template(short: _Wording, long: _Wording) -> bool:
    """Whether the words of the shorter quote that are not names nearly all recur in the longer."""
    return len(short.plain & long.plain) >= 0.8 * len(short.plain)


def _same(a: _Wording, b: _Wording, config: QuoteConfig, near: Callable[[], bool] = lambda: True) -> bool:
    """The confirmation rules; `near()` says whether the two were published close enough for a paraphrase."""
    if a.speaker != b.speaker:
        return False  # unknown is a speaker of its own: a quote of no known speaker must not bridge two
    if a.words == b.words:
        return True
    if not a.speaker:
        return False  # nor join anything but its exact copies: nothing else tells two anonymous remarks apart
    shared = len(a.content_set & b.content_set)
    fewest = min(len(a.content_set), len(b.content_set))
    if shared < config.min_shared_content * fewest:
        return False  # every rule below needs most of the shorter quote's content words in the other
    short, long = (a, b) if a.n_words <= b.n_words else (b, a)
    if a.names - b.names and b.names - a.names and _template(short, long):
        return False  # the same sentence about other people, places or figures: another remark
    # A long quote holding several remarks must not chain them together.
    whole = short.n_words >= config.min_length_ratio * long.n_words
    if whole and short.n_words >= config.fragment_min_words and \
            fuzz.partial_ratio(short.words, long.words, score_cutoff=config.fragment_min_score):
        return True
    if not near():
        return False
    if whole and fewest >= config.paraphrase_min_content_words and \
            fuzz.token_set_ratio(a.content, b.content, score_cutoff=config.paraphrase_min_score):
        return True
    return shared >= config.speaker_paraphrase_min_shared and \
        shared >= config.speaker_paraphrase_min_overlap * fewest and bool(a.pairs & b.pairs)


def same_remark(a: dict, b: dict, config: QuoteConfig) -> bool:
    """Whether two quote rows (text, speaker_entity_id, optional published_at) render the same remark."""
    days = [None if r.get("published_at") is None else r["published_at"].toordinal() for r in (a, b)]
    return _same(_wording(a["text"], a["speaker_entity_id"]), _wording(b["text"], b["speaker_entity_id"]), config,
                 lambda: _near([days[0]], [days[1]], config))


def _keys_of(w: _Wording, sketch_size: int) -> list[int]:
    """The wording key, and for a known speaker the bottom-k of its content-word pairs scoped by the speaker."""
    keys = {_key_hash(f"words\x00{w.words}\x00{w.speaker or ''}")}
    if w.speaker:  # a quote of no known speaker joins its exact copies only
        items = sorted(w.pairs) or sorted(w.content_set)[:1]
        keys.update(sorted(_key_hash(f"{w.speaker}\x00{item}") for item in items)[:sketch_size])
    return sorted(keys)


def quote_keys(quotes: pa.Table, config: QuoteConfig | None = None) -> pa.Table:
    """Key rows of quotes: the wording's hash and a bottom-k sketch of its content-word pairs.

    Args:
        quotes: `QUOTES` rows.
        config: `sketch_size`, pairs per quote (the default config when None).
    """
    sketch_size = (config or QuoteConfig()).sketch_size
    cache: dict[tuple, tuple[int, list[int]]] = {}
    keys, variants, ids = [], [], []
    for qid, text, speaker in zip(*(quotes.column(c).to_pylist() for c in ("quote_id", "text", "speaker_entity_id"))):
        if (text, speaker) not in cache:
            w = _wording(text, speaker)
            cache[text, speaker] = (w.variant, _keys_of(w, sketch_size))
        v, row_keys = cache[text, speaker]
        keys += row_keys
        variants += [v] * len(row_keys)
        ids += [qid] * len(row_keys)
    return pa.table([pa.array(keys, pa.int64()), pa.array(variants, pa.int64()), pa.array(ids, pa.string())],
                    schema=QUOTE_KEYS)


def related_quotes(new_keys: pa.Table, old_keys: pa.Table) -> pa.ChunkedArray:
    """Ids of the old quotes `cluster_quotes` needs to read: every quote of a variant sharing a key with a new
    quote (every copy, for the publication days the date window reads)."""
    shared = old_keys.filter(pc.is_in(old_keys.column("key"), value_set=pc.unique(new_keys.column("key"))))
    variants = pc.unique(shared.column("variant"))
    return pc.unique(old_keys.filter(pc.is_in(old_keys.column("variant"), value_set=variants)).column("quote_id"))


def _candidate_pairs(new_keys: pa.Table, old_keys: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Distinct pairs (low, high) of variants sharing a key, at least one of them new."""
    key = np.concatenate([new_keys.column("key").to_numpy(), old_keys.column("key").to_numpy()])
    var = np.concatenate([new_keys.column("variant").to_numpy(), old_keys.column("variant").to_numpy()])
    new = np.zeros(len(key), bool)
    new[: new_keys.num_rows] = True
    order = np.lexsort((~new, var, key))  # per (key, variant), a new row first
    key, var, new = key[order], var[order], new[order]
    first = np.ones(len(key), bool)
    first[1:] = (key[1:] != key[:-1]) | (var[1:] != var[:-1])
    key, var, new = key[first], var[first], new[first]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    group = np.repeat(np.arange(len(starts)), sizes)
    rows = np.flatnonzero(new & (sizes[group] > 1))  # a new variant meets every variant of its key
    if len(rows) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    counts = sizes[group[rows]]
    left = np.repeat(rows, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    right = starts[group[left]] + offsets
    a, b = var[left], var[right]
    low, high = np.minimum(a, b), np.maximum(a, b)
    keep = low != high
    low, high = low[keep], high[keep]
    order = np.lexsort((high, low))
    low, high = low[order], high[order]
    first = np.ones(len(low), bool)
    first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    return low[first], high[first]


@dataclass(frozen=True)
class ClusterUpdate:
    """What a clustering run changes: the new quotes' clusters, and old clusters merged into others."""

    assignments: pa.Table  # ASSIGNMENTS: quote_id -> cluster_id for every new quote
    renames: pa.Table  # RENAMES: old cluster_id -> the id of the cluster it joined


def _roots(parent: np.ndarray) -> np.ndarray:
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def _union(parent: np.ndarray, a: int, b: int) -> None:
    while parent[a] != a:
        a = parent[a]
    while parent[b] != b:
        b = parent[b]
    if a != b:
        parent[max(a, b)] = min(a, b)


def cluster_quotes(new_quotes: pa.Table, new_keys: pa.Table, old_quotes: pa.Table, old_keys: pa.Table,
                   config: QuoteConfig) -> ClusterUpdate:
    """Cluster ids for new quotes, and renames of old clusters that a new quote joins together.

    Args:
        new_quotes: quotes not yet clustered (`QUOTES` rows, cluster_id ignored; optional published_at).
        new_keys: `quote_keys(new_quotes)`.
        old_quotes: clustered quotes, at least those whose ids `related_quotes(new_keys, old_keys)` gives.
        old_keys: key rows of every old quote (`QUOTE_KEYS`; only rows sharing a key with new ones matter).
        config: the confirmation thresholds.
    """
    quotes = pa.concat_tables([_columns(old_quotes, True), _columns(new_quotes, False)]).sort_by("quote_id")
    ids, days, old_cluster = quotes.column("quote_id").to_pylist(), _days(quotes), quotes.column("cluster_id").to_pylist()
    texts, speakers = quotes.column("text").to_pylist(), quotes.column("speaker_entity_id").to_pylist()
    key_rows = pa.concat_tables([k.select(["quote_id", "variant"]) for k in (new_keys, old_keys)])
    variant_of = dict(zip(key_rows.column("quote_id").to_pylist(), key_rows.column("variant").to_pylist()))
    row_variants = [variant_of.get(q) or variant(t, sp) for q, t, sp in zip(ids, texts, speakers)]
    variants = np.unique(np.array(row_variants, np.int64))
    row_node = np.searchsorted(variants, np.array(row_variants, np.int64)).tolist()
    first_row: dict[int, int] = {}
    for i, node in enumerate(row_node):
        first_row.setdefault(node, i)
    # Nodes: one per variant with a row here, then one per old cluster id.
    clusters = sorted({c for c in old_cluster if c})
    node_of_cluster = {c: len(variants) + i for i, c in enumerate(clusters)}
    parent = np.arange(len(variants) + len(clusters))
    days_of: list[set] = [set() for _ in variants]
    for node, cluster, day in zip(row_node, old_cluster, days):
        days_of[node].add(day)
        if cluster:  # an old quote stands for its cluster
            _union(parent, node, node_of_cluster[cluster])
    node_speaker = [speakers[first_row[n]] for n in range(len(variants))]
    wordings: dict[int, _Wording] = {}

    def wording(node: int) -> _Wording:
        if node not in wordings:
            wordings[node] = _wording(texts[first_row[node]], node_speaker[node])
        return wordings[node]

    low, high = _candidate_pairs(new_keys, old_keys)
    a, b = np.searchsorted(variants, low), np.searchsorted(variants, high)
    a, b = np.minimum(a, len(variants) - 1), np.minimum(b, len(variants) - 1)
    known = (variants[a] == low) & (variants[b] == high)  # variants without a row here are not compared
    a, b = _same_speaker(a[known], b[known], node_speaker)
    a, b = _not_templates(a, b, {n: wording(n) for n in np.unique(np.r_[a, b]).tolist()}, len(variants))
    while len(a):
        # Each round tests one pair per two components still apart, then drops pairs joined meanwhile.
        roots = _roots(parent)
        apart = roots[a] != roots[b]
        a, b = a[apart], b[apart]
        if not len(a):
            break
        ra, rb = roots[a], roots[b]
        order = np.lexsort((rb, ra))
        firsts = order[np.r_[True, (ra[order][1:] != ra[order][:-1]) | (rb[order][1:] != rb[order][:-1])]]
        for i, j in zip(a[firsts].tolist(), b[firsts].tolist()):
            if _same(wording(i), wording(j), config, lambda i=i, j=j: _near(days_of[i], days_of[j], config)):
                _union(parent, i, j)
        tested = np.zeros(len(a), bool)
        tested[firsts] = True
        a, b = a[~tested], b[~tested]
    roots = _roots(parent).tolist()
    name: dict[int, str] = {}
    for node, qid in zip(row_node, ids):  # rows are in quote_id order: the first seen names the component
        name.setdefault(roots[node], qid)
    for c in clusters:
        root = roots[node_of_cluster[c]]
        name[root] = min(name.get(root, c), c)
    new_ids = set(new_quotes.column("quote_id").to_pylist())
    assignments = [(qid, name[roots[node]]) for node, qid in zip(row_node, ids) if qid in new_ids]
    renames = [(c, name[roots[node_of_cluster[c]]]) for c in clusters if name[roots[node_of_cluster[c]]] != c]
    return ClusterUpdate(pa.table([pa.array([x for x, _ in assignments], pa.string()),
                                   pa.array([y for _, y in assignments], pa.string())], schema=ASSIGNMENTS),
                         pa.table([pa.array([x for x, _ in renames], pa.string()),
                                   pa.array([y for _, y in renames], pa.string())], schema=RENAMES))


def _columns(quotes: pa.Table, clustered: bool) -> pa.Table:
    """The columns clustering reads, published_at null when the table has none, cluster_id null for new quotes."""
    n = quotes.num_rows
    days = quotes.column("published_at").cast(pa.timestamp("us", tz="UTC")) if "published_at" in quotes.column_names \
        else pa.nulls(n, pa.timestamp("us", tz="UTC"))
    cluster = quotes.column("cluster_id") if clustered else pa.nulls(n, pa.string())
    return pa.table({"quote_id": quotes.column("quote_id"), "text": quotes.column("text"),
                     "speaker_entity_id": quotes.column("speaker_entity_id"), "cluster_id": cluster, "published_at": days})


def _not_templates(a: np.ndarray, b: np.ndarray, wordings: dict[int, _Wording],
                   n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs without the commonest veto of `_same`: the same plain words, each naming something the other does not."""
    plain, masks = np.zeros(n_nodes, np.int64), np.zeros(n_nodes, np.uint64)
    for node, w in wordings.items():
        plain[node] = _key_hash(" ".join(sorted(w.plain)))
        masks[node] = functools.reduce(int.__or__, (1 << (_key_hash(n) % 64) for n in w.names), 0)
    ma, mb = masks[a], masks[b]
    # A bit one side has and the other lacks is a name the other lacks (the converse may fail: a collision).
    veto = (plain[a] == plain[b]) & ((ma & ~mb) != 0) & ((mb & ~ma) != 0)
    return a[~veto], b[~veto]


def _same_speaker(a: np.ndarray, b: np.ndarray, speakers: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs by one known speaker, or two copies of one wording by no known speaker (vectorised)."""
    codes = {sp: i for i, sp in enumerate(sorted({sp for sp in speakers if sp}))}
    speaker = np.array([codes.get(sp, -1) for sp in speakers], np.int64)
    keep = speaker[a] == speaker[b]
    return a[keep], b[keep]


def assign_clusters(quotes: pa.Table, update: ClusterUpdate) -> pa.Table:
    """The quotes with a clustering run applied: new quotes' ids set, renamed clusters' members moved."""
    given = dict(zip(update.assignments.column("quote_id").to_pylist(), update.assignments.column("cluster_id").to_pylist()))
    renamed = dict(zip(update.renames.column("cluster_id").to_pylist(), update.renames.column("new_cluster_id").to_pylist()))
    ids, current = quotes.column("quote_id").to_pylist(), quotes.column("cluster_id").to_pylist()
    column = pa.array([given.get(q, renamed.get(c, c)) for q, c in zip(ids, current)], pa.string())
    return quotes.set_column(quotes.schema.get_field_index("cluster_id"), QUOTES.field("cluster_id"), column)


def drop_articles(quotes: pa.Table, keys: pa.Table, article_ids: set[str],
                  config: QuoteConfig) -> tuple[pa.Table, pa.Table]:
    """Quotes and keys without the given articles' quotes, the clusters they were in re-clustered."""
    gone = pc.is_in(quotes.column("article_id"), value_set=pa.array(sorted(article_ids), pa.string()))
    removed, kept = quotes.filter(gone), quotes.filter(pc.invert(gone))
    kept_keys = keys.filter(pc.is_in(keys.column("quote_id"), value_set=kept.column("quote_id")))
    touched = pc.is_in(kept.column("cluster_id"), value_set=pc.drop_null(pc.unique(removed.column("cluster_id"))))
    survivors = kept.filter(touched)
    if survivors.num_rows == 0:
        return kept, kept_keys
    survivor_keys = kept_keys.filter(pc.is_in(kept_keys.column("quote_id"), value_set=survivors.column("quote_id")))
    update = cluster_quotes(survivors, survivor_keys, QUOTES.empty_table(), QUOTE_KEYS.empty_table(), config)
    return assign_clusters(kept, update), kept_keys


def quote_cluster_rows(quotes: pa.Table, articles: pa.Table) -> pa.Table:
    """One `quote_clusters` row per cluster: a representative text, the speaker, reach and dates.

    The representative is the most repeated wording, then the longest; the speaker the most common
    known one. Outlets and dates come from `articles` (article_id, outlet, published_at); articles
    without an outlet or date add nothing to n_outlets, first_seen or last_seen.
    """
    meta = {a["article_id"]: a for a in articles.select(["article_id", "outlet", "published_at"]).to_pylist()}
    members: dict[str, list[dict]] = defaultdict(list)
    for row in quotes.select([n for n in QUOTES.names]).to_pylist():
        if row["cluster_id"] is not None:
            members[row["cluster_id"]].append(row)
    out = []
    for cluster_id in sorted(members):
        rows = members[cluster_id]
        wordings = Counter(" ".join(_words(r["text"])) for r in rows)
        best = min(rows, key=lambda r: (-wordings[" ".join(_words(r["text"]))], r["kind"] != "direct",
                                        -len(r["text"]), r["quote_id"]))
        speakers = Counter((r["speaker_entity_id"], r["speaker_name"]) for r in rows if r["speaker_entity_id"])
        speaker = min(speakers, key=lambda s: (-speakers[s], s)) if speakers else (None, None)
        articles_of = {r["article_id"] for r in rows}
        dates = [meta[a]["published_at"] for a in articles_of if a in meta and meta[a]["published_at"]]
        out.append({"cluster_id": cluster_id, "text": best["text"], "speaker_entity_id": speaker[0],
                    "speaker_name": speaker[1], "n_quotes": len(rows), "n_articles": len(articles_of),
                    "n_outlets": len({meta[a]["outlet"] for a in articles_of if a in meta and meta[a]["outlet"]}),
                    "first_seen": min(dates) if dates else None, "last_seen": max(dates) if dates else None})
    return pa.Table.from_pylist(out, schema=QUOTE_CLUSTERS)
