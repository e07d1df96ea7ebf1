"""Hostile input never crashes parsing: every file becomes articles or rejections with a reason."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.config import PipelineConfig
from tasks.ingest import parse_file
from tasks.normalise import finish_articles
from tasks.schemas import PARSED

CONFIG = PipelineConfig()
NAMES = st.sampled_from(["a.txt", "b.html", "c.jsonl", "d.json", "e.htm"])
# Derandomised so CI is repeatable; run with more examples locally to explore (1,500 each passed).
FAST = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _accounted(data: bytes, name: str) -> None:
    parsed = parse_file(data, name, "h", CONFIG)
    assert parsed.articles or parsed.rejected
    assert all(reason for _, reason, _ in parsed.rejected)
    if parsed.articles:
        import pyarrow as pa
        from datetime import datetime, timezone

        articles, rejected = finish_articles(pa.Table.from_pylist(parsed.articles, schema=PARSED), {}, {},
                                             CONFIG, datetime(2024, 1, 1, tzinfo=timezone.utc))
        assert articles.num_rows + rejected.num_rows == len(parsed.articles)


@FAST
@given(st.binary(max_size=4096), NAMES)
def test_random_bytes(data, name):
    _accounted(data, name)


@FAST
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=3000), NAMES)
def test_random_unicode_with_controls_and_surrogates(text, name):
    _accounted(text.encode("utf-8", "surrogatepass"), name)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=200),
                    lambda children: st.lists(children, max_size=5) | st.dictionaries(
                        st.sampled_from(["text", "title", "url", "published", "outlet", "html", "body", "x"]), children,
                        max_size=6), max_leaves=30)


@FAST
@given(st.lists(JSON, max_size=8))
def test_random_json_records(records):
    _accounted("\n".join(json.dumps(r) for r in records).encode() or b"{}", "c.jsonl")
    _accounted(json.dumps(records).encode(), "d.json")


def test_deep_html_nesting_and_deep_json():
    _accounted(b"<div>" * 50_000 + b"text" + b"</div>" * 50_000, "deep.html")
    _accounted(b"[" * 100_000 + b"]" * 100_000, "deep.json")
    _accounted(b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "deep.jsonl")


@FAST
@given(st.text(min_size=1, max_size=40), st.integers(1_000, 60_000), NAMES)
def test_very_long_lines(fragment, repeat, name):
    _accounted((fragment * repeat).encode("utf-8", "surrogatepass"), name)


HOSTILE_FILE = st.one_of(
    st.binary(max_size=3000),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(JSON, max_size=5).map(lambda rs: "\n".join(json.dumps(r) for r in rs).encode()),
    st.integers(1, 3000).map(lambda depth: b"<div><p>" * depth + b"deep text " * 20 + b"</p></div>" * depth),
)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NAMES, HOSTILE_FILE), min_size=1, max_size=10))
def test_hostile_files_never_crash_a_run_and_each_is_accounted_for(prefect_harness, tmp_path_factory, files):
    from flows.pipeline import newsflow
    from tasks.accounting import account
    from tasks.run import scan_raw
    from tasks.storage import current_snapshot

    root = tmp_path_factory.mktemp("hostile")
    raw, out = root / "raw", root / "out"
    raw.mkdir()
    for number, (name, data) in enumerate(files):
        (raw / f"{number:02d}-{name}").write_bytes(data)
    newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1))
    snapshot = current_snapshot(out)
    assert account(snapshot, scan_raw(raw, CONFIG.ingest), CONFIG.ingest) == []
    assert snapshot.count_rows("articles") + snapshot.count_rows("rejected") >= len(files)
