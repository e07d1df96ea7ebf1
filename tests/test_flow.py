"""End to end: the Prefect flow on real files, read back with DuckDB, pyarrow, polars and pandas."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from conftest import dataset_rows
from flows.pipeline import newsflow
from tasks import dedup
from tasks.config import PipelineConfig
from tasks.schemas import ARTICLES, REJECTED, STATE_TABLES
from tasks.storage import STATE_DIR, current_snapshot

pytestmark = pytest.mark.usefixtures("prefect_harness")

PROSE = ("The two leaders met on the sidelines of the summit in Samarkand and discussed trade, energy and "
         "security, officials said after the talks, which lasted more than two hours on Thursday.")
VOLATILE = {"ingested_at", "seen_at"}


def _run(raw: Path, out: Path, **settings) -> dict:
    return newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1, **settings))


def _articles(out: Path) -> list[dict]:
    return sorted(ds.dataset(out / "articles").to_table().to_pylist(), key=lambda r: (r["source_path"], r["record_index"] or 0))


def _rejected(out: Path) -> list[tuple]:
    rows = ds.dataset(out / "rejected").to_table().to_pylist()
    return sorted((r["source_path"], r["record_index"] or 0, r["reason"]) for r in rows)


def _stable(rows: list[dict], *also: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in VOLATILE and k not in also} for row in rows]


def _partition(rows: list[dict]) -> set[frozenset[str]]:
    clusters: dict[str, set[str]] = {}
    for row in rows:
        clusters.setdefault(row["cluster_id"], set()).add(row["article_id"])
    return {frozenset(c) for c in clusters.values()}


def _tree(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != "lock"}


def test_seeds_become_articles_readable_everywhere_and_a_rerun_writes_nothing(seed_corpus, tmp_path):
    out = tmp_path / "out"
    summary = _run(seed_corpus, out)
    assert (summary["files_new"], summary["articles_written"], summary["rejected_written"]) == (5, 5, 0)

    assert ds.dataset(out / "articles").schema.remove_metadata() == ARTICLES.remove_metadata()
    assert ds.dataset(out / "rejected").schema.remove_metadata() == REJECTED.remove_metadata()
    glob = f"{out}/articles/**/*.parquet"
    assert duckdb.sql(f"select count(distinct article_id), min(language), max(language) from read_parquet('{glob}')").fetchall() == [(5, "en", "en")]
    assert pl.scan_parquet(glob).select(pl.len()).collect().item() == 5
    assert pd.read_parquet(out / "articles").shape == (5, len(ARTICLES))
    texts = {r["source_path"]: r["text"] for r in _articles(out)}
    assert "SHARE THIS ARTICLE" not in texts["000_00d65d564b3f9c64.txt"]
    assert "ALSO READ" not in texts["002_cd11cc6e04f149dc.txt"]
    assert "Go to home page" not in texts["003_d3a86075f0c03d3e.txt"]
    assert "“China is willing to make efforts with Russia" in texts["003_d3a86075f0c03d3e.txt"]  # quotes kept

    before = _tree(out)
    again = _run(seed_corpus, out)
    assert (again["files_unchanged"], again["articles_written"], again["snapshot_written"]) == (5, 0, False)
    assert _tree(out) == before


def test_add_change_delete_and_touch(seed_corpus, tmp_path):
    out = tmp_path / "out"
    _run(seed_corpus, out)
    first = {r["source_path"]: r for r in _articles(out)}

    (seed_corpus / "wire").mkdir()
    (seed_corpus / "wire" / "feed.jsonl").write_text(
        json.dumps({"text": PROSE, "title": "Leaders meet", "outlet": "Wire", "published": "2022-09-15T08:00:00Z"})
        + "\n{\"text\": \"cut off\n" + json.dumps({"text": PROSE + " Both sides called it productive."}) + "\n"
    )
    changed = seed_corpus / "004_73de68f7b28712c7.txt"
    changed.write_text(changed.read_text() + "\n\nA correction was appended to this article later on the same day.\n")
    (seed_corpus / "001_37a63de380ce9ca2.txt").unlink()
    (seed_corpus / "empty.txt").write_bytes(b"")
    (seed_corpus / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))

    summary = _run(seed_corpus, out)
    assert (summary["files_new"], summary["files_changed"], summary["files_deleted"]) == (3, 1, 1)
    rows = _articles(out)
    by_path = {r["source_path"]: r for r in rows if r["record_index"] is None}
    assert "001_37a63de380ce9ca2.txt" not in by_path
    assert by_path["004_73de68f7b28712c7.txt"]["article_id"] != first["004_73de68f7b28712c7.txt"]["article_id"]
    assert by_path["004_73de68f7b28712c7.txt"]["text"].endswith("later on the same day.")
    for unchanged in ("000_00d65d564b3f9c64.txt", "002_cd11cc6e04f149dc.txt"):
        assert by_path[unchanged] == first[unchanged]  # same id, same values, same ingested_at
    wire = [r for r in rows if r["source_path"] == "wire/feed.jsonl"]
    assert [(r["record_index"], r["outlet"]) for r in wire] == [(1, "Wire"), (3, None)]
    assert _rejected(out) == [("empty.txt", 0, "empty"), ("photo.txt", 0, "binary"), ("wire/feed.jsonl", 2, "malformed_record")]

    # A touched file (new mtime, same bytes) is not reprocessed.
    snapshot = current_snapshot(out).root.name
    os.utime(seed_corpus / "000_00d65d564b3f9c64.txt", ns=(1, 1))
    touched = _run(seed_corpus, out)
    assert (touched["files_touched_unchanged"], touched["articles_written"]) == (1, 0)
    assert _stable(_articles(out)) == _stable(rows)
    assert current_snapshot(out).root.name != snapshot  # only the file state moved on
    assert _run(seed_corpus, out)["snapshot_written"] is False


def _outlet_article(number: int) -> str:
    return (f"Planet headline number {number}\n\n{PROSE} Story {number} adds its own detail.\n\n"
            f"{PROSE.replace('Thursday', 'Friday')} Number {number}.\n\nSubscribe to the Daily Planet digest\n")


def test_outlet_boilerplate_found_incrementally_matches_a_full_refresh(tmp_path):
    raw = tmp_path / "raw"
    (raw / "planet").mkdir(parents=True)
    out = tmp_path / "out"
    for number in (1, 2):
        (raw / "planet" / f"{number}.txt").write_text(_outlet_article(number))
    _run(raw, out)
    assert all("Daily Planet digest" in r["text"] for r in _articles(out))  # two sightings are not enough

    (raw / "planet" / "3.txt").write_text(_outlet_article(3))
    summary = _run(raw, out)
    assert summary["files_reprocessed_for_boilerplate"] == 2
    incremental = _articles(out)
    assert len(incremental) == 3 and not any("Daily Planet digest" in r["text"] for r in incremental)

    full = tmp_path / "full"
    _run(raw, full)
    # The canonical copy of a duplicate cluster depends on ingestion order (documented), so compare
    # the clusters as partitions and everything else value by value.
    assert _partition(_articles(full)) == _partition(incremental)
    assert _stable(_articles(full), "cluster_id", "duplicate_of") == _stable(incremental, "cluster_id", "duplicate_of")

    (raw / "planet" / "3.txt").unlink()  # back under the threshold: the footer is text again
    _run(raw, out)
    assert all("Daily Planet digest" in r["text"] for r in _articles(out))


def _planet_record(number: int, footer: bool, outlet: str = "Daily Planet") -> str:
    words = ("harbour", "grain", "ministers", "pipeline", "border", "railway", "tariffs", "students", "festival",
             "drought", "bank", "satellite", "vaccine", "election", "museum", "river", "factory", "court")
    detail = " ".join(random.Random(number).choices(words, k=80))  # enough of its own not to be a near duplicate
    body = (f"{PROSE} {PROSE.replace('Thursday', 'Friday')}\n\nStory {number} reports on {detail}.\n\n"
            f"President Xi said \"we will build a better world together with our partners in story {number}\".")
    return json.dumps({"title": f"Planet headline {number}", "outlet": outlet, "published": f"2022-09-{number:02d}",
                       "text": body + ("\n\nSubscribe to the Daily Planet digest" if footer else "")}) + "\n"


def _everything(out: Path) -> dict[str, list[str]]:
    """Every dataset's and state table's rows (as `dataset_rows`), the file state without its timestamps and the
    MinHash index without signatures of texts gone; the quote clusters' links are checked, not returned."""
    snapshot = current_snapshot(out)
    state = {}
    # The quote clusters' links are a spanning forest of each cluster: which pairs it holds depends on the order the
    # quotes came in, so it is checked for what every link must be, two variants of one cluster, and not compared.
    variants = snapshot.read("_state/quote_variants", ["variant", "cluster_id"])
    cluster = dict(zip(variants.column("variant").to_pylist(), variants.column("cluster_id").to_pylist()))
    links = snapshot.read("_state/quote_edges")
    assert all(a < b and cluster[a] == cluster[b] for a, b in zip(links.column("variant_a").to_pylist(),
                                                                  links.column("variant_b").to_pylist()))
    # The MinHash index may keep the signatures of texts that left the corpus, up to a share of its rows
    # (`dedup.stale_signatures`): only those of the corpus's texts are compared.
    texts = snapshot.read("articles", ["content_hash"]).column("content_hash")
    for name in STATE_TABLES.keys() - {"_state/quote_edges"}:
        table = snapshot.read(name)
        if name == "_state/minhash":
            table = table.filter(pc.is_in(table.column("content_hash"), value_set=pc.unique(texts)))
        table = table.drop_columns([c for c in ("seen_at", "mtime_ns") if c in table.column_names])
        state[name] = sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())
    return {**dataset_rows(out), **state}


