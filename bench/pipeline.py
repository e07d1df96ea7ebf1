#!/usr/bin/env python3
"""End-to-end benchmark of the newsflow pipeline on a synthetic corpus.

Example:
    python bench/pipeline.py --n 10000 --workdir /tmp/newsflow-bench

Steps, all in WORKDIR (its raw/, out/, logs/ and the corpus' truth and manifest files are replaced):
    1. generate N articles into WORKDIR/raw with bench/make_corpus.py;
    2. a reference run in this process: read every raw file, sha256 it and write (path, hash, text)
       to one Parquet file; the minimum any pipeline must do, timed as a yardstick for a shared,
       noisy machine (run before and after the full run; the faster time is used);
    3. `newsflow run` three times as a subprocess: (a) --full-refresh, (b) again with nothing new,
       (c) after make_corpus.py --add-fraction 0.01 added 1% new articles.
For each run it prints wall seconds, the pipeline's own seconds (seconds_flow of its
--summary-json: wall time inside the flow from planning to the summary, Prefect's work between
stages included, interpreter and Prefect server start-up not), CPU seconds (user + system of the
process and its workers, from os.wait4: on a shared, busy machine the steadier measure), peak RSS
(ru_maxrss: the largest single process), the largest sampled sum of RSS over the whole process tree
(main process, workers and Prefect's temporary server), CPU seconds by kind of process, and the
output size on disk, then the throughput of the full run and the ratios (b)/(a), (c)/(a) and
full/reference on wall and on pipeline time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = REPO_ROOT / "bench" / "make_corpus.py"
DEFAULT_NEWSFLOW = REPO_ROOT / ".venv" / "bin" / "newsflow"
REFERENCE_SCHEMA = pa.schema([("path", pa.string()), ("sha256", pa.string()), ("text", pa.string())])
REFERENCE_BATCH = 1000  # rows per Parquet row group in the reference run


@dataclass
class ChildResult:
    """Exit status, wall time, CPU time and peak memory of one finished subprocess."""

    returncode: int
    wall_seconds: float
    max_rss_kb: int
    log: Path
    cpu_seconds: float = 0.0  # user + system of the process and the descendants it waited for
    tree_rss_kb: int = 0  # largest sampled sum of RSS over the process and all its descendants
    cpu_by_kind: dict | None = None  # sampled CPU seconds of the tree: main, workers, Prefect server, other
    tree_peak_by_kind: dict | None = None  # RSS KB of each kind of process in the sample of the tree's peak


@dataclass
class PipelineRun:
    """One `newsflow run`: what was measured and the summary the pipeline wrote."""

    label: str
    wall_seconds: float
    pipeline_seconds: float
    max_rss_kb: int
    output_bytes: int
    output_files: int
    summary: dict
    cpu_seconds: float = 0.0
    tree_rss_kb: int = 0
    cpu_by_kind: dict | None = None
    tree_peak_by_kind: dict | None = None


def _kind(pid: int, root: int) -> str:
    """What a process of the tree is: the pipeline's main process, a worker, Prefect's server."""
    if pid == root:
        return "main"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return "other"
    if b"multiprocessing" in cmdline:
        return "workers"
    return "prefect server" if b"uvicorn" in cmdline or b"prefect" in cmdline else "other"


def tree_rss_kb(root: int, cpu: dict[int, tuple[str, float]] | None = None, rss_by_kind: dict[str, int] | None = None) -> int:
    """Resident memory of a process and all its descendants (worker processes), from /proc; with
    `cpu`, also record each one's kind and CPU seconds so far in it, and with `rss_by_kind` (needs `cpu`) the
    memory of each kind of process in this sample, in KB."""
    children: dict[int, list[int]] = {}
    rss_pages: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # the process ended meanwhile
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()  # after "pid (comm) "
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        rss_pages[int(entry.name)] = int(fields[21])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime + stime
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss_pages.get(pid, 0)
        stack += children.get(pid, [])
        if cpu is not None and pid in ticks:
            kind = cpu[pid][0] if pid in cpu else _kind(pid, root)
            cpu[pid] = (kind, ticks[pid] / os.sysconf("SC_CLK_TCK"))
            if rss_by_kind is not None:
                rss_by_kind[kind] = rss_by_kind.get(kind, 0) + rss_pages.get(pid, 0) * os.sysconf("SC_PAGE_SIZE") // 1024
    return total * os.sysconf("SC_PAGE_SIZE") // 1024


def run_child(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> ChildResult:
    """Run cmd (with `env` as its environment, when given) with output to log; time it, read its CPU time and
    peak RSS from os.wait4, and sample the memory of its whole process tree every quarter second."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        out.write(("$ " + " ".join(map(str, cmd)) + "\n").encode())
        out.flush()
        began = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        # wait4 gives this child's own rusage (CPU time and ru_maxrss cover the descendants it waited for)
        peak_tree, peak_by_kind = 0, {}
        cpu: dict[int, tuple[str, float]] = {}
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            by_kind_now: dict[str, int] = {}
            tree = tree_rss_kb(child.pid, cpu, by_kind_now)
            if tree > peak_tree:
                peak_tree, peak_by_kind = tree, by_kind_now
            time.sleep(0.25)
        wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    by_kind: dict[str, float] = {}
    for kind, seconds in cpu.values():
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    return ChildResult(child.returncode, wall, usage.ru_maxrss, log, usage.ru_utime + usage.ru_stime, peak_tree,
                       by_kind, peak_by_kind)


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file."""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def check(result: ChildResult, what: str) -> None:
    """Stop the benchmark with the log's tail if a subprocess failed."""
    if result.returncode != 0:
        sys.exit(f"{what} failed with exit code {result.returncode}; last lines of {result.log}:\n{tail(result.log)}")


