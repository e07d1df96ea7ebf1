#!/usr/bin/env python3
"""Speed of quote extraction and clustering on a synthetic corpus, and the cost of adding 1% more articles.

Example:
    .venv/bin/python bench/make_corpus.py /tmp/bench/raw --n 10000 --seed 0
    .venv/bin/python bench/quotes.py /tmp/bench/raw [--limit N] [--add-fraction 0.01] [--sample 3]

Articles are read with the ingest stage's rule cleaning (`tasks.ingest.parse_file`; the corpus-wide
boilerplate pass is skipped), tagged by the entity stage (timed apart: it is that stage's cost), then:
extraction (`extract_quotes`, one process), batch clustering of all but the last `--add-fraction`
articles, and the incremental step for the rest: keys, `related_quotes` and `cluster_quotes` against
the existing clusters. Quotes carry their article's published_at, as in the pipeline. The incremental
result is checked against clustering everything at once.
`--sample N` prints N articles' quotes, to eyeball how the rules behave on text they were not written on.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.config import PipelineConfig
from tasks.entities import match
from tasks.ingest import parse_file
from tasks.knowledge import load_knowledge_base
from tasks.quote_clusters import (
    assign_clusters,
    cluster_quotes,
    quote_cluster_rows,
    quote_keys,
    related_quotes,
)
from tasks.quotes import extract_quotes
from tasks.schemas import QUOTE_KEYS, QUOTES


def read_articles(raw: Path, config: PipelineConfig, limit: int | None) -> list[dict]:
    """Rule-cleaned articles of every file under `raw`, in path order."""
    articles = []
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        data = path.read_bytes()
        parsed = parse_file(data, str(path.relative_to(raw)), hashlib.sha256(data).hexdigest(), config)
        for a in parsed.articles:
            articles.append({"article_id": a["article_id"], "outlet": a["outlet"], "published_at": a["published_at"],
                             "text": "\n\n".join(a["paragraphs"])})
        if limit and len(articles) >= limit:
            return articles[:limit]
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="use the first N articles only")
    parser.add_argument("--add-fraction", type=float, default=0.01)
    parser.add_argument("--sample", type=int, default=0, help="print the quotes of N articles")
    args = parser.parse_args()
    config = PipelineConfig()
    qconfig = config.quotes

    t = time.perf_counter()
    articles = read_articles(args.raw, config, args.limit)
    t_read = time.perf_counter() - t
    kb = load_knowledge_base(config.entities.kb_files, config.entities.min_city_population)
    t = time.perf_counter()
    mentions = [match(a["text"], kb, config.entities) for a in articles]
    t_entities = time.perf_counter() - t

    t = time.perf_counter()
    rows = [r for a, m in zip(articles, mentions) for r in extract_quotes(a["article_id"], a["text"], m, qconfig)]
    t_extract = time.perf_counter() - t
    published = {a["article_id"]: a["published_at"] for a in articles}
    quotes = pa.Table.from_pylist(rows, schema=QUOTES)
    quotes = quotes.append_column("published_at", pa.array([published[r["article_id"]] for r in rows],
                                                            pa.timestamp("us", tz="UTC")))
    n = len(articles)
    print(f"{n} articles read in {t_read:.1f}s; entity tagging {t_entities:.1f}s ({n / t_entities:.0f} articles/s)")
    print(f"extraction: {quotes.num_rows} quotes in {t_extract:.2f}s: {n / t_extract:.0f} articles/s, "
          f"{quotes.num_rows / t_extract:.0f} quotes/s; kinds {dict(Counter(r['kind'] for r in rows))}, "
          f"attribution {dict(Counter(r['attribution_method'] for r in rows))}")

    n_new_articles = max(1, round(n * args.add_fraction))
    new_article_ids = pa.array([a["article_id"] for a in articles[n - n_new_articles :]], pa.string())
    is_new = pc.is_in(quotes.column("article_id"), value_set=new_article_ids)
    base, new = quotes.filter(pc.invert(is_new)), quotes.filter(is_new)

    t = time.perf_counter()
    base_keys = quote_keys(base, qconfig)
    base = assign_clusters(base, cluster_quotes(base, base_keys, QUOTES.empty_table(), QUOTE_KEYS.empty_table(), qconfig))
    t_batch = time.perf_counter() - t
    t = time.perf_counter()
    new_keys = quote_keys(new, qconfig)
    old = base.filter(pc.is_in(base.column("quote_id"), value_set=related_quotes(new_keys, base_keys)))
    update = cluster_quotes(new, new_keys, old, base_keys, qconfig)
    t_incremental = time.perf_counter() - t
    merged = assign_clusters(pa.concat_tables([base, new]), update)
    clusters = quote_cluster_rows(merged, pa.Table.from_pylist(
        [{k: a[k] for k in ("article_id", "outlet", "published_at")} for a in articles]))
    print(f"clustering {base.num_rows} quotes of {n - n_new_articles} articles in one batch: {t_batch:.2f}s "
          f"({base.num_rows / t_batch:.0f} quotes/s)")
    print(f"adding {n_new_articles} articles ({new.num_rows} quotes): {t_incremental:.3f}s, "
          f"{old.num_rows} old quotes read, {update.renames.num_rows} old clusters merged into others")
    sizes = Counter(clusters.column("n_quotes").to_pylist())
    print(f"{clusters.num_rows} clusters; largest {max(sizes) if sizes else 0} quotes; "
          f"{sum(c for s, c in sizes.items() if s > 1)} with 2+ quotes, {sum(c for s, c in sizes.items() if s > 50)} "
          f"with over 50")

    everything = pa.concat_tables([base, new])
    batch = cluster_quotes(everything, quote_keys(everything, qconfig), QUOTES.empty_table(), QUOTE_KEYS.empty_table(),
                           qconfig)
    batch = batch.assignments
    same = dict(zip(batch.column("quote_id").to_pylist(), batch.column("cluster_id").to_pylist())) == \
        dict(zip(merged.column("quote_id").to_pylist(), merged.column("cluster_id").to_pylist()))
    print(f"incremental clusters equal one batch over everything: {same}")

    for a, m in list(zip(articles, mentions))[: args.sample]:
        print(f"\n=== {a['article_id']} ({a['outlet']})")
        for r in extract_quotes(a["article_id"], a["text"], m, qconfig):
            print(f"  [{r['kind'][:3]}] {r['speaker_name']} ({r['attribution_method']}): {r['text'][:110]!r}")


if __name__ == "__main__":
    main()
