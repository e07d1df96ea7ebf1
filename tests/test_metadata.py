"""Metadata read from text: dates, headlines, datelines and outlets, on inline text and the seeds."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tasks.config import PipelineConfig
from tasks.ingest import parse_file
from tasks.metadata import extract_header, parse_date, parse_date_field

from conftest import SEEDS

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22 Mar 2023 10:29", datetime(2023, 3, 22, 10, 29, tzinfo=UTC)),
        ("Sept. 15, 2022", datetime(2022, 9, 15, tzinfo=UTC)),
        ("September 14, 2022", datetime(2022, 9, 14, tzinfo=UTC)),
        ("Published: Thursday, 15 September 2022 3:04 PM GMT+3", datetime(2022, 9, 15, 12, 4, tzinfo=UTC)),
        ("Updated 15 Sep 2022, 10:20 UTC", datetime(2022, 9, 15, 10, 20, tzinfo=UTC)),
        ("2022-09-15T10:00:00+03:00", datetime(2022, 9, 15, 7, tzinfo=UTC)),
        ("Dec 1st, 2021", datetime(2021, 12, 1, tzinfo=UTC)),
    ],
)
def test_parse_date_formats(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["4 hours ago", "March 22", "31 Feb 2023", "News / China / Russia", "Xi said on 15 Sep 2022 that"])
def test_parse_date_refuses_non_dates(text):
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-03-22T10:29:00Z", datetime(2023, 3, 22, 10, 29, tzinfo=UTC)),
        (1679480940, datetime(2023, 3, 22, 10, 29, tzinfo=UTC)),
        ("Wed, 22 Mar 2023 10:29:00 +0000", datetime(2023, 3, 22, 10, 29, tzinfo=UTC)),
        ("not a date", None),
        (None, None),
        ({"nested": 1}, None),
    ],
)
def test_parse_date_field(value, expected):
    assert parse_date_field(value) == expected


def test_header_takes_headline_and_date_line_out_of_the_body():
    paragraphs = [
        "22 Mar 2023 10:29",
        "China ready to deepen cooperation - Xi",
        "BEIJING. March 22 (Interfax) - China stands ready to further deepen its partnership with Russia, Xi said.",
    ]
    meta, body = extract_header(paragraphs)
    assert meta.title == "China ready to deepen cooperation - Xi"
    assert meta.published_at == datetime(2023, 3, 22, 10, 29, tzinfo=UTC)
    assert (meta.dateline, meta.outlet) == ("BEIJING", "Interfax")
    assert body == paragraphs[2:]


def test_header_finds_no_title_when_the_text_opens_with_prose():
    paragraphs = ["Chinese President Xi Jinping, who is in Samarkand, held talks with Russian President Vladimir Putin."]
    meta, body = extract_header(paragraphs)
    assert meta.title is None and body == paragraphs


def test_yearless_dateline_gives_no_date():
    meta, _ = extract_header(["MOSCOW, March 3 (Reuters) - Russia said on Friday that talks would go on as planned."])
    assert meta.published_at is None and meta.outlet == "Reuters" and meta.dateline == "MOSCOW"


def test_sentence_with_a_dash_is_not_a_dateline():
    meta, _ = extract_header(["Xi Jinping - the Chinese president - met Putin in Samarkand on Thursday for talks."])
    assert meta.dateline is None and meta.outlet is None


# What a careful reader finds in each seed; None where the text does not say.
SEED_METADATA = {
    "000_00d65d564b3f9c64.txt": ("Xi, Putin vow to 'inject stability into a turbulent world' as 'great powers'", None, "Press TV", None),
    "001_37a63de380ce9ca2.txt": (None, None, None, None),
    "002_cd11cc6e04f149dc.txt": ("China-Russia ties key to global stability", None, None, None),
    "003_d3a86075f0c03d3e.txt": ("Putin and Xi Highlight the Russia-China Model for Countries To Rally Around",
                                 datetime(2022, 9, 15, tzinfo=UTC), "EIRNS", None),
    "004_73de68f7b28712c7.txt": ("China ready to deepen strategic cooperation with Russia regardless of global situation - Xi Jinping",
                                 datetime(2023, 3, 22, 10, 29, tzinfo=UTC), "Interfax", "BEIJING"),
}


@pytest.mark.parametrize("name", sorted(SEED_METADATA))
def test_seed_metadata(name):
    parsed = parse_file((SEEDS / name).read_bytes(), name, "hash", PipelineConfig())
    (article,) = parsed.articles
    assert (article["title"], article["published_at"], article["outlet"], article["dateline"]) == SEED_METADATA[name]
