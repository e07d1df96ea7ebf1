"""The `newsflow` command: run the flow, or report on what an output directory holds."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from tasks.config import PipelineConfig, apply_prefect_defaults, config_from_env
from tasks.remote import is_remote, local_config
from tasks.run import plan_changes, scan_key, scan_raw
from tasks.schemas import DATASETS
from tasks.storage import OutputLocked, current_snapshot, output_lock, prune_snapshots
from tasks.workers import early_workers

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3
MAX_PROBLEMS_SHOWN = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="process new and changed articles into Parquet")
    run.add_argument("--raw", help="input directory (default data/raw)")
    run.add_argument("--out", help="output directory (default data/processed)")
    run.add_argument("--full-refresh", action="store_true", default=None, help="reprocess every input")
    run.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    run.add_argument("--task-runner", choices=["processes", "threads", "dask"],
                     help="where batches run (default: worker processes, one per core)")
    run.add_argument("--dask-address", help="run batches on this Dask scheduler, e.g. tcp://10.0.0.5:8786")
    run.add_argument("--wait", action="store_true", default=None, help="wait for a running run instead of exiting")
    run.add_argument("--summary-json", type=Path, help="also write the run summary to this JSON file")
    serve = commands.add_parser("serve", help="run on a schedule without a work pool (Ctrl-C stops)")
    serve.add_argument("--raw", help="input directory (default data/raw)")
    serve.add_argument("--out", help="output directory (default data/processed)")
    serve.add_argument("--cron", default="0 * * * *", help="when to run, in cron syntax, UTC (default: hourly)")
    serve.add_argument("--name", default="newsflow-served", help="deployment name shown in the UI")
    status = commands.add_parser("status", help="show what the output directory holds")
    status.add_argument("--raw", help="input directory to check against (default data/raw)")
    status.add_argument("--out", help="output directory (default data/processed)")
    status.add_argument("--check", action="store_true",
                        help="exit 1 unless every raw file and JSON record is in exactly one place")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    config = config_from_env(raw_dir=args.raw, out_dir=args.out,
                             **({"full_refresh": args.full_refresh, "workers": args.workers,
                                 "wait_for_lock": args.wait, "dask_address": args.dask_address,
                                 "task_runner": "dask" if args.dask_address else args.task_runner}
                                if args.command == "run" else {}))
    if not is_remote(config.raw_dir) and not Path(config.raw_dir).is_dir():
        print(f"newsflow: raw directory {config.raw_dir} does not exist or is not a directory", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "serve":
        return serve(config, name=args.name, cron=args.cron)
    if args.command == "status":
        return status(config, check=args.check)
    return run(config, args.summary_json)


def run(config: PipelineConfig, summary_json: Path | None) -> int:
    """Run the flow once and print its summary."""
    if not config.wait_for_lock:
        try:  # fail fast, before Prefect spends seconds starting a server
            with output_lock(local_config(config).out_dir_path):
                pass
        except OutputLocked as error:
            print(f"newsflow: {error}", file=sys.stderr)
            return EXIT_LOCKED
    apply_prefect_defaults()
    with _workers_while_prefect_starts(config):
        # Prefect reads the environment when imported
        from flows.pipeline import newsflow

        state = newsflow(config, return_state=True)
    if not state.is_completed():
        try:
            state.result()
        except OutputLocked as error:
            print(f"newsflow: {error}", file=sys.stderr)
            return EXIT_LOCKED
        except Exception as error:  # the flow's own failure, already logged by Prefect
            if (os_error := _os_error(error)) is not None:  # disk full, permissions: say what and where
                where = f" ({os_error.filename})" if os_error.filename else ""
                print(f"newsflow: run failed: {os_error.strerror or os_error}{where}", file=sys.stderr)
            else:
                print(f"newsflow: run failed: {type(error).__name__}: {error}", file=sys.stderr)
        print(f"newsflow: {_unchanged(config)}", file=sys.stderr)
        return EXIT_FAILED
    summary = state.result()
    if summary_json:
        summary_json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(format_summary(summary))
    return 0


def serve(config: PipelineConfig, *, name: str, cron: str) -> int:
    """Serve the flow as a deployment with a cron schedule; runs happen in this process's children."""
    apply_prefect_defaults()
    from flows.pipeline import newsflow

    where = {"raw_dir": str(Path(config.raw_dir).resolve()), "out_dir": str(config.out_dir_path.resolve())}
    settings = config.model_copy(update={"wait_for_lock": True, **where}).model_dump(mode="json")
    newsflow.serve(name=name, cron=cron, parameters={"config": settings},
                   description=f"newsflow on {config.raw_dir} -> {config.out_dir}, cron {cron} (UTC)")
    return 0


# A corpus of this many files or more (as the last snapshot tracks them) gets its worker processes started while
# Prefect starts: an incremental run over it most likely spreads batches over the workers (the files its new ones
# make re-read for boilerplate, say), and smaller ones seldom need them.
EARLY_WORKERS_MIN_FILES = 1_000


