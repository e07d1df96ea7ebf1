"""Deterministic, vectorised language detection with langdetect's own n-gram profiles.

langdetect (``langdetect.detect``) estimates a naive-Bayes posterior by *sampling*: 7 trials, each
drawing the text's n-grams one at a time at random (in pure Python) and multiplying per-language
probabilities until one language passes 0.99999. That is slow (~10 ms for a 4 KB article) and random
unless seeded. :class:`ProfileDetector` keeps langdetect's model and answers but drops the sampling:

* the same preprocessing as ``langdetect.detector.Detector`` -- URL and e-mail removal, Vietnamese
  normalisation, truncation to ``max_chars`` (langdetect's ``max_text_length``), removal of Latin
  letters from mostly non-Latin text (``cleaning_text``), ``NGram.normalize`` character
  normalisation (CJK/kana/hangul classes, Latin-1 punctuation, Romanian, Farsi yeh, ...), 1- to
  3-grams with langdetect's space handling, and no n-grams inside all-capital words;
* the same model -- the profiles shipped in ``langdetect/profiles`` (55 languages) turned into
  ``p(ngram | lang) = freq / n_words[len(ngram) - 1]``, smoothed per n-gram as langdetect does
  (``prob *= ALPHA / BASE_FREQ + p``), n-grams absent from every profile skipped;
* but *every* n-gram of the text is counted, once per occurrence, in log space:
  ``logscore[lang] = sum(log(ALPHA / BASE_FREQ + p(g | lang)))``.

How: a dense float32 table of those logs (vocabulary x languages) is built once per process. A text
becomes an array of code points; a lookup table gives each code point the id (1..~3200) of its
normalised character among the characters the profiles use (0 for any other, so n-grams holding it
are unknown); 1-, 2- and 3-grams become integer keys of 12 bits per character, computed for all
positions at once; ``numpy.unique`` counts the distinct n-grams of each text, ``numpy.searchsorted``
finds their rows in the sorted vocabulary, and the rows, weighted by their counts, are summed per
text. The logs are stored rounded to multiples of 2**-14 nats, which makes every weighted sum exact
in float64 whatever its order. Nothing is random and nothing is mutated after the first load, so
results never depend on call order, batch composition, BLAS threads or detector instance.

The reported language is the arg-max of the summed log scores (what langdetect's sampling converges
to). The reported ``score`` mimics langdetect's top probability, which is in effect the share of its
random trials won by the top language: a trial is a random walk of per-n-gram log-ratios that stops
at a log-ratio of ``ln(1e5)`` (its 0.99999 threshold), so the top language beats language ``l`` with
probability about ``1 / (1 + exp(-2 ln(1e5) m / v))`` (gambler's ruin with drift), where ``m`` and
``v`` are the mean and variance over the text's n-grams of ``log p(g | top) - log p(g | l)``. We
report ``score = 1 / (1 + sum_l exp(-2 ln(1e5) m_l / v_l))``: ~1.0 for a clear text, lower for a text
that mixes languages or is written in one close to another (no/da, hr/sl, id/tl ...).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.utils.ngram import NGram

from tasks.arrays import positions, tally

__all__ = ["Language", "ProfileDetector"]

ALPHA = 0.5  # langdetect Detector.ALPHA_DEFAULT (it jitters it by N(0, 0.05) per trial; we do not)
BASE_FREQ = 10_000  # langdetect Detector.BASE_FREQ
CONV_LOG = math.log(1e5)  # langdetect ends a trial when the top language reaches 0.99999

_SPACE = 0x20
_DMARKS = "\u0300\u0301\u0303\u0309\u0323"  # langdetect NGram.DMARK_CLASS (Vietnamese tone marks)
_ID_BITS = 12  # bits per character id in an n-gram key (the profiles use ~3200 distinct characters)
_KEY_BITS = 3 * _ID_BITS  # a (text, n-gram) pair is text << _KEY_BITS | key
# Log-probabilities are stored on a grid of 2**-14 nats (exact in float32: |log p| < 10 < 2**10), so
# count-weighted sums of them and of their squared differences stay below 2**53 grid units for up to
# 10^5 characters (3 * 10^5 n-grams): exact in float64, whatever the order of summation.
_GRID_BITS = 14
_CHUNK_CHARS = 64_000  # detect_many works on groups of texts of about this many characters
_CHUNK_TEXTS = 4096  # ... and at most this many texts


@dataclass(frozen=True)
class Language:
    """Detected language: ISO 639-1 code as langdetect names it, confidence, and whether to trust it."""

    code: str | None  # None when the text has no n-gram known to the profiles (e.g. no letters)
    score: float | None  # probability-like confidence in [0, 1]
    reliable: bool  # False when len(text) < min_chars or score < min_probability


@dataclass(frozen=True)
class _Model:
    """langdetect's profiles as arrays; built once per process and read-only afterwards."""

    langs: tuple[str, ...]  # sorted language codes: the columns of logp
    keys: np.ndarray  # (V,) int64, sorted: the vocabulary's n-gram keys
    logp: np.ndarray  # (V, L) float32: log(ALPHA / BASE_FREQ + p(ngram | lang)), rows as keys
    char_id: np.ndarray  # (0x10000,) uint16: id of NGram.normalize(chr(c)), 0 if in no profile
    char_upper: np.ndarray  # (0x10000,) bool: NGram.normalize(chr(c)).isupper()
    space_id: int


