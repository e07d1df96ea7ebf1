#!/usr/bin/env python3
"""Replay the +1% run (c) of a bench/pipeline.py workdir with two copies of the code, interleaved.

Example:
    .venv/bin/python bench/pipeline.py --n 100000 --workdir /tmp/nf100   # once: the corpus and runs (a)-(c)
    git worktree add /tmp/before 2cc6a81                                 # the code to compare with
    .venv/bin/python bench/replay.py /tmp/nf100 --before /tmp/before --rounds 3

On this shared machine the same run's time moves by 15% from one quarter of an hour to the next, more than
most single changes gain, so a change is judged by replays of the same run, old and new code alternating.
Each replay copies WORKDIR/out, makes its first snapshot current again (the state before (c); the raw
directory already holds the 1% new) and runs `newsflow run` with PYTHONPATH at one side's code (its
`tasks` and `flows` packages), measuring the process tree as bench/pipeline.py does. Printed: every
replay's flow seconds, stages, CPU seconds by process and peak tree RSS; each side's median; and whether
the two sides' final datasets and state are equal table by table (timestamps of the run left out).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.pipeline import DEFAULT_NEWSFLOW, check, run_child  # noqa: E402
from tasks.schemas import ALL_TABLES  # noqa: E402

# Columns that hold the time of the run that wrote a row, which two replays never share.
RUN_TIMES = {"ingested_at", "seen_at", "mtime_ns"}


def replay_copy(workdir: Path, target: Path) -> None:
    """WORKDIR/out copied to target, with its first snapshot current again and the later ones gone."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(workdir / "out", target, symlinks=True)
    snapshots = sorted((target / ".newsflow" / "snapshots").iterdir())
    for later in snapshots[1:]:
        shutil.rmtree(later)
    current = target / ".newsflow" / "current"
    current.unlink()
    current.symlink_to(Path("snapshots") / snapshots[0].name)


def replay(workdir: Path, code: Path, target: Path, newsflow: Path) -> dict:
    """One replay of run (c) with the code under `code`; its summary and measurements."""
    replay_copy(workdir, target)
    summary_path = target.with_suffix(".json")
    env = {**os.environ, "PYTHONPATH": str(code), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = run_child([str(newsflow), "run", "--raw", str(workdir / "raw"), "--out", str(target),
                        "--summary-json", str(summary_path)], target.with_suffix(".log"), env)
    check(result, f"replay with {code}")
    summary = json.loads(summary_path.read_text())
    return {"flow": summary["seconds_flow"], "stages": summary["seconds_by_stage"],
            "cpu": {k: round(v, 1) for k, v in (result.cpu_by_kind or {}).items()}, "tree_mb": result.tree_rss_kb // 1024}


def current_tables(out: Path) -> dict[str, pa.Table]:
    """Every table of an output directory's current snapshot, run times dropped, rows in a fixed order."""
    tables = {}
    for name in ALL_TABLES:
        parts = sorted((out / ".newsflow" / "current" / name).glob("*.parquet"))
        table = pa.concat_tables([pq.read_table(p) for p in parts])
        table = table.drop_columns([c for c in table.column_names if c in RUN_TIMES])
        keys = [c for c in table.column_names if not pa.types.is_list(table.schema.field(c).type)]
        tables[name] = table.sort_by([(c, "ascending") for c in keys])
    return tables


def main(argv: list[str] | None = None) -> int:
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path, help="a bench/pipeline.py workdir whose runs (a)-(c) are done")
    parser.add_argument("--before", type=Path, required=True, help="directory holding the old tasks and flows packages")
    parser.add_argument("--after", type=Path, default=REPO_ROOT, help="the new code (default: this repository)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/newsflow-replay"))
    parser.add_argument("--newsflow", type=Path, default=DEFAULT_NEWSFLOW)
    args = parser.parse_args(argv)
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    args.scratch.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side, code in sides.items():
            measured = replay(args.workdir, code, args.scratch / side, args.newsflow)
            results[side].append(measured)
            stages = ", ".join(f"{k} {v:.2f}" for k, v in measured["stages"].items())
            print(f"round {round_ + 1} {side:6s} flow {measured['flow']:7.2f} s  tree {measured['tree_mb']:,} MB  "
                  f"CPU {measured['cpu']}  ({stages})", flush=True)
    print("\nmedian of each side, seconds")
    stages = list(results["after"][0]["stages"])
    print(f"{'':10s}{'flow':>8s}" + "".join(f"{s:>12s}" for s in stages))
    for side, runs in results.items():
        row = [statistics.median(r["flow"] for r in runs)]
        row += [statistics.median(r["stages"].get(s, 0.0) for r in runs) for s in stages]
        print(f"{side:10s}" + "".join(f"{v:>{8 if i == 0 else 12}.2f}" for i, v in enumerate(row)))
    before, after = (current_tables(args.scratch / side) for side in sides)
    differ = [name for name in ALL_TABLES if not before[name].equals(after[name])]
    print(f"\noutputs of the last replays: {'equal' if not differ else 'DIFFERENT in ' + ', '.join(differ)} "
          f"({len(ALL_TABLES)} tables)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
