#!/usr/bin/env python3
"""Corpus-scale near-duplicate benchmark (issue #3): tasks/dedup.py against exhaustive rapidfuzz and datatrove.

Example:
    .venv/bin/python bench/dedup.py --n 100000 --workdir /tmp/newsflow-dedup-bench

Steps, all in WORKDIR (default /tmp/newsflow-dedup-bench); it prints figures and asserts nothing:
    1. corpus: bench/make_corpus.py WORKDIR/corpus-n<N>-seed<S> --n N --seed S, reused when its
       manifest says it was made with the same parameters; the planted truth is beside it.
    2. documents: every article as (doc_id, text), doc_id the path relative to the corpus (or
       "path#line" for a JSONL record); .txt as is, .jsonl the record's "text", .html through
       tasks.html.extract_html. Cached as one JSONL file, in a seeded shuffled order (so the
       "last 1%" of step 6 is a random 1%), and read by every system below.
    3. ours: tasks/dedup.py (exact groups by sha256 of the text, then signatures, LSH candidates
       and rapidfuzz confirmation, connected components) in a subprocess, timed by step, peak RSS.
    4. exhaustive rapidfuzz cdist on a sample enriched with planted pairs, against our pairs.
    5. datatrove's 4-stage MinHash pipeline (own venv bench/.venv-datatrove, created if missing)
       in a subprocess on the same cached JSONL, timed by stage, peak RSS.
    6. incremental: ours on the first 99% as a full run, the index persisted, then the last 1%
       added against the loaded index; the +1% time as a share of the full run.
Scores: pair-level precision and recall against the planted truth (definitions printed).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# Only the standard library at module level: this file also runs under the datatrove venv's python.
REPO_ROOT = Path(__file__).resolve().parents[1]
MAKE_CORPUS = REPO_ROOT / "bench" / "make_corpus.py"
DATATROVE_VENV = REPO_ROOT / "bench" / ".venv-datatrove"
# datatrove's MinHash steps need spaCy (English word tokenizer: spacy.blank("en"), no model
# download), xxhash (its default shingle hash) and regex; its JSONL writer needs orjson, and
# datatrove.pipeline.dedup's __init__ imports `tokenizers` (for the exact-substring steps).
DATATROVE_PACKAGES = ["datatrove==0.10.1", "spacy", "xxhash<4", "regex", "orjson", "tokenizers"]
CACHE_FORMAT = 1  # bump when the cached documents' content or order rules change


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sha(text: str) -> str:
    """The content id of a text: the first 32 hex digits of its sha256."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# --------------------------------------------------------------------------- subprocesses


class TreeRss(threading.Thread):
    """Polls the summed resident memory of a process and all its descendants (ru_maxrss is per process)."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._stop = threading.Event()
        self._page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def _tree_kb(self) -> int:
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as f:
                        ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                    children[ppid].append(int(entry))
                except (OSError, ValueError, IndexError):
                    pass
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, ()))
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * self._page_kb
            except (OSError, ValueError, IndexError):
                pass
        return total

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, self._tree_kb())

    def stop(self) -> None:
        self._stop.set()


@dataclass
class ChildResult:
    """Exit code, wall seconds, peak RSS (largest single process, and summed over the tree) of a subprocess."""

    returncode: int
    wall_seconds: float
    max_rss_mb: float
    tree_rss_mb: float
    log: Path


def run_child(cmd: list[str], log_path: Path, env: dict | None = None) -> ChildResult:
    """Run cmd with its output to log_path; wall time, and peak RSS from os.wait4 and a /proc sampler."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        out.write(("$ " + " ".join(map(str, cmd)) + "\n").encode())
        out.flush()
        began = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        sampler = TreeRss(child.pid)
        sampler.start()
        # wait4's ru_maxrss: the child's own peak, or the largest of the descendants it waited for
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        sampler.stop()
    code = os.waitstatus_to_exitcode(status)
    return ChildResult(code, wall, usage.ru_maxrss / 1024, max(sampler.peak_kb, usage.ru_maxrss) / 1024, log_path)


def check(result: ChildResult, what: str) -> None:
    """Stop with the log's tail if a subprocess failed."""
    if result.returncode != 0:
        lines = result.log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise RuntimeError(f"{what} failed with exit code {result.returncode}; last lines of {result.log}:\n"
                           + "\n".join(lines))


# --------------------------------------------------------------------------- corpus and documents


def ensure_corpus(workdir: Path, n: int, seed: int) -> tuple[Path, Path, bool]:
    """The corpus directory and truth file for (n, seed), generated unless already there."""
    corpus = workdir / f"corpus-n{n}-seed{seed}"
    manifest = corpus.parent / f"{corpus.name}-manifest.json"
    truth = corpus.parent / f"{corpus.name}-truth.jsonl"
    if manifest.exists() and truth.exists() and corpus.is_dir():
        m = json.loads(manifest.read_text())
        if m.get("seed") == seed and [(r["start"], r["end"]) for r in m.get("runs", [])] == [(0, n)]:
            return corpus, truth, True
    shutil.rmtree(corpus, ignore_errors=True)
    manifest.unlink(missing_ok=True)
    result = run_child([sys.executable, str(MAKE_CORPUS), str(corpus), "--n", str(n), "--seed", str(seed)],
                       workdir / "logs" / "make_corpus.log")
    check(result, "make_corpus.py")
    for line in result.log.read_text(encoding="utf-8").splitlines()[1:]:
        log("  " + line)
    return corpus, truth, False


def load_corpus_docs(corpus: Path) -> tuple[list[tuple[str, str]], Counter, list[str]]:
    """(doc_id, text) of every article in sorted path order, counts by format, and docs without text."""
    sys.path.insert(0, str(REPO_ROOT))
    from tasks.html import extract_html

    docs, formats, empty = [], Counter(), []
    paths = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file())
    for rel in paths:
        full = corpus / rel
        if rel.endswith(".jsonl"):
            with open(full, encoding="utf-8") as f:
                for line_no, line in enumerate(f, 1):
                    text = json.loads(line).get("text")
                    formats["jsonl"] += 1
                    (docs.append((f"{rel}#{line_no}", text)) if text else empty.append(f"{rel}#{line_no}"))
        elif rel.endswith(".html"):
            text = extract_html(full.read_text(encoding="utf-8")).text
            formats["html"] += 1
            docs.append((rel, text)) if text else empty.append(rel)
        elif rel.endswith(".txt"):
            text = full.read_text(encoding="utf-8")
            formats["txt"] += 1
            docs.append((rel, text)) if text else empty.append(rel)
    return docs, formats, empty


