"""Named failpoints: places where the fault tests kill, fail or pause a run on purpose.

A failpoint does nothing unless the environment variable NEWSFLOW_FAILPOINT names it:

    NEWSFLOW_FAILPOINT="commit.before_rename"            SIGKILL this process at the first hit
    NEWSFLOW_FAILPOINT="parquet.written:3"               ... at the third hit in this process
    NEWSFLOW_FAILPOINT="parquet.written:1:enospc"        raise OSError(ENOSPC) instead ("disk full")
    NEWSFLOW_FAILPOINT="parquet.written@_state/files"    count only hits whose path contains the text
    NEWSFLOW_FAILPOINT="parquet.written:1:eacces"        raise PermissionError(EACCES)
    NEWSFLOW_FAILPOINT="run.planned:1:sleep=3"           pause 3 seconds (to make two runs overlap)

Several specs may be given, separated by commas. NEWSFLOW_FAILPOINT_TRACE=FILE appends every
failpoint reached (name, hit number, path) to FILE, so a test can list the points a run passes. Hits are counted per process, so with worker
processes a point inside a batch function counts (and kills) per worker. The variable is read here,
not through PipelineConfig, because it is a test hook that must reach code with no config at hand.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from collections import Counter

ENV = "NEWSFLOW_FAILPOINT"
TRACE_ENV = "NEWSFLOW_FAILPOINT_TRACE"
# Per process, and only ever non-empty while ENV or TRACE_ENV is set.
_hits: Counter[str] = Counter()  # by failpoint name, for the trace
_matches: Counter[str] = Counter()  # by spec entry
_lock = threading.Lock()  # part files are written by several threads


def failpoint(name: str, path: str | os.PathLike | None = None) -> None:
    """Kill, fail or pause here if NEWSFLOW_FAILPOINT names this point and this hit."""
    spec, trace = os.environ.get(ENV), os.environ.get(TRACE_ENV)
    if not spec and not trace:
        return
    with _lock:
        _hits[name] += 1
        if trace:
            with open(trace, "a", encoding="utf-8") as handle:
                handle.write(f"{name}\t{_hits[name]}\t{os.fspath(path) if path is not None else ''}\n")
        where = os.fspath(path) if path is not None else ""
        due = []
        for entry in (spec or "").split(","):
            point, _, rest = entry.strip().partition(":")
            point, _, fragment = point.partition("@")
            hit, _, action = rest.partition(":")
            if point != name or fragment not in where:
                continue
            _matches[entry] += 1
            if _matches[entry] == int(hit or 1):
                due.append(action or "kill")
    for action in due:  # outside the lock: a pause must not hold up the other threads
        _act(action, name, path)


def _act(action: str, name: str, path: str | os.PathLike | None) -> None:
    """Carry out one failpoint action."""
    where = os.fspath(path) if path is not None else name
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where)
    elif action == "eacces":
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), where)
    elif action.startswith("sleep="):
        time.sleep(float(action.removeprefix("sleep=")))
    else:
        raise ValueError(f"unknown failpoint action {action!r} in {ENV}")