def _fold(ids) -> int:
    key = 0
    for i in ids:
        key = (key << _ID_BITS) | i
    return key


@lru_cache(maxsize=1)
def _model() -> _Model:
    """Read langdetect's shipped profiles and build the lookup tables (about half a second, once)."""
    profiles = []
    for name in sorted(os.listdir(PROFILES_DIRECTORY)):
        path = os.path.join(PROFILES_DIRECTORY, name)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            profiles.append(json.load(f))
    profiles.sort(key=lambda p: p["name"])
    langs = tuple(p["name"] for p in profiles)

    grams = sorted({g for p in profiles for g in p["freq"] if 1 <= len(g) <= 3})
    chars = sorted({ch for g in grams for ch in g} | {" "})
    if len(chars) >= 1 << _ID_BITS:  # pragma: no cover - langdetect 1.0.9 profiles use ~3200
        raise ValueError(f"{len(chars)} characters in the profiles: too many for {_ID_BITS}-bit ids")
    ids = {ch: i + 1 for i, ch in enumerate(chars)}
    # Keys of different lengths never collide: ids are >= 1, so a longer n-gram has a larger key.
    gram_keys = [_fold(ids[ch] for ch in g) for g in grams]
    order = sorted(range(len(grams)), key=gram_keys.__getitem__)
    row_of = {grams[i]: r for r, i in enumerate(order)}
    # DetectorFactory.add_profile: p(ngram | lang) = freq / n_words[len - 1], 0 where lang lacks it.
    prob = np.zeros((len(grams), len(langs)), dtype=np.float64)
    for j, p in enumerate(profiles):
        n_words = p["n_words"]
        for g, count in p["freq"].items():
            if 1 <= len(g) <= 3:
                prob[row_of[g], j] = count / n_words[len(g) - 1]
    # Rounded to multiples of 2**-_GRID_BITS (|error| <= 3e-5 nats per n-gram, no effect on answers).
    logp = (np.round(np.log(ALPHA / BASE_FREQ + prob) * 2.0**_GRID_BITS) / 2.0**_GRID_BITS).astype(np.float32)
    keys = np.array([gram_keys[i] for i in order], dtype=np.int64)

    normalised = [NGram.normalize(chr(c)) for c in range(0x10000)]
    char_id = np.array([ids.get(ch, 0) for ch in normalised], dtype=np.uint16)
    char_upper = np.array([ch.isupper() for ch in normalised], dtype=np.bool_)
    for array in (keys, logp, char_id, char_upper):
        array.flags.writeable = False
    return _Model(langs, keys, logp, char_id, char_upper, ids[" "])


