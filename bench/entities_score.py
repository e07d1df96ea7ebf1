#!/usr/bin/env python3
"""Score named-entity predictions against the hand-made gold of the five seed articles.

Example:
    .venv/bin/python bench/entities_score.py PREDICTIONS.jsonl [--gold tests/data/entities/gold.jsonl] [--json]
    .venv/bin/python bench/entities_score.py --self-test

Both files are JSON Lines, one mention a line, with the fields doc (seed file name), start, end
(character offsets into the clean text, end exclusive), surface, type and name (canonical name).
The rules the gold follows are in tests/data/entities/GUIDELINES.md.

Types scored: PERSON, ORG, GPE, LOC, and MISC/EVENT as one group ("MISC/EVENT": a MISC mention
matches an EVENT one). "PER" is read as PERSON. Any other type (NORP, DATE, FAC, ...) is not part
of the scheme: such rows are dropped and counted in "ignored_types". Predictions for documents not
in the gold are dropped too ("ignored_docs"); a gold document without predictions counts as all missed.

Three measures, each per type group, "core" (PERSON+ORG+GPE micro, the tagging stage's target)
and "overall" (all five groups, micro):
    mention_exact    a prediction is right when (doc, start, end, type) equals a gold mention's.
    mention_partial  spans overlap and the type is the same; matched one-to-one (maximum bipartite
                     matching per doc and type), so one long prediction cannot satisfy two gold mentions.
    entity_set       per document, the set of (type, canonical name) pairs, names compared
                     case-insensitively with whitespace collapsed; counts summed over documents
                     (micro). Per-document figures are in "entity_set_by_doc".
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GOLD = REPO / "tests" / "data" / "entities" / "gold.jsonl"

GROUPS = ("PERSON", "ORG", "GPE", "LOC", "MISC/EVENT")
CORE = ("PERSON", "ORG", "GPE")
TYPE_GROUP = {"PERSON": "PERSON", "PER": "PERSON", "ORG": "ORG", "GPE": "GPE", "LOC": "LOC",
              "MISC": "MISC/EVENT", "EVENT": "MISC/EVENT", "MISC/EVENT": "MISC/EVENT"}
ROWS = (*GROUPS, "core", "overall")


def load_jsonl(path: str | Path) -> list[dict]:
    """Rows of a JSON Lines file; blank lines are skipped."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else (1.0 if not n_gold else 0.0)
    recall = tp / n_gold if n_gold else (1.0 if not n_pred else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": n_pred - tp, "fn": n_gold - tp, "n_pred": n_pred, "n_gold": n_gold,
            "precision": precision, "recall": recall, "f1": f1}


def _table(counts: dict[str, list[int]]) -> dict:
    """counts: group -> [tp, n_pred, n_gold]; adds the core and overall micro rows."""
    out = {g: _prf(*counts.get(g, [0, 0, 0])) for g in GROUPS}
    for name, members in (("core", CORE), ("overall", GROUPS)):
        tp, n_pred, n_gold = (sum(counts.get(g, [0, 0, 0])[i] for g in members) for i in range(3))
        out[name] = _prf(tp, n_pred, n_gold)
    return out


def _norm_name(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def _prepare(rows: list[dict], ignored: Counter | None) -> set[tuple]:
    """Distinct (doc, start, end, group, name) of the rows whose type is in the scheme."""
    out = set()
    for row in rows:
        group = TYPE_GROUP.get(str(row.get("type", "")).upper())
        if group is None:
            if ignored is not None:
                ignored[str(row.get("type"))] += 1
            continue
        out.add((row["doc"], int(row["start"]), int(row["end"]), group, _norm_name(row.get("name"))))
    return out


def _max_matching(gold: list[tuple[int, int]], pred: list[tuple[int, int]]) -> int:
    """Size of a maximum one-to-one matching between overlapping spans (Kuhn's algorithm)."""
    adj = [[j for j, (ps, pe) in enumerate(pred) if ps < ge and gs < pe] for gs, ge in gold]
    match_of_pred: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in adj[i]:
            if j not in seen:
                seen.add(j)
                if j not in match_of_pred or augment(match_of_pred[j], seen):
                    match_of_pred[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(gold)))


