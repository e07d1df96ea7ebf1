"""Quote clusters: the quotes of one remark across articles, exact copies, fragments and translations.

A quote's keys are fixed by its own text, never by the corpus: the hash of its normalised wording,
and the `sketch_size` smallest hashes of its consecutive content-word pairs (a bottom-k sketch),
once scoped by its speaker and once by the proper names it holds. Two quotes sharing a key are
candidates; rapidfuzz confirms them (`same_remark`):

- exact: the same words once case, quote style and punctuation are ignored;
- fragment: the shorter (at least `fragment_min_words` words) sits inside the longer
  (`partial_ratio` >= `fragment_min_score`);
- translation: both have at least `paraphrase_min_content_words` content words and
  `token_set_ratio` of the stemmed content words reaches `paraphrase_min_score`;
- paraphrase by one speaker: the same known speaker, at least `speaker_paraphrase_min_shared`
  shared content words (one consecutive pair among them) making `speaker_paraphrase_min_overlap`
  of the shorter quote's content words.

Never joined: known speakers that differ; quotes each naming someone or something the other does not
("Kenya ... Spain" vs "Ireland ... Norway"; an acronym stands for its words: "US" = "United States").
Fragments and translations need the shorter quote to hold `min_length_ratio` of the longer's words, or
a speech quoted whole would chain its remarks together. Translations and paraphrases need publication
dates at most `paraphrase_max_days` apart when both are known (an optional `published_at` column of
the quotes tables): a leader repeats a phrase at the next summit, and that is another remark.

A cluster is a connected component of confirmed pairs, named by its smallest member quote_id. Every
rule looks at the two quotes alone and keys depend on nothing else, so adding articles run by run
gives exactly the clusters of one batch over everything. Old clusters are never re-read whole: a
merge is returned as a rename of the absorbed cluster id. When a member is removed (`drop_articles`),
the survivors of its cluster are re-clustered among themselves.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

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


def _stem(word: str) -> str:
    """A crude plural stem, enough for "provocations"/"provocation" and "limits"/"limit"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _content(text: str) -> list[str]:
    """The stemmed content words of a text, in order; acronyms ("US", "WHO") are never stopwords."""
    tokens = _TOKEN.findall(_POSSESSIVE.sub("", text))
    return [_stem(t.casefold()) for t in tokens if t.casefold() not in _STOPWORDS or (len(t) > 1 and t.isupper())]


def _names(text: str) -> frozenset[str]:
    """Names and figures a text holds: capitalised words not opening a sentence, acronyms, numbers,
    and the initials of runs of names, so that "US" matches "United States"."""
    names, run, opening = set(), [], True
    for token in _TOKEN_OR_STOP.findall(_POSSESSIVE.sub("", text)):
        folded = token.casefold()
        acronym = len(token) > 1 and token.isupper()
        name = token.isdigit() or acronym or (token[0].isupper() and not opening and folded not in _STOPWORDS)
        if name and not token.isdigit():
            names.add(folded[:4] if not acronym else folded)  # "Russia" = "Russian", "China" = "Chinese"
            run.append(folded)
        if not name or token.isdigit():
            if len(run) > 1:
                names.add("".join(w[0] for w in run))
            run = []
        if token.isdigit():
            names.add(token)
        opening = token in ".!?;:"
    if len(run) > 1:
        names.add("".join(w[0] for w in run))
    return frozenset(names)


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little", signed=True)


def _day(published: datetime | date | None) -> int | None:
    """Publication day number of a quote's article, or None when unknown."""
    return None if published is None else published.toordinal()


@dataclass(frozen=True)
class _Wording:
    """What the confirmation rules compare of one quote; equal variants have equal wordings."""

    words: str
    n_words: int
    content: str
    content_set: frozenset[str]
    pairs: frozenset[str]
    names: frozenset[str]
    speaker: str | None
    day: int | None

    @property
    def variant(self) -> int:
        """Hash of everything the rules read: quotes of one variant are the same remark."""
        return _hash("\x00".join([self.words, self.content, " ".join(sorted(self.names)), self.speaker or "",
                                  "" if self.day is None else str(self.day)]))


def _wording(text: str, speaker_entity_id: str | None, published: datetime | date | None = None) -> _Wording:
    words, content = _words(text), _content(text)
    return _Wording(" ".join(words), len(words), " ".join(content), frozenset(content),
                    frozenset(f"{a} {b}" for a, b in itertools.pairwise(content)), _names(text),
                    speaker_entity_id, _day(published))


def variant(text: str, speaker_entity_id: str | None, published: datetime | date | None = None) -> int:
    """Hash of a quote's normalised wording, names, speaker and day: copies of one quote share it."""
    return _wording(text, speaker_entity_id, published).variant


