"""Entity tagging: knowledge-base names, context for ambiguous ones, and unlinked names found by cues.

`match()` finds mentions in one text and touches nothing else; the normalise worker calls it per
article. Every mention has offsets into the text, a canonical name and a stable entity id.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from tasks.config import EntityConfig
from tasks.knowledge import KnowledgeBase, entity_id
from tasks.schemas import ENTITIES, ENTITY_MENTIONS, ENTITY_SURFACES
from tasks.text import word_starting

UNLINKED = "unlinked:"  # the id prefix of names tagged by cues, in no knowledge base

# Every pattern below starts with a capital letter; saying so first lets the regex engine skip to
# capitals instead of trying each position (about twice as fast, the same matches).
_UPPER = "(?=[A-Z])"
# A capital that starts a word, as `(?=[A-Z])\b` but with a character class first, which the engine also uses to
# skip ahead; the look-behind sees the capital just matched. Measured on 3,000 synthetic articles (same matches):
# titles 3.2x, names before a role or a speech verb 1.4x faster. (The organisation and capitalised-word patterns
# measured no faster this way and keep `_UPPER`.)
_WORD_CAPITAL = r"[A-Z](?<!\w[A-Z])"


_TITLES = (r"President|Vice President|Prime Minister|Premier|Chancellor|Minister|Foreign Minister|Commissioner|"
           r"Chairman|Chairwoman|Chair|Spokesman|Spokeswoman|Spokesperson|Ambassador|Governor|Senator|Secretary|"
           r"General|Director|Mayor|Envoy|King|Queen|Prince|Emperor|Ayatollah|Pope|Mr\.|Mrs\.|Ms\.|Dr\.")
_NAME = r"[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?"
# A person's name: two or three capitalised words, the first at a word's start.
_PERSON_NAME_AT_WORD = rf"{_WORD_CAPITAL}[a-z]+(?:-[A-Z]?[a-z]+)?(?: {_NAME}){{1,2}}"
_TITLE_BEFORE = re.compile(rf"{word_starting(_TITLES)} (?P<name>{_NAME}(?: {_NAME}){{0,2}})\b")
_ROLES = (r"president|minister|chairman|chairwoman|chair|spokesman|spokeswoman|spokesperson|director|head|chief|"
          r"ambassador|professor|deputy|commissioner|governor|secretary|leader|founder|analyst|researcher|editor|"
          r"correspondent|ceo|adviser|advisor|envoy|general|mayor|senator|member")
_ROLE_AFTER = re.compile(
    rf"(?P<name>{_PERSON_NAME_AT_WORD}), (?:the |a |an |(?:[A-Z][\w'’-]* ){{0,3}})?(?:[a-z-]+ ){{0,3}}"
    rf"(?i:{_ROLES})\b"
)
_SPEECH = re.compile(rf"(?P<name>{_PERSON_NAME_AT_WORD}) (?:said|says|told|added|noted|stressed|wrote|explained)\b")
_ORG_WORDS = (r"Organization|Organisation|Ministry|Council|Committee|Society|Administration|Agency|Bank|Party|"
              r"Union|Association|Institute|University|Parliament|Assembly|Commission|Corporation|Company|Group|"
              r"Forum|Congress|Federation|Fund|Foundation|Authority|Bureau|Office|Department|Court|Army|Navy|"
              r"Service|Duma|Senate|Academy|Alliance|Coalition|Movement|Front|Network")
_CAP = r"[A-Z][\w'’.-]*"
_ORG = re.compile(
    rf"{_UPPER}\b(?P<org>(?:{_CAP} )*(?:{_ORG_WORDS})\b(?: (?:of|for|on)(?: the)?(?: {_CAP})+)*)"
)
_ORG_WORD_SET = set(_ORG_WORDS.split("|"))
_TITLE_WORD = re.compile(rf"\b(?:{_TITLES}) ")
_TITLE_ONLY = re.compile(_TITLES)
_TITLE_AT_END = re.compile(rf"(?:{_TITLES})\s+$")
_CAPITALISED_WORD = re.compile(rf"{_UPPER}\b[A-Z][a-z]{{4,}}\b")
# Ambiguous aliases and the words elsewhere in the article that settle them; without one they are left out.
_CONTEXT = {
    "Georgia": ("Tbilisi", "Georgian", "Abkhazia", "South Ossetia", "Caucasus"),
    "Jordan": ("Amman", "Jordanian", "King Abdullah", "Hashemite"),
    "Turkey": ("Ankara", "Turkish", "Erdogan", "Erdoğan", "Istanbul"),
    "Chad": ("N'Djamena", "Chadian", "Sahel"),
    "Niger": ("Niamey", "Nigerien", "Sahel"),
    "Guinea": ("Conakry", "Guinean"),
    "Security Council": ("United Nations", "UN ", "U.N."),
    "Far East": ("Russia", "Vladivostok", "Siberia"),
    "Ministry of Commerce": ("China", "Beijing"),
}
_NEVER_ALONE = {"Nice", "Reading", "Mobile", "Split", "Bath", "Cork", "Sale", "Male", "Best", "Police", "Aba",
                "Bar", "Union", "Wells", "Victoria", "March", "Of", "Most", "Marks", "Mercedes", "Delta", "Kim"}
_TRAILING_WORDS = {"Post": "ORG", "Times": "ORG", "State": "GPE", "Street": "LOC"}


class Mention(NamedTuple):
    """One entity mention: offsets into the text, what it names, and how it was found (a named tuple: an article
    has ~40 and a corpus millions, made faster than a frozen dataclass's and turned into columns at once)."""

    start: int
    end: int
    surface: str
    entity_id: str
    name: str
    type: str
    method: str
    confidence: float


def _is_word_char(char: str) -> bool:
    """What the regex `\\w` matches: a letter, a digit or an underscore (the same Unicode test, without a regex)."""
    return char.isalnum() or char == "_"


def _whole_words(text: str, word: str, start: int = 0) -> Iterator[int]:
    """Where `word` stands as a whole word in `text`, from `start` on, left to right without overlaps.

    For a word that begins and ends with a word character (a surname, hyphenated or not) these are the matches of
    `re.compile(rf"\\b{re.escape(word)}\\b").finditer(text, start)`, without compiling a pattern per word: a corpus has
    more names than re's cache holds.
    """
    at = text.find(word, start)
    while at >= 0:
        if _bounded(text, at, at + len(word)):
            yield at
            at = text.find(word, at + len(word))
        else:
            at = text.find(word, at + 1)


def _bounded(text: str, start: int, end: int) -> bool:
    """The span starts and ends at word boundaries."""
    return (start == 0 or not _is_word_char(text[start - 1])) and (end == len(text) or not _is_word_char(text[end]))


def _kb_spans(text: str, kb: KnowledgeBase) -> list[tuple[int, int, str]]:
    """Every alias occurrence at word boundaries, leftmost-longest, without overlaps."""
    found = []
    for end_index, alias in kb.automaton.iter(text):
        start, end = end_index - len(alias) + 1, end_index + 1
        if _bounded(text, start, end):
            found.append((start, end, alias))
    return _leftmost_longest(found)


def _leftmost_longest(spans: list[tuple]) -> list[tuple]:
    """Keep the longest span among overlapping ones, scanning left to right."""
    spans = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            if span[1] - span[0] > kept[-1][1] - kept[-1][0]:
                kept[-1] = span
            continue
        kept.append(span)
    return kept


def _settled(text: str, start: int, end: int, alias: str) -> bool:
    """Whether the article's context settles an ambiguous alias."""
    if alias in _NEVER_ALONE:
        return bool(re.match(r",\s+[A-Z]", text[end : end + 3]))  # "Nice, France"
    if alias == "Washington":
        following = text[end : end + 8]
        return not text[max(0, start - 7) : start].endswith("George ") and not re.match(r"\s+(?:Post|State|Wizards)", following)
    if alias in ("RT", "AP", "WHO"):
        return bool(re.match(r"\s+(?:also\s+)?(?:reported|said|says|noted|quoted|cited|wrote|stated)\b", text[end : end + 20])
                    or text[max(0, start - 1) : start] == "(" or text[max(0, start - 13) : start].lower().endswith("according to "))
    cues = _CONTEXT.get(alias)
    return cues is None or any(cue in text for cue in cues)


def _titled(text: str, start: int) -> bool:
    """A title word stands right before this position ("President Xi")."""
    return bool(_TITLE_AT_END.search(text[max(0, start - 30) : start]))


def match(text: str, kb: KnowledgeBase, config: EntityConfig) -> list[Mention]:
    """All entity mentions in a text, in order of position."""
    candidates: list[tuple] = []  # (start, end, priority, Mention)
    for start, end, alias in _kb_spans(text, kb):
        ids = kb.aliases[alias]
        entity = kb.entities[ids[0]]
        method = "kb"
        if alias in _CONTEXT or alias in _NEVER_ALONE or alias in ("Washington", "RT", "AP", "WHO"):
            if not _settled(text, start, end, alias):
                continue
            method = "kb_context"
        if alias.startswith("the "):
            start += 4
        candidates.append((start, end, 1, Mention(start, end, text[start:end], entity.entity_id, entity.name,
                                                 entity.type, method, 0.95 if method == "kb" else 0.8)))
    if config.discover_unlinked:
        known = sorted((c[0], c[1]) for c in candidates)  # disjoint: leftmost-longest
        # A cue-found person never swallows a known name ("Later Xi said"); a cue-found organisation
        # may ("Communist Party of China" holds "China").
        candidates += [c for c in _discovered(text)
                       if c[3].type != "PERSON" or not _overlaps(known, c[0], c[1])]
    mentions = [c[3] for c in _resolve(candidates)]
    mentions = _link_surnames(text, mentions, kb)
    if config.fuzzy_min_score:
        mentions = sorted(mentions + _fuzzy(text, mentions, kb, config.fuzzy_min_score), key=lambda m: m.start)
    return mentions


def _discovered(text: str) -> list[tuple]:
    """Names in no knowledge base, found by the cues around them (titles, roles, speech verbs, org words)."""
    found = []
    for pattern, method, confidence in ((_TITLE_BEFORE, "title_pattern", 0.75), (_ROLE_AFTER, "role_pattern", 0.75),
                                        (_SPEECH, "speech_pattern", 0.6)):
        for m in pattern.finditer(text):
            start, end = m.span("name")
            name = m.group("name")
            # "Iranian President Lacey said": the name is what follows the last title word.
            titles = list(_TITLE_WORD.finditer(name))
            if titles:
                start += titles[-1].end()
                name = text[start:end]
            if not name or set(name.split()) & _ORG_WORD_SET or _TITLE_ONLY.fullmatch(name):
                continue
            found.append((start, end, 0, Mention(start, end, name, UNLINKED + entity_id(name, "PERSON"), name,
                                                 "PERSON", method, confidence)))
    for m in _ORG.finditer(text):
        start, end = m.span("org")
        if text.startswith("The ", start):
            start += 4
        while text[end - 1] in ".'’-":  # sentence punctuation caught by the capitalised-word pattern
            end -= 1
        surface = text[start:end]
        if len(surface.split()) < 2:
            continue
        found.append((start, end, 0, Mention(start, end, surface, UNLINKED + entity_id(surface, "ORG"), surface,
                                             "ORG", "org_pattern", 0.7)))
    return found


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `spans`, disjoint (start, end) pairs in ascending order."""
    # Disjoint spans in order also end in order: the last one starting before `end` reaches furthest.
    before = bisect_left(spans, (end, -1))
    return before > 0 and spans[before - 1][1] > start


def _resolve(candidates: list[tuple]) -> list[tuple]:
    """Among overlapping candidates keep the outermost; on equal spans the knowledge base wins."""
    ordered = sorted(candidates, key=lambda c: (-(c[1] - c[0]), -c[2], c[0]))
    kept: list[tuple] = []
    spans: list[tuple[int, int]] = []  # kept (start, end), sorted; disjoint, so their ends ascend too
    for candidate in ordered:
        start, end = candidate[0], candidate[1]
        if not _overlaps(spans, start, end):
            kept.append(candidate)
            insort(spans, (start, end))
    return sorted(kept, key=lambda c: c[0])


def _link_surnames(text: str, mentions: list[Mention], kb: KnowledgeBase) -> list[Mention]:
    """Link bare surnames to a full name met earlier in the article; drop unsettled bare surnames.

    A knowledge-base surname alias stands alone only for people known by it ("Putin") or after a
    title ("President Xi"); any other bare surname needs its full name earlier in the text.
    """
    full_names: dict[str, Mention] = {}  # surname -> earliest full-name mention
    linked: list[Mention] = []
    for mention in mentions:
        single = mention.type == "PERSON" and " " not in mention.surface
        if not single:
            if mention.type == "PERSON":
                full_names.setdefault(mention.name.split()[-1], mention)
            linked.append(mention)
            continue
        entity = kb.entities.get(mention.entity_id)
        earlier = full_names.get(mention.surface)
        if earlier is not None:
            linked.append(Mention(mention.start, mention.end, mention.surface, earlier.entity_id, earlier.name,
                                  "PERSON", "surname" if mention.method != "kb" else "kb", mention.confidence))
        elif (entity is not None and (entity.known_by_surname or _titled(text, mention.start))) \
                or mention.method == "title_pattern":
            linked.append(mention)
    # Bare surnames of people found only by cues ("Melnikov" after "Ivan Melnikov, ...").
    covered = sorted((m.start, m.end) for m in linked)  # disjoint: resolved mentions
    for surname, full in full_names.items():
        if not full.entity_id.startswith(UNLINKED):
            continue
        for start in _whole_words(text, surname, full.start + 1):
            end = start + len(surname)
            if not _overlaps(covered, start, end):
                linked.append(Mention(start, end, surname, full.entity_id, full.name, "PERSON", "surname", 0.7))
    return sorted(linked, key=lambda m: m.start)


def _fuzzy(text: str, mentions: list[Mention], kb: KnowledgeBase, min_score: float) -> list[Mention]:
    """Variant spellings of known people (Zelenskiy / Zelenskyy) among capitalised words nothing else took."""
    covered = bytearray(len(text))
    for m in mentions:
        covered[m.start : m.end] = b"\x01" * (m.end - m.start)
    found = []
    closest: dict[str, tuple | None] = {}  # words recur in an article: score each once
    # Only a closest person word with the same first two letters is taken, so a word whose first two
    # letters begin no person word can give nothing: skip it before scoring.
    prefixes = {word[:2] for word in kb.person_words}
    for m in _CAPITALISED_WORD.finditer(text):
        word = m.group()
        if word[:2] not in prefixes or 1 in covered[m.start() : m.end()] or word in kb.aliases:
            continue
        if word not in closest:
            closest[word] = process.extractOne(word, kb.person_words.keys(), scorer=fuzz.ratio, score_cutoff=min_score)
        best = closest[word]
        if best and best[0][:2] == m.group()[:2]:
            entity = kb.entities[kb.person_words[best[0]]]
            if entity.known_by_surname or any(x.entity_id == entity.entity_id for x in mentions):
                found.append(Mention(m.start(), m.end(), m.group(), entity.entity_id, entity.name, "PERSON", "fuzzy",
                                     round(best[1] / 100 * 0.9, 3)))
    return found


def mentions_table(article_ids: Sequence[str], mentions: Sequence[Sequence[Mention]]) -> pa.Table:
    """ENTITY_MENTIONS rows of each article's mentions, built column by column."""
    ids = [article_id for article_id, found in zip(article_ids, mentions) for _ in found]
    columns = dict(zip(Mention._fields, map(list, zip(*(m for found in mentions for m in found))))) if ids \
        else dict.fromkeys(Mention._fields, [])
    return pa.table([ids, *(columns[name] for name in ENTITY_MENTIONS.names[1:])], schema=ENTITY_MENTIONS)


_ENTITY = ["entity_id", "name", "type"]
_SURFACE_COUNTS = pa.schema([*(ENTITY_SURFACES.field(c) for c in (*_ENTITY, "surface")), pa.field("n", pa.int64())])
_ARTICLE_COUNTS = pa.schema([*(ENTITY_SURFACES.field(c) for c in _ENTITY), pa.field("n", pa.int64())])


def _surface_counts(mentions: pa.Table, sign: int) -> pa.Table:
    counts = mentions.group_by([*_ENTITY, "surface"], use_threads=False).aggregate([("article_id", "count")])
    return counts.append_column("n", pc.multiply(counts.column("article_id_count"), sign)).drop_columns(["article_id_count"])


def _article_counts(mentions: pa.Table, sign: int) -> pa.Table:
    counts = mentions.group_by(_ENTITY, use_threads=False).aggregate([("article_id", "count_distinct")])
    return counts.append_column("n", pc.multiply(counts.column("article_id_count_distinct"), sign)) \
        .drop_columns(["article_id_count_distinct"])


@dataclass(frozen=True)
class MentionCounts:
    """Mentions per entity and surface, and articles per entity, of some articles; negative for articles going."""

    surfaces: pa.Table  # entity_id, name, type, surface, n
    articles: pa.Table  # entity_id, name, type, n

    @classmethod
    def of(cls, batches: Iterable[pa.Table], sign: int = 1) -> MentionCounts:
        """Counts of mention rows (article_id, entity_id, name, type, surface) read a batch at a time, each batch
        holding every mention of its articles (so the articles per entity of the batches add up). At 100k articles
        the run's ~4M mention rows read at once took ~700 MB."""
        surfaces, articles = [_SURFACE_COUNTS.empty_table()], [_ARTICLE_COUNTS.empty_table()]
        for mentions in batches:
            if mentions.num_rows:
                surfaces.append(_surface_counts(mentions, sign).select(_SURFACE_COUNTS.names).cast(_SURFACE_COUNTS))
                articles.append(_article_counts(mentions, sign).select(_ARTICLE_COUNTS.names).cast(_ARTICLE_COUNTS))
        return cls(pa.concat_tables(surfaces), pa.concat_tables(articles))

    def __add__(self, other: MentionCounts) -> MentionCounts:
        return MentionCounts(pa.concat_tables([self.surfaces, other.surfaces]), pa.concat_tables([self.articles, other.articles]))

    def entity_ids(self) -> set[str]:
        """The entities these counts touch."""
        return set(pc.unique(self.surfaces.column("entity_id")).to_pylist())


def update_entities(entities: pa.Table, surfaces: pa.Table, changes: MentionCounts,
                    kb: Callable[[], KnowledgeBase]) -> tuple[pa.Table, pa.Table]:
    """The `entities` rows and surface counts of the entities a run's mentions touch.

    Args:
        entities: the previous `ENTITIES` rows of (at least) the touched entities.
        surfaces: the previous `ENTITY_SURFACES` rows of (at least) the touched entities.
        changes: the counts of the run's new articles' mentions, plus those of the removed articles negated.
        kb: gives the knowledge base, for the wikidata id of an entity with no previous row that is not an unlinked
            one: an incremental run mostly touches entities it has rows of, and loading the knowledge base in the
            flow's process took ~0.3 CPU s (the GeoNames cities).
    Returns the new rows of every touched entity still mentioned, and their surface counts; an article
    adds one to `n_articles` of each entity it mentions, a removed one takes it back.
    """
    touched = pa.array(sorted(changes.entity_ids()), pa.string())
    if not len(touched):
        return ENTITIES.empty_table(), ENTITY_SURFACES.empty_table()
    surfaces = surfaces.filter(pc.is_in(surfaces.column("entity_id"), value_set=touched))
    counts = pa.concat_tables([surfaces.select([*_ENTITY, "surface"]).append_column("n", surfaces.column("n_mentions"))
                               .cast(_SURFACE_COUNTS), changes.surfaces])
    counts = counts.group_by([*_ENTITY, "surface"], use_threads=False).aggregate([("n", "sum")])
    counts = counts.filter(pc.greater(counts.column("n_sum"), 0))
    new_surfaces = pa.table({**{c: counts.column(c) for c in (*_ENTITY, "surface")}, "n_mentions": counts.column("n_sum")},
                            schema=ENTITY_SURFACES).sort_by([("entity_id", "ascending"), ("surface", "ascending")])
    old = entities.filter(pc.is_in(entities.column("entity_id"), value_set=touched))
    linked = {i: (w, l) for i, w, l in zip(*(old.column(c).to_pylist() for c in ("entity_id", "wikidata", "linked")))}

    def wikidata_and_linked(entity_id: str) -> tuple[str | None, bool]:
        if entity_id not in linked:
            entity = None if entity_id.startswith(UNLINKED) else kb().entities.get(entity_id)
            linked[entity_id] = (entity.wikidata if entity else None, entity is not None)
        return linked[entity_id]

    articles = pa.concat_tables([old.select(_ENTITY).append_column("n", old.column("n_articles")).cast(_ARTICLE_COUNTS),
                                 changes.articles])
    n_articles = {tuple(r[c] for c in _ENTITY): r["n_sum"] for r in
                  articles.group_by(_ENTITY, use_threads=False).aggregate([("n", "sum")]).to_pylist()}
    rows: dict[tuple, dict] = {}
    for r in new_surfaces.to_pylist():
        key = tuple(r[c] for c in _ENTITY)
        if key not in rows:
            wikidata, is_linked = wikidata_and_linked(r["entity_id"])
            rows[key] = {"entity_id": r["entity_id"], "name": r["name"], "type": r["type"], "wikidata": wikidata,
                         "linked": is_linked, "aliases": [], "n_mentions": 0, "n_articles": n_articles[key]}
        rows[key]["aliases"].append(r["surface"])
        rows[key]["n_mentions"] += r["n_mentions"]
    out = sorted(rows.values(), key=lambda r: (-r["n_mentions"], r["entity_id"]))
    return pa.Table.from_pylist(out, schema=ENTITIES), new_surfaces
