#!/usr/bin/env python3
"""Speed of quote extraction and clustering on a synthetic corpus, and the cost of adding 1% more articles.

Example:
    .venv/bin/python bench/make_corpus.py /tmp/bench/raw --n 10000 --seed 0
    .venv/bin/python bench/quotes.py /tmp/bench/raw [--limit N] [--add-fraction 0.01] [--sample 3]

Articles are read with the ingest stage's rule cleaning (`tasks.ingest.parse_file`; the corpus-wide
boilerplate pass is skipped), tagged by the entity stage (timed apart: it is that stage's cost), then:
extraction (`extract_quotes`, one process), variants, keys and features (`keyed_variants`, done in the normalise
batches in the pipeline), then the quotes stage (`update_quotes` over in-memory tables applied as the
commit step applies them): once for all but the last `--add-fraction` articles, then for the rest
against the first run's tables. Quotes carry their article's published_at, as in the pipeline. The
incremental result (quotes' clusters and quote_clusters rows) is checked against one run over everything.
`--sample N` prints N articles' quotes, to eyeball how the rules behave on text they were not written on.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.config import PipelineConfig
from tasks.entities import match
from tasks.ingest import parse_file
from tasks.knowledge import load_knowledge_base
from tasks.quote_clusters import keyed_variants
from tasks.quote_index import ARTICLE_META, OldTables, old_tables, update_quotes
from tasks.quotes import extract_quotes
from tasks.schemas import QUOTE_CLUSTER_OUTLETS, QUOTE_CLUSTERS, QUOTE_KEYS, QUOTE_VARIANTS, QUOTES
from tasks.storage import apply_updates


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


@dataclass
class Tables:
    """The quotes stage's datasets and state in memory, as the snapshot holds them."""

    quotes: pa.Table = field(default_factory=QUOTES.empty_table)
    keys: pa.Table = field(default_factory=QUOTE_KEYS.empty_table)
    variants: pa.Table = field(default_factory=QUOTE_VARIANTS.empty_table)
    clusters: pa.Table = field(default_factory=QUOTE_CLUSTERS.empty_table)
    outlets: pa.Table = field(default_factory=QUOTE_CLUSTER_OUTLETS.empty_table)
    read: int = 0  # rows the look-ups returned
    updates: int = 0

    def lookup(self, name: str):
        def find(column, values):
            table = getattr(self, name)
            found = table.filter(pc.is_in(table.column(column), value_set=pa.array(sorted(set(values)), table.schema.field(column).type)))
            self.read += found.num_rows
            return found
        return find

    def rows(self) -> tuple:
        return (sorted(zip(self.quotes.column("quote_id").to_pylist(), self.quotes.column("cluster_id").to_pylist())),
                sorted(self.clusters.to_pylist(), key=lambda r: r["cluster_id"]))


def _drop(table: pa.Table, column: str, values: set) -> pa.Table:
    return table.filter(pc.invert(pc.is_in(table.column(column), value_set=pa.array(sorted(values), table.schema.field(column).type))))


def run_quotes(new: pa.Table, keys: pa.Table, features: pa.Table, old: Tables, meta: pa.Table, config) -> Tables:
    """The quotes stage of one run adding `new` (no removals) to `old`: `update_quotes`, then the commit's changes."""
    variants = pc.unique(new.column("variant"))
    out = update_quotes(new, keys.filter(pc.is_in(keys.column("variant"), value_set=variants)),
                        features.filter(pc.is_in(features.column("variant"), value_set=variants)),
                        set(), OldTables(*(old.lookup(n) for n in ("quotes", "keys", "variants", "clusters", "outlets")),
                                         old_tables(None).edges),  # no removals: no repairs, no links read
                        lambda ids: meta.filter(pc.is_in(meta.column("article_id"), value_set=pa.array(sorted(ids), pa.string()))),
                        config)
    quotes = apply_updates(old.quotes, out.updates, "quote_id") if out.updates.num_rows else old.quotes
    return Tables(pa.concat_tables([quotes, out.new_quotes]),
                  pa.concat_tables([_drop(old.keys, "variant", out.dropped_key_variants), out.new_keys]),
                  pa.concat_tables([_drop(old.variants, "variant", out.dropped_variants), out.variants]),
                  pa.concat_tables([_drop(old.clusters, "cluster_id", out.dropped_clusters), out.clusters]),
                  pa.concat_tables([_drop(old.outlets, "cluster_id", out.dropped_clusters), out.outlets]),
                  read=old.read, updates=out.updates.num_rows)


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
    quotes = pa.Table.from_pylist(rows, schema=QUOTES.remove(QUOTES.get_field_index("variant")))
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
    meta = pa.Table.from_pylist([{k: a[k] for k in ARTICLE_META.names} for a in articles], schema=ARTICLE_META)

    t = time.perf_counter()
    keyed = keyed_variants(quotes, qconfig)
    quotes, keys, features = keyed.quotes, keyed.keys, keyed.features
    t_keys = time.perf_counter() - t
    base, new = quotes.filter(pc.invert(is_new)), quotes.filter(is_new)
    t = time.perf_counter()
    first = run_quotes(base, keys, features, Tables(), meta, qconfig)
    t_batch = time.perf_counter() - t
    t = time.perf_counter()
    added = run_quotes(new, keys, features, first, meta, qconfig)
    t_incremental = time.perf_counter() - t
    print(f"variants and keys of {quotes.num_rows} quotes: {t_keys:.2f}s ({quotes.num_rows / t_keys:.0f} quotes/s)")
    print(f"clustering {base.num_rows} quotes of {n - n_new_articles} articles in one batch: {t_batch:.2f}s "
          f"({base.num_rows / t_batch:.0f} quotes/s)")
    print(f"adding {n_new_articles} articles ({new.num_rows} quotes): {t_incremental:.3f}s; "
          f"{first.read} old rows read, {added.updates} old quotes moved to a merged cluster")
    sizes = Counter(added.clusters.column("n_quotes").to_pylist())
    print(f"{added.clusters.num_rows} clusters; largest {max(sizes) if sizes else 0} quotes; "
          f"{sum(c for s, c in sizes.items() if s > 1)} with 2+ quotes, {sum(c for s, c in sizes.items() if s > 50)} "
          f"with over 50")
    batch = run_quotes(quotes, keys, features, Tables(), meta, qconfig)
    print(f"incremental clusters equal one batch over everything: {batch.rows() == added.rows()}")

    for a, m in list(zip(articles, mentions))[: args.sample]:
        print(f"\n=== {a['article_id']} ({a['outlet']})")
        for r in extract_quotes(a["article_id"], a["text"], m, qconfig):
            print(f"  [{r['kind'][:3]}] {r['speaker_name']} ({r['attribution_method']}): {r['text'][:110]!r}")


if __name__ == "__main__":
    main()
