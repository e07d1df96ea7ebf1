"""MinHash signatures of word shingles and LSH band keys, vectorised with numpy.

Hashes are defined on the UTF-8 bytes of the text, so they are the same on every machine and in
every process (Python's own str hash is salted per process and cannot be stored).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from tasks.arrays import distinct

# Punctuation folded to spaces before tokenising, so quote style and apostrophes do not change tokens
# (a regex is five times faster than str.translate with non-ASCII keys).
_PUNCTUATION = re.compile("[\\s“”„‟‘’‚‛«»‹›–—―…·•\"'`´]")  # \s: also no-break and other Unicode spaces
_U64 = np.uint64
_POLY = _U64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_MASK32 = _U64(0xFFFFFFFF)


def _is_word_byte() -> np.ndarray:
    """Lookup table: which UTF-8 bytes belong to words (ASCII letters and digits, any non-ASCII byte)."""
    table = np.zeros(256, dtype=bool)
    for c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
        table[c] = True
    table[0x80:] = True
    return table


_WORD_BYTE = _is_word_byte()


@lru_cache(maxsize=8)
def _powers(length: int) -> tuple[np.ndarray, np.ndarray]:
    """POLY**i and POLY**-i modulo 2**64 for i < length (numpy wraps uint64 products)."""
    inverse = _U64(pow(int(_POLY), -1, 2**64))
    one = np.ones(1, dtype=_U64)
    with np.errstate(over="ignore"):
        forward = np.concatenate((one, np.cumprod(np.full(length - 1, _POLY, dtype=_U64))))
        backward = np.concatenate((one, np.cumprod(np.full(length - 1, inverse, dtype=_U64))))
    return forward, backward


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads every input bit over the whole word."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def _folded(text: str) -> bytes:
    """The text as tokenised: casefolded, punctuation and spaces folded to one space, in UTF-8."""
    return _PUNCTUATION.sub(" ", text.casefold()).encode("utf-8", "surrogatepass")


def _hashed_tokens(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each word of the bytes (a run of word bytes): its start offset and its 64-bit hash, which depends on the
    word's bytes only, not on where it stands."""
    word = _WORD_BYTE[data]
    edges = np.diff(np.concatenate(([False], word, [False])).astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        return starts, np.empty(0, dtype=_U64)
    size = 1 << int(data.size).bit_length()  # round up so the power tables are reused across texts
    forward, backward = _powers(max(size, 1 << 16))
    with np.errstate(over="ignore"):
        prefix = np.concatenate(([_U64(0)], np.cumsum(data.astype(_U64) * forward[: data.size], dtype=_U64)))
        return starts, _mix((prefix[ends] - prefix[starts]) * backward[starts])


def token_hashes(text: str) -> np.ndarray:
    """A 64-bit hash per word of the casefolded text, computed without a Python loop over words."""
    return _hashed_tokens(np.frombuffer(_folded(text), dtype=np.uint8))[1]


def _windows(tokens: np.ndarray, size: int) -> np.ndarray:
    """The hash of every run of `size` consecutive tokens, in order (len(tokens) >= size)."""
    with np.errstate(over="ignore"):
        combined = np.zeros(tokens.size - size + 1, dtype=_U64)
        for offset in range(size):
            combined = _mix(combined ^ tokens[offset : offset + combined.size])
    return combined


def shingle_hashes(tokens: np.ndarray, size: int) -> np.ndarray:
    """Distinct hashes of every run of `size` consecutive tokens (the whole text if shorter)."""
    if tokens.size == 0:
        return tokens
    return distinct(_windows(tokens, min(size, tokens.size)))


# Texts are tokenised together, joined by a space, in groups of about this many bytes: as fast per article as
# 256 KB groups on the 100k corpus, and `_powers` then caches 2 x 2 MB tables for them, not 2 x 4 MB.
_GROUP_BYTES = 1 << 17


def _text_shingles(texts: list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashes of every text's shingles (`shingle_hashes(token_hashes(text), size)` with repeats kept),
    concatenated in text order, and how many each text has: numpy works over groups of texts, not text by text."""
    parts: list[np.ndarray] = []
    counts = np.zeros(len(texts), dtype=np.int64)
    start = 0
    while start < len(texts):
        encoded, total = [], 0
        while start + len(encoded) < len(texts) and (not encoded or total < _GROUP_BYTES):
            encoded.append(_folded(texts[start + len(encoded)]))
            total += len(encoded[-1]) + 1
        begins = np.cumsum([0] + [len(e) + 1 for e in encoded[:-1]])
        starts, tokens = _hashed_tokens(np.frombuffer(b" ".join(encoded), dtype=np.uint8))
        # A space separates the texts, so no word spans two: each token's text, and each text's first token.
        owner = np.searchsorted(begins, starts, side="right") - 1
        first = np.searchsorted(owner, np.arange(len(encoded) + 1))
        n_tokens = np.diff(first)
        n_windows = np.maximum(n_tokens - size + 1, 0)
        # Runs of `size` tokens within one text, in text order.
        windows = _windows(tokens, size)[owner[: tokens.size - size + 1] == owner[size - 1 :]] \
            if tokens.size >= size else np.empty(0, dtype=_U64)
        short = np.flatnonzero((n_tokens > 0) & (n_tokens < size))
        if short.size:  # a text of fewer words is one shingle of them all, put in its place
            bounds = np.concatenate(([0], np.cumsum(n_windows))).tolist()
            pieces = [windows[bounds[i] : bounds[i + 1]] for i in range(len(encoded))]
            for i in short.tolist():
                pieces[i] = _windows(tokens[first[i] : first[i + 1]], int(n_tokens[i]))
                n_windows[i] = 1
            windows = np.concatenate(pieces)
        parts.append(windows)
        counts[start : start + len(encoded)] = n_windows
        start += len(encoded)
    return (np.concatenate(parts) if parts else np.empty(0, dtype=_U64)), counts


class MinHasher:
    """MinHash signatures with `num_perm` hash functions and LSH band keys of `rows` values."""

    def __init__(self, num_perm: int = 128, bands: int = 32, shingle_words: int = 5, seed: int = 1):
        if num_perm % bands:
            raise ValueError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
        rng = np.random.default_rng(seed)
        self.num_perm, self.bands, self.rows, self.shingle_words = num_perm, bands, num_perm // bands, shingle_words
        # h(x) = a*x + b mod 2**32 with odd a permutes the 32-bit values: on well-mixed shingle
        # hashes that serves MinHash, at half the memory traffic of 64-bit products.
        self._a = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
        self._b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)

    def signatures(self, texts: list[str]) -> np.ndarray:
        """A (len(texts), num_perm) uint32 matrix; a text without words gets all-max values."""
        result = np.full((len(texts), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        shingles, counts = _text_shingles(texts, self.shingle_words)
        values32 = (shingles >> _U64(32)).astype(np.uint32)
        offsets = np.concatenate(([0], np.cumsum(counts)))
        rows = np.flatnonzero(counts)
        sizes = counts[rows].tolist()
        # Texts go through in groups of about 64k shingles: one (num_perm x shingles) product each, reduced per
        # text with minimum.reduceat. A text's repeated shingles change no minimum.
        start = 0
        while start < len(rows):
            stop, total = start, 0
            while stop < len(rows) and (total == 0 or total + sizes[stop] <= 65536):
                total += sizes[stop]
                stop += 1
            group = rows[start:stop]
            begin = offsets[group[0]]
            flat = values32[begin : offsets[group[-1] + 1]][None, :]
            with np.errstate(over="ignore"):  # (num_perm, shingles): reduceat runs along contiguous rows
                values = self._a[:, None] * flat
                values += self._b[:, None]
            result[group] = np.minimum.reduceat(values, offsets[group] - begin, axis=1).T
            start = stop
        return result

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """A (n, bands) uint64 matrix: one hash per band of `rows` signature values."""
        n = signatures.shape[0]
        values = np.ascontiguousarray(signatures, dtype=np.uint32).reshape(n, self.bands, self.rows)
        # Two values to a 64-bit word where a band's row count allows (no copy): half the mixing. Only whether two
        # keys are equal matters (equal values, equal key); they are not stored.
        grouped = values.view(_U64) if self.rows % 2 == 0 else values.astype(_U64)
        key = np.tile(np.arange(self.bands, dtype=_U64), (n, 1))  # starting from the band: bands never collide
        for column in range(grouped.shape[2]):
            key = _mix(key ^ grouped[:, :, column])
        return key


def estimated_jaccard(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal MinHash values, row by row: an unbiased estimate of Jaccard similarity."""
    return (left == right).mean(axis=1)
