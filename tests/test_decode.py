"""Decoding: every encoding scrapers produce becomes the same text; binary and empty are rejected."""

from __future__ import annotations

import codecs
import gzip

import ftfy.bad_codecs  # noqa: F401  (registers the sloppy codecs used to make mojibake)
import pytest

from tasks.decode import Rejection, decode_bytes, repair_text

TEXT = "Xi told Putin: “We are ready to play a leading role” – in Samarkand, Uzbekistan. Café crème déjà vu."


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_decode_to_the_same_text(data, encoding):
    decoded = decode_bytes(data)
    assert decoded.text == TEXT
    assert decoded.encoding == encoding


def test_cyrillic_code_page_is_kept():
    text = "Президент России Владимир Путин встретился с председателем КНР Си Цзиньпином в Самарканде."
    assert decode_bytes(text.encode("cp1251")).text == text


def test_latin1_bytes_decode():
    text = "Zürich und Genève: Präsident Macron traf Scholz."
    assert decode_bytes(text.encode("latin-1")).text == text


def test_mojibake_is_repaired_and_typographic_quotes_kept():
    garbled = TEXT.encode("utf-8").decode("sloppy-windows-1252")
    assert repair_text(garbled) == TEXT


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\t \r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "binary"),
        (gzip.compress(b"hello world" * 20), "binary"),
        (b"text with \x00 a NUL \x00 byte and \x01\x02\x03" * 3, "binary"),
        (bytes(range(1, 32)) * 40, "binary"),
        (b"Caf\xe9 \x81\x8d\x8f\x90\x9d" * 50, "undecodable"),
    ],
)
def test_bad_bytes_are_rejected_with_a_reason(data, reason):
    with pytest.raises(Rejection) as caught:
        decode_bytes(data)
    assert caught.value.reason == reason
