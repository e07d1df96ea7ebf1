#!/usr/bin/env python3
"""Per-article cost of each CPU-bound step of the pipeline, on one core, in one run.

Example:
    python bench/stages.py --n 10000 [--corpus DIR] [--formats txt,jsonl]

Generates (or reuses) a seed-like corpus with bench/make_corpus.py, parses every file as the
pipeline does, then times each step over the same articles: parse (decode, extract, rules,
metadata), language detection, MinHash, passage segments and entity tagging. Prints articles/s per
step and each step's share, so the slowest stage is plain to see, and the share of parse that HTML
pages (trafilatura) take. Steps are timed in CPU seconds of the process (time.process_time), which a
busy shared machine disturbs far less than wall time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tasks.config import PipelineConfig  # noqa: E402
from tasks.dedup import signature_table  # noqa: E402
from tasks.entities import match  # noqa: E402
from tasks.ingest import parse_file  # noqa: E402
from tasks.knowledge import load_knowledge_base  # noqa: E402
from tasks.normalise import content_hash, detect_language, detect_languages  # noqa: E402
from tasks.passages import article_segments  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, help="existing raw directory (default: generate one in /tmp)")
    parser.add_argument("--formats", default="txt,jsonl,html", help="formats of a generated corpus (make_corpus.py)")
    parser.add_argument("--both-language-methods", action="store_true",
                        help="also time the language method the config does not use (plain langdetect: ~9 ms an article)")
    args = parser.parse_args()
    corpus = args.corpus or Path(f"/tmp/newsflow-stages-{args.n}-{args.formats.replace(',', '-')}/raw")
    if not corpus.is_dir():
        subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), str(corpus), "--n", str(args.n),
                        "--formats", args.formats], check=True)
    config = PipelineConfig()
    files = sorted(p for p in corpus.rglob("*") if p.is_file())

    timings: dict[str, float] = {}
    texts = []
    html_seconds, html_pages = 0.0, 0
    started = time.process_time()
    for path in files:
        began = time.process_time()
        for article in parse_file(path.read_bytes(), str(path.relative_to(corpus)), "h", config).articles:
            texts.append("\n\n".join(article["paragraphs"]))
        if path.suffix in (".html", ".htm"):  # trafilatura's share, reported apart
            html_seconds += time.process_time() - began
            html_pages += 1
    timings["parse"] = time.process_time() - started

    kb = load_knowledge_base()  # built once per process; timed apart
    steps = {
        "language (langdetect, seeded)": lambda: [detect_language(t, config.normalise) for t in texts],
        "language (profiles, vectorised)": lambda: detect_languages(texts, config.normalise),
        "minhash signatures": lambda: signature_table([content_hash(t) for t in texts], texts, config.dedup),
        "passage segments": lambda: [article_segments("a", t, config.dedup.passage_min_words) for t in texts],
        "entity tagging": lambda: [match(t, kb, config.entities) for t in texts],
    }
    unused = ("language (langdetect, seeded)" if config.normalise.language_method == "profiles"
              else "language (profiles, vectorised)")
    if not args.both_language_methods:
        del steps[unused]
    for name, step in steps.items():
        started = time.process_time()
        step()
        timings[name] = time.process_time() - started
    started = time.perf_counter()
    load_knowledge_base.cache_clear()
    load_knowledge_base()
    kb_seconds = time.perf_counter() - started

    # The pipeline runs one language method; the table's total counts the one configured.
    total = sum(v for k, v in timings.items() if k != unused)
    print(f"{len(texts):,} articles from {len(files):,} files in {corpus}; CPU seconds of one process\n")
    print(f"{'step':32} {'seconds':>8} {'articles/s':>11} {'share':>6}")
    for name, seconds in timings.items():
        share = "  (not used)" if name == unused else f"{seconds / total:6.1%}"
        print(f"{name:32} {seconds:8.2f} {len(texts) / seconds:11,.0f} {share}")
    print(f"{'all steps':32} {total:8.2f} {len(texts) / total:11,.0f}")
    if html_pages:
        print(f"\nof parse, {html_pages:,} HTML pages: {html_seconds:.2f} s "
              f"({1e3 * html_seconds / html_pages:.1f} ms a page, {html_seconds / timings['parse']:.0%} of parse, "
              f"{html_seconds / total:.0%} of all steps)")
    print(f"\nknowledge base build (once per worker process): {kb_seconds:.2f} s")


if __name__ == "__main__":
    main()
