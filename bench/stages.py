#!/usr/bin/env python3
"""Per-article cost of each CPU-bound step of the pipeline, on one core, in one run.

Example:
    python bench/stages.py --n 10000 [--corpus DIR]

Generates (or reuses) a seed-like corpus with bench/make_corpus.py, parses every file as the
pipeline does, then times each step over the same articles: parse (decode, extract, rules,
metadata), language detection, MinHash, passage segments and entity tagging. Prints articles/s per
step and each step's share, so the slowest stage is plain to see.
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
    args = parser.parse_args()
    corpus = args.corpus or Path(f"/tmp/newsflow-stages-{args.n}/raw")
    if not corpus.is_dir():
        subprocess.run([sys.executable, str(REPO / "bench" / "make_corpus.py"), str(corpus), "--n", str(args.n)], check=True)
    config = PipelineConfig()
    files = sorted(p for p in corpus.rglob("*") if p.is_file())

    timings: dict[str, float] = {}
    started = time.perf_counter()
    texts = []
    for path in files:
        for article in parse_file(path.read_bytes(), str(path.relative_to(corpus)), "h", config).articles:
            texts.append("\n\n".join(article["paragraphs"]))
    timings["parse"] = time.perf_counter() - started

    kb = load_knowledge_base()  # built once per process; timed apart
    steps = {
        "language (langdetect, seeded)": lambda: [detect_language(t, config.normalise) for t in texts],
        "language (profiles, vectorised)": lambda: detect_languages(texts, config.normalise),
        "minhash signatures": lambda: signature_table([content_hash(t) for t in texts], texts, config.dedup),
        "passage segments": lambda: [article_segments("a", t, config.dedup.passage_min_words) for t in texts],
        "entity tagging": lambda: [match(t, kb, config.entities) for t in texts],
    }
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        timings[name] = time.perf_counter() - started
    started = time.perf_counter()
    load_knowledge_base.cache_clear()
    load_knowledge_base()
    kb_seconds = time.perf_counter() - started

    # The pipeline runs one language method; the table's total counts the one configured.
    skipped = "language (langdetect, seeded)" if config.normalise.language_method == "profiles" else "language (profiles, vectorised)"
    total = sum(v for k, v in timings.items() if k != skipped)
    print(f"{len(texts):,} articles from {len(files):,} files in {corpus}; one core\n")
    print(f"{'step':32} {'seconds':>8} {'articles/s':>11} {'share':>6}")
    for name, seconds in timings.items():
        share = "  (not used)" if name == skipped else f"{seconds / total:6.1%}"
        print(f"{name:32} {seconds:8.2f} {len(texts) / seconds:11,.0f} {share}")
    print(f"{'all steps':32} {total:8.2f} {len(texts) / total:11,.0f}")
    print(f"\nknowledge base build (once per worker process): {kb_seconds:.2f} s")


if __name__ == "__main__":
    main()