@pytest.mark.parametrize("settings", [{}, {"workers": 2, "batch_size": 1}], ids=["in-process", "worker-processes"])
def test_records_of_a_re_read_file_that_come_back_unchanged_are_not_redone(tmp_path, settings):
    """A JSON Lines file that holds records outlet boilerplate now reaches has those records redone, its other
    rows kept. One that changes is re-read whole: its records that come back the same are written again but skip
    dedup, passages, entities and quotes. Either way the datasets and state equal a full refresh's. (With worker
    processes, the previous versions are fingerprinted in the flow's process and the new ones in a worker.)"""
    raw, out, full = tmp_path / "raw", tmp_path / "out", tmp_path / "full"

    def run(raw: Path, out: Path) -> dict:
        return newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), **{"workers": 1, **settings}))

    raw.mkdir()
    feed = raw / "feed.jsonl"
    feed.write_text("".join(_planet_record(n, footer=n <= 2) for n in range(1, 6)))
    (raw / "star.jsonl").write_text(_planet_record(7, footer=False, outlet="Evening Star"))  # reuses the prose
    run(raw, out)
    assert [("Daily Planet digest" in r["text"]) for r in _articles(out)] == [True, True, False, False, False, False]
    before = {r["article_id"]: r for r in _articles(out)}

    # A third sighting of the footer makes it outlet boilerplate: records 1 and 2 change, 3 to 5 do not.
    (raw / "more.jsonl").write_text(_planet_record(6, footer=True))
    (raw / "star.jsonl").unlink()  # and a file goes in the same run
    summary = run(raw, out)
    assert (summary["files_reprocessed_for_boilerplate"], summary["files_deleted"]) == (1, 1)
    assert (summary["articles_written"], summary["articles_unchanged"]) == (3, 0)  # the new record, and 1 and 2
    assert not any("Daily Planet digest" in r["text"] for r in _articles(out))
    assert all(before[r["article_id"]]["ingested_at"] == r["ingested_at"] for r in _articles(out) if r["article_id"] in before)
    assert len([r for r in _articles(out) if r["article_id"] in before]) == 5
    run(raw, full)
    assert _everything(out) == _everything(full)

    # An edited record gets a new id; the file's other records are unchanged.
    lines = feed.read_text().splitlines(keepends=True)
    lines[3] = _planet_record(44, footer=False)
    feed.write_text("".join(lines))
    (raw / "star.jsonl").write_text(_planet_record(7, footer=False, outlet="Evening Star"))  # back: a new file
    summary = run(raw, out)
    assert (summary["files_changed"], summary["files_new"], summary["articles_written"], summary["articles_unchanged"]) \
        == (1, 1, 6, 4)
    shutil.rmtree(full)
    run(raw, full)
    assert _everything(out) == _everything(full)
    assert all(rows for name, rows in _everything(full).items() if name not in ("rejected", "duplicate_pairs", "_state/near_edges"))


