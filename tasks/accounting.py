"""Accounting: every raw file, and every JSON record in it, is in exactly one place of a snapshot.

One place means an `articles` row (a duplicate is an article row too) or a `rejected` row. The
check compares three things: the files under the raw directory, the per-file state the last run
recorded (size, mtime, hash, how many articles and rejections each file gave), and the rows of
the datasets; for JSON and JSON Lines files it also re-reads the file and lists its records.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from pathlib import PurePosixPath

from tasks.config import IngestConfig
from tasks.decode import Rejection, decode_bytes
from tasks.ingest import _records, read_raw  # the same record split the run used
from tasks.run import RawFile, plan_changes
from tasks.storage import Snapshot

_RECORD_SUFFIXES = (".json", ".jsonl")


def account(snapshot: Snapshot, scanned: list[RawFile], config: IngestConfig) -> list[str]:
    """Every accounting problem found, one line each; an empty list means everything is accounted for."""
    files = snapshot.read("_state/files")
    problems = [f"{path}: {n} raw files have this source path" for path, n in
                Counter(f.source_path for f in scanned).items() if n > 1]
    problems += [f"{path}: {n} rows in the file state" for path, n in
                 Counter(files.column("source_path").to_pylist()).items() if n > 1]
    changes = plan_changes(scanned, files, full_refresh=False)
    problems += [f"{f.source_path}: not yet processed (new or changed since the last run)" for f in changes.to_parse]
    problems += [f"{path}: processed, but no longer in the raw directory" for path in changes.deleted]

    articles = snapshot.read("articles", columns=["article_id", "source_path", "record_index"])
    rejected = snapshot.read("rejected", columns=["source_path", "record_index"])
    problems += [f"article {article_id}: {n} rows in articles" for article_id, n in
                 Counter(articles.column("article_id").to_pylist()).items() if n > 1]
    rows: dict[str, dict[str, list[int | None]]] = defaultdict(lambda: {"articles": [], "rejected": []})
    for name, table in (("articles", articles), ("rejected", rejected)):
        for path, index in zip(table.column("source_path").to_pylist(), table.column("record_index").to_pylist()):
            rows[path][name].append(index)
    state = {row["source_path"]: row for row in files.to_pylist()}
    problems += [f"{path}: rows in the datasets but no file in the state" for path in sorted(rows.keys() - state.keys())]
    for path, row in sorted(state.items()):
        found = rows.get(path, {"articles": [], "rejected": []})
        held = (len(found["articles"]), len(found["rejected"]))
        if held != (row["n_articles"], row["n_rejected"]):
            problems.append(f"{path}: the state records {row['n_articles']} articles and {row['n_rejected']} "
                            f"rejections, the datasets hold {held[0]} and {held[1]}")
        problems += _records_problems(path, found["articles"] + found["rejected"])

    pending = {f.source_path for f in changes.to_parse}
    unchanged = [f for f in scanned if f.source_path in state and f.source_path not in pending
                 and PurePosixPath(f.source_path).suffix.lower() in _RECORD_SUFFIXES]
    for raw in unchanged:
        found = rows.get(raw.source_path, {"articles": [], "rejected": []})
        problems += _against_raw(raw, state[raw.source_path]["source_hash"], found["articles"] + found["rejected"], config)
    return problems


def _records_problems(path: str, indices: list[int | None]) -> list[str]:
    """A file is one row, or one row per record number with no number twice."""
    if not indices:
        return [f"{path}: in no dataset"]
    if None in indices:
        return [] if len(indices) == 1 else [f"{path}: a whole-file row and {len(indices) - 1} more rows"]
    twice = sorted(i for i, n in Counter(indices).items() if n > 1)
    return [f"{path}: record {i} has {Counter(indices)[i]} rows" for i in twice]


def _against_raw(raw: RawFile, source_hash: str, indices: list[int | None], config: IngestConfig) -> list[str]:
    """Compare a JSON or JSON Lines file's records, read again from disk, with its rows."""
    if None in indices:  # rejected as a whole (unreadable, too large, invalid JSON, no records)
        return []
    try:
        data = read_raw(raw, config)
        text = decode_bytes(data).text
    except Rejection as rejection:
        return [f"{raw.source_path}: rows for records, but the file now reads as {rejection.reason}"]
    if source_hash and hashlib.sha256(data).hexdigest() != source_hash:
        return [f"{raw.source_path}: content differs from what was processed (same size and mtime)"]
    expected = {number for number, _ in _records(text, PurePosixPath(raw.source_path).suffix.lower())}
    missing, extra = sorted(expected - set(indices)), sorted(set(indices) - expected)
    return ([f"{raw.source_path}: records {_some(missing)} are in no dataset"] if missing else []) + \
           ([f"{raw.source_path}: rows for records {_some(extra)} that the file does not hold"] if extra else [])


def _some(numbers: list) -> str:
    """The first few numbers of a list, for a message."""
    return ", ".join(map(str, numbers[:10])) + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