def _near(a: _Wording, b: _Wording, config: QuoteConfig) -> bool:
    return a.day is None or b.day is None or abs(a.day - b.day) <= config.paraphrase_max_days


def _template(short: _Wording, long: _Wording) -> bool:
    """Whether the words of the shorter quote that are not names nearly all recur in the longer."""
    rest = {w for w in short.content_set if w[:4] not in short.names and w not in short.names}
    other = {w for w in long.content_set if w[:4] not in long.names and w not in long.names}
    return len(rest & other) >= 0.8 * len(rest)


def _same(a: _Wording, b: _Wording, config: QuoteConfig) -> bool:
    if a.speaker and b.speaker and a.speaker != b.speaker:
        return False
    if a.words == b.words:
        return True
    short, long = (a, b) if a.n_words <= b.n_words else (b, a)
    if a.names - b.names and b.names - a.names and _template(short, long):
        return False  # the same sentence about other people, places or figures: another remark
    # A long quote holding several remarks must not chain them together.
    whole = short.n_words >= config.min_length_ratio * long.n_words
    if whole and short.n_words >= config.fragment_min_words and \
            fuzz.partial_ratio(short.words, long.words, score_cutoff=config.fragment_min_score):
        return True
    if not _near(a, b, config):
        return False
    if whole and min(len(a.content_set), len(b.content_set)) >= config.paraphrase_min_content_words and \
            fuzz.token_set_ratio(a.content, b.content, score_cutoff=config.paraphrase_min_score):
        return True
    if not (a.speaker and a.speaker == b.speaker) or not a.pairs & b.pairs:
        return False
    shared = len(a.content_set & b.content_set)
    return shared >= config.speaker_paraphrase_min_shared and \
        shared >= config.speaker_paraphrase_min_overlap * min(len(a.content_set), len(b.content_set))


def same_remark(a: dict, b: dict, config: QuoteConfig) -> bool:
    """Whether two quote rows (text, speaker_entity_id, optional published_at) render the same remark."""
    return _same(_wording(a["text"], a["speaker_entity_id"], a.get("published_at")),
                 _wording(b["text"], b["speaker_entity_id"], b.get("published_at")), config)


def _rows(quotes: pa.Table, with_cluster: bool = False) -> list[dict]:
    """Quote rows with what the rules read; published_at only when the table carries it."""
    columns = ["quote_id", "text", "speaker_entity_id"] + (["cluster_id"] if with_cluster else [])
    rows = quotes.select(columns).to_pylist()
    published = quotes.column("published_at").to_pylist() if "published_at" in quotes.column_names else None
    for i, row in enumerate(rows):
        row["published_at"] = published[i] if published else None
    return rows


def _keys_of(w: _Wording, sketch_size: int) -> list[int]:
    """The wording key and the bottom-k content-pair keys of a wording, by speaker and by names."""
    items = sorted(w.pairs) or sorted(w.content_set)[:1]
    scopes = [f"names:{' '.join(sorted(w.names))}"] + ([f"speaker:{w.speaker}"] if w.speaker else [])
    keys = {_hash(f"words\x00{w.words}")}
    for scope in scopes:
        keys.update(sorted(_hash(f"{scope}\x00{item}") for item in items)[:sketch_size])
    return sorted(keys)


def quote_keys(quotes: pa.Table, config: QuoteConfig | None = None) -> pa.Table:
    """Key rows of quotes: the wording's hash and a bottom-k sketch of its content-word pairs.

    Args:
        quotes: `QUOTES` rows; a `published_at` column, when present, puts the day in the variant.
        config: `sketch_size`, keys per scope (the default config when None).
    """
    sketch_size = (config or QuoteConfig()).sketch_size
    cache: dict[tuple, tuple[int, list[int]]] = {}
    keys, variants, ids = [], [], []
    for row in _rows(quotes):
        token = (row["text"], row["speaker_entity_id"], _day(row["published_at"]))
        if token not in cache:
            w = _wording(row["text"], row["speaker_entity_id"], row["published_at"])
            cache[token] = (w.variant, _keys_of(w, sketch_size))
        v, row_keys = cache[token]
        keys += row_keys
        variants += [v] * len(row_keys)
        ids += [row["quote_id"]] * len(row_keys)
    return pa.table([pa.array(keys, pa.int64()), pa.array(variants, pa.int64()), pa.array(ids, pa.string())],
                    schema=QUOTE_KEYS)


