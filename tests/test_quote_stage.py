"""The quotes stage in the flow: datasets, incremental runs equal to full ones, deletions and changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from flows.pipeline import newsflow
from tasks.config import PipelineConfig
from tasks.schemas import QUOTE_CLUSTERS, QUOTES

pytestmark = pytest.mark.usefixtures("prefect_harness")

SEEDS = sorted((Path(__file__).resolve().parents[1] / "data" / "raw").glob("*.txt"))


def run(raw: Path, out: Path, **settings) -> dict:
    return newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1, **settings))


def quote_state(out: Path) -> tuple[list, list]:
    """Quotes and quote clusters as sorted plain rows."""
    quotes = sorted(tuple(r.values()) for r in ds.dataset(out / "quotes").to_table().to_pylist())
    clusters = sorted(tuple(r.values()) for r in ds.dataset(out / "quote_clusters").to_table().to_pylist())
    return quotes, clusters


def full_run(files: list[Path], out: Path, tmp_path: Path) -> tuple[list, list]:
    raw = tmp_path / f"raw-{out.name}"
    raw.mkdir()
    for path in files:
        shutil.copy2(path, raw / path.name)
    run(raw, out)
    return quote_state(out)


def test_quotes_added_one_run_at_a_time_equal_one_full_run(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    for path in SEEDS[:2]:
        shutil.copy2(path, raw / path.name)
    run(raw, out)
    for path in SEEDS[2:]:  # one new article per run, each checked against everything before
        shutil.copy2(path, raw / path.name)
        summary = run(raw, out)
        assert summary["quotes_added"] > 0 and summary["refresh_reason"] is None
    assert quote_state(out) == full_run(SEEDS, tmp_path / "full", tmp_path)

    (raw / SEEDS[0].name).unlink()  # a deleted article's quotes go, and the clusters it held are repaired
    run(raw, out)
    assert quote_state(out) == full_run(SEEDS[1:], tmp_path / "without-first", tmp_path)

    changed = raw / SEEDS[3].name  # a changed article replaces its quotes
    changed.write_text(changed.read_text(encoding="utf-8").replace("Xi", "Xi Jinping", 1), encoding="utf-8")
    run(raw, out)
    assert quote_state(out) == full_run([*SEEDS[1:3], changed, *SEEDS[4:]], tmp_path / "changed", tmp_path)


def test_quote_datasets_have_their_schemas_and_carry_the_recurring_xi_quote(seed_corpus, tmp_path):
    out = tmp_path / "out"
    summary = run(seed_corpus, out)
    assert summary["total_quotes"] == summary["quotes_added"] > 40
    assert ds.dataset(out / "quotes").schema.remove_metadata() == QUOTES.remove_metadata()
    assert ds.dataset(out / "quote_clusters").schema.remove_metadata() == QUOTE_CLUSTERS.remove_metadata()
    with duckdb.connect() as db:
        quotes = f"read_parquet('{out}/quotes/*.parquet')"
        articles = f"read_parquet('{out}/articles/*.parquet')"
        # every quote's offsets point at its text in the article
        assert db.execute(f"select count(*) from {quotes} q join {articles} a using (article_id) "
                          "where substr(a.text, q.start + 1, q.\"end\" - q.start) <> q.text").fetchone() == (0,)
        # Xi's "great powers" line, carried word for word by two outlets, is one cluster of two articles
        carried = db.execute(f"select cluster_id, count(distinct article_id) from {quotes} "
                             "where text ilike '%assume the role of great powers%' group by 1").fetchall()
        assert len(carried) == 1 and carried[0][1] == 2
        speakers = db.execute(f"select distinct speaker_name from {quotes} where text ilike '%great powers%'").fetchall()
        assert speakers == [("Xi Jinping",)]