def test_a_redone_record_left_too_short_is_rejected_and_a_file_with_rejections_is_read_again_whole(tmp_path):
    """A kept file's redone record that outlet boilerplate leaves too short moves to its rejections (the file's
    counts follow); a file with rejected records is read again whole. Each run equals a full refresh."""
    raw, out, full = tmp_path / "raw", tmp_path / "out", tmp_path / "full"
    settings = {"normalise": {"corpus_boilerplate_min_articles": 4}}
    raw.mkdir()
    short = json.dumps({"title": "Brief", "outlet": "Daily Planet",
                        "text": "A short note on grain.\n\nSubscribe to the Daily Planet digest"}) + "\n"
    (raw / "feed.jsonl").write_text(_planet_record(1, footer=True) + short + _planet_record(3, footer=False))
    (raw / "bad.jsonl").write_text(_planet_record(4, footer=True) + "{not json\n")
    _run(raw, out, **settings)
    assert sum("Daily Planet digest" in r["text"] for r in _articles(out)) == 3  # three sightings: not yet

    def state(out: Path) -> dict[str, tuple[int, int]]:
        files = current_snapshot(out).read("_state/files").to_pylist()
        return {r["source_path"]: (r["n_articles"], r["n_rejected"]) for r in files}

    (raw / "more.jsonl").write_text(_planet_record(6, footer=True))  # the fourth
    assert _run(raw, out, **settings)["files_reprocessed_for_boilerplate"] == 2
    assert ("feed.jsonl", 2, "no_article_text") in _rejected(out)
    assert state(out) == {"feed.jsonl": (2, 1), "bad.jsonl": (1, 1), "more.jsonl": (1, 0)}
    _run(raw, full, **settings)
    assert _everything(out) == _everything(full)

    (raw / "more.jsonl").unlink()  # under the threshold again: the short record is an article again
    _run(raw, out, **settings)
    assert state(out) == {"feed.jsonl": (3, 0), "bad.jsonl": (1, 1)}
    shutil.rmtree(full)
    _run(raw, full, **settings)
    assert _everything(out) == _everything(full)


