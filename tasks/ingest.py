"""Ingest: find raw files, tell what changed since the last run, and parse them into articles."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import pyarrow as pa

from tasks.boilerplate import candidate_hashes, strip_rule_boilerplate
from tasks.config import IngestConfig, PipelineConfig
from tasks.decode import Rejection, decode_bytes, repair_text
from tasks.html import extract_html
from tasks.metadata import extract_header, parse_date_field
from tasks.run import RawFile
from tasks.schemas import FILES_STATE, PARAGRAPH_STATE, PARSED, REJECTED
from tasks.storage import write_parquet
from tasks.text import paragraphs as split_paragraphs

# JSON field names accepted for each article attribute, most specific first.
_FIELDS = {
    "text": ("text", "body", "content", "article", "articleBody"),
    "html": ("html", "raw_html"),
    "title": ("title", "headline"),
    "url": ("url", "link", "canonical_url"),
    "published": ("published", "published_at", "date", "datePublished", "pubdate"),
    "outlet": ("outlet", "source", "site", "site_name", "publisher"),
}


def article_id(source_path: str, content_key: str) -> str:
    """Stable id of an article: the same path and content give the same id on any machine."""
    key = f"{source_path}\x00{content_key}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).hexdigest()


def boilerplate_group(source_path: str) -> str:
    """Where an article of unknown outlet is counted for boilerplate: its top-level folder.

    Scrapers usually keep one folder per site (raw/<site>/<date>/...), so the top-level folder
    stands in for the outlet; files directly under the raw directory share one group.
    """
    parts = PurePosixPath(source_path).parts
    return f"dir:{parts[0]}" if len(parts) > 1 else "dir:."


# JSON Lines break only at CR/LF: str.splitlines() would also split at U+2028, U+0085 and other
# characters that JSON allows unescaped inside strings, breaking good records in two.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _field(record: dict, name: str) -> object:
    """First present value among a field's accepted JSON names."""
    for key in _FIELDS[name]:
        value = record.get(key)
        if isinstance(value, dict):  # {"publisher": {"name": "Reuters"}}
            value = value.get("name")
        if value not in (None, ""):
            return value
    return None


@dataclass
class ParsedFile:
    """What one file became: parsed article rows and rejected rows."""

    articles: list[dict] = field(default_factory=list)
    rejected: list[tuple[int | None, str, str]] = field(default_factory=list)


def build_article(text: str, *, source_path: str, record_index: int | None, content_key: str,
                  source_hash: str, source_format: str, encoding: str | None,
                  fields: dict, config: PipelineConfig) -> dict:
    """Clean one article's text by rule and read its metadata; raise Rejection if nothing is left."""
    limits = config.ingest
    if len(text) > limits.max_article_chars:
        raise Rejection("article_too_long", f"{len(text)} characters > max_article_chars={limits.max_article_chars}")
    paragraphs, removed, named_outlet = strip_rule_boilerplate(split_paragraphs(repair_text(text)))
    given_title = fields.get("title") if isinstance(fields.get("title"), str) else None
    meta, body = extract_header(paragraphs, known_title=given_title)
    if sum(len(p) for p in body) < limits.min_article_chars:
        raise Rejection("no_article_text", f"{sum(len(p) for p in body)} characters of body text after cleaning")
    published_field = fields.get("published")
    published_at = parse_date_field(published_field)
    outlet = fields.get("outlet") if isinstance(fields.get("outlet"), str) else None
    outlet = outlet or named_outlet or meta.outlet
    group = f"outlet:{outlet}" if outlet else boilerplate_group(source_path)
    hashes, contexts = candidate_hashes(body, config.normalise.corpus_boilerplate_max_chars)
    return {
        "article_id": article_id(source_path, content_key),
        "source_path": source_path,
        "record_index": record_index,
        "source_format": source_format,
        "source_hash": source_hash,
        "encoding": encoding,
        "outlet": outlet,
        "url": fields.get("url") if isinstance(fields.get("url"), str) else None,
        "title": given_title or meta.title,
        "published_at": published_at or meta.published_at,
        "published_raw": str(published_field) if published_at else meta.published_raw,
        "dateline": meta.dateline,
        "paragraphs": body,
        "n_rule_removed": removed,
        "boilerplate_group": group,
        "paragraph_hashes": hashes,
        "context_hashes": contexts,
    }


