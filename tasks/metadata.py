"""Article metadata read from the text itself: headline, publish date, dateline and outlet.

Only what the text states is taken: a date line in the header or a dateline with a year, an
agency named in a dateline. A date in a photo caption or a year-less dateline gives no date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from dateutil import parser as date_parser

from tasks.text import count_words, looks_like_sentence

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|wednes|thu|thur|thurs|fri|sat|satur|sun)(?:day)?\.?,?\s+)?"
_TIME = (
    r"(?:,?\s*(?:at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::\d{2})?\s*(?P<ampm>[ap]\.?m\.?)?)?"
    r"\s*(?P<tz>(?:GMT|UTC)?\s*[+-]\d{1,2}(?::?\d{2})?|GMT|UTC|Z)?"
)
_DAY_MONTH_YEAR = _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})" + _TIME
_MONTH_DAY_YEAR = _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME
_ISO = r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)"
_DATE_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _ISO)]
_DATE_PREFIX = re.compile(r"^(?:published|updated|posted|last updated|date)\s*(?:on|:)?\s*", re.IGNORECASE)

# "BEIJING. March 22 (Interfax) - ", "Sept. 15, 2022 (EIRNS)—", "SAMARKAND, Uzbekistan (AP) — "
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z'’.\-]+(?:\s[A-Z][A-Z'’.\-]+){0,3}(?:,\s*[A-Z][\w.]+(?:\s[A-Z][\w.]+){0,2})?)?"
    r"[.,]?\s*"
    r"(?P<date>(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?)?"
    r"\s*(?:\((?P<agency>[A-Z][^()]{1,40})\))?\s*(?:-+|–|—)\s*",
)
_TITLE_END_BAD = (".", ",", ";", ":")


@dataclass(frozen=True)
class TextMetadata:
    """What the text says about itself; None where it says nothing."""

    title: str | None = None
    published_at: datetime | None = None
    published_raw: str | None = None
    dateline: str | None = None
    outlet: str | None = None


def parse_date(value: str, *, whole: bool = True) -> datetime | None:
    """A UTC datetime from the date formats news pages use; times without a zone are taken as UTC."""
    text = _DATE_PREFIX.sub("", value.strip())
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text) if whole else pattern.match(text)
        if match:
            return _to_datetime(match)
    return None


def _to_datetime(match: re.Match[str]) -> datetime | None:
    """Build the datetime a date pattern matched, or None when it is not a real date."""
    groups = match.groupdict()
    try:
        if groups.get("iso"):
            parsed = date_parser.isoparse(groups["iso"])
        else:
            hour = int(groups["hour"] or 0)
            if groups["ampm"] and groups["ampm"].lower().startswith("p") and hour < 12:
                hour += 12
            elif groups["ampm"] and hour == 12:
                hour = 0
            parsed = datetime(
                int(groups["year"]), _MONTHS[groups["month"][:3].lower()], int(groups["day"]),
                hour, int(groups["minute"] or 0),
            )
            parsed = parsed.replace(tzinfo=_zone(groups["tz"]))
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _zone(text: str | None) -> timezone:
    """The zone of 'GMT', 'UTC+3', '+03:00' and the like; UTC when none is given."""
    match = re.search(r"([+-])(\d{1,2}):?(\d{2})?", text or "")
    if not match:
        return timezone.utc
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0)))


def parse_date_field(value: object) -> datetime | None:
    """A UTC datetime from a JSON or HTML metadata field (ISO 8601, epoch seconds or prose)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            return None
    if not isinstance(value, str) or len(value) > 64:
        return None
    if found := parse_date(value):
        return found
    try:
        parsed = date_parser.parse(value)
    except (ValueError, OverflowError, date_parser.ParserError):
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _is_title(paragraph: str) -> bool:
    """Shaped like a headline: a short line, not a sentence ending in a full stop."""
    words = count_words(paragraph)
    return (
        2 <= words <= 30
        and len(paragraph) <= 250
        and not paragraph.endswith(_TITLE_END_BAD)
        and not paragraph.islower()
        and parse_date(paragraph) is None
    )


def extract_header(paragraphs: list[str], *, known_title: str | None = None) -> tuple[TextMetadata, list[str]]:
    """Read title, date, dateline and agency from the top of an article; return them and the body.

    The header is everything before the first paragraph of prose. Its date line and headline are
    removed from the body; a dateline stays in the text it opens. With a `known_title` (from JSON
    or HTML metadata) only a header line repeating it is taken as the headline.
    """
    known = " ".join(known_title.split()).casefold() if known_title else None
    title = published = published_raw = None
    body: list[str] = []
    in_header = True
    for paragraph in paragraphs:
        if in_header and looks_like_sentence(paragraph):
            in_header = False
        if in_header:
            if published is None and (found := parse_date(paragraph)):
                published, published_raw = found, paragraph
                continue
            if title is None and (paragraph.casefold() == known if known else _is_title(paragraph)):
                title = paragraph
                continue
        body.append(paragraph)
    meta = TextMetadata(title=title, published_at=published, published_raw=published_raw)
    return _with_dateline(meta, body), body


def _with_dateline(meta: TextMetadata, body: list[str]) -> TextMetadata:
    """Add what a dateline opening the first body paragraphs says: place, agency, dated year."""
    for paragraph in body[:2]:
        match = _DATELINE.match(paragraph)
        if not match or not (match.group("agency") or match.group("place")):
            continue
        place = match.group("place")
        if place and not match.group("agency") and (len(place) < 3 or not place.split(",")[0].isupper()):
            continue
        meta = replace(meta, dateline=place.strip(" .,") if place else None, outlet=match.group("agency"))
        date_text = match.group("date")
        if meta.published_at is None and date_text and (found := parse_date(date_text)):
            meta = replace(meta, published_at=found, published_raw=date_text)
        return meta
    return meta
