"""Text layout repair: whitespace, hard-wrapped lines and paragraphs."""

from __future__ import annotations

import re

# Invisible or exotic spaces scrapers leave behind; ZWNJ/ZWJ are kept (they carry meaning in
# Persian and Indic scripts).
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u00ad\u200b\u2060\ufeff]")
_MULTISPACE = re.compile(r" {2,}")
_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*$")
_WORD = re.compile(r"\w+")


def clean_line(line: str) -> str:
    """One line with exotic spaces folded, invisibles dropped and runs of spaces collapsed."""
    line = _INVISIBLE.sub("", _SPACES.sub(" ", line))
    return _MULTISPACE.sub(" ", line).strip()


def _wrap_width(lines: list[str]) -> int | None:
    """The column a hard-wrapped text was filled to, or None when lines are not wrapped."""
    lengths = sorted(len(line) for line in lines if line)
    if len(lengths) < 6:
        return None
    width = lengths[int(0.9 * (len(lengths) - 1))]
    if width > 100:
        return None
    filled = sum(1 for n in lengths if n >= width - 20)
    return width if filled >= 0.5 * len(lengths) else None


def paragraphs(text: str) -> list[str]:
    """Split text into paragraphs, joining the lines of hard-wrapped text back together.

    Blank lines always separate paragraphs. A single newline separates paragraphs too, except
    in text filled to a fixed width, where a line that reaches the width continues the next.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # clean_line on the whole text at once (its substitutions never touch a newline), then strip per line
    text = _MULTISPACE.sub(" ", _INVISIBLE.sub("", _SPACES.sub(" ", text)))
    raw_lines = [line.strip() for line in text.split("\n")]
    width = _wrap_width(raw_lines)
    result: list[str] = []
    current: list[str] = []
    for line in raw_lines:
        if not line:
            if current:
                result.append(_join(current))
                current = []
            continue
        current.append(line)
        if width is None or len(line) < width - 20:
            result.append(_join(current))
            current = []
    if current:
        result.append(_join(current))
    return result


def _join(lines: list[str]) -> str:
    """Join wrapped lines; a line ending in a hyphen joins the next without a space."""
    out = lines[0]
    for line in lines[1:]:
        out = out + line if out.endswith("-") and out[-2:-1].isalpha() else f"{out} {line}"
    return out


def looks_like_sentence(paragraph: str) -> bool:
    """A paragraph that reads as running prose rather than a heading or a menu."""
    words = len(_WORD.findall(paragraph))
    return words >= 25 or (words >= 8 and bool(_SENTENCE_END.search(paragraph)))


def word_starting(alternatives: str) -> str:
    """A regex of `|`-separated alternatives, grouped by first character, each matching only at a word's start.

    Each alternative must begin with a literal character. At a position, the engine then tries only the group of
    the character there instead of every alternative in turn. Measured here, with the same matches: titles 3.2x
    faster than `\\b(?:...)`, the quote module's speech verbs (`\\b` kept in front, where it fails fast inside words)
    1.2-2x faster.
    """
    groups: dict[str, list[str]] = {}
    for alternative in alternatives.split("|"):
        groups.setdefault(alternative[0], []).append(alternative[1:])
    return "(?:" + "|".join(rf"{c}(?<!\w{c})(?:{'|'.join(rests)})" for c, rests in groups.items()) + ")"


def count_words(text: str) -> int:
    """Number of word tokens."""
    return len(_WORD.findall(text))