def disk_usage(path: Path) -> tuple[int, int]:
    """Bytes allocated on disk and number of files under path."""
    total = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(root, name))
            total += st.st_blocks * 512
            files += 1
    return total, files


def prepare_workdir(workdir: Path) -> None:
    """Remove what an earlier benchmark left in workdir (only the names this script creates)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("raw", "out", "logs", "reference"):
        shutil.rmtree(workdir / name, ignore_errors=True)
    for name in ("raw-truth.jsonl", "raw-manifest.json", "summary-a.json", "summary-b.json", "summary-c.json",
                 "results.json"):
        (workdir / name).unlink(missing_ok=True)


def make_corpus(args: list[str], log: Path) -> ChildResult:
    """Run bench/make_corpus.py with args and echo its report."""
    result = run_child([sys.executable, str(MAKE_CORPUS), *args], log)
    check(result, "make_corpus.py")
    print("\n".join("    " + line for line in log.read_text(encoding="utf-8").splitlines()[1:]))
    return result


def reference_run(raw: Path, out_file: Path) -> tuple[float, int]:
    """Read, sha256 and write (path, hash, text) of every raw file to Parquet; seconds and files."""
    began = time.perf_counter()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    batch: dict[str, list[str]] = {name: [] for name in REFERENCE_SCHEMA.names}
    with pq.ParquetWriter(out_file, REFERENCE_SCHEMA) as writer:
        for root, _, names in os.walk(raw):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    data = f.read()
                batch["path"].append(os.path.relpath(path, raw))
                batch["sha256"].append(hashlib.sha256(data).hexdigest())
                batch["text"].append(data.decode("utf-8", errors="replace"))
                rows += 1
                if len(batch["path"]) == REFERENCE_BATCH:
                    writer.write_table(pa.table(batch, schema=REFERENCE_SCHEMA))
                    batch = {k: [] for k in batch}
        if batch["path"]:
            writer.write_table(pa.table(batch, schema=REFERENCE_SCHEMA))
    return time.perf_counter() - began, rows


def run_pipeline(key: str, label: str, newsflow: Path, workdir: Path, *, full_refresh: bool,
                 workers: int | None) -> PipelineRun:
    """One `newsflow run` on workdir/raw into workdir/out, measured; key names its summary and log."""
    summary_path = workdir / f"summary-{key}.json"
    summary_path.unlink(missing_ok=True)
    cmd = [str(newsflow), "run", "--raw", str(workdir / "raw"), "--out", str(workdir / "out"),
           "--summary-json", str(summary_path)]
    if full_refresh:
        cmd.append("--full-refresh")
    if workers:
        cmd += ["--workers", str(workers)]
    result = run_child(cmd, workdir / "logs" / f"newsflow-{key}.log")
    check(result, f"newsflow run {label}")
    if not summary_path.exists():
        sys.exit(f"newsflow run {label} exited 0 but wrote no {summary_path}; see {result.log}")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    size, files = disk_usage(workdir / "out")
    return PipelineRun(label, result.wall_seconds, float(summary.get("seconds_flow", summary["seconds_total"])), result.max_rss_kb, size, files,
                       summary, result.cpu_seconds, result.tree_rss_kb, result.cpu_by_kind, result.tree_peak_by_kind)


def ratio(a: float, b: float) -> str:
    """a/b formatted, or "n/a" when b is zero."""
    return f"{a / b:.3f}" if b else "n/a"


def print_report(n: int, runs: list[PipelineRun], reference_seconds: list[float], corpus_bytes: int) -> None:
    """The results table, throughput, ratios and per-stage seconds."""
    full, rerun, incremental = runs
    print("\nrun                         wall s  pipeline s  start-up s   CPU s  seen / new / changed / deleted  "
          "written  rejected  peak RSS MB  tree RSS MB  output MB  files")
    for r in runs:
        s = r.summary
        counts = f"{s['files_seen']} / {s['files_new']} / {s['files_changed']} / {s['files_deleted']}"
        print(f"{r.label:26s} {r.wall_seconds:8.2f} {r.pipeline_seconds:11.2f} "
              f"{r.wall_seconds - r.pipeline_seconds:11.2f} {r.cpu_seconds:7.1f}  {counts:>30s}  "
              f"{s['articles_written']:7d}  {s['rejected_written']:8d}  {r.max_rss_kb / 1024:11.0f}  "
              f"{r.tree_rss_kb / 1024:11.0f}  {r.output_bytes / 1e6:9.1f}  {r.output_files:5d}")
    for r in runs:
        if r.summary.get("files_reprocessed_for_boilerplate") or r.summary.get("articles_unchanged"):
            print(f"{r.label}: {r.summary.get('files_reprocessed_for_boilerplate', 0)} unchanged files re-read for "
                  f"outlet boilerplate; {r.summary.get('articles_unchanged', 0)} of the articles written came back "
                  "unchanged and skipped the later stages")
    print("\nCPU seconds by process, sampled every 0.25 s (the last moments of each process are missed)")
    for r in runs:
        print(f"{r.label:26s} " + ", ".join(f"{k} {v:.1f}" for k, v in sorted((r.cpu_by_kind or {}).items())))
    print("\nRSS of the process tree at its sampled peak, MB, by process")
    for r in runs:
        print(f"{r.label:26s} " + ", ".join(f"{k} {v / 1024:,.0f}" for k, v in sorted((r.tree_peak_by_kind or {}).items())))
    print(f"\ncorpus: {n} articles, {corpus_bytes / 1e6:.1f} MB on disk")
    print(f"full run throughput: {n / full.wall_seconds:,.0f} articles/s on wall time, "
          f"{n / max(full.pipeline_seconds, 1e-9):,.0f} articles/s on pipeline time; "
          f"{1e3 * full.cpu_seconds / n:.2f} CPU ms per article (Prefect start-up included), so at most "
          f"{2 * n / full.cpu_seconds:,.0f} articles/s on two otherwise idle cores")
    print("\nratio                       wall    pipeline")
    print(f"(b) rerun / (a) full      {ratio(rerun.wall_seconds, full.wall_seconds):>6s}  "
          f"{ratio(rerun.pipeline_seconds, full.pipeline_seconds):>10s}")
    print(f"(c) +1% / (a) full        {ratio(incremental.wall_seconds, full.wall_seconds):>6s}  "
          f"{ratio(incremental.pipeline_seconds, full.pipeline_seconds):>10s}")
    best = min(reference_seconds)
    print(f"(a) full / reference      {ratio(full.wall_seconds, best):>6s}  {ratio(full.pipeline_seconds, best):>10s}"
          f"   (reference read+sha256+Parquet: {', '.join(f'{t:.2f}' for t in reference_seconds)} s; "
          f"{n / best:,.0f} articles/s)")
    print("\nseconds by stage")
    stages = list(dict.fromkeys(k for r in runs for k in r.summary["seconds_by_stage"]))
    print(f"{'stage':24s}" + "".join(f"{r.label[:3]:>10s}" for r in runs))
    for stage in stages:
        print(f"{stage:24s}" + "".join(f"{r.summary['seconds_by_stage'].get(stage, 0.0):10.2f}" for r in runs))
    print("\npeak RSS of the flow process when each stage ended, MB (the first jump is the stage that set the peak;"
          " a stage run twice, such as parse when a run reprocesses, is shown at its last end)")
    for stage in dict.fromkeys(k for r in runs for k in r.summary.get("peak_rss_mb_after_stage", {})):
        print(f"{stage:24s}" + "".join(f"{r.summary.get('peak_rss_mb_after_stage', {}).get(stage, 0.0):10.0f}" for r in runs))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="articles in the corpus (default 10000)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-bench"),
                        help="scratch directory (default /tmp/newsflow-bench)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--workers", type=int, help="passed to `newsflow run --workers` (default: its own)")
    parser.add_argument("--newsflow", type=Path, default=DEFAULT_NEWSFLOW, help=f"CLI to run (default {DEFAULT_NEWSFLOW})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate the corpus, run the reference and the three pipeline runs, print the report."""
    args = parse_args(argv)
    if not args.newsflow.exists():
        sys.exit(f"{args.newsflow} not found: install the project into the venv first (pip install -e .)")
    workdir: Path = args.workdir.resolve()
    prepare_workdir(workdir)
    raw = workdir / "raw"
    print(f"generating {args.n} articles into {raw}")
    make_corpus([str(raw), "--n", str(args.n), "--seed", str(args.seed)], workdir / "logs" / "make_corpus.log")
    corpus_bytes, _ = disk_usage(raw)

    reference_seconds = []
    seconds, files = reference_run(raw, workdir / "reference" / "reference.parquet")
    reference_seconds.append(seconds)
    print(f"reference run: {files} files read, hashed and written in {seconds:.2f} s")

    print("(a) full run ...", flush=True)
    full = run_pipeline("a", "(a) full", args.newsflow, workdir, full_refresh=True, workers=args.workers)
    seconds, _ = reference_run(raw, workdir / "reference" / "reference.parquet")
    reference_seconds.append(seconds)
    print(f"reference run again: {seconds:.2f} s")
    print("(b) rerun, nothing new ...", flush=True)
    rerun = run_pipeline("b", "(b) rerun, nothing new", args.newsflow, workdir, full_refresh=False, workers=args.workers)
    print("adding 1% new articles")
    make_corpus([str(raw), "--add-fraction", "0.01"], workdir / "logs" / "make_corpus_add.log")
    print("(c) run after +1% ...", flush=True)
    incremental = run_pipeline("c", "(c) after +1% new", args.newsflow, workdir, full_refresh=False, workers=args.workers)

    runs = [full, rerun, incremental]
    print_report(args.n, runs, reference_seconds, corpus_bytes)
    results = {"n": args.n, "seed": args.seed, "workers": args.workers, "corpus_bytes": corpus_bytes,
               "reference_seconds": reference_seconds, "runs": [asdict(r) for r in runs]}
    (workdir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nlogs in {workdir / 'logs'}; results in {workdir / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
