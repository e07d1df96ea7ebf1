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
