"""The newsflow flow: raw articles in, clean Parquet datasets out, one incremental run at a time."""

from __future__ import annotations

from prefect import flow

from tasks.batches import Batches
from tasks.config import PipelineConfig
from tasks.export import run_summary
from tasks.stages import commit, corpus_boilerplate, dedup, normalise, parse, passages, plan, report
from tasks.storage import output_lock


@flow(name="newsflow", flow_run_name="newsflow-{config.out_dir}", log_prints=True)
def newsflow(config: PipelineConfig = PipelineConfig()) -> dict:
    """Ingest, normalise and export every new or changed article under config.raw_dir."""
    with output_lock(config.out_dir_path, wait=config.wait_for_lock), Batches(config) as batches:
        run = plan(config)
        if not run.has_work:
            return report(run_summary(run, [], [], run.previous))
        parsed = parse(run, run.changes.to_parse, "changes", batches)
        boilerplate = corpus_boilerplate(run, parsed)
        if boilerplate.reprocess:
            parsed += parse(run, run.files_for(boilerplate.reprocess), "boilerplate", batches)
        normalised = normalise(run, parsed, boilerplate, batches)
        deduped = dedup(run, parsed, normalised)
        reused = passages(run, normalised, deduped)
        snapshot = commit(run, parsed, normalised, deduped, reused)
        return report(run_summary(run, parsed, normalised, snapshot, boilerplate, deduped, reused))
