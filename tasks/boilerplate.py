"""Boilerplate: paragraphs that are page furniture, by rule and by repetition within an outlet."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from tasks.schemas import PARAGRAPH_STATE
from tasks.text import looks_like_sentence

_NAV_PHRASES = [
    "back to top", "go to home page", "go to homepage", "go to the home page", "skip to main content",
    "skip to content", "home", "menu", "search", "sign in", "log in", "login", "register",
    "subscribe now", "subscribe", "newsletter", "advertisement", "advertising", "sponsored",
    "cookie settings", "privacy policy", "terms of use", "terms of service", "contact us",
    "about us", "clear", "close", "next article", "previous article", "print", "email", "e-mail",
    "share this article", "share this story", "share this", "share on", "share via", "share",
    "tweet", "comments", "comment", "read more", "more stories", "most read", "most popular",
    "trending", "top stories", "latest news", "related articles", "related stories", "related",
    "you may also like", "recommended for you", "recommended", "follow us on", "follow us",
    "facebook", "twitter", "whatsapp", "telegram", "linkedin", "reddit", "pinterest", "copy link",
    "vk", "instagram", "youtube", "rss", "x",
]
_NAV = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in sorted(_NAV_PHRASES, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_NAV_WORDS = frozenset(word for phrase in _NAV_PHRASES for word in re.findall(r"\w+", phrase))
_WORD = re.compile(r"\w+")
_NAV_LEFTOVER = re.compile(r"[\s|•·/>»«›\-–—:,.()\[\]]+")
_CROSS_LINK = re.compile(
    r"^(?:also read|read also|read more|see also|related|recommended|more|watch|listen|"
    r"don['’]t miss|must read|click here)\s*[:|\-–—]\s*\S",
    re.IGNORECASE,
)
_MIRROR = re.compile(
    r"^(?:(?P<outlet>.{2,60}?)['’]s\s+)?website\s+(?:can|may)\s+(?:also\s+)?be\s+accessed\s+at\s+"
    r"the\s+following\s+(?:alternate|alternative|mirror)",
    re.IGNORECASE,
)
_BARE_URLS = re.compile(r"^(?:(?:https?://|www\.)\S+|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/\S*)?)(?:\s+\S+\.\S+)*$",
                        re.IGNORECASE)
_RELATIVE_TIME = re.compile(
    r"^(?:(?:updated|published|posted)\s*:?\s*)?(?:(?:\d+|an?|one)\s+(?:sec|second|min|minute|hr|hour|"
    r"day|week|month|year)s?\s+ago|just now|yesterday|today)$",
    re.IGNORECASE,
)
_CAPTION_CREDIT = re.compile(
    r"\(\s*(?:photo|photograph|image|picture|file photo|credit)s?\b[^()]{0,60}\)\s*\.?$", re.IGNORECASE
)
_CAPTION_PREFIX = re.compile(r"^\[?(?:photo|image|picture|file photo|credit)s?\s*[:/|]", re.IGNORECASE)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)", re.IGNORECASE)
_BREADCRUMB_SEPARATORS = re.compile(r"\s+(?:/|>|»|›|\|)\s+")
_QUOTE_CHARS = re.compile(r"[\"“”«»]")


@dataclass(frozen=True)
class RuleVerdict:
    """Why a paragraph is boilerplate ('' when it is not), and an outlet it names, if any."""

    reason: str = ""
    outlet: str | None = None


def _is_nav(paragraph: str) -> bool:
    """A paragraph made only of navigation and sharing phrases."""
    if len(paragraph) > 120:
        return False
    # Quick no: _NAV removes whole words only, so in an ASCII paragraph each word must be a word of a
    # phrase. (Not for other text: IGNORECASE also matches e.g. the Kelvin sign to "k".)
    if paragraph.isascii() and not _NAV_WORDS.issuperset(w.lower() for w in _WORD.findall(paragraph)):
        return False
    leftover = _NAV_LEFTOVER.sub("", _NAV.sub("", paragraph))
    return leftover == ""


def _is_breadcrumb(paragraph: str) -> bool:
    """'News / China / Russia': short segments joined by path separators."""
    if len(paragraph) > 100 or paragraph.endswith((".", "?", "!")):
        return False
    segments = _BREADCRUMB_SEPARATORS.split(paragraph)
    return len(segments) >= 2 and all(0 < len(s.split()) <= 4 for s in segments)


def classify(paragraph: str) -> RuleVerdict:
    """Match one paragraph against the boilerplate rules."""
    if _is_nav(paragraph):
        return RuleVerdict("navigation")
    if _CROSS_LINK.match(paragraph) and len(paragraph) <= 250:
        return RuleVerdict("cross_link")
    if mirror := _MIRROR.match(paragraph):
        outlet = mirror.group("outlet")
        return RuleVerdict("mirror_notice", outlet.strip() if outlet else None)
    if _BARE_URLS.match(paragraph):
        return RuleVerdict("bare_url")
    if _RELATIVE_TIME.match(paragraph):
        return RuleVerdict("relative_time")
    if _CAPTION_CREDIT.search(paragraph) or (_CAPTION_PREFIX.match(paragraph) and len(paragraph) <= 250):
        return RuleVerdict("caption")
    if _COPYRIGHT.match(paragraph) and len(paragraph) <= 200:
        return RuleVerdict("copyright")
    if _is_breadcrumb(paragraph):
        return RuleVerdict("breadcrumb")
    return RuleVerdict()


# A trailing block of furniture counts as page footer when one of these is in it, so short
# non-sentences there ("Press TV News Roku") go too.
_FOOTER_STARTERS = {"navigation", "mirror_notice", "bare_url", "copyright"}


def strip_rule_boilerplate(paragraphs: list[str]) -> tuple[list[str], int, str | None]:
    """Drop rule-matched paragraphs and the page footer; return kept, removed count, named outlet."""
    verdicts = [classify(p) for p in paragraphs]
    outlet = next((v.outlet for v in verdicts if v.outlet), None)
    footer_start, has_starter = len(paragraphs), False
    while footer_start > 0:
        paragraph, verdict = paragraphs[footer_start - 1], verdicts[footer_start - 1]
        if verdict.reason:
            has_starter = has_starter or verdict.reason in _FOOTER_STARTERS
        elif len(paragraph) > 80 or looks_like_sentence(paragraph):
            break
        footer_start -= 1
    if not has_starter:
        footer_start = len(paragraphs)
    kept = [p for i, (p, v) in enumerate(zip(paragraphs, verdicts)) if not v.reason and i < footer_start]
    return kept, len(paragraphs) - len(kept), outlet


def paragraph_hash(paragraph: str) -> int:
    """A stable signed 64-bit hash of a paragraph, ignoring case and spacing."""
    key = " ".join(paragraph.casefold().split()).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little", signed=True)


def _is_candidate(paragraph: str, max_chars: int) -> bool:
    """Short and quote-free: the shape page furniture has."""
    return len(paragraph) <= max_chars and not _QUOTE_CHARS.search(paragraph)


def candidate_hashes(paragraphs: list[str], max_chars: int) -> tuple[list[int], list[int]]:
    """Hashes of the paragraphs that could be corpus boilerplate, each with a hash of its context.

    The context is the nearest article paragraph (not itself a candidate) before and after it. A
    re-posted copy of an article repeats its contexts, so copies of one story count once; page
    furniture sits in a different context in every different article.
    """
    hashes = [paragraph_hash(p) for p in paragraphs]
    content = [not _is_candidate(p, max_chars) for p in paragraphs]
    before, last = [], 0
    for h, is_content in zip(hashes, content):
        before.append(last)
        last = h if is_content else last
    after, following = [], 0
    for h, is_content in zip(reversed(hashes), reversed(content)):
        after.append(following)
        following = h if is_content else following
    after.reverse()
    pairs = sorted({(h, _combine(b, a)) for h, b, a, c in zip(hashes, before, after, content) if not c})
    return [h for h, _ in pairs], [c for _, c in pairs]


def _combine(left: int, right: int) -> int:
    """One signed 64-bit hash of two."""
    digest = hashlib.blake2b(left.to_bytes(8, "little", signed=True) + right.to_bytes(8, "little", signed=True),
                             digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def boilerplate_sets(paragraph_state: pa.Table, min_articles: int) -> dict[str, frozenset[int]]:
    """Per boilerplate group, the paragraph hashes found in at least `min_articles` different contexts."""
    if paragraph_state.num_rows == 0:
        return {}
    hashes = paragraph_state.column("paragraph_hashes")
    flat = pa.table({
        "group": pc.take(paragraph_state.column("boilerplate_group"), pc.list_parent_indices(hashes)),
        "hash": pc.list_flatten(hashes),
        "context": pc.list_flatten(paragraph_state.column("context_hashes")),
    })
    if flat.num_rows == 0:
        return {}
    counts = flat.group_by(["group", "hash"]).aggregate([("context", "count_distinct")])
    frequent = counts.filter(pc.greater_equal(counts.column("context_count_distinct"), min_articles))
    result: dict[str, set[int]] = {}
    for group, value in zip(frequent.column("group").to_pylist(), frequent.column("hash").to_pylist()):
        result.setdefault(group, set()).add(value)
    return {group: frozenset(values) for group, values in result.items()}


def flipped_paragraphs(before: dict[str, frozenset[int]], after: dict[str, frozenset[int]]) -> dict[str, frozenset[int]]:
    """Per group, the paragraph hashes that became or stopped being boilerplate."""
    flipped = {g: before.get(g, frozenset()) ^ after.get(g, frozenset()) for g in before.keys() | after.keys()}
    return {g: hashes for g, hashes in flipped.items() if hashes}


@dataclass(frozen=True)
class CorpusBoilerplate:
    """Outlet boilerplate after a run's changes, and the articles of unchanged sources it forces to redo."""

    sets: dict[str, frozenset[int]]
    flipped: dict[str, frozenset[int]]
    held: dict[str, frozenset[str]]  # by source, the ids of its articles holding a flipped paragraph

    @property
    def reprocess(self) -> list[str]:
        """The sources to read again (sorted)."""
        return sorted(self.held)


