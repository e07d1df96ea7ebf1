"""The newsflow flow: raw articles in, clean Parquet datasets out, one incremental run at a time.

No `from __future__ import annotations` here: Prefect validates the flow parameters against the
real PipelineConfig annotation, which a string annotation hides from served runs.
"""

from datetime import datetime, timezone
from pathlib import PurePath

from prefect import flow
from prefect.runtime import flow_run

from tasks.batches import Batches
from tasks.config import PipelineConfig
from tasks.export import CarryOvers, run_summary
from tasks.normalise import load_models
from tasks.remote import is_remote, local_config
from tasks.stages import (
    call,
    commit,
    corpus_boilerplate,
    dedup,
    normalise,
    parse,
    passages,
    plan,
    publish_datasets,
    quotes,
    report,
    sync_raw,
)
from tasks.storage import output_lock, use_system_allocator


def run_name() -> str:
    """A flow run name that says what ran on what: newsflow-processed-20261122T1500 (full refresh marked)."""
    config = flow_run.parameters.get("config")
    config = config if isinstance(config, PipelineConfig) else PipelineConfig.model_validate(config or {})
    kind = "full-refresh" if config.full_refresh else "run"
    return f"newsflow-{kind}-{PurePath(config.out_dir).name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"


@flow(name="newsflow", flow_run_name=run_name, log_prints=True)
def newsflow(config: PipelineConfig = PipelineConfig()) -> dict:
    """Ingest, normalise and export every new or changed article under config.raw_dir."""
    use_system_allocator()  # the corpus-wide stages free a lot: give it back
    local = local_config(config)
    with output_lock(local.out_dir_path, wait=config.wait_for_lock), Batches(local) as batches:
        if is_remote(config.raw_dir):
            sync_raw(config.raw_dir, local.raw_dir)
        run = call(plan, local)
        if run.has_work:
            parsed = parse(run, run.changes.to_parse, "changes", batches)
            batches.warm(load_models, local)  # while the corpus boilerplate is counted here
            boilerplate = call(corpus_boilerplate, run, parsed)
            if boilerplate.reprocess:
                parsed += parse(run, run.files_for(boilerplate.reprocess), "boilerplate", batches, boilerplate.held)
            normalised = normalise(run, parsed, boilerplate, batches)
            batches.close()  # idle workers would hold their memory through dedup and passages
            # Each dataset's unchanged rows are carried into the new snapshot on a thread of their own as soon as
            # a stage has said which rows go, while the next stages run.
            with CarryOvers(run) as carried:
                carried.after_normalise(run, parsed)
                deduped = call(dedup, run, parsed, normalised)
                carried.after_dedup(deduped)
                reused = call(passages, run, normalised, deduped)
                carried.after_passages(deduped, reused)
                quoted = quotes(run, normalised, deduped, batches)
                batches.close()  # the last stage run in batches
                snapshot = call(commit, run, parsed, normalised, deduped, reused, quoted, carried)
            summary = run_summary(run, parsed, normalised, snapshot, boilerplate, deduped, reused, quoted)
        else:
            snapshot, quoted = run.previous, None
            summary = run_summary(run, [], [], snapshot)
        if is_remote(config.out_dir):  # every run, so one that failed to publish is completed by the next
            publish_datasets(local.out_dir, config.out_dir, summary["snapshot"])
        return call(report, summary | {"raw_dir": config.raw_dir, "out_dir": config.out_dir}, run, snapshot, quoted)
