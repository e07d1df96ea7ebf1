"""Bytes to trustworthy text: encoding detection, binary sniffing and mojibake repair."""

from __future__ import annotations

import codecs
import re
import re._parser as sre_parse
import unicodedata
from dataclasses import dataclass

import ftfy
from charset_normalizer import from_bytes
from ftfy import chardata
from ftfy.badness import BADNESS_RE

# Signatures of common binary formats scrapers save under a text extension.
_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG image",
    b"\x1f\x8b": "gzip data",
    b"%PDF-": "PDF document",
    b"PK\x03\x04": "ZIP archive",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"BZh": "bzip2 data",
    b"\xfd7zXZ\x00": "xz data",
    b"\x7fELF": "ELF binary",
    b"RIFF": "RIFF media",
}
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_FIX = ftfy.TextFixerConfig(uncurl_quotes=False, fix_line_breaks=True, normalization="NFC", explain=False)


class Rejection(ValueError):
    """An input that cannot become an article, with a machine-readable reason."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes and the encoding it was read with."""

    text: str
    encoding: str


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 byte order from where the NULs of ASCII characters fall, or None."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0) / (len(sample) / 2)
    odd_nuls = sample[1::2].count(0) / (len(sample) / 2)
    if odd_nuls > 0.3 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


# Single-byte code pages for scripts other than Latin: when detection names one, trust it.
_NON_LATIN = {
    "cp1251", "cp1253", "cp1255", "cp1256", "cp855", "cp866", "iso8859_5", "iso8859_6", "iso8859_7",
    "iso8859_8", "koi8_r", "koi8_u", "mac_cyrillic", "mac_greek", "ptcp154", "kz1048",
}


def _guess_encoding(data: bytes) -> str:
    """Choose the encoding of non-UTF-8 bytes, preferring Windows-1252 among Latin code pages."""
    candidates = [match.encoding for match in from_bytes(data[:65536])]
    if not candidates:
        return "cp1252"
    best = candidates[0]
    # Short Western texts fit several Latin code pages equally well; cp1252 (a superset of
    # Latin-1 for printable text) is by far the most common on the web.
    single_byte = best.startswith(("cp", "iso8859", "latin", "mac_")) and best not in _NON_LATIN
    return "cp1252" if single_byte and "cp1252" in candidates else best


def _mixed_with_utf8(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of a file pasted together from UTF-8 lines and lines in one legacy code page.

    Decoding such a file whole with one guessed encoding garbles every UTF-8 line; line by line,
    each keeps its own. None when no line is non-ASCII UTF-8 (a plain legacy file).
    """
    lines = data.splitlines(keepends=True)
    legacy, utf8 = [], []
    for line in lines:
        try:
            utf8.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            legacy.append(line)
    utf8_scripts = {_script(c) for c in "".join(utf8) if c.isalpha() and not c.isascii()}
    if not utf8_scripts:
        return None
    pasted = b"".join(legacy)
    candidates = [match.encoding for match in from_bytes(pasted[:65536], cp_isolation=list(_WEB_LEGACY))] or ["cp1252"]

    def fit(encoding: str) -> float:
        """Share of the legacy lines' letters in a script the UTF-8 lines use (short pieces fool detection)."""
        try:
            letters = [c for c in pasted.decode(encoding) if c.isalpha() and not c.isascii()]
        except UnicodeDecodeError:
            return -1.0
        return sum(_script(c) in utf8_scripts for c in letters) / max(1, len(letters))

    encoding = max(candidates, key=fit)  # the first of equals: detection's order
    if "cp1252" in candidates and encoding not in _NON_LATIN and fit("cp1252") == fit(encoding):
        encoding = "cp1252"  # the common Western code page among equally fitting Latin ones
    try:
        text = "".join(_line(line, encoding) for line in lines)
    except (UnicodeDecodeError, LookupError):
        return None
    return text, f"utf-8+{encoding}"


# Legacy code pages still met on the web, for the short non-UTF-8 pieces of a mixed file.
_WEB_LEGACY = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "koi8_r",
               "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr")


def _script(char: str) -> str:
    """The script a letter belongs to, from its Unicode name (LATIN, CYRILLIC, GREEK, CJK, ...)."""
    return unicodedata.name(char, "?").split(" ", 1)[0]


