"""What a run found, as markdown for people watching the Prefect UI."""

from __future__ import annotations

import pyarrow as pa

from tasks.schemas import DATASETS

MAX_CLUSTERS_SHOWN = 20
TOP_ENTITIES = 15


def new_duplicates(before: pa.Table, after: pa.Table) -> pa.Table:
    """Duplicate-pair rows present after the run and not before it (new or re-pointed duplicates)."""
    if not before.num_rows:
        return after
    old = {(a, b) for a, b in zip(before.column("article_id").to_pylist(), before.column("duplicate_of").to_pylist())}
    keep = [(a, b) not in old for a, b in zip(after.column("article_id").to_pylist(), after.column("duplicate_of").to_pylist())]
    return after.filter(pa.array(keep, pa.bool_()))


def _cell(value: object) -> str:
    """A value as a markdown table cell (pipes escaped, long titles cut for display only)."""
    text = "" if value is None else str(value)
    text = text if len(text) <= 90 else text[:89] + "…"
    return text.replace("|", "\\|").replace("\n", " ")


def duplicates_markdown(pairs: pa.Table, articles: pa.Table) -> str:
    """New duplicate clusters: the canonical copy and the copies that joined it this run."""
    if not pairs.num_rows:
        return "No new duplicates in this run.\n"
    about = {row["article_id"]: row for row in articles.to_pylist()}
    clusters: dict[str, list[dict]] = {}
    for row in pairs.sort_by([("duplicate_of", "ascending"), ("article_id", "ascending")]).to_pylist():
        clusters.setdefault(row["duplicate_of"], []).append(row)
    lines = [f"{pairs.num_rows} new duplicates in {len(clusters)} clusters.", "",
             "| canonical | outlet | duplicates (outlet, kind, similarity) |", "| --- | --- | --- |"]
    for canonical, rows in list(clusters.items())[:MAX_CLUSTERS_SHOWN]:
        head = about.get(canonical, {})
        copies = "; ".join(f"{_cell(about.get(r['article_id'], {}).get('outlet'))} ({r['kind']}, {r['similarity']:.2f})"
                           for r in rows)
        lines.append(f"| {_cell(head.get('title') or canonical)} | {_cell(head.get('outlet'))} | {copies} |")
    if len(clusters) > MAX_CLUSTERS_SHOWN:
        lines.append(f"\n… and {len(clusters) - MAX_CLUSTERS_SHOWN} more clusters (see `duplicate_pairs`).")
    return "\n".join(lines) + "\n"


def entities_markdown(entities: pa.Table) -> str:
    """The most mentioned entities of the corpus."""
    if not entities.num_rows:
        return "No entities yet.\n"
    top = entities.sort_by([("n_mentions", "descending"), ("name", "ascending")]).slice(0, TOP_ENTITIES)
    lines = ["| entity | type | mentions | articles |", "| --- | --- | ---: | ---: |"]
    lines += [f"| {_cell(r['name'])} | {r['type']} | {r['n_mentions']} | {r['n_articles']} |" for r in top.to_pylist()]
    return "\n".join(lines) + "\n"


def run_report(summary: dict, duplicates: str, entities: str) -> str:
    """The run's markdown report: counts, new duplicate clusters, top entities and where the data is."""
    rejected = ", ".join(f"{k}: {v}" for k, v in summary["rejected_by_reason"].items()) or "none"
    datasets = "\n".join(f"- `{name}`: `{summary['out_dir']}/{name}/*.parquet`" for name in DATASETS)
    return (f"# newsflow run {summary['run_id'][:8]}\n\n"
            f"{summary['files_seen']} files seen: {summary['files_new']} new, {summary['files_changed']} changed, "
            f"{summary['files_deleted']} deleted. Written: {summary['articles_written']} articles; "
            f"rejected: {rejected}.\n\n"
            f"Snapshot `{summary['snapshot']}`: {summary['total_articles']} articles "
            f"({summary['total_duplicates']} of them duplicates), {summary['total_passage_occurrences']} reused-passage "
            f"occurrences, {summary['total_entity_mentions']} entity mentions, {summary['total_rejected']} rejected inputs.\n\n"
            f"## New duplicate clusters\n\n{duplicates}\n## Most mentioned entities\n\n{entities}\n"
            f"## Datasets\n\n{datasets}\n")



def quote_clusters_markdown(clusters: pa.Table, new: set[str], grown: set[str]) -> str:
    """New and growing quote clusters of a run, the most widely carried first."""
    shown = clusters.filter(pa.array([c in new or c in grown for c in clusters.column("cluster_id").to_pylist()], pa.bool_()))
    if not shown.num_rows:
        return "# Quote clusters\n\nNo new or growing quote clusters in this run.\n"
    rows = sorted(shown.to_pylist(), key=lambda r: (-r["n_outlets"], -r["n_articles"], r["cluster_id"]))
    lines = [f"# Quote clusters\n\n{len(new)} new and {len(grown)} growing clusters.", "",
             "| | speaker | quote | outlets | articles | first seen | last seen |", "| --- | --- | --- | ---: | ---: | --- | --- |"]
    for row in rows[:MAX_CLUSTERS_SHOWN]:
        seen = [f"{d:%Y-%m-%d}" if d else "" for d in (row["first_seen"], row["last_seen"])]
        lines.append(f"| {'new' if row['cluster_id'] in new else 'grew'} | {_cell(row['speaker_name'] or 'unknown')} | "
                     f"{_cell(row['text'])} | {row['n_outlets']} | {row['n_articles']} | {seen[0]} | {seen[1]} |")
    if len(rows) > MAX_CLUSTERS_SHOWN:
        lines.append(f"\n… and {len(rows) - MAX_CLUSTERS_SHOWN} more (see `quote_clusters`).")
    return "\n".join(lines) + "\n"
