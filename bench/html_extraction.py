"""Score tasks.html.extract_html against the shared HTML article-extraction benchmark."""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

import charset_normalizer

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a plain script, without installing the package

from tasks import html as html_task  # noqa: E402

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "html-benchmark"
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_WORD = re.compile(r"\w+")
# trafilatura switches --set may override (they take precedence over the --favor preset)
_TUNABLE = ("include_comments", "include_tables", "deduplicate", "fast")


def decode(raw: bytes) -> str:
    """Decode page bytes: UTF-8 first, then the declared charset, then charset-normalizer's guess."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(raw[:8192])
    if declared:
        try:
            return raw.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):  # unknown or lying declaration
            pass
    best = charset_normalizer.from_bytes(raw).best()
    return str(best) if best is not None else raw.decode("utf-8", "replace")


def shingles(text: str | None, n: int = 4) -> Counter:
    """Multiset of lowercase n-word shingles; a text shorter than n words is one shingle."""
    tokens = _WORD.findall((text or "").lower())
    if len(tokens) < n:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def score(predicted: str | None, gold: str) -> tuple[float, float, float]:
    """Shingle precision, recall and F1 of one page."""
    pred, ref = shingles(predicted), shingles(gold)
    if not pred or not ref:
        # empty vs empty is a perfect answer; any other empty side scores zero
        return (1.0, 1.0, 1.0) if not pred and not ref else (0.0, 0.0, 0.0)
    hits = sum((pred & ref).values())
    p, r = hits / sum(pred.values()), hits / sum(ref.values())
    return p, r, (2 * p * r / (p + r) if hits else 0.0)


def main() -> int:
    """Run the benchmark and print mean scores, speed and the worst pages."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pages (sorted by id)")
    parser.add_argument("--favor", default="balanced", choices=sorted(html_task._FAVOR))
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=BOOL",
        help="override a trafilatura setting for this run, e.g. --set include_tables=false",
    )
    args = parser.parse_args()
    for item in args.set:  # experiment knob only; the module's defaults are the chosen settings
        key, _, value = item.partition("=")
        if key not in _TUNABLE:
            parser.error(f"unknown setting {key!r}; known: {', '.join(_TUNABLE)}")
        html_task._SETTINGS[key] = value.strip().lower() in ("1", "true", "yes", "on")

    truth = json.loads((args.corpus / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[: args.limit]
    rows, elapsed, slowest = [], 0.0, (0.0, "")
    for page_id in ids:
        markup = decode(gzip.decompress((args.corpus / "html" / f"{page_id}.html.gz").read_bytes()))
        start = time.perf_counter()
        article = html_task.extract_html(markup, favor=args.favor)
        took = time.perf_counter() - start
        elapsed += took
        slowest = max(slowest, (took, page_id))
        rows.append((page_id, *score(article.text, truth[page_id].get("articleBody") or "")))

    if not rows:
        print("no pages scored")
        return 1
    n = len(rows)
    mean_p, mean_r, mean_f = (sum(row[i] for row in rows) / n for i in (1, 2, 3))
    print(f"settings: favor={args.favor} {({**html_task._FAVOR[args.favor], **html_task._SETTINGS})}")
    print(f"pages: {n}  pages/s: {n / elapsed:.1f}  slowest: {slowest[0]:.2f}s ({slowest[1][:16]})")
    print(f"mean precision: {mean_p:.4f}  mean recall: {mean_r:.4f}  mean F1 (per page): {mean_f:.4f}")
    # the published benchmark figure is F1 of the mean precision and recall
    print(f"F1 of means: {2 * mean_p * mean_r / (mean_p + mean_r) if mean_p + mean_r else 0.0:.4f}")
    print("worst pages by F1:")
    for page_id, p, r, f in sorted(rows, key=lambda row: row[3])[:10]:
        print(f"  {page_id[:16]}  P={p:.3f} R={r:.3f} F1={f:.3f}  {truth[page_id].get('url', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
