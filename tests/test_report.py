"""The markdown report a run publishes to the Prefect UI."""

from __future__ import annotations

import pyarrow as pa

from tasks.report import duplicates_markdown, entities_markdown, new_duplicates, run_report
from tasks.schemas import DUPLICATE_PAIRS, ENTITIES


def pairs(*rows: tuple[str, str]) -> pa.Table:
    return pa.Table.from_pylist([{"article_id": a, "duplicate_of": b, "kind": "near", "similarity": 0.97} for a, b in rows],
                                schema=DUPLICATE_PAIRS)


def test_only_pairs_added_or_re_pointed_by_the_run_are_new():
    before = pairs(("b", "a"), ("c", "a"))
    after = pairs(("b", "a"), ("c", "x"), ("d", "a"))
    assert new_duplicates(before, after).column("article_id").to_pylist() == ["c", "d"]
    assert new_duplicates(DUPLICATE_PAIRS.empty_table(), after).num_rows == 3


def test_duplicate_clusters_name_the_canonical_copy_and_the_outlets_that_carried_it():
    articles = pa.table({"article_id": ["a", "b", "c"], "title": ["Xi | Putin meet", "x", "y"],
                         "outlet": ["TASS", "Global Times", "RT"]})
    markdown = duplicates_markdown(pairs(("b", "a"), ("c", "a")), articles)
    assert "2 new duplicates in 1 clusters" in markdown
    assert "| Xi \\| Putin meet | TASS | Global Times (near, 0.97); RT (near, 0.97) |" in markdown
    assert duplicates_markdown(DUPLICATE_PAIRS.empty_table(), articles) == "No new duplicates in this run.\n"


def test_top_entities_are_the_most_mentioned_first():
    entities = pa.Table.from_pylist([
        {"entity_id": "Q1", "name": "Xi Jinping", "type": "PERSON", "wikidata": "Q1", "linked": True, "aliases": [],
         "n_mentions": 7, "n_articles": 3},
        {"entity_id": "Q2", "name": "Moscow", "type": "GPE", "wikidata": "Q2", "linked": True, "aliases": [],
         "n_mentions": 9, "n_articles": 2},
    ], schema=ENTITIES)
    lines = entities_markdown(entities).splitlines()
    assert lines[2:] == ["| Moscow | GPE | 9 | 2 |", "| Xi Jinping | PERSON | 7 | 3 |"]


def test_the_report_carries_counts_sections_and_dataset_paths():
    summary = {"run_id": "0123456789", "files_seen": 5, "files_new": 5, "files_changed": 0, "files_deleted": 0,
               "articles_written": 5, "rejected_by_reason": {"empty": 1}, "snapshot": "00000001-01234567",
               "total_articles": 5, "total_duplicates": 0, "total_passage_occurrences": 2,
               "total_entity_mentions": 258, "total_rejected": 1, "out_dir": "data/processed"}
    markdown = run_report(summary, "No new duplicates in this run.\n", "| entity |\n")
    assert markdown.startswith("# newsflow run 01234567")
    assert "rejected: empty: 1" in markdown and "## Most mentioned entities" in markdown
    assert "`data/processed/articles/*.parquet`" in markdown
