"""Extract article text and metadata from raw HTML with trafilatura."""

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import trafilatura
from dateutil.parser import isoparse
from trafilatura.xml import xmltotxt

# Measured with bench/html_extraction.py. Comments are readers', not the article's; tables add
# recall; deduplicate lowers F1 and keeps a process-wide cache, so output would depend on history.
_SETTINGS: dict[str, bool] = {"include_comments": False, "include_tables": True, "deduplicate": False}
# Skipping trafilatura's fallback extractors ("fast") is quicker and no worse for balanced/recall,
# but under favor_precision it empties several real articles.
_FAVOR = {"balanced": {"fast": True}, "recall": {"favor_recall": True, "fast": True},
          "precision": {"favor_precision": True, "fast": False}}
# Most specific publication-date keys first; "date" alone is often a modified date.
_DATE_KEYS = (
    "article:published_time", "article:published", "og:article:published_time", "og:published_time",
    "datepublished", "parsely-pub-date", "sailthru.date", "article.published", "publishdate",
    "publish-date", "pubdate", "dc.date.issued", "dcterms.issued", "dcterms.created", "dc.date", "date",
)
_AUTHOR_KEYS = ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator", "byl")
# A full calendar date is required so year-only or basic-format numbers are not taken as dates.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Last resort: first <time datetime>, skipping linked teasers/mastheads and "updated" stamps.
_FIRST_TIME = ("(//time[@datetime][not(ancestor::a)][not(contains(concat(@class, @itemprop, ../@class),"
               " 'updat') or contains(concat(@class, @itemprop, ../@class), 'modif'))])[1]/@datetime")
_MIN_CHARS = 100  # less is a menu/404/cookie notice (shortest benchmark article: 427); CJK lacks spaces
_NO_METADATA = dict.fromkeys(("title", "published", "outlet", "url", "author"))


@dataclass(frozen=True)
class HtmlArticle:
    """Article body and metadata found in one HTML page."""

    text: str | None
    title: str | None
    published: str | None
    outlet: str | None
    url: str | None
    author: str | None


def _clean(value: object) -> str | None:
    """Collapse whitespace; None for non-strings and empty strings."""
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _name(value: object, ids: dict) -> str | None:
    """Name of a JSON-LD person/organisation given as string, object, {"@id"} reference or list."""
    if isinstance(value, list):
        return "; ".join(filter(None, (_name(v, ids) for v in value))) or None
    if isinstance(value, dict):
        ref = value.get("@id")
        value = value.get("name") or (ids.get(ref, {}).get("name") if isinstance(ref, str) else None)
    return _clean(value)


def _iso(value: str | None) -> str | None:
    """Return value unchanged if it is an ISO-8601 date(-time), else None."""
    try:
        return value if _ISO_DATE.match(value := _clean(value) or "") and isoparse(value) else None
    except (ValueError, OverflowError):
        return None


def _http_url(value: str | None) -> str | None:
    """Return value if it is an absolute http(s) URL, else None."""
    parts = urlsplit(value := _clean(value) or "")
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _json_ld(tree) -> tuple[dict, dict]:
    """Article-like JSON-LD object (has headline or datePublished) and all objects by @id."""
    items: list = []
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except (ValueError, RecursionError):  # broken or absurdly nested JSON-LD: skip it
            continue
        items += data if isinstance(data, list) else [data]
    items += [g for d in items if isinstance(d, dict) for g in d.get("@graph") or []]
    items = [d for d in items if isinstance(d, dict)]
    ids = {d["@id"]: d for d in items if isinstance(d.get("@id"), str)}
    return next((d for d in items if "headline" in d or "datePublished" in d), {}), ids


def _metadata(tree) -> dict:
    """Title, date, outlet, URL and author from meta tags, JSON-LD and <time>; never from text."""
    meta: dict[str, str] = {}
    for el in tree.xpath("//meta[@content]"):
        # one tag may carry several keys, e.g. property="article:published" itemprop="datePublished"
        keys = " ".join(el.get(attr, "") for attr in ("property", "name", "itemprop")).lower().split()
        if content := _clean(el.get("content")):
            for key in keys:
                meta.setdefault(key, content)
    ld, ids = _json_ld(tree)
    dates = [meta.get(k) for k in _DATE_KEYS] + [_clean(ld.get("datePublished"))]
    dates += tree.xpath('//*[@itemprop="datePublished"]/@datetime|//time[@pubdate]/@datetime')
    authors = [_name(ld.get("author"), ids)] + [meta.get(k) for k in _AUTHOR_KEYS]
    titles = [meta.get("og:title"), meta.get("twitter:title"), _clean(ld.get("headline"))]
    publisher = tree.xpath('//*[@itemprop="publisher"]//*[@itemprop="name"]/@content')  # microdata
    return {
        "published": next(filter(None, map(_iso, dates + tree.xpath(_FIRST_TIME))), None),
        # article:author is often a profile URL, not a name; NYT-style "byl" starts with "By "
        "author": next((re.sub(r"(?i)^by\s+", "", a) for a in authors if a and not _http_url(a)), None),
        "title": next(filter(None, titles), None) or _clean(tree.findtext(".//head/title")),
        "outlet": meta.get("og:site_name") or _name(ld.get("publisher"), ids)
        or _clean(next(iter(publisher), None)),
        "url": _http_url(next(iter(tree.xpath('//link[@rel="canonical"]/@href')), None))
        or _http_url(meta.get("og:url")),
    }


def _body_text(tree, favor: str) -> str | None:
    """Main text with one blank line between block elements (paragraphs, headings, lists)."""
    doc = trafilatura.bare_extraction(tree, output_format="python", **{**_FAVOR[favor], **_SETTINGS})
    if doc is None or doc.body is None:
        return None
    text = "\n\n".join(b for b in (xmltotxt(block, False).strip() for block in doc.body) if b)
    # trafilatura's baseline rescue returns any text a page has (menus, 404 or cookie notices)
    return text if len(text) >= _MIN_CHARS else None


def extract_html(markup: str, *, favor: str = "balanced") -> HtmlArticle:
    """Extract article text and metadata; never raises on bad markup (text=None instead)."""
    if favor not in _FAVOR:
        raise ValueError(f"favor must be one of {sorted(_FAVOR)}, not {favor!r}")
    text, fields = None, _NO_METADATA
    try:  # hostile markup can trip lxml, JSON-LD or trafilatura internals: keep what was found
        # lxml rejects lone surrogates, e.g. from bytes decoded with errors="surrogateescape"
        tree = trafilatura.load_html(markup.encode("utf-8", "replace").decode("utf-8"))
        if tree is not None:  # bare_extraction works on its own copy, so the tree is parsed once
            text = _body_text(tree, favor)
            fields = _metadata(tree)
    except Exception:
        pass
    return HtmlArticle(text, **fields)
