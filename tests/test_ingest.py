"""Ingest: formats, records, rejections, stable ids, and change detection on real files."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from tasks.config import IngestConfig, PipelineConfig
from tasks.ingest import (
    ParseJob,
    article_id,
    boilerplate_group,
    parse_batch,
    parse_file,
    read_raw,
)
from tasks.run import RawFile, plan_changes, scan_raw
from tasks.schemas import FILES_STATE

CONFIG = PipelineConfig()
BODY = ("China stands ready to further deepen and enrich its comprehensive strategic cooperation "
        "and partnership with Russia regardless of changes on the global stage, Xi said.")


def _jsonl(*records) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


def test_jsonl_records_become_articles_and_a_bad_line_is_rejected_alone():
    data = _jsonl(
        {"text": BODY, "title": "Xi on Russia", "url": "https://example.org/1", "published": "2023-03-22T10:29:00Z",
         "outlet": "Interfax"},
        '{"text": "truncated line',
        {"title": "no text here"},
        {"body": BODY + " Second.", "publisher": {"name": "TASS"}},
    )
    parsed = parse_file(data, "wire/export.jsonl", "h", CONFIG)
    assert [a["record_index"] for a in parsed.articles] == [1, 4]
    first, second = parsed.articles
    assert (first["title"], first["outlet"], first["url"]) == ("Xi on Russia", "Interfax", "https://example.org/1")
    assert first["published_at"].isoformat() == "2023-03-22T10:29:00+00:00"
    assert second["outlet"] == "TASS" and second["source_format"] == "jsonl"
    assert [(r[0], r[1]) for r in parsed.rejected] == [(2, "malformed_record"), (3, "no_article_text")]


def test_json_file_with_a_list_of_articles():
    data = json.dumps({"articles": [{"text": BODY}, {"content": BODY + " More."}, 42]}).encode()
    parsed = parse_file(data, "export.json", "h", CONFIG)
    assert len(parsed.articles) == 2
    assert parsed.rejected == [(3, "malformed_record", "record 3 is a int, not an object")]


def test_record_ids_survive_an_insertion_elsewhere_in_the_file():
    one = {"text": BODY}
    two = {"text": BODY + " Another."}
    before = parse_file(_jsonl(one, two), "a.jsonl", "h1", CONFIG).articles
    after = parse_file(_jsonl({"text": BODY + " New."}, one, two), "a.jsonl", "h2", CONFIG).articles
    assert {a["article_id"] for a in before} < {a["article_id"] for a in after}


def test_identical_records_in_one_file_get_distinct_ids():
    parsed = parse_file(_jsonl({"text": BODY}, {"text": BODY}), "a.jsonl", "h", CONFIG)
    assert len({a["article_id"] for a in parsed.articles}) == 2


def test_only_the_articles_asked_for_are_built():
    records = [{"text": BODY}, '{"text": "truncated line', {"text": BODY}, 42, {"text": BODY + " Other."}]
    whole = parse_file(_jsonl(*records), "a.jsonl", "h", CONFIG)
    wanted = frozenset({whole.articles[1]["article_id"], whole.articles[2]["article_id"]})  # the second equal record
    part = parse_file(_jsonl(*records), "a.jsonl", "h", CONFIG, only=wanted)
    assert part.articles == whole.articles[1:] and part.rejected == []  # the same rows; rejected records skipped
    assert parse_file(BODY.encode(), "b.txt", "h", CONFIG, only=wanted).articles == []
    assert parse_file(BODY.encode(), "b.txt", "h", CONFIG, only=frozenset({article_id("b.txt", "h")})).articles \
        == parse_file(BODY.encode(), "b.txt", "h", CONFIG).articles


def _redo_job(tmp_path, raw: RawFile, data: bytes, previous_hash: str, wanted: frozenset[str]) -> ParseJob:
    return ParseJob(files=[raw], previous_hashes={raw.source_path: previous_hash}, config=CONFIG,
                    staging_path=str(tmp_path / "staging.parquet"), rejected_path=str(tmp_path / "rejected.parquet"),
                    seen_at=datetime(2026, 1, 1, tzinfo=timezone.utc), redo={raw.source_path: wanted})


def test_a_file_kept_has_only_its_held_articles_redone_or_is_read_whole_when_not_what_it_was(tmp_path):
    data = _jsonl({"text": BODY}, {"text": BODY + " Second."}, {"text": BODY + " Third."})
    (tmp_path / "a.jsonl").write_bytes(data)
    raw = RawFile("a.jsonl", str(tmp_path / "a.jsonl"), len(data), 1)
    ids = [a["article_id"] for a in parse_file(data, "a.jsonl", hashlib.sha256(data).hexdigest(), CONFIG).articles]
    same = hashlib.sha256(data).hexdigest()

    redone = parse_batch(_redo_job(tmp_path, raw, data, same, frozenset(ids[1:2])))
    assert redone.redone == {"a.jsonl": ids[1:2]} and redone.n_articles == 1
    assert redone.files_state.num_rows == 0 and redone.paragraph_state.num_rows == 0  # the file's rows stay
    assert redone.touched == []
    # Changed on disk since (the hash differs), or no longer holding an article asked for: read whole, as a
    # changed file is, its rows replaced.
    for previous_hash, wanted in [("other", frozenset(ids[1:2])), (same, frozenset({"gone"}))]:
        whole = parse_batch(_redo_job(tmp_path, raw, data, previous_hash, wanted))
        assert whole.redone == {} and whole.n_articles == 3
        assert whole.files_state.column("source_path").to_pylist() == ["a.jsonl"] and whole.paragraph_state.num_rows == 3


def test_article_id_depends_on_path_and_content_only():
    assert article_id("a/b.txt", "hash") == article_id("a/b.txt", "hash")
    assert len({article_id("a/b.txt", "hash"), article_id("a/c.txt", "hash"), article_id("a/b.txt", "other")}) == 3
    # The definition, pinned: the same on every machine and Python version.
    assert article_id("a/b.txt", "hash") == hashlib.blake2b(b"a/b.txt\x00hash", digest_size=16).hexdigest()


def test_html_page_gives_text_and_metadata():
    page = f"""<html><head><title>Xi meets Putin | Example News</title>
    <meta property="og:site_name" content="Example News"><meta property="og:title" content="Xi meets Putin">
    <meta property="article:published_time" content="2022-09-15T12:00:00+03:00"></head>
    <body><nav>Home | World | Sport</nav><article><h1>Xi meets Putin</h1><p>{BODY}</p><p>{BODY} Again.</p></article>
    <footer>Copyright Example News</footer></body></html>""".encode()
    (article,) = parse_file(page, "pages/xi.html", "h", CONFIG).articles
    assert (article["title"], article["outlet"]) == ("Xi meets Putin", "Example News")
    assert article["published_at"].isoformat() == "2022-09-15T09:00:00+00:00"
    assert article["paragraphs"] == [BODY, BODY + " Again."]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("menu.txt", b"Home\nSearch\nSHARE THIS ARTICLE\n", "no_article_text"),
        ("broken.json", b'{"text": ', "malformed_record"),
        ("nothing.html", b"<html><body><nav>Home</nav></body></html>", "no_article_text"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(name, data, reason):
    parsed = parse_file(data, name, "h", CONFIG)
    assert parsed.articles == [] and [r[1] for r in parsed.rejected] == [reason]


def test_limits_reject_rather_than_truncate(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text(BODY * 100)
    raw = RawFile("big.txt", str(big), big.stat().st_size, 0)
    with pytest.raises(Exception, match="max_file_bytes=1000"):
        read_raw(raw, IngestConfig(max_file_bytes=1000))
    parsed = parse_file(big.read_bytes(), "big.txt", "h", PipelineConfig(ingest=IngestConfig(max_article_chars=5000)))
    assert parsed.rejected[0][1] == "article_too_long" and "max_article_chars=5000" in parsed.rejected[0][2]


def test_scan_walks_subdirectories_and_reports_symlinks(tmp_path):
    (tmp_path / "outlet" / "2023").mkdir(parents=True)
    (tmp_path / "outlet" / "2023" / "a.txt").write_text(BODY)
    (tmp_path / "b.jsonl").write_text("{}")
    os.symlink(tmp_path / "b.jsonl", tmp_path / "link.jsonl")
    os.symlink(tmp_path, tmp_path / "outlet" / "loop")
    scanned = {f.source_path: f for f in scan_raw(tmp_path, IngestConfig())}
    assert sorted(scanned) == ["b.jsonl", "link.jsonl", "outlet/2023/a.txt", "outlet/loop"]
    assert scanned["link.jsonl"].symlink and scanned["outlet/loop"].symlink
    followed = scan_raw(tmp_path, IngestConfig(follow_symlinks=True))  # the loop is walked once
    assert sorted(f.source_path for f in followed) == ["b.jsonl", "link.jsonl", "outlet/2023/a.txt"]


def test_scan_lists_a_directorys_files_in_name_order_before_its_subdirectories(tmp_path):
    for name in ("b/z.txt", "b/a/y.txt", "a/x.txt", "c.txt", "B.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(BODY)
    os.symlink(tmp_path / "b" / "a", tmp_path / "d")  # a symlinked directory comes after the files
    os.symlink(tmp_path / "gone.txt", tmp_path / "b" / "dangling.txt")
    order = ["B.txt", "c.txt", "d", "a/x.txt", "b/dangling.txt", "b/z.txt", "b/a/y.txt"]
    scanned = scan_raw(tmp_path, IngestConfig())
    assert [f.source_path for f in scanned] == order
    assert [f.symlink is not None for f in scanned] == [False, False, True, False, True, False, False]
    followed = scan_raw(tmp_path, IngestConfig(follow_symlinks=True))
    # d is b/a, walked once: where it is met first, in name order
    assert [f.source_path for f in followed] == ["B.txt", "c.txt", "a/x.txt", "b/dangling.txt", "b/z.txt", "b/a/y.txt"]
    assert followed[3].size == -1  # dangling: parse names the problem


def test_non_utf8_file_names_are_kept_printable(tmp_path):
    (tmp_path / os.fsdecode(b"caf\xe9.txt")).write_text(BODY)
    (scanned,) = scan_raw(tmp_path, IngestConfig())
    assert scanned.source_path == "caf\\xe9.txt"
    assert read_raw(scanned, IngestConfig()).decode() == BODY


def test_plan_changes_finds_new_changed_deleted_and_unchanged():
    state = pa.Table.from_pylist(
        [{"source_path": p, "size": 10, "mtime_ns": 1, "source_hash": "h", "n_articles": 1, "n_rejected": 0,
          "seen_at": datetime(2023, 1, 1, tzinfo=timezone.utc)} for p in ("same.txt", "edited.txt", "gone.txt")],
        schema=FILES_STATE,
    )
    scanned = [RawFile("same.txt", "", 10, 1), RawFile("edited.txt", "", 11, 2), RawFile("new.txt", "", 5, 3)]
    changes = plan_changes(scanned, state, full_refresh=False)
    assert [f.source_path for f in changes.to_parse] == ["new.txt", "edited.txt"]
    assert (changes.deleted, changes.unchanged, changes.new, changes.modified) == (["gone.txt"], 1, 1, 1)
    assert len(plan_changes(scanned, state, full_refresh=True).to_parse) == 3


@pytest.mark.parametrize(
    ("path", "group"),
    [("a.txt", "dir:."), ("planet/a.txt", "dir:planet"), ("planet/2024-11/03/a.txt", "dir:planet")],
)
def test_unknown_outlets_are_grouped_by_top_level_folder(path, group):
    assert boilerplate_group(path) == group