def update_corpus_boilerplate(old_state: pa.Table, new_state: pa.Table, replaced: set[str],
                              min_articles: int) -> CorpusBoilerplate:
    """Recount outlet boilerplate with a run's changes applied to the paragraph state.

    Only unchanged articles that contain a paragraph whose status flipped are redone, so an incremental run
    ends with the same text a full run would give.
    """
    before = boilerplate_sets(old_state, min_articles)
    kept = old_state.filter(pc.invert(pc.is_in(old_state.column("source_path"),
                                               value_set=pa.array(sorted(replaced), pa.string()))))
    combined = pa.concat_tables([kept, new_state.select(PARAGRAPH_STATE.names).cast(PARAGRAPH_STATE)])
    after = boilerplate_sets(combined, min_articles)
    flipped = flipped_paragraphs(before, after)
    return CorpusBoilerplate(sets=after, flipped=flipped, held=_holding(kept, flipped))


def _holding(paragraph_state: pa.Table, paragraphs: dict[str, frozenset[int]]) -> dict[str, frozenset[str]]:
    """By source, the ids of the articles that hold one of the given paragraph hashes of their group."""
    if not paragraphs or not paragraph_state.num_rows:
        return {}
    wanted = pa.table({"group": pa.array([g for g, hashes in paragraphs.items() for _ in hashes], pa.string()),
                       "hash": pa.array([h for hashes in paragraphs.values() for h in hashes], pa.int64())})
    hashes = paragraph_state.column("paragraph_hashes")
    rows = pc.list_parent_indices(hashes)
    flat = pa.table({"row": rows, "group": pc.take(paragraph_state.column("boilerplate_group"), rows),
                     "hash": pc.list_flatten(hashes)})
    found = flat.join(wanted, ["group", "hash"], join_type="left semi", use_threads=False).column("row")
    held: dict[str, set[str]] = {}
    for source, article in zip(pc.take(paragraph_state.column("source_path"), found).to_pylist(),
                               pc.take(paragraph_state.column("article_id"), found).to_pylist()):
        held.setdefault(source, set()).add(article)
    return {source: frozenset(articles) for source, articles in held.items()}