def ensure_docs(workdir: Path, corpus: Path, n: int, seed: int) -> tuple[Path, dict]:
    """The cached documents (one JSONL file, shuffled with seed), built unless the cache matches."""
    cache = workdir / f"docs-n{n}-seed{seed}.jsonl"
    meta_path = cache.with_suffix(".meta.json")
    manifest = json.loads((corpus.parent / f"{corpus.name}-manifest.json").read_text())
    if cache.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("manifest") == manifest and meta.get("format") == CACHE_FORMAT:
            meta["reused"] = True
            return cache, meta
    began = time.perf_counter()
    docs, formats, empty = load_corpus_docs(corpus)
    random.Random(seed).shuffle(docs)
    tmp = cache.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for doc_id, text in docs:
            f.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    tmp.replace(cache)
    meta = {"format": CACHE_FORMAT, "manifest": manifest, "docs": len(docs), "by_format": dict(formats),
            "without_text": empty, "load_seconds": time.perf_counter() - began}
    meta_path.write_text(json.dumps(meta, indent=1))
    meta["reused"] = False
    return cache, meta


def read_docs(cache: Path) -> tuple[list[str], list[str]]:
    """Doc ids and texts of the cached JSONL, in file order."""
    ids, texts = [], []
    with open(cache, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            ids.append(record["id"])
            texts.append(record["text"])
    return ids, texts


# --------------------------------------------------------------------------- truth and scoring


class UnionFind:
    """Disjoint sets over hashable items."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list]:
        out: dict = defaultdict(list)
        for x in self.parent:
            out[self.find(x)].append(x)
        return [g for g in out.values() if len(g) > 1]


def edit_type(record: dict) -> str:
    """The near-duplicate edit category of a truth line ('verbatim' for exact ones)."""
    edit = record.get("edit", "")
    if record["kind"] == "exact":
        return "verbatim"
    for pattern, name in (("^word ", "word"), ("^dropped paragraph", "drop_paragraph"), ("re-wrapped", "rewrap"),
                          ("quotes made", "quotes"), ("^header/footer", "boilerplate")):
        if re.search(pattern, edit):
            return name
    return "other"


@dataclass
class Truth:
    """Planted duplicate pairs and the truth components (transitive closure of the planted pairs)."""

    pairs: list[tuple[str, str, str, str]]  # (doc, duplicate_of, kind, edit type)
    component: dict[str, str]  # doc -> smallest doc of its truth component (planted docs only)
    missing: int  # truth lines whose doc or original is not among the loaded docs


def load_truth(path: Path, doc_ids: set[str]) -> Truth:
    """Planted pairs whose both sides were loaded, and their components."""
    pairs, missing = [], 0
    sets = UnionFind()
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["path"] not in doc_ids or r["duplicate_of"] not in doc_ids:
                missing += 1
                continue
            pairs.append((r["path"], r["duplicate_of"], r["kind"], edit_type(r)))
            sets.union(r["path"], r["duplicate_of"])
    component = {x: sets.find(x) for x in sets.parent}
    return Truth(pairs, component, missing)


def pairs_of(n: int) -> int:
    return n * (n - 1) // 2


@dataclass
class Score:
    """Pair-level precision and recall of one system's clusters against the planted truth."""

    predicted_pairs: dict[str, int] = field(default_factory=dict)  # 'exact' | 'near' | 'all'
    correct_pairs: dict[str, int] = field(default_factory=dict)
    recall_found: Counter = field(default_factory=Counter)  # keys: kind, 'edit:<type>', 'all'
    recall_total: Counter = field(default_factory=Counter)
    false_positive_pairs: list[tuple[str, str]] = field(default_factory=list)  # sample, for inspection
    missed: list[tuple[str, str, str, str]] = field(default_factory=list)
    clusters: int = 0
    docs_in_clusters: int = 0

    def precision(self, kind: str) -> float | None:
        total = self.predicted_pairs.get(kind, 0)
        return self.correct_pairs.get(kind, 0) / total if total else None

    def recall(self, key: str) -> float | None:
        total = self.recall_total.get(key, 0)
        return self.recall_found.get(key, 0) / total if total else None


SCORE_DEFINITIONS = """\
Scoring definitions (pairs of documents; a document is a file, or one JSONL record):
  predicted pairs = every pair of documents in the same predicted cluster (transitive closure of the
                    system's matches); 'exact' = the two texts are identical, 'near' = they differ.
  precision       = predicted pairs whose two documents are in the same truth component (a planted
                    pair, or implied by transitivity of planted pairs, e.g. two copies of one original)
                    / predicted pairs. Unplanted but genuinely similar articles count as false positives.
  recall          = planted pairs (truth lines: duplicate -> original) whose two documents end up in the
                    same predicted cluster / planted pairs; by planted kind and by near-edit type."""


def score_clusters(clusters: list[list[str]], truth: Truth, hash_of: dict[str, str],
                   restrict: set[str] | None = None, fp_sample: int = 20000, seed: int = 0) -> Score:
    """Score predicted clusters (lists of doc ids); restrict limits both sides to a set of docs."""
    s = Score()
    cluster_of: dict[str, int] = {}
    predicted = Counter()
    correct = Counter()
    fp_candidates: list[tuple[str, str]] = []
    fp_total = 0
    for ci, members in enumerate(clusters):
        if restrict is not None:
            members = [d for d in members if d in restrict]
        if len(members) < 2:
            continue
        s.clusters += 1
        s.docs_in_clusters += len(members)
        for d in members:
            cluster_of[d] = ci
        by_hash = Counter(hash_of[d] for d in members)
        by_truth = Counter(truth.component.get(d, d) for d in members)
        by_both = Counter((truth.component.get(d, d), hash_of[d]) for d in members)
        all_pairs, exact_pairs = pairs_of(len(members)), sum(pairs_of(c) for c in by_hash.values())
        good_all = sum(pairs_of(c) for c in by_truth.values())
        good_exact = sum(pairs_of(c) for c in by_both.values())
        predicted["all"] += all_pairs
        predicted["exact"] += exact_pairs
        predicted["near"] += all_pairs - exact_pairs
        correct["all"] += good_all
        correct["exact"] += good_exact
        correct["near"] += good_all - good_exact
        wrong = all_pairs - good_all
        if wrong:
            fp_total += wrong
            if len(members) <= 200:  # enumerate the false pairs of ordinary clusters
                for i in range(len(members)):
                    for j in range(i + 1, len(members)):
                        a, b = members[i], members[j]
                        if truth.component.get(a, a) != truth.component.get(b, b):
                            fp_candidates.append((a, b))
            else:  # a giant cluster: a random sample of its false pairs
                rng = random.Random(seed + ci)
                for _ in range(min(wrong, 2000)):
                    a, b = rng.sample(members, 2)
                    if truth.component.get(a, a) != truth.component.get(b, b):
                        fp_candidates.append((a, b))
    s.predicted_pairs, s.correct_pairs = dict(predicted), dict(correct)
    if len(fp_candidates) > fp_sample:
        fp_candidates = random.Random(seed).sample(fp_candidates, fp_sample)
    s.false_positive_pairs = fp_candidates
    for doc, original, kind, edit in truth.pairs:
        if restrict is not None and (doc not in restrict or original not in restrict):
            continue
        found = doc in cluster_of and cluster_of.get(doc) == cluster_of.get(original)
        for key in ("all", kind, f"edit:{edit}"):
            s.recall_total[key] += 1
            s.recall_found[key] += found
        if not found:
            s.missed.append((doc, original, kind, edit))
    return s


def fmt(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def print_score(name: str, s: Score) -> None:
    """Precision by predicted kind, recall by planted kind and edit type."""
    print(f"\n{name}: {s.clusters:,} predicted clusters holding {s.docs_in_clusters:,} docs")
    print(f"  {'':24s}{'predicted pairs':>16s}{'correct':>10s}{'precision':>11s}")
    for kind in ("exact", "near", "all"):
        print(f"  {kind:24s}{s.predicted_pairs.get(kind, 0):16,d}{s.correct_pairs.get(kind, 0):10,d}"
              f"{fmt(s.precision(kind)):>11s}")
    print(f"  {'planted kind / edit':24s}{'planted pairs':>16s}{'found':>10s}{'recall':>11s}")
    keys = ["exact", "near"] + sorted(k for k in s.recall_total if k.startswith("edit:")) + ["all"]
    for key in keys:
        print(f"  {key:24s}{s.recall_total.get(key, 0):16,d}{s.recall_found.get(key, 0):10,d}"
              f"{fmt(s.recall(key)):>11s}")


def first_difference(a: str, b: str, width: int = 70) -> str:
    """A short description of where two texts differ, on words."""
    import difflib

    wa, wb = a.split(), b.split()
    ops = [op for op in difflib.SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not ops:
        return "same words (whitespace/punctuation only)"
    parts = []
    for tag, i1, i2, j1, j2 in ops[:2]:
        left, right = " ".join(wa[i1:i2])[:width], " ".join(wb[j1:j2])[:width]
        parts.append(f"{tag} «{left}» -> «{right}»")
    more = f" (+{len(ops) - 2} more diff blocks)" if len(ops) > 2 else ""
    return "; ".join(parts) + more + f"; {len(wa)} vs {len(wb)} words"


def print_false_positives(name: str, s: Score, text_of: dict[str, str], edge_info: dict | None = None,
                          top: int = 10) -> None:
    """Similarity spread of false-positive pairs and the top ones, with a short diff for a human to judge."""
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    pairs = s.false_positive_pairs
    wrong = s.predicted_pairs.get("all", 0) - s.correct_pairs.get("all", 0)
    if not pairs:
        print(f"\n{name}: no false-positive pairs")
        return
    sims = cpdist([text_of[a] for a, _ in pairs], [text_of[b] for _, b in pairs], scorer=fuzz.ratio, workers=-1) / 100
    order = sorted(range(len(pairs)), key=lambda i: -sims[i])
    high = sum(1 for x in sims if x >= 0.85)
    print(f"\n{name}: {wrong:,} false-positive pairs; of {len(pairs):,} examined, {high:,} have rapidfuzz ratio >= 0.85 "
          f"(look like real duplicates the generator did not plant), {len(pairs) - high:,} below (joined by transitivity "
          "or by a lower bar)")
    print(f"  top {top} by ratio:")
    for i in order[:top]:
        a, b = pairs[i]
        extra = ""
        if edge_info is not None:
            info = edge_info.get(tuple(sorted((a, b))))
            extra = f" direct edge, est. Jaccard {info:.2f}" if info is not None else " (no direct edge: transitive)"
        print(f"  ratio {sims[i]:.3f}{extra}\n    {a}\n    {b}\n    {first_difference(text_of[a], text_of[b])}")


def print_missed(s: Score, text_of: dict[str, str], config, top: int = 10) -> None:
    """Why planted pairs were missed: rapidfuzz ratio, MinHash estimate on the texts as loaded and after the
    pipeline's own line cleaning (tasks.text.clean_line folds NBSP and other exotic spaces)."""
    from rapidfuzz import fuzz

    from tasks.dedup import hasher
    from tasks.minhash import estimated_jaccard
    from tasks.text import clean_line

    if not s.missed:
        return
    minhash = hasher(config)
    causes = Counter()
    lines = []
    for doc, orig, kind, edit in s.missed:
        a, b = text_of[doc], text_of[orig]
        ca, cb = ("\n".join(clean_line(x) for x in t.split("\n")) for t in (a, b))
        sigs = minhash.signatures([a, b, ca, cb])
        raw, clean = float(estimated_jaccard(sigs[0:1], sigs[1:2])[0]), float(estimated_jaccard(sigs[2:3], sigs[3:4])[0])
        keys = minhash.band_keys(sigs)
        bands = int((keys[0] == keys[1]).sum())
        exotic = sum(a.count(c) + b.count(c) for c in "\u00a0\u202f\u2009")
        ratio = fuzz.ratio(a, b) / 100
        causes["ratio < near_min_similarity" if ratio < config.near_min_similarity else
               "no shared band" if bands == 0 else
               "estimated Jaccard < candidate_min_jaccard" if raw < config.candidate_min_jaccard else "other"] += 1
        lines.append(f"    {kind}/{edit}: ratio {ratio:.3f}, est. Jaccard {raw:.2f} as loaded / {clean:.2f} after "
                     f"clean_line, shared bands {bands}, NBSP-like chars {exotic}\n      {doc} -> {orig}")
    print(f"  missed planted pairs: {len(s.missed)}; causes {dict(causes)}; first {min(top, len(lines))}:")
    print("\n".join(lines[:top]))


# --------------------------------------------------------------------------- ours (subprocess)


def ours_dedup(ids: list[str], texts: list[str], config, timings: dict) -> tuple[list, list, int, int, object]:
    """Exact groups, signatures, candidates, confirmation, clusters; timings filled in by step."""
    from tasks import dedup
    from tasks.schemas import MINHASH_INDEX

    t = time.perf_counter()
    hashes = [sha(x) for x in texts]
    distinct = dict(zip(hashes, texts))  # content_hash -> text, first occurrence order
    content_hashes, content_texts = list(distinct), list(distinct.values())
    timings["exact_grouping"] = time.perf_counter() - t

    t = time.perf_counter()
    new = dedup.signature_table(content_hashes, content_texts, config)
    timings["signatures"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = dedup.candidate_pairs(new, MINHASH_INDEX.empty_table(), config)
    timings["candidates"] = time.perf_counter() - t
    t = time.perf_counter()
    edges = dedup.confirm_pairs(pairs, distinct, config)
    timings["confirmation"] = time.perf_counter() - t

    t = time.perf_counter()
    sets = UnionFind()
    edge_rows = list(zip(*(edges.column(c).to_pylist() for c in ("content_a", "content_b", "jaccard", "similarity"))))
    for a, b, _, _ in edge_rows:
        sets.union(a, b)
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id, h in zip(ids, hashes):
        members[sets.find(h) if h in sets.parent else h].append(doc_id)
    clusters = [m for m in members.values() if len(m) > 1]
    timings["clustering"] = time.perf_counter() - t
    return clusters, edge_rows, pairs.num_rows, len(content_hashes), new


def child_ours(args: argparse.Namespace) -> int:
    """Subprocess: run ours on the cached docs and write the result as JSON."""
    sys.path.insert(0, str(REPO_ROOT))
    from tasks.config import DedupConfig

    from tasks import dedup, minhash

    # other people edit tasks/ while benchmarks run: record which versions this process imported
    sources = {Path(m.__file__).relative_to(REPO_ROOT).as_posix():
               hashlib.sha256(Path(m.__file__).read_bytes()).hexdigest()[:12] for m in (dedup, minhash)}
    config = DedupConfig(**json.loads(args.dedup_config or "{}"))
    began = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ids, texts = read_docs(Path(args.docs))
    timings["load_docs"] = time.perf_counter() - t
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    if args.mode == "full":
        clusters, edges, candidates, distinct, signatures = ours_dedup(ids, texts, config, timings)
        result = {"clusters": clusters, "edges": edges, "candidates": candidates, "distinct_texts": distinct}
        result.update(band_collisions(signatures, config))
    else:
        result = ours_incremental(ids, texts, config, timings, Path(args.out).parent, args.fraction)
    if args.profile:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        print("\n== profile: cumulative ==")
        stats.sort_stats("cumulative").print_stats(25)
        print("\n== profile: own time ==")
        stats.sort_stats("tottime").print_stats(15)
    timings["process"] = time.perf_counter() - began
    result.update({"timings": timings, "docs": len(ids), "config": config.model_dump(), "sources": sources})
    Path(args.out).write_text(json.dumps(result))
    print(json.dumps(timings, indent=1))
    return 0


def band_collisions(signatures, config) -> dict:
    """Untimed, after the run: how many (text, text) band collisions candidate_pairs gathers two signatures
    for before its Jaccard filter (one row per shared band: a pair sharing k bands is gathered k times)."""
    import numpy as np

    from tasks import dedup

    keys = dedup.hasher(config).band_keys(dedup.signatures_of(signatures, config.num_perm))
    _, counts = np.unique(keys.reshape(-1), return_counts=True)
    counts = counts[counts > 1].astype(np.int64)
    return {"band_collision_rows": int((counts * (counts - 1) // 2).sum()), "largest_band_bucket": int(counts.max(initial=0))}


def ours_incremental(ids: list[str], texts: list[str], config, timings: dict, workdir: Path,
                     fraction: float) -> dict:
    """Full run on the first (1 - fraction) of the docs, index persisted, then the rest added against it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tasks import dedup

    split = len(ids) - max(1, round(len(ids) * fraction))
    old = dict(zip((sha(x) for x in texts[:split]), texts[:split]))
    t = time.perf_counter()
    old_edges, index = dedup.near_duplicate_edges(list(old), list(old.values()), config)
    timings["full_run"] = time.perf_counter() - t  # signatures + candidates + confirmation (no exact hashing)

    index_path, texts_path = workdir / "incremental-index.parquet", workdir / "incremental-texts.parquet"
    t = time.perf_counter()
    pq.write_table(index, index_path)
    pq.write_table(pa.table({"content_hash": list(old), "text": list(old.values())}), texts_path)
    timings["persist_index_and_texts"] = time.perf_counter() - t
    del index, old

    t = time.perf_counter()
    index = pq.read_table(index_path)
    timings["load_index"] = time.perf_counter() - t
    t = time.perf_counter()
    table = pq.read_table(texts_path)
    index_texts = dict(zip(table.column("content_hash").to_pylist(), table.column("text").to_pylist()))
    del table
    timings["load_index_texts"] = time.perf_counter() - t

    t = time.perf_counter()
    new = {}
    for x in texts[split:]:
        h = sha(x)
        if h not in index_texts:  # a text already indexed is an exact duplicate: no MinHash needed
            new.setdefault(h, x)
    timings["add_exact_grouping"] = time.perf_counter() - t
    t = time.perf_counter()
    new_edges, grown = dedup.near_duplicate_edges(list(new), list(new.values()), config, index=index,
                                                  index_texts=index_texts)
    timings["add_run"] = time.perf_counter() - t

    # how many old texts confirmation actually needed (what a lazy text load would have to read)
    candidates = dedup.candidate_pairs(dedup.signature_table(list(new), list(new.values()), config), index, config)
    needed = {h for c in ("content_a", "content_b") for h in candidates.column(c).to_pylist()} & index_texts.keys()

    def rows(edges):
        return list(zip(*(edges.column(c).to_pylist() for c in ("content_a", "content_b", "jaccard", "similarity"))))

    return {"split": split, "old_distinct": len(index_texts), "new_docs": len(ids) - split, "new_distinct": len(new),
            "old_edges": rows(old_edges), "new_edges": rows(new_edges), "index_rows": grown.num_rows,
            "add_candidates": candidates.num_rows, "old_texts_needed": len(needed)}


# --------------------------------------------------------------------------- datatrove (subprocess, its venv)


def ensure_datatrove_venv() -> Path:
    """The datatrove venv's python, creating the venv and installing from PyPI if missing."""
    python = DATATROVE_VENV / "bin" / "python"
    probe = "import datatrove, spacy, xxhash, regex, orjson, tokenizers"
    if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0:
        return python
    log(f"creating {DATATROVE_VENV} and installing {' '.join(DATATROVE_PACKAGES)}")
    subprocess.run(["python3", "-m", "venv", str(DATATROVE_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *DATATROVE_PACKAGES], check=True)
    return python


def child_datatrove(args: argparse.Namespace) -> int:
    """Subprocess under the datatrove venv: the standard 4-stage MinHash pipeline on the cached JSONL."""
    import importlib.metadata
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.base import PipelineStep
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    class ShardedJsonlReader(PipelineStep):
        """Reads one JSONL file, record i going to task i % tasks (datatrove's readers shard by file)."""

        type = "📖 - READER"
        name = "sharded jsonl"

        def __init__(self, path: str):
            super().__init__()
            self.path = path

        def run(self, data=None, rank: int = 0, world_size: int = 1):
            with open(self.path, encoding="utf-8") as f:
                for i, line in enumerate(f):
                    if i % world_size == rank:
                        record = json.loads(line)
                        self.stat_update("documents")
                        yield Document(text=record["text"], id=record["id"])

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    config = MinhashConfig()
    tasks, workers = args.workers, args.workers
    timings: dict[str, float] = {}
    stages = [
        ("signatures", [ShardedJsonlReader(args.docs), MinhashDedupSignature(output_folder=str(out / "signatures"),
                                                                             config=config)], tasks, workers),
        ("buckets", [MinhashDedupBuckets(input_folder=str(out / "signatures"), output_folder=str(out / "buckets"),
                                         config=config)], config.num_buckets, workers),
        ("cluster", [MinhashDedupCluster(input_folder=str(out / "buckets"), output_folder=str(out / "remove_ids"),
                                         config=config, save_cluster_id=True)], 1, 1),
        ("filter", [ShardedJsonlReader(args.docs),
                    MinhashDedupFilter(input_folder=str(out / "remove_ids"), load_cluster_ids=True,
                                       exclusion_writer=JsonlWriter(str(out / "removed"))),
                    JsonlWriter(str(out / "deduplicated"))], tasks, workers),
    ]
    began = time.perf_counter()
    for name, pipeline, n_tasks, n_workers in stages:
        t = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks, workers=n_workers,
                              logging_dir=str(out / "logs" / name)).run()
        timings[name] = time.perf_counter() - t
        print(f"stage {name}: {timings[name]:.1f} s", flush=True)
    timings["total"] = time.perf_counter() - began
    (out / "result.json").write_text(json.dumps({
        "timings": timings, "version": importlib.metadata.version("datatrove"), "config": str(config),
        "config_fields": {"n_grams": config.n_grams, "num_buckets": config.num_buckets,
                          "hashes_per_bucket": config.hashes_per_bucket, "seed": config.seed,
                          "hash": str(config.hash_config), "norm": str(config.norm_config)},
        "tasks": tasks, "workers": workers}))
    return 0


def read_datatrove_clusters(out: Path) -> tuple[list[list[str]], int, int]:
    """Clusters (by minhash_cluster_id) from datatrove's kept and removed outputs; kept and removed counts."""
    by_cluster: dict[int, list[str]] = defaultdict(list)
    counts = Counter()
    for sub in ("deduplicated", "removed"):
        for path in sorted((out / sub).glob("*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    counts[sub] += 1
                    cid = record.get("metadata", {}).get("minhash_cluster_id", -1)
                    if cid != -1:
                        by_cluster[cid].append(record["id"])
    return [m for m in by_cluster.values() if len(m) > 1], counts["deduplicated"], counts["removed"]


# --------------------------------------------------------------------------- exhaustive comparison


def exhaustive_comparison(ids: list[str], text_of: dict[str, str], hash_of: dict[str, str], truth: Truth,
                          ours_edges: set[tuple[str, str]], ours_clusters: list[list[str]], config,
                          sample_size: int, planted: int, seed: int) -> dict:
    """rapidfuzz cdist over an enriched sample; its pairs against ours (direct matches and clusters)."""
    import numpy as np
    from rapidfuzz import fuzz
    from rapidfuzz.process import cdist

    sys.path.insert(0, str(REPO_ROOT))
    from tasks.dedup import hasher
    from tasks.minhash import estimated_jaccard

    rng = random.Random(seed)
    chosen_pairs = rng.sample(truth.pairs, min(planted, len(truth.pairs)))
    sample = list(dict.fromkeys(d for p in chosen_pairs for d in p[:2]))
    chosen = set(sample)
    others = [d for d in ids if d not in chosen]
    sample += rng.sample(others, max(0, min(len(others), sample_size - len(sample))))
    texts = [text_of[d] for d in sample]
    cutoff = config.near_min_similarity * 100

    t = time.perf_counter()
    matrix = cdist(texts, texts, scorer=fuzz.ratio, workers=-1, score_cutoff=cutoff)
    seconds = time.perf_counter() - t
    i, j = np.nonzero(np.triu(matrix >= cutoff, k=1))
    exhaustive = {tuple(sorted((sample[a], sample[b]))): float(matrix[a, b]) / 100 for a, b in zip(i, j)}

    in_sample = set(sample)
    # ours, direct: identical texts or a confirmed edge between the two texts
    ours_direct = set()
    by_hash: dict[str, list[str]] = defaultdict(list)
    for d in sample:
        by_hash[hash_of[d]].append(d)
    for group in by_hash.values():
        ours_direct |= {tuple(sorted((a, b))) for k, a in enumerate(group) for b in group[k + 1:]}
    for ha, hb in ours_edges:
        for a in by_hash.get(ha, ()):
            for b in by_hash.get(hb, ()):
                ours_direct.add(tuple(sorted((a, b))))
    ours_cluster = set()
    for members in ours_clusters:
        m = [d for d in members if d in in_sample]
        ours_cluster |= {tuple(sorted((a, b))) for k, a in enumerate(m) for b in m[k + 1:]}

    # why ours missed exhaustive pairs: MinHash estimate and shared LSH bands
    minhash = hasher(config)
    missed = sorted(set(exhaustive) - ours_direct)
    diagnosis = Counter()
    details = []
    if missed:
        uniq = sorted({d for p in missed for d in p})
        pos = {d: k for k, d in enumerate(uniq)}
        sigs = minhash.signatures([text_of[d] for d in uniq])
        keys = minhash.band_keys(sigs)
        left = np.array([pos[a] for a, _ in missed])
        right = np.array([pos[b] for _, b in missed])
        jac = estimated_jaccard(sigs[left], sigs[right])
        shared = (keys[left] == keys[right]).sum(axis=1)
        for (a, b), jj, sb in zip(missed, jac, shared):
            reason = ("no shared LSH band" if sb == 0 else
                      f"estimated Jaccard < {config.candidate_min_jaccard}" if jj < config.candidate_min_jaccard
                      else "candidate but not confirmed?")
            diagnosis[reason] += 1
            details.append((exhaustive[(a, b)], float(jj), int(sb), a, b))
        details.sort(reverse=True)
    sample_clusters = UnionFind()
    for a, b in exhaustive:
        sample_clusters.union(a, b)
    ex_score = score_clusters(sample_clusters.groups(), truth, hash_of, restrict=in_sample)
    ours_score = score_clusters(ours_clusters, truth, hash_of, restrict=in_sample)
    return {"docs": len(sample), "planted_pairs_chosen": len(chosen_pairs), "seconds": seconds,
            "comparisons": pairs_of(len(sample)), "exhaustive_pairs": len(exhaustive),
            "ours_direct_pairs": len(ours_direct), "ours_cluster_pairs": len(ours_cluster),
            "exhaustive_not_ours_direct": len(missed),
            "exhaustive_not_ours_cluster": len(set(exhaustive) - ours_cluster),
            "ours_direct_not_exhaustive": len(ours_direct - set(exhaustive)),
            "ours_cluster_not_exhaustive": len(ours_cluster - set(exhaustive)),
            "diagnosis": dict(diagnosis), "missed_details": details[:10],
            "ex_score": ex_score, "ours_score": ours_score}


# --------------------------------------------------------------------------- report


@dataclass
class Row:
    system: str
    docs: int
    seconds: float
    rss_mb: float | None
    tree_rss_mb: float | None
    score: Score | None
    note: str = ""


def print_table(rows: list[Row]) -> None:
    """The final table."""
    print("\n" + "=" * 132)
    print(f"{'system':34s}{'docs':>8s}{'seconds':>9s}{'docs/s':>9s}{'RSS MB':>8s}{'tree MB':>8s}"
          f"{'P exact':>9s}{'P near':>8s}{'P all':>8s}{'R exact':>9s}{'R near':>8s}{'R all':>8s}")
    for r in rows:
        s = r.score
        p = [fmt(s.precision(k), 3) if s else "-" for k in ("exact", "near", "all")]
        q = [fmt(s.recall(k), 3) if s else "-" for k in ("exact", "near", "all")]
        rss = f"{r.rss_mb:.0f}" if r.rss_mb is not None else "-"
        tree = f"{r.tree_rss_mb:.0f}" if r.tree_rss_mb is not None else "-"
        print(f"{r.system:34s}{r.docs:8,d}{r.seconds:9.1f}{r.docs / r.seconds if r.seconds else 0:9,.0f}{rss:>8s}"
              f"{tree:>8s}{p[0]:>9s}{p[1]:>8s}{p[2]:>8s}{q[0]:>9s}{q[1]:>8s}{q[2]:>8s}")
    print("=" * 132)
    print("seconds: ours = its dedup steps (exact grouping, signatures, candidates, confirmation, clustering), "
          "or the whole subprocess where it says so; datatrove = its subprocess wall (all 4 stages, reading and "
          "writing); exhaustive = the cdist call.")
    print("RSS MB = ru_maxrss of the largest single process (os.wait4); tree MB = peak summed RSS of the process "
          "tree, sampled from /proc every 0.25 s.")
    print("P exact / P near = precision over predicted pairs of identical / different texts; R exact / R near = "
          "recall over planted pairs of kind exact / near (definitions above).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0], epilog=__doc__.partition("\n\n")[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100000, help="articles in the corpus (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/newsflow-dedup-bench"))
    parser.add_argument("--sample-size", type=int, default=2000, help="docs in the exhaustive sample")
    parser.add_argument("--sample-planted", type=int, default=500, help="planted pairs put in the sample")
    parser.add_argument("--incremental-fraction", type=float, default=0.01)
    parser.add_argument("--datatrove-workers", type=int, default=2)
    parser.add_argument("--skip", action="append", default=[], choices=["exhaustive", "datatrove", "incremental"],
                        help="leave out one comparison (repeatable)")
    parser.add_argument("--profile", action="store_true", help="cProfile our full run (log in WORKDIR/logs)")
    parser.add_argument("--dedup-config", metavar="JSON",
                        help='DedupConfig overrides for ours, e.g. \'{"candidate_min_jaccard": 0.4}\' (default: none)')
    # internal: the subprocesses
    parser.add_argument("--child", choices=["ours", "datatrove"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["full", "incremental"], default="full", help=argparse.SUPPRESS)
    parser.add_argument("--docs", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--fraction", type=float, default=0.01, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "ours":
        return child_ours(args)
    if args.child == "datatrove":
        return child_datatrove(args)

    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    print(f"newsflow dedup benchmark: --n {args.n} --seed {args.seed}, workdir {workdir}, "
          f"{os.cpu_count()} cores, python {sys.version.split()[0]}")

    # 1-2. corpus and documents
    log("corpus")
    corpus, truth_path, reused = ensure_corpus(workdir, args.n, args.seed)
    cache, meta = ensure_docs(workdir, corpus, args.n, args.seed)
    how = "reused" if meta["reused"] else f"loaded in {meta['load_seconds']:.1f} s"
    print(f"corpus {corpus} ({'reused' if reused else 'generated'}); documents cached in {cache} ({how}): "
          f"{meta['docs']:,} docs {meta['by_format']}, {len(meta['without_text'])} without text")
    ids, texts = read_docs(cache)
    text_of = dict(zip(ids, texts))
    hash_of = {d: sha(x) for d, x in text_of.items()}
    truth = load_truth(truth_path, set(ids))
    kinds = Counter(p[2] for p in truth.pairs)
    unequal_exact = sum(1 for a, b, k, _ in truth.pairs if k == "exact" and hash_of[a] != hash_of[b])
    equal_near = sum(1 for a, b, k, _ in truth.pairs if k == "near" and hash_of[a] == hash_of[b])
    print(f"planted pairs: {len(truth.pairs):,} ({kinds['exact']:,} exact, {kinds['near']:,} near; "
          f"{truth.missing} truth lines skipped, a side without text); {unequal_exact} planted 'exact' pairs have "
          f"different loaded texts, {equal_near} planted 'near' pairs identical ones")
    print(f"distinct texts: {len(set(hash_of.values())):,}; truth components: {len(set(truth.component.values())):,} "
          f"holding {len(truth.component):,} docs")

    sys.path.insert(0, str(REPO_ROOT))
    from tasks.config import DedupConfig

    config = DedupConfig(**json.loads(args.dedup_config or "{}"))
    print(f"our config: {config.model_dump()}" + (f" (overridden by --dedup-config {args.dedup_config})"
                                                   if args.dedup_config else " (DedupConfig() defaults)"))
    rows: list[Row] = []

    # 3. ours
    log("ours: full run")
    ours_out = workdir / "ours-full.json"
    overrides = ["--dedup-config", args.dedup_config] if args.dedup_config else []
    cmd = [sys.executable, __file__, "--child", "ours", "--docs", str(cache), "--out", str(ours_out), *overrides]
    result = run_child(cmd + (["--profile"] if args.profile else []), workdir / "logs" / "ours-full.log")
    check(result, "ours (full)")
    ours = json.loads(ours_out.read_text())
    t = ours["timings"]
    compute = sum(t[k] for k in ("exact_grouping", "signatures", "candidates", "confirmation", "clustering"))
    collisions = ours["band_collision_rows"]
    print(f"\nours: {ours['distinct_texts']:,} distinct texts; {collisions:,} LSH band collisions (a pair counted "
          f"once per band it shares; largest bucket {ours['largest_band_bucket']:,} texts) scored before the Jaccard "
          f"filter (their two signatures would take {collisions * 2 * config.num_perm * 4 / 2**30:.1f} GiB as uint32 "
          f"if gathered at once); {ours['candidates']:,} candidate pairs with estimated Jaccard >= "
          f"{config.candidate_min_jaccard}; {len(ours['edges']):,} confirmed edges")
    print(f"  measured code: {ours['sources']}")
    print("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in t.items())
          + f"; dedup total {compute:.2f}; process wall {result.wall_seconds:.2f}; peak RSS {result.max_rss_mb:.0f} MB")
    ours_score = score_clusters(ours["clusters"], truth, hash_of)
    rows.append(Row("ours (tasks/dedup.py), dedup steps", len(ids), compute, result.max_rss_mb, result.tree_rss_mb,
                    ours_score))
    rows.append(Row("ours, process wall (incl. load)", len(ids), result.wall_seconds, result.max_rss_mb,
                    result.tree_rss_mb, ours_score))
    print(SCORE_DEFINITIONS)
    print_score("ours", ours_score)
    docs_by_hash: dict[str, list[str]] = defaultdict(list)
    for d, h in hash_of.items():
        docs_by_hash[h].append(d)
    edge_info = {}
    for a, b, jac, _ in ours["edges"]:
        for x in docs_by_hash[a]:
            for y in docs_by_hash[b]:
                edge_info[tuple(sorted((x, y)))] = jac
    print_false_positives("ours", ours_score, text_of, edge_info)
    if ours_score.missed:
        print_missed(ours_score, text_of, config)

    extra: dict = {}

    # 4. exhaustive
    def section_exhaustive() -> None:
        log("exhaustive rapidfuzz on a sample")
        ex = exhaustive_comparison(ids, text_of, hash_of, truth, {(a, b) for a, b, _, _ in ours["edges"]},
                                   ours["clusters"], config, args.sample_size, args.sample_planted, args.seed)
        print(f"\nexhaustive rapidfuzz cdist (fuzz.ratio >= {config.near_min_similarity * 100:.0f}) on {ex['docs']:,} docs "
              f"({ex['planted_pairs_chosen']} planted pairs + random others): {ex['comparisons']:,} pairs in "
              f"{ex['seconds']:.1f} s ({ex['comparisons'] / ex['seconds']:,.0f} pairs/s)")
        print(f"  duplicate pairs: exhaustive {ex['exhaustive_pairs']:,}; ours direct (same text or confirmed edge) "
              f"{ex['ours_direct_pairs']:,}; ours same cluster {ex['ours_cluster_pairs']:,}")
        print(f"  exhaustive finds, ours misses: {ex['exhaustive_not_ours_direct']} direct, "
              f"{ex['exhaustive_not_ours_cluster']} even via clusters  <- the recall our LSH gives up; "
              f"why: {ex['diagnosis'] or 'n/a'}")
        for sim, jac, bands, a, b in ex["missed_details"]:
            print(f"    ratio {sim:.3f}, estimated Jaccard {jac:.2f}, shared bands {bands}: {a} ~ {b}")
        print(f"  ours finds, exhaustive does not: {ex['ours_direct_not_exhaustive']} direct, "
              f"{ex['ours_cluster_not_exhaustive']} via clusters (transitive chains with a ratio < "
              f"{config.near_min_similarity})")
        print_score("exhaustive on the sample (scored on sample docs and planted pairs inside it)", ex["ex_score"])
        print_score("ours restricted to the same sample", ex["ours_score"])
        # extrapolation: n^2/2 comparisons at the measured rate
        full_seconds = pairs_of(len(ids)) / (ex["comparisons"] / ex["seconds"])
        rows.append(Row(f"exhaustive rapidfuzz, {ex['docs']} sample", ex["docs"], ex["seconds"], None, None,
                        ex["ex_score"]))
        print(f"  exhaustive over all {len(ids):,} docs would take ~{full_seconds / 3600:,.1f} h at that rate")

    # 5. datatrove
    def section_datatrove() -> None:
        log("datatrove: venv")
        python = ensure_datatrove_venv()
        log("datatrove: 4-stage MinHash pipeline")
        dt_out = workdir / "datatrove"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"}
        dt = run_child([str(python), __file__, "--child", "datatrove", "--docs", str(cache), "--out", str(dt_out),
                        "--workers", str(args.datatrove_workers)], workdir / "logs" / "datatrove.log", env=env)
        check(dt, "datatrove")
        info = json.loads((dt_out / "result.json").read_text())
        clusters, kept, removed = read_datatrove_clusters(dt_out)
        dt_score = score_clusters(clusters, truth, hash_of)
        extra["datatrove_seconds"] = dt.wall_seconds
        print(f"\ndatatrove {info['version']} MinhashConfig() defaults: {info['config_fields']}; "
              f"tasks {info['tasks']}, workers {info['workers']} (buckets stage: {info['config_fields']['num_buckets']} "
              "tasks; cluster stage: 1)")
        print("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in info["timings"].items())
              + f"; process wall {dt.wall_seconds:.1f}; peak RSS {dt.max_rss_mb:.0f} MB (largest process), "
              f"{dt.tree_rss_mb:.0f} MB (tree)")
        print(f"  kept {kept:,}, removed {removed:,} docs")
        print_score("datatrove", dt_score)
        print_false_positives("datatrove", dt_score, text_of)
        rows.append(Row("datatrove MinHash (4 stages)", len(ids), dt.wall_seconds, dt.max_rss_mb, dt.tree_rss_mb,
                        dt_score))

    # 6. incremental
    def section_incremental() -> None:
        log("ours: incremental")
        inc_out = workdir / "ours-incremental.json"
        result = run_child([sys.executable, __file__, "--child", "ours", "--mode", "incremental", "--docs", str(cache),
                            "--out", str(inc_out), "--fraction", str(args.incremental_fraction), *overrides],
                           workdir / "logs" / "ours-incremental.log")
        check(result, "ours (incremental)")
        inc = json.loads(inc_out.read_text())
        t = inc["timings"]
        full_edges = {(a, b) for a, b, _, _ in ours["edges"]}
        inc_edges = {(a, b) for a, b, _, _ in inc["old_edges"] + inc["new_edges"]}
        add = t["add_exact_grouping"] + t["add_run"]
        loads = t["load_index"] + t["load_index_texts"]
        print(f"\nincremental: full run on the first {inc['split']:,} docs ({inc['old_distinct']:,} distinct texts) "
              f"{t['full_run']:.2f} s; persisting index + texts {t['persist_index_and_texts']:.2f} s")
        print(f"  +{inc['new_docs']:,} docs ({inc['new_distinct']:,} new distinct texts): add {add:.2f} s "
              f"= {add / t['full_run']:.1%} of the full run; loading the index {t['load_index']:.2f} s and its texts "
              f"{t['load_index_texts']:.2f} s; with loads {(add + loads) / t['full_run']:.1%}")
        print(f"  the add needed {inc['old_texts_needed']:,} of {inc['old_distinct']:,} old texts "
              f"({inc['add_candidates']:,} candidate pairs): a lazy text load would read only those")
        print(f"  edges full run vs 99% + 1%: {len(full_edges):,} vs {len(inc_edges):,}; "
              f"only in full {len(full_edges - inc_edges)}, only in incremental {len(inc_edges - full_edges)}")
        print(f"  peak RSS of the incremental subprocess (99% full run, then the add): {result.max_rss_mb:.0f} MB; "
              f"measured code: {inc['sources']}")
        rows.append(Row(f"ours +{args.incremental_fraction:.0%} vs index", inc["new_docs"], add, None, None, None))
        extra["incremental"] = (add / t["full_run"], (add + loads) / t["full_run"], t["full_run"])

    for name, section in (("exhaustive", section_exhaustive), ("datatrove", section_datatrove),
                          ("incremental", section_incremental)):
        if name in args.skip:
            continue
        try:
            section()
        except Exception:  # one failed comparison should not cost the others
            import traceback

            print(f"\n{name} FAILED:\n{traceback.format_exc()}")

    print_table(rows)
    ours_compute = rows[0].seconds
    if "datatrove_seconds" in extra:
        dt_seconds = extra["datatrove_seconds"]
        print(f"datatrove seconds / ours: {dt_seconds / ours_compute:.1f}x on our dedup steps, "
              f"{dt_seconds / rows[1].seconds:.1f}x on our process wall (incl. Python start-up and reading the docs)")
    if "incremental" in extra:
        share, with_loads, full = extra["incremental"]
        print(f"+{args.incremental_fraction:.0%} / full run on the first {1 - args.incremental_fraction:.0%} "
              f"({full:.1f} s): {share:.1%}; {with_loads:.1%} counting the index and text loads")
    ours_row = rows[0]
    s = ours_row.score
    targets = [f"near recall {fmt(s.recall('near'), 3)} (target >= 0.95)",
               f"near precision {fmt(s.precision('near'), 3)} (target >= 0.99)",
               f"peak RSS {ours_row.rss_mb:,.0f} MB (target < 2048 at 100k)"]
    if "datatrove_seconds" in extra:
        targets.append(f"{extra['datatrove_seconds'] / ours_row.seconds:.1f}x faster than datatrove (target > 1)")
    if "incremental" in extra:
        targets.append(f"+{args.incremental_fraction:.0%} at {extra['incremental'][0]:.1%} of a full run (target < 5%)")
    print("ours against the issue's targets (for context, nothing is asserted): " + "; ".join(targets))
    print(f"benchmark wall time {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
