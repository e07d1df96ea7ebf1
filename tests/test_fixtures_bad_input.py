"""Hostile files in the raw directory: each becomes an article or a rejected row with a reason, and
`status --check` accounts for every file and JSON record exactly once."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from flows import cli
from flows.pipeline import newsflow
from tasks.accounting import account
from tasks.config import IngestConfig, PipelineConfig
from tasks.decode import Rejection
from tasks.ingest import read_raw
from tasks.run import RawFile, scan_raw
from tasks.storage import current_snapshot

pytestmark = pytest.mark.usefixtures("prefect_harness")

PROSE = ("The two delegations met in Geneva on Tuesday to discuss grain exports, shipping insurance and the "
         "safety of ports, and agreed to meet again before the end of the month, officials said afterwards.")
ARTICLE = f"Geneva talks end without a deal\n\n{PROSE}\n\n{PROSE.replace('Tuesday', 'Wednesday')}\n"


def _hostile_corpus(raw: Path) -> dict[str, str]:
    """Write one file per hostile case; return source_path -> expected outcome ('article' or a reason)."""
    raw.mkdir()
    expected: dict[str, str] = {}

    def put(name: str | bytes, data: bytes, outcome: str) -> None:
        path = os.path.join(os.fsencode(raw), os.fsencode(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        expected[os.fsdecode(name) if isinstance(name, str) else name.decode("utf-8", "backslashreplace")] = outcome

    put("empty.txt", b"", "empty")
    put("whitespace.txt", b" \n\t\r\n   \n", "empty")
    put("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary")
    put("archive.txt", gzip.compress(ARTICLE.encode()), "binary")
    put("nul.txt", ARTICLE.encode().replace(b" ", b"\x00", 40), "binary")
    put("utf16.txt", ARTICLE.encode("utf-16-le"), "article")  # no BOM
    put("mixed.txt", ARTICLE.encode() + "Le café était fermé.\n".encode() + "Un naïf «déjà» vu.\n".encode("cp1252"),
        "article")
    put("big.txt", (PROSE + "\n").encode() * (50 * 1024 * 1024 // (len(PROSE) + 1)), "article_too_long")  # 50 MB
    put("unsupported.pdf", b"%PDF-1.4 whatever", "unsupported_format")
    lines = [json.dumps({"text": PROSE, "title": "One"}), '{"text": "cut off', json.dumps({"text": PROSE + " Two."}),
             json.dumps({"text": f"{PROSE}\u2028Three, with a line separator.", "outlet": "Wire"}, ensure_ascii=False),
             "", "[1, 2]", json.dumps({"title": "no text"})]
    put("feeds/feed.jsonl", "\n".join(lines).encode(), "records")
    put("feeds/broken.json", b'[{"text": "unterminated', "malformed_record")
    put("feeds/none.json", b"[]", "no_article_text")
    put(b"caf\xe9-latin1-name.txt", ARTICLE.encode(), "article")  # a file name that is not UTF-8
    put("siteA/story.txt", ARTICLE.encode(), "article")  # the same name in two folders
    put("siteB/story.txt", ARTICLE.encode(), "article")
    put("siteC/story.txt", ARTICLE.replace("Geneva", "Vienna").encode(), "article")
    os.symlink("utf16.txt", raw / "link.txt")
    expected["link.txt"] = "symlink_not_followed"
    os.symlink(".", raw / "loop")  # a directory link back to its parent
    expected["loop"] = "symlink_not_followed"
    os.symlink("ping.txt", raw / "pong.txt")
    os.symlink("pong.txt", raw / "ping.txt")
    expected["ping.txt"] = expected["pong.txt"] = "symlink_not_followed"
    os.symlink("/etc/passwd", raw / "passwd.txt")
    expected["passwd.txt"] = "symlink_not_followed"
    os.mkfifo(raw / "pipe.txt")  # would block a plain open() forever
    expected["pipe.txt"] = "unreadable"
    return expected


def _outcomes(out: Path) -> dict[str, list[tuple[int | None, str]]]:
    outcomes: dict[str, list] = {}
    for row in ds.dataset(out / "articles").to_table(columns=["source_path", "record_index"]).to_pylist():
        outcomes.setdefault(row["source_path"], []).append((row["record_index"], "article"))
    for row in ds.dataset(out / "rejected").to_table(columns=["source_path", "record_index", "reason"]).to_pylist():
        outcomes.setdefault(row["source_path"], []).append((row["record_index"], row["reason"]))
    return {path: sorted(rows, key=lambda r: (r[0] or 0, r[1])) for path, rows in outcomes.items()}


def _status(raw: Path, out: Path, capsys) -> tuple[int, str]:
    code = cli.main(["status", "--raw", str(raw), "--out", str(out), "--check"])
    return code, capsys.readouterr().out


def test_every_hostile_file_is_an_article_or_a_rejection_and_all_are_accounted_for(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    expected = _hostile_corpus(raw)
    summary = newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1))
    outcomes = _outcomes(out)
    assert set(outcomes) == set(expected)
    for path, outcome in expected.items():
        if outcome != "records":
            assert [reason for _, reason in outcomes[path]] == [outcome], path
    assert outcomes["feeds/feed.jsonl"] == [(1, "article"), (2, "malformed_record"), (3, "article"), (4, "article"),
                                            (6, "malformed_record"), (7, "no_article_text")]
    assert summary["files_seen"] == len(expected)

    articles = {r["source_path"]: r for r in ds.dataset(out / "articles").to_table().to_pylist() if r["record_index"] is None}
    assert articles["utf16.txt"]["encoding"] == "utf-16-le" and "Geneva" in articles["utf16.txt"]["text"]
    assert articles["mixed.txt"]["encoding"] == "utf-8+cp1252"  # each line in its own encoding
    assert "Le café était fermé." in articles["mixed.txt"]["text"] and "Un naïf «déjà» vu." in articles["mixed.txt"]["text"]
    assert {articles["siteA/story.txt"]["duplicate_of"], articles["siteB/story.txt"]["duplicate_of"]} - {None}
    assert articles["siteC/story.txt"]["article_id"] not in (articles["siteA/story.txt"]["article_id"],)
    rejected = {r["source_path"]: r for r in ds.dataset(out / "rejected").to_table().to_pylist()}
    assert "max_article_chars=2000000" in rejected["big.txt"]["detail"]  # the limit is named, not truncated
    assert "points to /etc/passwd" in rejected["passwd.txt"]["detail"]

    code, text = _status(raw, out, capsys)
    assert code == 0, text
    assert "is in exactly one place" in text


def test_following_symlinks_survives_loops_and_reads_the_target(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "site").mkdir(parents=True)
    (raw / "site" / "story.txt").write_text(ARTICLE)
    os.symlink("..", raw / "site" / "up")  # a directory loop
    os.symlink("story.txt", raw / "site" / "alias.txt")
    os.symlink("b.txt", raw / "a.txt")
    os.symlink("a.txt", raw / "b.txt")  # a file loop: ELOOP
    os.symlink("missing.txt", raw / "dangling.txt")
    newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1, ingest={"follow_symlinks": True}))
    outcomes = {path: [reason for _, reason in rows] for path, rows in _outcomes(out).items()}
    assert outcomes == {"site/story.txt": ["article"], "site/alias.txt": ["article"], "a.txt": ["unreadable"],
                        "b.txt": ["unreadable"], "dangling.txt": ["unreadable"]}
    config = IngestConfig(follow_symlinks=True)
    assert account(current_snapshot(out), scan_raw(raw, config), config) == []


@pytest.mark.parametrize("limit, size, reason", [(1000, 1001, "file_too_large"), (1000, 1000, None)])
def test_the_file_size_limit_is_named_and_applied_to_the_bytes_read(tmp_path, limit, size, reason):
    path = tmp_path / "a.txt"
    path.write_bytes(b"a" * size)
    config = IngestConfig(max_file_bytes=limit)
    # The scan said 10 bytes, the file has grown since: the bytes read decide.
    raw = RawFile("a.txt", str(path), 10, 0)
    if reason is None:
        assert len(read_raw(raw, config)) == size
    else:
        with pytest.raises(Rejection, match=f"max_file_bytes={limit}") as caught:
            read_raw(raw, config)
        assert caught.value.reason == reason


def test_a_vanished_or_unreadable_file_is_rejected_as_unreadable(tmp_path):
    with pytest.raises(Rejection) as caught:
        read_raw(RawFile("gone.txt", str(tmp_path / "gone.txt"), 10, 0), IngestConfig())
    assert caught.value.reason == "unreadable" and "FileNotFoundError" in caught.value.detail
    if os.geteuid() != 0:  # root reads through permissions
        locked = tmp_path / "locked.txt"
        locked.write_text(ARTICLE)
        locked.chmod(0)
        with pytest.raises(Rejection, match="PermissionError"):
            read_raw(RawFile("locked.txt", str(locked), 10, 0), IngestConfig())


def test_status_check_fails_when_a_row_or_a_record_goes_missing(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "a.txt").write_text(ARTICLE)
    (raw / "b.txt").write_text(ARTICLE.replace("Geneva", "Vienna"))
    (raw / "feed.jsonl").write_text("\n".join(json.dumps({"text": f"{PROSE} {i}."}) for i in range(3)) + "\n")
    newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1))
    assert _status(raw, out, capsys)[0] == 0

    # Delete one row from the articles dataset, as a bad copy or a buggy writer would.
    snapshot = current_snapshot(out)
    part = next(p for p in snapshot.part_files("articles") if pq.read_metadata(p).num_rows)
    table = pq.read_table(part)
    victim = table.slice(0, 1).to_pylist()[0]
    part.unlink()  # part files are hard-linked between snapshots: never rewrite one in place
    pq.write_table(table.slice(1), part)
    code, text = _status(raw, out, capsys)
    assert code == 1
    assert f"{victim['source_path']}: the state records" in text
    if victim["record_index"]:
        assert f"records {victim['record_index']} are in no dataset" in text
    pq.write_table(table.slice(0, 1), part.with_name("restored.parquet"))
    assert _status(raw, out, capsys)[0] == 0

    # The same row twice is caught as well.
    pq.write_table(table.slice(0, 1), part.with_name("twice.parquet"))
    code, text = _status(raw, out, capsys)
    assert code == 1 and "2 rows in articles" in text
    part.with_name("twice.parquet").unlink()

    # A record appended to a JSON Lines file behind the run's back (same size and mtime faked).
    feed = raw / "feed.jsonl"
    info = feed.stat()
    data = feed.read_bytes()
    feed.write_bytes(data[:-60] + b"\n" + data[-59:])
    os.utime(feed, ns=(info.st_atime_ns, info.st_mtime_ns))
    code, text = _status(raw, out, capsys)
    assert code == 1 and "feed.jsonl" in text
