#!/usr/bin/env python3
"""The same corpus through each task runner: one thread, Prefect's process pool, a local Dask cluster.

Example:
    python bench/runners.py --n 5000 --workdir /tmp/newsflow-runners

Each run is `newsflow run --full-refresh` as a subprocess on its own output directory. Printed per
runner: wall seconds (with Prefect start-up), the pipeline's own seconds, parse and normalise
seconds (the batch stages that the runner parallelises), articles/s, and whether every dataset
has the same rows as the single-thread run (timestamps aside).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds

REPO = Path(__file__).resolve().parents[1]
NEWSFLOW = REPO / ".venv" / "bin" / "newsflow"
RUNNERS = (("threads", 1), ("processes", 2), ("dask", 2))
VOLATILE = {"ingested_at", "seen_at"}
DATASETS = ("articles", "rejected", "duplicate_pairs", "passages", "entity_mentions", "entities")


def fingerprint(out: Path) -> dict[str, int]:
    """Per dataset, a hash of its sorted rows without ingestion timestamps."""
    found = {}
    for name in DATASETS:
        table = ds.dataset(out / name).to_table()
        keep = [c for c in table.column_names if c not in VOLATILE]
        found[name] = hash(tuple(sorted(repr(r) for r in table.select(keep).to_pylist())))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-runners"))
    args = parser.parse_args()
    raw = args.workdir / "raw"
    if not raw.is_dir():
        subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), str(raw), "--n", str(args.n)], check=True)
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    reference = None
    print(f"{'runner':<10} {'workers':>7} {'wall s':>8} {'pipeline s':>10} {'parse s':>8} {'normalise s':>11} "
          f"{'articles/s':>10}  same rows")
    for runner, workers in RUNNERS:
        out = args.workdir / f"out-{runner}"
        summary_path = args.workdir / f"summary-{runner}.json"
        started = time.perf_counter()
        subprocess.run([str(NEWSFLOW), "run", "--raw", str(raw), "--out", str(out), "--full-refresh",
                        "--task-runner", runner, "--workers", str(workers), "--summary-json", str(summary_path)],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        summary = json.loads(summary_path.read_text())
        stages = summary["seconds_by_stage"]
        rows = fingerprint(out)
        reference = reference or rows
        print(f"{runner:<10} {workers:>7} {wall:>8.1f} {summary['seconds_total']:>10.1f} {stages.get('parse', 0):>8.1f} "
              f"{stages.get('normalise', 0):>11.1f} {summary['articles_written'] / summary['seconds_total']:>10.0f}  "
              f"{'yes' if rows == reference else 'NO: ' + ', '.join(k for k in rows if rows[k] != reference[k])}")


if __name__ == "__main__":
    main()