def test_full_refresh_and_version_change_reprocess_everything(seed_corpus, tmp_path):
    out = tmp_path / "out"
    _run(seed_corpus, out)
    rows = _stable(_articles(out))
    refreshed = _run(seed_corpus, out, full_refresh=True)
    assert (refreshed["articles_written"], refreshed["articles_unchanged"]) == (5, 0)  # nothing is skipped
    _run(seed_corpus, tmp_path / "fresh")
    assert dataset_rows(out) == dataset_rows(tmp_path / "fresh")
    manifest_path = current_snapshot(out).root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "pipeline_version": "0.0.1"}))
    summary = _run(seed_corpus, out)
    assert summary["refresh_reason"].startswith("pipeline version changed") and summary["articles_written"] == 5
    assert _stable(_articles(out)) == rows
    assert len(list((out / STATE_DIR / "snapshots").iterdir())) == 2


def test_a_failed_run_leaves_the_previous_datasets_intact(seed_corpus, tmp_path):
    out = tmp_path / "out"
    _run(seed_corpus, out)
    rows = _articles(out)
    current = current_snapshot(out).root
    shutil.copy(seed_corpus / "000_00d65d564b3f9c64.txt", seed_corpus / "copy.txt")
    (out / "rejected").unlink()
    (out / "rejected").mkdir()  # a user's directory where a dataset link belongs: commit must refuse
    state = newsflow(PipelineConfig(raw_dir=str(seed_corpus), out_dir=str(out), workers=1), return_state=True)
    assert state.is_failed()
    with pytest.raises(FileExistsError, match="is not a newsflow dataset link"):
        state.result()
    assert current_snapshot(out).root == current and _articles(out) == rows
    (out / "rejected").rmdir()
    assert _run(seed_corpus, out)["articles_written"] == 1  # the next run completes the work