def score(gold_rows: list[dict], predicted_rows: list[dict]) -> dict:
    """Mention-level exact and partial P/R/F1, and per-document entity-set P/R/F1 (see module doc)."""
    ignored_types: Counter = Counter()
    gold = _prepare(gold_rows, None)
    gold_docs = {m[0] for m in gold} | {r["doc"] for r in gold_rows}
    pred_all = _prepare(predicted_rows, ignored_types)
    ignored_docs = Counter(m[0] for m in pred_all if m[0] not in gold_docs)
    pred = {m for m in pred_all if m[0] in gold_docs}

    # Mentions: spans are distinct per (doc, start, end, group) whatever the name says.
    gold_spans = {m[:4] for m in gold}
    pred_spans = {m[:4] for m in pred}
    exact: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for m in pred_spans:
        exact[m[3]][1] += 1
    for m in gold_spans:
        exact[m[3]][2] += 1
    for m in gold_spans & pred_spans:
        exact[m[3]][0] += 1

    partial: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_key: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
    for doc, s, e, g in gold_spans:
        by_key[doc, g][0].append((s, e))
    for doc, s, e, g in pred_spans:
        by_key[doc, g][1].append((s, e))
    for (doc, g), (gs, ps) in by_key.items():
        partial[g][0] += _max_matching(sorted(gs), sorted(ps))
        partial[g][1] += len(ps)
        partial[g][2] += len(gs)

    # Entity sets per document.
    gold_set = {(m[0], m[3], m[4]) for m in gold}
    pred_set = {(m[0], m[3], m[4]) for m in pred}
    ent: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    ent_doc: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for items, idx in ((gold_set & pred_set, 0), (pred_set, 1), (gold_set, 2)):
        for doc, g, _ in items:
            ent[g][idx] += 1
            ent_doc[doc][g][idx] += 1

    return {
        "mention_exact": _table(exact),
        "mention_partial": _table(partial),
        "entity_set": _table(ent),
        "entity_set_by_doc": {doc: _table(ent_doc[doc]) for doc in sorted(gold_docs)},
        "ignored_types": dict(ignored_types),
        "ignored_docs": dict(ignored_docs),
    }


def format_report(result: dict) -> str:
    """The score dict as plain-text tables."""
    lines = []
    for key, title in (("mention_exact", "Mentions, exact span + type"),
                       ("mention_partial", "Mentions, overlapping span + same type (one-to-one)"),
                       ("entity_set", "Entity sets per document, (type, canonical name), micro over documents")):
        lines.append(title)
        lines.append(f"  {'type':<11}{'gold':>6}{'pred':>6}{'tp':>6}{'P':>8}{'R':>8}{'F1':>8}")
        for row in ROWS:
            r = result[key][row]
            lines.append(f"  {row:<11}{r['n_gold']:>6}{r['n_pred']:>6}{r['tp']:>6}"
                         f"{r['precision']:>8.3f}{r['recall']:>8.3f}{r['f1']:>8.3f}")
        lines.append("")
    lines.append("Entity sets by document (core = PERSON+ORG+GPE; overall = all types)")
    lines.append(f"  {'doc':<28}{'core P':>8}{'core R':>8}{'core F1':>8}{'all F1':>8}")
    for doc, table in result["entity_set_by_doc"].items():
        c, o = table["core"], table["overall"]
        lines.append(f"  {doc:<28}{c['precision']:>8.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}{o['f1']:>8.3f}")
    if result["ignored_types"]:
        lines.append(f"\nIgnored prediction types (not in the scheme): {result['ignored_types']}")
    if result["ignored_docs"]:
        lines.append(f"Ignored predictions for documents not in the gold: {result['ignored_docs']}")
    return "\n".join(lines)


def check_surfaces(rows: list[dict], text_dir: Path) -> list[str]:
    """Rows whose surface is not text[start:end] of the copy of the clean text beside the gold."""
    problems, texts = [], {}
    for row in rows:
        path = text_dir / row["doc"]
        if row["doc"] not in texts:
            texts[row["doc"]] = path.read_text(encoding="utf-8") if path.is_file() else None
        text = texts[row["doc"]]
        if text is not None and text[int(row["start"]):int(row["end"])] != row.get("surface"):
            problems.append(f"{row['doc']} {row['start']}:{row['end']} surface {row.get('surface')!r} "
                            f"!= text {text[int(row['start']):int(row['end'])]!r}")
    return problems


