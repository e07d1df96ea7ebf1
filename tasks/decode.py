"""Bytes to trustworthy text: encoding detection, binary sniffing and mojibake repair."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import ftfy
from charset_normalizer import from_bytes

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
    return ftfy.fix_text(text, config=_FIX)