def related_quotes(new_keys: pa.Table, old_keys: pa.Table) -> pa.ChunkedArray:
    """Ids of the old quotes `cluster_quotes` needs to read: one per variant sharing a key with a new quote."""
    shared = old_keys.filter(pc.is_in(old_keys.column("key"), value_set=pc.unique(new_keys.column("key"))))
    firsts = shared.group_by("variant").aggregate([("quote_id", "min")])
    return firsts.column("quote_id_min")


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
    old_rows = _rows(old_quotes, with_cluster=True)
    new_rows = [{**r, "cluster_id": None} for r in _rows(new_quotes)]
    rows = sorted(old_rows + new_rows, key=lambda r: r["quote_id"])
    # Nodes: one per variant with a row here, then one per old cluster id.
    wordings: dict[int, _Wording] = {}
    row_variant = []
    for row in rows:
        w = _wording(row["text"], row["speaker_entity_id"], row["published_at"])
        wordings.setdefault(w.variant, w)
        row_variant.append(w.variant)
    variants = np.array(sorted(wordings), np.int64)
    clusters = sorted({r["cluster_id"] for r in old_rows if r["cluster_id"]})
    node_of_cluster = {c: len(variants) + i for i, c in enumerate(clusters)}
    parent = np.arange(len(variants) + len(clusters))
    by_words: dict[tuple, int] = {}
    for row, v in zip(rows, row_variant):
        node = int(np.searchsorted(variants, v))
        if row["cluster_id"]:  # an old quote stands for its cluster
            _union(parent, node, node_of_cluster[row["cluster_id"]])
        w = wordings[v]  # copies of one wording by one speaker are one remark, whatever the day
        _union(parent, node, by_words.setdefault((w.words, w.speaker), node))

    low, high = _candidate_pairs(new_keys, old_keys)
    a, b = np.searchsorted(variants, low), np.searchsorted(variants, high)
    a, b = np.minimum(a, len(variants) - 1), np.minimum(b, len(variants) - 1)
    known = (variants[a] == low) & (variants[b] == high)  # variants without a row here are not compared
    a, b = a[known], b[known]
    a, b = _plausible(a, b, [wordings[v] for v in variants.tolist()], config)
    while len(a):
        # Each round tests one pair per two components still apart, then drops pairs joined meanwhile.
        roots = _roots(parent)
        apart = roots[a] != roots[b]
        a, b = a[apart], b[apart]
        ra, rb = roots[a], roots[b]
        order = np.lexsort((rb, ra))
        firsts = order[np.r_[True, (ra[order][1:] != ra[order][:-1]) | (rb[order][1:] != rb[order][:-1])]]
        for i, j in zip(a[firsts].tolist(), b[firsts].tolist()):
            if _same(wordings[int(variants[i])], wordings[int(variants[j])], config):
                _union(parent, i, j)
        tested = np.zeros(len(a), bool)
        tested[firsts] = True
        a, b = a[~tested], b[~tested]
    roots = _roots(parent)
    name: dict[int, str] = {}
    for row, v in zip(rows, row_variant):  # rows are in quote_id order: the first seen names the component
        name.setdefault(int(roots[np.searchsorted(variants, v)]), row["quote_id"])
    for c in clusters:
        root = int(roots[node_of_cluster[c]])
        name[root] = min(name.get(root, c), c)
    new_ids = set(new_quotes.column("quote_id").to_pylist())
    assignments = [{"quote_id": row["quote_id"], "cluster_id": name[int(roots[np.searchsorted(variants, v)])]}
                   for row, v in zip(rows, row_variant) if row["quote_id"] in new_ids]
    renames = [{"cluster_id": c, "new_cluster_id": name[int(roots[node_of_cluster[c]])]}
               for c in clusters if name[int(roots[node_of_cluster[c]])] != c]
    return ClusterUpdate(pa.Table.from_pylist(assignments, schema=ASSIGNMENTS),
                         pa.Table.from_pylist(renames, schema=RENAMES))


def _plausible(a: np.ndarray, b: np.ndarray, wordings: list[_Wording],
               config: QuoteConfig) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs that `_same` could confirm, by speaker and length alone (vectorised)."""
    speakers = {s: i for i, s in enumerate(sorted({w.speaker for w in wordings if w.speaker}))}
    speaker = np.array([speakers.get(w.speaker, -1) for w in wordings], np.int64)
    n_words = np.array([w.n_words for w in wordings], np.float64)
    sa, sb = speaker[a], speaker[b]
    same_speaker = (sa >= 0) & (sa == sb)
    compatible = (sa < 0) | (sb < 0) | same_speaker
    short, long = np.minimum(n_words[a], n_words[b]), np.maximum(n_words[a], n_words[b])
    keep = compatible & (same_speaker | (short >= config.min_length_ratio * long) | (short == long))
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