def self_test(gold_path: Path) -> int:
    """Gold against itself is perfect; one changed type, one shifted span, a renamed entity show the drops."""
    gold = load_jsonl(gold_path)
    failures = []

    def expect(label: str, got: float, want: float) -> None:
        ok = abs(got - want) < 1e-9
        print(f"  {'ok  ' if ok else 'FAIL'} {label}: {got:.4f} (expected {want:.4f})")
        if not ok:
            failures.append(label)

    print("gold vs gold")
    r = score(gold, gold)
    for key in ("mention_exact", "mention_partial", "entity_set"):
        for row in ROWS:
            for m in ("precision", "recall", "f1"):
                if r[key][row][m] != 1.0:
                    failures.append(f"{key}/{row}/{m}")
    expect("every P/R/F1 of every table", 1.0 if not failures else 0.0, 1.0)

    print("one GPE mention retyped as LOC")
    pred = copy.deepcopy(gold)
    i = next(k for k, row in enumerate(pred) if row["type"] == "GPE")
    pred[i]["type"] = "LOC"
    n_gpe = sum(row["type"] == "GPE" for row in gold)
    n_loc = sum(row["type"] == "LOC" for row in gold)
    r = score(gold, pred)
    expect("exact GPE recall", r["mention_exact"]["GPE"]["recall"], (n_gpe - 1) / n_gpe)
    expect("exact GPE precision", r["mention_exact"]["GPE"]["precision"], 1.0)
    expect("exact LOC precision", r["mention_exact"]["LOC"]["precision"], n_loc / (n_loc + 1))
    expect("exact overall F1", r["mention_exact"]["overall"]["f1"], (len(gold) - 1) / len(gold))
    expect("exact PERSON F1", r["mention_exact"]["PERSON"]["f1"], 1.0)

    print("one PERSON span shortened by a character (exact drops, partial does not)")
    pred = copy.deepcopy(gold)
    i = next(k for k, row in enumerate(pred) if row["type"] == "PERSON")
    pred[i]["end"] -= 1
    pred[i]["surface"] = pred[i]["surface"][:-1]
    n_per = sum(row["type"] == "PERSON" for row in gold)
    r = score(gold, pred)
    expect("exact PERSON recall", r["mention_exact"]["PERSON"]["recall"], (n_per - 1) / n_per)
    expect("partial PERSON F1", r["mention_partial"]["PERSON"]["f1"], 1.0)

    print("one long prediction over two adjacent gold mentions (partial is one-to-one)")
    g2 = [{"doc": "d", "start": 0, "end": 5, "type": "ORG", "name": "A"},
          {"doc": "d", "start": 6, "end": 9, "type": "ORG", "name": "B"}]
    p2 = [{"doc": "d", "start": 0, "end": 9, "type": "ORG", "name": "A B"}]
    r = score(g2, p2)
    expect("partial ORG recall", r["mention_partial"]["ORG"]["recall"], 0.5)
    expect("partial ORG precision", r["mention_partial"]["ORG"]["precision"], 1.0)

    print("entity sets: names compared case-insensitively; NORP ignored")
    pred = copy.deepcopy(gold)
    for row in pred:
        row["name"] = row["name"].upper()
    pred.append({"doc": gold[0]["doc"], "start": 0, "end": 1, "type": "NORP", "name": "x"})
    r = score(gold, pred)
    expect("entity_set overall F1", r["entity_set"]["overall"]["f1"], 1.0)
    expect("ignored NORP rows", r["ignored_types"].get("NORP", 0), 1)

    print("surfaces of the gold match its text copies")
    problems = check_surfaces(gold, gold_path.parent)
    for p in problems[:5]:
        print("   ", p)
    expect("rows whose surface != text[start:end]", len(problems), 0)

    print("\nself-test", "FAILED: " + ", ".join(failures) if failures else "passed")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", nargs="?", help="predicted mentions, JSON Lines")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help=f"default {DEFAULT_GOLD.relative_to(REPO)}")
    parser.add_argument("--json", action="store_true", help="print the full result dict as JSON instead")
    parser.add_argument("--self-test", action="store_true", help="check the scorer on the gold itself")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test(args.gold)
    if not args.predictions:
        parser.error("PREDICTIONS is required unless --self-test")
    gold = load_jsonl(args.gold)
    pred = load_jsonl(args.predictions)
    result = score(gold, pred)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_report(result))
        problems = [p for p in check_surfaces(pred, args.gold.parent) if p]
        if problems:
            print(f"\nWarning: {len(problems)} predicted rows whose surface is not the text at their offsets, e.g.")
            for p in problems[:5]:
                print("   ", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
