"""Quote rules: what two quotes must share to be one remark, and the keys that propose them.


A quote's keys are fixed by its own text, never by the rest of the corpus: the hash of its
normalised wording, and for a known speaker the `sketch_size` smallest hashes of its consecutive
content-word pairs scoped by the speaker (a bottom-k sketch). Content words are the words but stopwords
(prepositions included), stemmed for plurals and irregular past forms, as reported speech shifts the tense
("we understand" / "he understood"). Quotes sharing a key are candidates; the rules of `same_remark` confirm them:

- exact: the same words once case, quote style and punctuation are ignored;
- fragment: the shorter (at least `fragment_min_words` words) sits inside the longer
  (`partial_ratio` >= `fragment_min_score`);
- translation: both have at least `paraphrase_min_content_words` content words and
  `token_set_ratio` of the stemmed content words reaches `paraphrase_min_score`;
- paraphrase: at least `speaker_paraphrase_min_shared` shared content words, one consecutive pair
  among them, and the longer holding `speaker_paraphrase_min_overlap` of the shorter quote's content words
  other than names (a report names whom the direct quote calls "you": "he understood Ruto's doubts";
  names alone never make two remarks one);
- shared phrases: two translations of one sentence may word most of it apart yet keep its longer phrases
  ("... to exchange views with you on ... international and regional issues of ..."): at least
  `phrases_min_count` runs of `phrase_min_words` words or more in the same order, each with two content
  words and `phrases_min_content_words` between them, and neither quote naming someone or something the
  other does not while the other does the same ("our Argentine colleagues" / "our Serbian colleagues").
  One shared phrase, however long, is not enough: a leader's stock phrase ("comprehensive strategic
  partnership of coordination for the new era") recurs in his other remarks.

All but exact copies need the same known speaker, `min_shared_content` of the shorter quote's content
words in the other (except for shared phrases), and no "same sentence, other names" ("Kenya ... Spain" vs "Ireland ... Norway";
"US" stands for "United States"). Quotes of no known speaker join their exact copies only: as wildcards
they bridged the remarks of different speakers into clusters of thousands. Fragments and translations
need the shorter quote to hold `min_length_ratio` of the longer's words, or a speech quoted whole would
chain its remarks together, and so do shared phrases. Translations, paraphrases and shared phrases need two copies published at most
`paraphrase_max_days` apart, or a date unknown (an optional `published_at` column of the quotes
tables): a leader repeats a phrase at the next summit, and that is another remark.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import itertools
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from tasks.config import QuoteConfig

_STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "for", "with", "by", "at", "from", "as", "into", "onto", "over", "than", "then", "that", "this", "these", "those", "there", "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "does", "did", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "it", "its", "we", "our", "us", "i", "me", "my", "you", "your", "he", "him", "his", "she", "her", "they", "them", "their", "who", "whom", "whose", "which", "what", "while", "also", "very", "such", "all", "any", "both", "each", "more", "most", "other", "some", "so", "not", "no", "nor", "up", "out", "about", "if",
     # prepositions, which a paraphrase swaps freely ("regarding" / "on" / "about")
     "above", "across", "after", "against", "along", "amid", "among", "around", "before", "behind", "below", "beneath",
     "beside", "between", "beyond", "concerning", "despite", "during", "except", "including", "regarding", "since",
     "through", "throughout", "toward", "towards", "under", "until", "upon", "via", "within", "without"])
_TOKEN_OR_STOP = re.compile(r"[^\W_]+|[.!?;:]")
TEMPLATE_SHARE = 0.8  # of the shorter quote's plain words recurring in the longer: the same sentence
_POSSESSIVE = re.compile(r"['’]s\b")


# Irregular past forms: reported speech shifts a direct quote's tense ("we understand" -> "he understood").
_PAST = {"became": "become", "began": "begin", "brought": "bring", "built": "build", "chose": "choose", "came": "come",
         "felt": "feel", "found": "find", "gave": "give", "got": "get", "grew": "grow", "held": "hold", "kept": "keep",
         "knew": "know", "led": "lead", "left": "leave", "lost": "lose", "made": "make", "meant": "mean", "met": "meet",
         "paid": "pay", "rose": "rise", "said": "say", "saw": "see", "sent": "send", "sought": "seek", "spoke": "speak",
         "stood": "stand", "taught": "teach", "thought": "think", "told": "tell", "took": "take",
         "understood": "understand", "went": "go", "won": "win", "wrote": "write"}


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A crude stem: plurals ("provocations"/"provocation", "limits"/"limit") and irregular past forms
    ("understood"/"understand")."""
    word = _PAST.get(word, word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little", signed=True)


def key_hash(value: str) -> int:
    """A fast stable 32-bit hash for keys: a collision only proposes one more pair to compare."""
    return zlib.crc32(value.encode())


@dataclass(frozen=True)
class Wording:
    """What the confirmation rules read of one quote's text; quotes of one variant have equal wordings."""

    words: str
    n_words: int
    content: str
    content_set: frozenset[str]
    names: frozenset[str]
    plain: frozenset[str]  # content words that are not names
    speaker: str | None

    @functools.cached_property
    def pairs(self) -> frozenset[str]:
        """Consecutive content-word pairs, made when first read: the keys read them, and of the rules only a
        paraphrase, which most pairs of wordings never reach."""
        return frozenset(f"{a} {b}" for a, b in itertools.pairwise(self.content.split()))

    @functools.cached_property
    def variant(self) -> int:
        """Hash of everything the rules read but the date: copies of one quote share it (worked out once)."""
        return _hash("\x00".join([self.words, self.content, " ".join(sorted(self.names)), self.speaker or ""]))


@functools.lru_cache(maxsize=1 << 17)
def _token(token: str) -> tuple[str, str | None, str | None, bool, bool]:
    """What `wording` reads of a word token, worked out once per token (they recur across quotes): its folded
    form, its stem when it is a content word, its name key when it may be a name (an acronym, or capitalised and
    no stopword: a name unless it opens a sentence), whether it is an acronym and whether a number."""
    folded = token.casefold()
    acronym = len(token) > 1 and token.isupper()
    stop = folded in _STOPWORDS and not acronym
    name = folded if acronym else folded[:4] if token[0].isupper() and not stop else None
    return folded, None if stop else _stem(folded), name, acronym, token.isdigit()


def wording(text: str, speaker_entity_id: str | None) -> Wording:
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
        folded, stem, name, acronym, number = _token(token)
        words.append(folded)
        if stem is not None:
            content.append(stem)
        if name is not None and (acronym or not opening):
            names.add(name)
            run.append(folded[0])
        else:
            if number:
                names.add(token)
            if len(run) > 1:
                names.add("".join(run))
            run = []
        opening = False
    if len(run) > 1:
        names.add("".join(run))
    names = frozenset(names)
    plain = frozenset(w for w in content if w[:4] not in names and w not in names)
    return Wording(" ".join(words), len(words), " ".join(content), frozenset(content), names, plain, speaker_entity_id)


def near(a_days: Iterable[int | None], b_days: Iterable[int | None], config: QuoteConfig) -> bool:
    """Whether some copies of two quotes were published close enough, or one date is unknown."""
    a_days, b_days = list(a_days), list(b_days)
    if not a_days or not b_days or None in a_days or None in b_days:
        return True
    a_days, b_days = sorted(a_days), sorted(b_days)
    i = j = 0
    while i < len(a_days) and j < len(b_days):  # the closest two days of two sorted lists
        if abs(a_days[i] - b_days[j]) <= config.paraphrase_max_days:
            return True
        if a_days[i] < b_days[j]:
            i += 1
        else:
            j += 1
    return False


def template(short: Wording, long: Wording) -> bool:
    """Whether the words of the shorter quote that are not names nearly all recur in the longer."""
    return len(short.plain & long.plain) >= TEMPLATE_SHARE * len(short.plain)


def vetoed(a: Wording, b: Wording, short: Wording, long: Wording) -> bool:
    """The same sentence about other people, places or figures: another remark."""
    return bool(a.names - b.names and b.names - a.names) and template(short, long)


def _two_in_order(found: list[tuple[int, tuple]], grams: list[tuple], last: dict[tuple, int], k: int) -> bool:
    """Whether two of the shorter's phrases found in the longer (`found`: position in the shorter, phrase, in
    order of position) lie k words or more apart in both, in the same order. Matching blocks never overlap and
    come in the same order in both texts, so two runs of k words need it; most pairs with a shared phrase share
    one stretch, and fail here before the `SequenceMatcher`. `grams` are the longer's phrases, `last` the last
    place of each."""
    first = {}
    for j, gram in enumerate(grams):
        first.setdefault(gram, j)
    # The earliest place in the longer of a phrase found k words or more before this one in the shorter.
    earliest, x = len(grams), 0
    for i, gram in found:
        while found[x][0] <= i - k:
            earliest = min(earliest, first[found[x][1]])
            x += 1
        if last[gram] - earliest >= k:
            return True
    return False


def shared_phrases(short: Wording, long: Wording, config: QuoteConfig) -> bool:
    """Whether two wordings share `phrases_min_count` runs of `phrase_min_words` words (in the same order), each
    with two content words, holding `phrases_min_content_words` distinct content words between them."""
    a, b, k = short.words.split(), long.words.split(), config.phrase_min_words
    # Each run starts with a k-word phrase of the shorter found in the longer: count those first, cheaply.
    grams = list(zip(*(b[i:] for i in range(k))))
    last = {gram: j for j, gram in enumerate(grams)}
    found = [(i, gram) for i, gram in enumerate(zip(*(a[i:] for i in range(k)))) if gram in last]
    if len(found) < config.phrases_min_count or \
            config.phrases_min_count >= 2 and not _two_in_order(found, grams, last, k):
        return False
    runs = [[_stem(w) for w in a[m.a : m.a + m.size] if w not in _STOPWORDS]
            for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if m.size >= config.phrase_min_words]
    runs = [r for r in runs if len(r) >= 2]
    return len(runs) >= config.phrases_min_count and len(set().union(*runs)) >= config.phrases_min_content_words


def same(a: Wording, b: Wording, config: QuoteConfig, near: Callable[[], bool] = lambda: True) -> bool:
    """The confirmation rules; `near()` says whether the two were published close enough for a paraphrase."""
    if a.speaker != b.speaker:
        return False  # unknown is a speaker of its own: a quote of no known speaker must not bridge two
    if a.words == b.words:
        return True
    if not a.speaker:
        return False  # nor join anything but its exact copies: nothing else tells two anonymous remarks apart
    shared = len(a.content_set & b.content_set)
    fewest = min(len(a.content_set), len(b.content_set))
    short, long = (a, b) if (a.n_words, a.words) <= (b.n_words, b.words) else (b, a)  # either order, one answer
    # A long quote holding several remarks must not chain them together.
    whole = short.n_words >= config.min_length_ratio * long.n_words
    most = shared >= config.min_shared_content * fewest  # all rules but shared phrases need it
    # Shared phrases may hold; not between quotes that each name someone or something the other does not.
    phrases = whole and shared >= config.phrases_min_content_words and not (a.names - b.names and b.names - a.names)
    if not (most or phrases) or vetoed(a, b, short, long):
        return False
    if most and whole and short.n_words >= config.fragment_min_words and \
            fuzz.partial_ratio(short.words, long.words, score_cutoff=config.fragment_min_score):
        return True
    if not near():
        return False
    if most and whole and fewest >= config.paraphrase_min_content_words and \
            fuzz.token_set_ratio(a.content, b.content, score_cutoff=config.paraphrase_min_score):
        return True
    # Names count as shared words but not toward the overlap: a report names whom a direct quote calls "you".
    if most and shared >= config.speaker_paraphrase_min_shared and bool(a.pairs & b.pairs) and \
            len(short.plain & long.content_set) >= config.speaker_paraphrase_min_overlap * len(short.plain):
        return True
    return phrases and shared_phrases(short, long, config)


def same_remark(a: dict, b: dict, config: QuoteConfig) -> bool:
    """Whether two quote rows (text, speaker_entity_id, optional published_at) render the same remark."""
    days = [None if r.get("published_at") is None else r["published_at"].toordinal() for r in (a, b)]
    return same(wording(a["text"], a["speaker_entity_id"]), wording(b["text"], b["speaker_entity_id"]), config,
                 lambda: near([days[0]], [days[1]], config))


def keys_of(w: Wording, sketch_size: int) -> list[int]:
    """The wording key, and for a known speaker the bottom-k of its content-word pairs scoped by the speaker."""
    keys = {key_hash(f"words\x00{w.words}\x00{w.speaker or ''}")}
    if w.speaker:  # a quote of no known speaker joins its exact copies only
        items = sorted(w.pairs) or sorted(w.content_set)[:1]
        keys.update(sorted(key_hash(f"{w.speaker}\x00{item}") for item in items)[:sketch_size])
    return sorted(keys)


def features(w: Wording) -> dict:
    return {"variant": w.variant, "n_words": w.n_words, "words_hash": key_hash(w.words),
            "names_mask": functools.reduce(int.__or__, (1 << (key_hash(n) % 64) for n in w.names), 0),
            "content": sorted(w.content_set), "plain": sorted(w.plain)}