def _code_points(text: str, max_chars: int) -> np.ndarray:
    """langdetect's Detector.append + cleaning_text, as an array of (not yet normalised) code points."""
    # The regexes only match around "http" / "@" / a Vietnamese mark: skip them (same result) if absent.
    if "http" in text:
        text = Detector.URL_RE.sub(" ", text)
    if "@" in text:
        text = Detector.MAIL_RE.sub(" ", text)
    if any(mark in text for mark in _DMARKS):
        text = NGram.normalize_vi(text)
    text = text[:max_chars]
    # (langdetect also collapses runs of spaces here; NGram.add_char ignores repeated spaces anyway.)
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # cleaning_text: drop 'A'..'z' when non-Latin characters outnumber them 2:1. (langdetect means to
    # exempt Latin Extended Additional but compares a block id with a block name, so counts all >= U+0300.)
    latin = (cp >= 0x41) & (cp <= 0x7A)
    if 2 * int(np.count_nonzero(latin)) < int(np.count_nonzero(cp >= 0x300)):
        cp = cp[~latin]
    return cp


def _ngram_counts(model: _Model, texts_cp: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct known n-grams of each text: (text index, vocabulary row, count), by text.

    NGram.add_char keeps a buffer of up to 3 normalised characters that restarts after each space
    (repeated spaces are ignored), starting from a space. So over the normalised stream with a space
    put before each text, the n-grams emitted at position t are: s[t] unless it is a space, s[t-1:t+1],
    and s[t-2:t+1] unless s[t-1] is a space; none at all when s[t] and s[t-1] are both spaces (the
    repeated space) or both upper case (Detector._extract_ngrams skips all-capital words).
    """
    n = len(texts_cp)
    lengths = np.fromiter((len(cp) + 1 for cp in texts_cp), dtype=np.int64, count=n)
    total = int(lengths.sum())
    empty = np.empty(0, dtype=np.int64)
    if total < 2:
        return empty, empty, empty
    first = np.zeros(n, dtype=np.int64)  # index of each text's leading space
    np.cumsum(lengths[:-1], out=first[1:])
    s = np.full(total, _SPACE, dtype=np.uint32)
    for start, cp in zip(first.tolist(), texts_cp):
        s[start + 1 : start + 1 + len(cp)] = cp

    low = (s & 0xFFFF).astype(np.intp)
    ids = model.char_id[low].astype(np.int64)
    upper = model.char_upper[low]
    beyond = np.flatnonzero(s > 0xFFFF)
    if len(beyond):  # outside the BMP: NGram.normalize is the identity and no profile has the character
        ids[beyond] = 0
        upper[beyond] = [chr(c).isupper() for c in s[beyond].tolist()]
    space = ids == model.space_id
    known = ids != 0

    # Position t = 1 .. total-1 is row t-1 below.
    emit = ~((space[1:] & space[:-1]) | (upper[1:] & upper[:-1]))
    emit[first[1:] - 1] = False  # a text's leading space ends no n-gram of that text
    emit &= known[1:]
    cur, prev = ids[1:], ids[:-1]
    key2 = (prev << _ID_BITS) | cur
    key3 = np.empty_like(key2)
    key3[1:] = (ids[:-2] << (2 * _ID_BITS)) | key2[1:]
    key3[0] = 0
    ok1 = emit & ~space[1:]
    ok2 = emit & known[:-1]
    ok3 = ok2 & ~space[:-1]
    ok3[0] = False
    ok3[1:] &= known[:-2]
    if n > 1:
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)[1:] << _KEY_BITS
        pairs = np.concatenate(((owner | cur)[ok1], (owner | key2)[ok2], (owner | key3)[ok3]))
    else:
        pairs = np.concatenate((cur[ok1], key2[ok2], key3[ok3]))
    pairs, counts = tally(pairs)
    rows, hit = positions(model.keys, pairs & ((1 << _KEY_BITS) - 1))
    # By text; a text's rows in any order, as the sums over them are exact (_GRID_BITS). Text numbers fit in
    # 16 bits (detect_many's chunks hold at most _CHUNK_TEXTS), which numpy's stable sort sorts by radix.
    owner = pairs[hit] >> _KEY_BITS
    by_text = np.argsort(owner.astype(np.uint16) if n <= 1 << 16 else owner, kind="stable")
    return owner[by_text], rows[hit][by_text], counts[hit][by_text]


def _score(model: _Model, texts_cp: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each text: its number of known n-gram occurrences, best language index, and confidence.

    The log-probabilities are multiples of 2**-_GRID_BITS, so every product and sum below is exact in
    float64 (see _GRID_BITS): results do not depend on summation order, BLAS threads or batching.
    """
    n = len(texts_cp)
    n_ngrams = np.zeros(n, dtype=np.int64)
    best = np.zeros(n, dtype=np.int64)
    score = np.zeros(n, dtype=np.float64)
    owner, row, counts = _ngram_counts(model, texts_cp)
    if len(row) == 0:
        return n_ngrams, best, score
    texts = np.flatnonzero(np.bincount(owner, minlength=n))
    bounds = np.append(np.searchsorted(owner, texts), len(row)).tolist()
    segments = list(zip(bounds[:-1], bounds[1:]))
    weight = counts.astype(np.float64)
    logp = model.logp[row].astype(np.float64)  # (U, L): one row per distinct n-gram of a text
    totals = np.stack([weight[a:b] @ logp[a:b] for a, b in segments])  # (T, L) summed log-probabilities
    top = np.argmax(totals, axis=1)
    k = np.add.reduceat(weight, bounds[:-1])[:, None]  # n-gram occurrences per text
    # Per-occurrence log-ratio of the top language over each other one: mean and variance per text.
    top_of_row = np.repeat(top, np.diff(bounds))
    diff = np.subtract(logp[np.arange(len(row)), top_of_row][:, None], logp, out=logp)
    diff *= diff
    mean_sq = np.stack([weight[a:b] @ diff[a:b] for a, b in segments]) / k
    mean = (totals[np.arange(len(texts)), top][:, None] - totals) / k
    var = np.maximum(mean_sq - mean * mean, 1e-12)
    # P(top beats lang) for a random walk with this drift and variance stopping at +-CONV_LOG.
    z = np.minimum(2.0 * CONV_LOG * mean / var, 700.0)
    z[np.arange(len(texts)), top] = np.inf
    n_ngrams[texts] = k[:, 0].astype(np.int64)
    best[texts] = top
    score[texts] = 1.0 / (1.0 + np.exp(-z).sum(axis=1))
    return n_ngrams, best, score


class ProfileDetector:
    """langdetect's own n-gram profiles (langdetect/profiles/*, the 55 languages it ships), scored for
    all n-grams of the text at once with vectorised numpy arithmetic: deterministic by construction."""

    def __init__(self, max_chars: int = 10_000, min_chars: int = 200, min_probability: float = 0.80):
        self.max_chars = max_chars
        self.min_chars = min_chars
        self.min_probability = min_probability

    @property
    def languages(self) -> tuple[str, ...]:
        """The language codes of langdetect's profiles, sorted."""
        return _model().langs

    def detect(self, text: str) -> Language:
        """The language of one text (the same as detect_many([text])[0])."""
        return self.detect_many([text])[0]

    def log_scores(self, text: str) -> dict[str, float]:
        """Summed log-probability of the text's n-grams under each language (the naive-Bayes scores)."""
        model = _model()
        _, row, counts = _ngram_counts(model, [_code_points(text, self.max_chars)])
        totals = counts.astype(np.float64) @ model.logp[row].astype(np.float64)
        return dict(zip(model.langs, totals.tolist()))

    def detect_many(self, texts: list[str]) -> list[Language]:
        """One Language per text, identical to detect() on each; vectorised over groups of texts."""
        model = _model()
        texts = list(texts)
        results: list[Language] = []
        start = 0
        while start < len(texts):
            stop, size = start + 1, min(len(texts[start]), self.max_chars)
            while (stop < len(texts) and stop - start < _CHUNK_TEXTS
                   and size + min(len(texts[stop]), self.max_chars) <= _CHUNK_CHARS):
                size += min(len(texts[stop]), self.max_chars)
                stop += 1
            chunk = texts[start:stop]
            n_ngrams, best, score = _score(model, [_code_points(t, self.max_chars) for t in chunk])
            for text, count, b, sc in zip(chunk, n_ngrams.tolist(), best.tolist(), score.tolist()):
                if count == 0:
                    results.append(Language(None, None, False))
                    continue
                reliable = len(text) >= self.min_chars and sc >= self.min_probability
                results.append(Language(model.langs[b], round(sc, 4), reliable))
            start = stop
        return results
