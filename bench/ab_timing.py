#!/usr/bin/env python3
"""Time the pure pipeline steps of two copies of the code, interleaved, on one corpus.

Example:
    cp -r tasks /tmp/perf/baseline/tasks            # before changing anything
    python bench/ab_timing.py /tmp/perf/raw --before /tmp/perf/baseline --rounds 2

Runs `bench/compare_outputs.py dump` alternately with the `before` copy and with this repository,
each in a fresh process, and prints per step the best time of each side and their ratio. On a
shared machine the load changes from minute to minute; interleaving the runs and taking the best of
each side keeps the comparison fair, and the steps are timed in CPU seconds of the process. The
dumps are compared too, so a speed-up that changed an output does not go unnoticed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DUMP = REPO / "bench" / "compare_outputs.py"


def main(argv: list[str] | None = None) -> int:
    """Alternate the two sides, then print the table and compare the outputs."""
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--before", type=Path, required=True, help="directory holding the old tasks package")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-ab"))
    args = parser.parse_args(argv)
    sides = {"before": args.before, "after": REPO}
    best: dict[str, dict[str, float]] = {side: {} for side in sides}
    articles = 0
    for round_ in range(args.rounds):
        for side, code in sides.items():
            out = args.workdir / side
            subprocess.run([sys.executable, str(DUMP), "dump", str(args.corpus), str(out), "--code", str(code)],
                           check=True, stdout=subprocess.DEVNULL)
            result = json.loads((out / "seconds.json").read_text(encoding="utf-8"))
            articles = result["articles"]
            for step, seconds in result["seconds"].items():
                best[side][step] = min(seconds, best[side].get(step, float("inf")))
            print(f"round {round_ + 1} {side}: " + ", ".join(f"{k} {v:.2f}s" for k, v in result["seconds"].items()),
                  flush=True)
    print(f"\n{articles:,} articles; best of {args.rounds} per side, CPU seconds of one process")
    print(f"{'step':22s} {'before s':>9s} {'after s':>8s} {'before/s':>9s} {'after/s':>8s} {'speed-up':>8s}")
    for step in best["before"]:
        b, a = best["before"][step], best["after"][step]
        print(f"{step:22s} {b:9.2f} {a:8.2f} {articles / b:9,.0f} {articles / a:8,.0f} {b / a:7.2f}x")
    b, a = sum(best["before"].values()), sum(best["after"].values())
    print(f"{'all steps':22s} {b:9.2f} {a:8.2f} {articles / b:9,.0f} {articles / a:8,.0f} {b / a:7.2f}x")
    print()
    return subprocess.run([sys.executable, str(DUMP), "compare", str(args.workdir / "before"),
                           str(args.workdir / "after")]).returncode


if __name__ == "__main__":
    sys.exit(main())