def test_batches_on_worker_processes_give_the_same_datasets(seed_corpus, tmp_path):
    serial = tmp_path / "serial"
    _run(seed_corpus, serial)
    parallel = tmp_path / "parallel"
    summary = newsflow(PipelineConfig(raw_dir=str(seed_corpus), out_dir=str(parallel), workers=2, batch_size=2))
    assert summary["articles_written"] == 5
    assert _stable(_articles(parallel)) == _stable(_articles(serial))
    assert len(current_snapshot(parallel).part_files("articles")) == 3  # one part per batch


DEDUP_DATA = Path(__file__).resolve().parent / "data" / "dedup"
ANSWERS = json.loads((DEDUP_DATA / "answers.json").read_text())["duplicates"]


def _add_variants(raw: Path) -> None:
    for answer in ANSWERS:
        target = raw / answer["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(DEDUP_DATA / answer["path"], target)


def _duplicates(out: Path) -> set[tuple[str, str, str]]:
    """(duplicate's path, canonical's path, kind) from duplicate_pairs joined to articles, in DuckDB."""
    rows = duckdb.sql(f"""
        select d.source_path, c.source_path, p.kind
        from read_parquet('{out}/duplicate_pairs/*.parquet') p
        join read_parquet('{out}/articles/*.parquet') d on d.article_id = p.article_id
        join read_parquet('{out}/articles/*.parquet') c on c.article_id = p.duplicate_of
    """).fetchall()
    return set(rows)


def test_duplicates_and_reused_passages_of_the_seed_variants(seed_corpus, tmp_path):
    _add_variants(seed_corpus)
    out = tmp_path / "out"
    _run(seed_corpus, out)
    # Ingested together and undated, the copies tie; the smallest id is canonical, so compare pairs unordered.
    assert {(frozenset(d[:2]), d[2]) for d in _duplicates(out)} <= {
        (frozenset((a["path"], a["duplicate_of"])), a["kind"]) for a in ANSWERS} | {
        (frozenset((a["path"], b["path"])), a["kind"]) for a in ANSWERS for b in ANSWERS if a["duplicate_of"] == b["duplicate_of"]}
    assert len(_duplicates(out)) == len(ANSWERS)
    clusters = duckdb.sql(f"select count(distinct cluster_id), count(*) filter (where duplicate_of is null) "
                          f"from read_parquet('{out}/articles/*.parquet')").fetchall()
    assert clusters == [(5, 5)]  # five stories, one canonical copy each

    # Every passage occurrence points at its own text; the Xi quote is carried by 000 and 003.
    mismatched = duckdb.sql(f"""
        select count(*) from read_parquet('{out}/passages/*.parquet') p
        join read_parquet('{out}/articles/*.parquet') a using (article_id)
        where substring(a.text, p.start + 1, p."end" - p.start) != p.text
    """).fetchall()
    assert mismatched == [(0,)]
    carriers = duckdb.sql(f"""
        select list(distinct a.cluster_id order by a.cluster_id), count(*) from read_parquet('{out}/passages/*.parquet') p
        join read_parquet('{out}/articles/*.parquet') a using (article_id)
        where p.text like 'China is willing to make efforts with Russia%'
    """).fetchall()
    (cluster_ids, occurrences), = carriers
    assert len(cluster_ids) == 2 and occurrences >= 3  # 000, its repost and straight-quote copy, and 003


def test_dedup_is_incremental_and_follows_deletions(seed_corpus, tmp_path):
    out = tmp_path / "out"
    _run(seed_corpus, out)
    _add_variants(seed_corpus)
    summary = _run(seed_corpus, out)
    assert summary["articles_written"] == len(ANSWERS)
    assert _duplicates(out) == {(a["path"], a["duplicate_of"], a["kind"]) for a in ANSWERS}

    (seed_corpus / "000_00d65d564b3f9c64.txt").unlink()  # the canonical copy goes
    summary = _run(seed_corpus, out)
    assert summary["articles_reclustered"] == 2
    remaining = {d for d in _duplicates(out) if "000" in d[0] or "000" in d[1]}
    assert remaining == {("near/000-straight-quotes.txt", "mirror/000-repost.txt", "near")}
    assert _run(seed_corpus, out)["snapshot_written"] is False

    full = tmp_path / "full"
    _run(seed_corpus, full)
    assert _partition(_articles(full)) == _partition(_articles(out))


def test_the_minhash_index_keeps_signatures_of_texts_gone_until_they_are_too_many(seed_corpus, tmp_path, monkeypatch):
    """A deleted article's signature stays in the index (its part is not rewritten) while such signatures are at
    most STALE_INDEX_SHARE of its rows, serves again when the text comes back, and all go once they pass that
    share; the datasets and the rest of the state equal a full refresh's throughout."""
    monkeypatch.setattr(dedup, "STALE_INDEX_SHARE", 0.25)
    out, full = tmp_path / "out", tmp_path / "full"
    files = sorted(seed_corpus.glob("*.txt"))
    texts = {path: path.read_bytes() for path in files}

    def run() -> list[str]:
        """The run's index rows, by content hash (a signature held twice would show)."""
        _run(seed_corpus, out)
        shutil.rmtree(full, ignore_errors=True)
        _run(seed_corpus, full)
        assert _everything(out) == _everything(full)
        return sorted(current_snapshot(out).read("_state/minhash").column("content_hash").to_pylist())

    everything = run()
    assert len(set(everything)) == 5
    files[0].unlink()  # 1 of 5 signatures stale: kept
    assert run() == everything
    files[0].write_bytes(texts[files[0]])  # back: the kept signature serves, none is added
    assert run() == everything
    files[1].unlink()
    files[2].unlink()  # 2 of 5 stale: both go
    left = run()
    assert len(left) == 3 and left == sorted(a["content_hash"] for a in _articles(out))


def test_two_runs_on_the_same_input_give_identical_datasets(seed_corpus, tmp_path):
    """Whatever the batches and the quote slices (whole speakers clustered at a time), in a first run and in one
    that adds articles."""
    first, second = tmp_path / "first", tmp_path / "second"

    def both() -> None:
        _run(seed_corpus, first)
        newsflow(PipelineConfig(raw_dir=str(seed_corpus), out_dir=str(second), workers=2, batch_size=3, quote_slice_rows=10))

    both()
    assert _everything(first) == _everything(second)
    _add_variants(seed_corpus)
    both()
    assert _stable(_articles(first)) == _stable(_articles(second))
    for name in ("duplicate_pairs", "passages"):
        rows = [sorted(ds.dataset(out / name).to_table().to_pylist(), key=lambda r: tuple(map(str, r.values())))
                for out in (first, second)]
        assert rows[0] == rows[1] and rows[0], name
    assert _everything(first) == _everything(second)
    assert len(current_snapshot(first).part_files("quotes")) == 2 and len(current_snapshot(second).part_files("quotes")) > 6


def test_entities_are_tagged_and_a_user_entity_retags_the_corpus(seed_corpus, tmp_path):
    out = tmp_path / "out"
    _run(seed_corpus, out)
    mentions = f"read_parquet('{out}/entity_mentions/*.parquet')"
    bad_offsets = duckdb.sql(f"""select count(*) from {mentions} m join read_parquet('{out}/articles/*.parquet') a
                                 using (article_id) where substring(a.text, m.start + 1, m."end" - m.start) != m.surface""")
    assert bad_offsets.fetchall() == [(0,)]
    melnikov = f"select distinct entity_id from {mentions} where name = 'Ivan Melnikov'"
    assert duckdb.sql(melnikov).fetchall() == [("unlinked:person:ivan-melnikov",)]
    top = duckdb.sql(f"select name, n_articles from read_parquet('{out}/entities/*.parquet') order by n_mentions desc limit 2")
    assert top.fetchall() == [("Russia", 5), ("China", 5)]

    kb_file = tmp_path / "people.jsonl"
    kb_file.write_text('{"name": "Ivan Melnikov", "type": "PERSON", "aliases": ["Melnikov"], "wikidata": "Q4200000"}\n')
    summary = _run(seed_corpus, out, entities={"kb_files": (str(kb_file),)})
    assert summary["refresh_reason"] == "processing settings changed"
    assert duckdb.sql(melnikov).fetchall() == [("Q4200000",)]