def _line(line: bytes, encoding: str) -> str:
    """One line as UTF-8 when it is, else in the file's legacy encoding."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode(encoding)


def decode_bytes(data: bytes) -> Decoded:
    """Decode raw file bytes to text, or raise Rejection('empty'|'binary'|'undecodable')."""
    if not data.strip():
        raise Rejection("empty", "file has no content" if not data else "file is only whitespace")
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise Rejection("binary", kind)
    encoding = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, data = name, data[len(bom) :]
            break
    if encoding is None and b"\x00" in data[:4096]:
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise Rejection("binary", "NUL bytes in a text file")
    elif encoding is None:
        try:
            return _checked(data.decode("utf-8"), "utf-8")
        except UnicodeDecodeError:
            if mixed := _mixed_with_utf8(data):
                return _checked(*mixed)
            encoding = _guess_encoding(data)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise Rejection("undecodable", f"{encoding}: {error}") from None
    return _checked(text, encoding)


def _checked(text: str, encoding: str) -> Decoded:
    """Reject decoded text that is mostly control characters (binary saved as text)."""
    controls = len(_CONTROL.findall(text[:65536]))
    if controls > max(8, 0.01 * min(len(text), 65536)):
        raise Rejection("binary", f"{controls} control characters after decoding as {encoding}")
    return Decoded(text=text, encoding=encoding)


def repair_text(text: str) -> str:
    """Fix mojibake, stray controls and odd Unicode forms, keeping typographic quotes and dashes."""
    return ftfy.fix_text(text, config=_FIX) if _ftfy_may_change(text) else text


# ftfy.fix_text costs ~1.5 ms per article (it runs ~10 fixers per line, in Python), and on clean text,
# nearly every article, it changes nothing. _ftfy_may_change proves that in ~0.1 ms: it returns False
# only when no fixer can change any line, so the output is always exactly ftfy's.
def _character_class(code_points: set[int]) -> str:
    """A regex character class of the given code points, as ranges."""
    ranges: list[list[int]] = []
    for c in sorted(code_points):
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges) + "]"


# Characters a fixer other than fix_encoding rewrites: controls, C1 controls, Latin ligatures,
# full/half-width forms, line breaks other than \n, surrogates, terminal escapes (ESC).
_FTFY_CHARACTERS = re.compile(_character_class(
    set(chardata.CONTROL_CHARS) | set(chardata.LIGATURES) | set(chardata.WIDTH_MAP) | set(range(0x80, 0xA0))
    | set(range(0xD800, 0xE000)) | {0x0D, 0x1B, 0x2028, 0x2029}))
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# BADNESS_RE's one anchored branch, "^[ÃÂ][ ]", matches at the start of every line ftfy checks.
_BAD_LINE_START = re.compile("\n[ÃÂ] ")


def _badness_reach() -> int | None:
    """Characters a BADNESS_RE match can reach beyond a non-ASCII one in it, or None when some match
    might hold no non-ASCII character (then the whole text is searched)."""
    parsed = sre_parse.parse(BADNESS_RE.pattern, BADNESS_RE.flags)

    def non_ascii(item_op, value) -> bool:
        if item_op is sre_parse.LITERAL:
            return value >= 128
        return item_op is sre_parse.IN and all((o is sre_parse.LITERAL and v >= 128)
                                               or (o is sre_parse.RANGE and v[0] >= 128) for o, v in value)

    if len(parsed.data) != 1 or parsed.data[0][0] is not sre_parse.BRANCH:
        return None
    branches = parsed.data[0][1][1]
    if not all(any(non_ascii(*item) for item in branch.data) for branch in branches):
        return None
    return parsed.getwidth()[1] - 1


_BADNESS_REACH = _badness_reach()


def _ftfy_may_change(text: str) -> bool:
    """False only when ftfy.fix_text(text, config=_FIX) is certain to return text unchanged.

    fix_text fixes each line alone until nothing changes; a line comes back unchanged when every
    fixer leaves it alone in the first pass: no HTML entity, no character of _FTFY_CHARACTERS, NFC
    already (a newline never composes, so a text in NFC has its lines in NFC), and no mojibake by
    ftfy's own test (badness.is_bad, a regex every match of which holds a non-ASCII character, so
    only the windows around non-ASCII runs are searched).
    """
    if (len(text) > _FIX.max_decode_length or _FTFY_CHARACTERS.search(text) or chardata.HTML_ENTITY_RE.search(text)
            or not unicodedata.is_normalized("NFC", text)):
        return True
    if text.isascii():
        return False
    if _BAD_LINE_START.search(text):
        return True
    if _BADNESS_REACH is None:
        return BADNESS_RE.search(text) is not None
    reach, start, end = _BADNESS_REACH, -1, -1
    for run in _NON_ASCII_RUN.finditer(text):
        low, high = max(0, run.start() - reach), run.end() + reach
        if low > end:  # a new window: search the one before
            if end > 0 and BADNESS_RE.search(text, start, end):
                return True
            start = low
        end = high
    return end > 0 and BADNESS_RE.search(text, start, end) is not None
