#!/usr/bin/env python3
"""Compare an output directory built run by run with a full refresh of the same raw files, table by table.

Example (after `bench/pipeline.py --n 100000 --workdir /tmp/nf100`, whose last run added 1%):
    python bench/incremental_vs_full.py /tmp/nf100/out /tmp/nf100/raw --scratch /tmp/nf100-full

Runs `newsflow run --full-refresh` over RAW into SCRATCH (a new directory) and compares every table of the
two current snapshots, with the run's timestamps left out and rows in a fixed order (`bench/replay.py`'s
`current_tables`). Incremental runs promise the datasets one run over everything would give, with three
documented exceptions, which are reported apart rather than as failures:
    articles.cluster_id / duplicate_of and duplicate_pairs: a cluster's canonical copy is the earliest
        published, then the earliest ingested, and a full refresh ingests everything at once;
    _state/minhash: the index keeps a share of signatures of texts that went (compacted past a threshold);
    _state/quote_edges: the pairs that joined each quote cluster, a spanning forest, found in another order.
Exits 1 when any other table differs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.pipeline import DEFAULT_NEWSFLOW, check, run_child  # noqa: E402
from bench.replay import current_tables  # noqa: E402
from tasks.schemas import ALL_TABLES  # noqa: E402

# Tables (and, for articles, columns) that may differ by design; see the docstring.
MAY_DIFFER = {"articles": {"cluster_id", "duplicate_of"}, "duplicate_pairs": None, "_state/minhash": None,
              "_state/quote_edges": None}


def main(argv: list[str] | None = None) -> int:
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="an output directory built by incremental runs")
    parser.add_argument("raw", type=Path, help="the raw directory its last run read")
    parser.add_argument("--scratch", type=Path, required=True, help="where the full refresh writes (must not exist)")
    parser.add_argument("--newsflow", type=Path, default=DEFAULT_NEWSFLOW)
    args = parser.parse_args(argv)
    if args.scratch.exists():
        parser.error(f"{args.scratch} exists")
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    result = run_child([str(args.newsflow), "run", "--full-refresh", "--raw", str(args.raw), "--out", str(args.scratch)],
                       args.scratch.with_suffix(".log"), env)
    check(result, "the full refresh")
    incremental, full = current_tables(args.out), current_tables(args.scratch)
    failed = False
    for name in ALL_TABLES:
        a, b = incremental[name], full[name]
        if a.equals(b):
            print(f"{name:30s} equal ({a.num_rows:,} rows)")
            continue
        same_shape = a.num_rows == b.num_rows and a.column_names == b.column_names
        columns = {c for c in a.column_names if not a.column(c).equals(b.column(c))} if same_shape else None
        allowed = name in MAY_DIFFER and (MAY_DIFFER[name] is None or (columns is not None and columns <= MAY_DIFFER[name]))
        failed |= not allowed
        where = f"columns {sorted(columns)}" if columns is not None else f"{a.num_rows:,} rows against {b.num_rows:,}"
        print(f"{name:30s} {'differs, as documented' if allowed else 'DIFFERS'}: {where}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