def _records(text: str, suffix: str) -> Iterator[tuple[int, object | Rejection]]:
    """(1-based record number, record or Rejection) for each record of a JSON or JSON Lines file."""
    if suffix == ".jsonl":
        for number, line in enumerate(_LINE_BREAK.split(text), start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except (ValueError, RecursionError) as error:
                    yield number, Rejection("malformed_record", f"line {number}: {str(error)[:200]}")
        return
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        yield 0, Rejection("malformed_record", f"invalid JSON: {str(error)[:200]}")
        return
    if isinstance(document, dict):
        listed = next((document[k] for k in ("articles", "items", "data", "records") if isinstance(document.get(k), list)), None)
        document = listed if listed is not None else [document]
    if not isinstance(document, list):
        yield 0, Rejection("malformed_record", f"top-level JSON {type(document).__name__} is not an object or list")
        return
    yield from enumerate(document, start=1)


def parse_file(data: bytes, source_path: str, source_hash: str, config: PipelineConfig,
               only: frozenset[str] | None = None) -> ParsedFile:
    """Turn one file's bytes into parsed articles and rejections; never raises for bad input.

    `only`: build just the articles with these ids. The other records are skipped, rejected ones too, unread
    beyond what their id takes.
    """
    result = ParsedFile()
    suffix = PurePosixPath(source_path).suffix.lower()
    fmt = {".htm": "html"}.get(suffix, suffix.lstrip("."))
    try:
        decoded = decode_bytes(data)
        if suffix in (".txt", ".html", ".htm"):
            if only is not None and article_id(source_path, source_hash) not in only:
                return result
            fields: dict = {}
            text = decoded.text
            if fmt == "html":
                page = extract_html(decoded.text)
                if not page.text:
                    raise Rejection("no_article_text", "no main text found in the HTML page")
                text = page.text
                fields = {"title": page.title, "published": page.published, "outlet": page.outlet, "url": page.url}
            result.articles.append(build_article(
                text, source_path=source_path, record_index=None, content_key=source_hash,
                source_hash=source_hash, source_format=fmt, encoding=decoded.encoding, fields=fields, config=config))
            return result
        occurrences: Counter[str] = Counter()
        for number, record in _records(decoded.text, suffix):
            if only is not None and not isinstance(record, dict):
                continue  # a rejected record: not an article to redo
            try:
                if isinstance(record, Rejection):
                    raise record
                article = _record_article(record, number, occurrences, source_path, source_hash, fmt,
                                          decoded.encoding, config, only)
                if article is not None:
                    result.articles.append(article)
            except Rejection as rejection:
                result.rejected.append((number or None, rejection.reason, rejection.detail))
        if not result.articles and not result.rejected:  # "[]" or only blank lines: say so, do not drop it
            raise Rejection("no_article_text", "the file holds no records")
    except Rejection as rejection:
        result.rejected.append((None, rejection.reason, rejection.detail))
    return result


def _record_article(record: object, number: int, occurrences: Counter[str], source_path: str, source_hash: str,
                    fmt: str, encoding: str | None, config: PipelineConfig, only: frozenset[str] | None = None) -> dict | None:
    """One JSON record as a parsed article; its id survives edits elsewhere in the file. None for a record whose
    id is not among `only` (when given)."""
    if not isinstance(record, dict):
        raise Rejection("malformed_record", f"record {number} is a {type(record).__name__}, not an object")
    # Equal records are numbered in order of appearance: they get different ids and, equal, the same fate.
    record_hash = hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()
    occurrences[record_hash] += 1
    content_key = f"{record_hash}:{occurrences[record_hash]}"
    if only is not None and article_id(source_path, content_key) not in only:
        return None
    fields = {name: _field(record, name) for name in _FIELDS}
    text = fields.pop("text")
    html = fields.pop("html")
    if not isinstance(text, str) and isinstance(html, str):
        page = extract_html(html)
        text = page.text
        fields = {k: fields[k] or getattr(page, k) for k in ("title", "published", "outlet", "url")}
    if not isinstance(text, str) or not text.strip():
        raise Rejection("no_article_text", f"record {number} has no text field")
    return build_article(text, source_path=source_path, record_index=number, content_key=content_key, source_hash=source_hash,
                         source_format=fmt, encoding=encoding, fields=fields, config=config)


def read_raw(raw: RawFile, config: IngestConfig) -> bytes:
    """The file's bytes, or Rejection when it cannot or should not be read."""
    if raw.symlink is not None:
        raise Rejection("symlink_not_followed", f"points to {raw.symlink}; set follow_symlinks to read it")
    suffix = PurePosixPath(raw.source_path).suffix.lower()
    if suffix not in config.extensions:
        raise Rejection("unsupported_format", f"extension {suffix or '(none)'!r} is not one of {', '.join(config.extensions)}")
    if raw.size > config.max_file_bytes:
        raise Rejection("file_too_large", f"{raw.size} bytes > max_file_bytes={config.max_file_bytes}")
    try:
        # O_NONBLOCK so a FIFO in the raw directory cannot hang the run waiting for a writer.
        with open(os.open(raw.real_path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise Rejection("unreadable", "not a regular file (a FIFO, socket or device)")
            data = handle.read(config.max_file_bytes + 1)
    except OSError as error:
        raise Rejection("unreadable", f"{type(error).__name__}: {error.strerror or error}") from None
    if len(data) > config.max_file_bytes:
        raise Rejection("file_too_large", f"more than max_file_bytes={config.max_file_bytes}")
    return data


@dataclass(frozen=True)
class ParseJob:
    """One batch of files for a worker process to parse."""

    files: list[RawFile]
    previous_hashes: dict[str, str]
    config: PipelineConfig
    staging_path: str
    rejected_path: str
    seen_at: datetime
    # Files unchanged on disk (their previous hash given) of which only these articles are redone, their other
    # rows kept (`ParseResult.redone`); read again whole if not what they were.
    redo: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class ParseResult:
    """A parsed batch: where its rows went and the small tables the run needs afterwards."""

    staging_path: str | None
    rejected_path: str | None
    files_state: pa.Table
    paragraph_state: pa.Table
    touched: list[RawFile]
    n_articles: int
    rejected_reasons: Counter[str]
    # By source, the articles redone from a file the run keeps (`ParseJob.redo`): no file or paragraph state
    # rows for it, only these articles' rows replace theirs.
    redone: dict[str, list[str]] = field(default_factory=dict)


def parse_batch(job: ParseJob) -> ParseResult:
    """Read, hash and parse a batch of files, writing parsed rows to staging and rejections out."""
    articles: list[dict] = []
    redone: dict[str, list[dict]] = {}
    rejected: list[dict] = []
    state: list[dict] = []
    touched: list[RawFile] = []
    for raw in job.files:
        try:
            data = read_raw(raw, job.config.ingest)
            source_hash = hashlib.sha256(data).hexdigest()
            if job.previous_hashes.get(raw.source_path) == source_hash:
                if raw.source_path not in job.redo:
                    touched.append(raw)  # only the timestamp changed
                    continue
                wanted = job.redo[raw.source_path]
                parsed = parse_file(data, raw.source_path, source_hash, job.config, only=wanted)
                if not parsed.rejected and {a["article_id"] for a in parsed.articles} == wanted:
                    redone[raw.source_path] = parsed.articles
                    continue
            parsed = parse_file(data, raw.source_path, source_hash, job.config)
        except Rejection as rejection:
            source_hash = ""
            parsed = ParsedFile(rejected=[(None, rejection.reason, rejection.detail)])
        articles.extend(parsed.articles)
        rejected.extend(
            {"source_path": raw.source_path, "record_index": index, "reason": reason, "detail": detail,
             "seen_at": job.seen_at}
            for index, reason, detail in parsed.rejected
        )
        state.append({"source_path": raw.source_path, "size": raw.size, "mtime_ns": raw.mtime_ns,
                      "source_hash": source_hash, "n_articles": len(parsed.articles),
                      "n_rejected": len(parsed.rejected), "seen_at": job.seen_at})
    n_whole = len(articles)
    articles.extend(row for rows in redone.values() for row in rows)
    parsed_table = pa.Table.from_pylist(articles, schema=PARSED)
    rejected_table = pa.Table.from_pylist(rejected, schema=REJECTED)
    return ParseResult(
        staging_path=str(write_parquet(parsed_table, Path(job.staging_path), PARSED)) if articles else None,
        rejected_path=str(write_parquet(rejected_table, Path(job.rejected_path), REJECTED)) if rejected else None,
        files_state=pa.Table.from_pylist(state, schema=FILES_STATE),
        paragraph_state=parsed_table.slice(0, n_whole).select(PARAGRAPH_STATE.names),
        touched=touched,
        n_articles=len(articles),
        rejected_reasons=Counter(r["reason"] for r in rejected),
        redone={source: [row["article_id"] for row in rows] for source, rows in redone.items()},
    )