def _workers_while_prefect_starts(config: PipelineConfig) -> AbstractContextManager:
    """The worker processes started before the flow (`early_workers`), for a full refresh or a large corpus; once
    ready, they scan the raw directory for the flow's plan."""
    workers = config.resolved_workers()
    if config.task_runner != "processes" or workers < 2:
        return nullcontext()
    local = local_config(config)
    snapshot = current_snapshot(local.out_dir_path)
    if not config.full_refresh and (snapshot is None or snapshot.count_rows("_state/files") < EARLY_WORKERS_MIN_FILES):
        return nullcontext()
    from tasks.normalise import prepare_worker

    # The plan's scan of the raw directory, made by a worker meanwhile; not of a remote one (the flow mirrors it
    # first), nor for a run that may wait for the lock (the scan could be a long wait old).
    scan = {} if is_remote(config.raw_dir) or config.wait_for_lock else \
        {scan_key(local.raw_dir, local.ingest): (scan_raw, (Path(local.raw_dir), local.ingest))}
    return early_workers(workers, prepare_worker, local, scan)


def _os_error(error: BaseException) -> OSError | None:
    """The operating-system error behind a failure (a batch failure wraps it), if there is one."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _unchanged(config: PipelineConfig) -> str:
    """After a failed run: drop its half-built snapshot (space, after a full disk) and say what readers see."""
    out_dir = config.out_dir_path
    try:
        with output_lock(out_dir):
            prune_snapshots(out_dir, keep=config.keep_snapshots)
    except (OutputLocked, OSError):
        pass  # the next run removes it
    snapshot = current_snapshot(out_dir)
    if snapshot is None:
        return f"nothing was published in {out_dir}; the next run starts again"
    return (f"the datasets in {out_dir} are unchanged (snapshot {snapshot.root.name}); "
            "the next run completes the work once the cause is fixed")


def format_summary(summary: dict) -> str:
    """A short human-readable account of a run."""
    lines = [
        f"newsflow: {summary['files_seen']} files seen: {summary['files_new']} new, {summary['files_changed']} changed, "
        f"{summary['files_deleted']} deleted, {summary['files_unchanged']} unchanged",
    ]
    if summary["refresh_reason"]:
        lines.append(f"  reprocessed everything: {summary['refresh_reason']}")
    lines.append(f"  written this run: {summary['articles_written']} articles"
                 + (f" ({summary['articles_unchanged']} of them unchanged records of re-read files)"
                    if summary.get("articles_unchanged") else "")
                 + f", {summary['rejected_written']} rejected"
                 + (f" ({', '.join(f'{k}: {v}' for k, v in summary['rejected_by_reason'].items())})"
                    if summary["rejected_by_reason"] else ""))
    if summary["snapshot_written"]:
        lines.append(f"  datasets now: {summary['total_articles']} articles in {summary['out_dir']}/articles "
                     f"({summary['total_duplicates']} duplicates), {summary['total_passage_occurrences']} reused-passage "
                     f"occurrences, {summary['total_entity_mentions']} mentions of {summary['total_entities']} entities, "
                     f"{summary['total_quotes']} quotes in {summary['total_quote_clusters']} quote clusters, "
                     f"{summary['total_rejected']} rejected (snapshot {summary['snapshot']})")
    else:
        lines.append(f"  nothing new: datasets unchanged ({summary['total_articles'] or 0} articles in {summary['out_dir']}/articles)")
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in summary["seconds_by_stage"].items())
    lines.append(f"  time: {summary['seconds_total']:.2f}s ({stages})")
    return "\n".join(lines)


def status(config: PipelineConfig, *, check: bool) -> int:
    """Print dataset counts and, with check, whether every raw file is accounted for."""
    out_dir = config.out_dir
    snapshot = current_snapshot(Path(out_dir))
    if snapshot is None:
        print(f"newsflow: no datasets in {out_dir} yet; run `newsflow run` first")
        return EXIT_FAILED if check else 0
    manifest = snapshot.manifest
    print(f"snapshot {snapshot.root.name} created {manifest['created_at']} (pipeline {manifest['pipeline_version']})")
    for name in DATASETS:
        print(f"  {name}: {snapshot.count_rows(name)} rows  ({out_dir}/{name}/*.parquet)")
    files = snapshot.read("_state/files")
    rejected = snapshot.read("rejected", columns=["reason"])
    print(f"  files tracked: {files.num_rows}; rejected by reason: "
          f"{dict(Counter(rejected.column('reason').to_pylist()).most_common()) or 'none'}")
    scanned = scan_raw(Path(config.raw_dir), config.ingest)
    changes = plan_changes(scanned, files, full_refresh=False)
    print(f"  raw files not yet processed: {len(changes.to_parse)}; processed but since deleted: {len(changes.deleted)}")
    if not check:
        return 0
    from tasks.accounting import account  # reads raw files again; only --check needs it

    problems = account(snapshot, scanned, config.ingest)
    if not problems:
        print(f"  accounting: every one of {len(scanned)} raw files (and each JSON record) is in exactly one place")
        return 0
    print(f"  accounting: {len(problems)} problems")
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"    {problem}")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"    ... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
