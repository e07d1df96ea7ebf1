"""Raw input and datasets on S3, against moto's S3-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from conftest import dataset_rows, free_port, stop_process_group
from flows.pipeline import newsflow
from tasks.config import PipelineConfig
from tasks.remote import is_remote, local_config

pytestmark = pytest.mark.usefixtures("prefect_harness")

@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with an empty bucket `news`; yields the URI query naming its endpoint."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "moto server did not start"
                time.sleep(0.2)
        pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", allow_bucket_creation=True).create_dir("news")
        yield f"?endpoint_override=127.0.0.1:{port}&scheme=http"
    finally:
        stop_process_group(server)


def upload(local: Path, uri: str) -> None:
    filesystem, root = pafs.FileSystem.from_uri(uri)
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        with filesystem.open_output_stream(f"{root}/{path.relative_to(local).as_posix()}") as out:
            out.write(path.read_bytes())


def rows(source: str | Path) -> dict[str, list]:
    """Every dataset's rows (without ingestion timestamps) from a local directory or a remote prefix."""
    if isinstance(source, Path):
        return dataset_rows(source)
    filesystem, root = pafs.FileSystem.from_uri(source)
    return dataset_rows(root, filesystem)


def test_locations_with_a_scheme_are_remote():
    assert is_remote("s3://bucket/raw") and is_remote("gs://b/p")
    assert not is_remote("data/raw") and not is_remote("/abs/raw") and not is_remote("file:///abs") and not is_remote("C:/x")
    config = local_config(PipelineConfig(raw_dir="s3://news/raw?endpoint_override=h:1", out_dir="local/out", work_dir="/w"))
    assert config.raw_dir.startswith("/w/news-raw") and config.out_dir == "local/out"


def test_raw_input_and_datasets_on_s3_match_a_local_run_and_follow_deletions(s3, seed_corpus, tmp_path):
    raw, out = f"s3://news/raw{s3}", f"s3://news/processed{s3}"
    upload(seed_corpus, raw)
    config = PipelineConfig(raw_dir=raw, out_dir=out, work_dir=str(tmp_path / "work"), workers=1)
    summary = newsflow(config)
    assert summary["articles_written"] == 5 and summary["out_dir"] == out

    local = tmp_path / "local"
    newsflow(PipelineConfig(raw_dir=str(seed_corpus), out_dir=str(local), workers=1))
    assert rows(out) == rows(local)
    filesystem, root = pafs.FileSystem.from_uri(out)
    with filesystem.open_input_stream(f"{root}/_newsflow.json") as manifest:
        assert json.loads(manifest.read())["snapshot"] == summary["snapshot"]

    assert newsflow(config)["snapshot_written"] is False  # nothing new: nothing downloaded, nothing written

    raw_fs, raw_root = pafs.FileSystem.from_uri(raw)
    deleted = sorted(seed_corpus.glob("*.txt"))[0]
    raw_fs.delete_file(f"{raw_root}/{deleted.name}")
    assert newsflow(config)["files_deleted"] == 1
    articles = ds.dataset(f"{root}/articles", filesystem=filesystem, format="parquet").to_table()
    assert articles.num_rows == 4 and deleted.name not in articles.column("source_path").to_pylist()
    published = {p.path.rsplit("/", 1)[-1] for p in filesystem.get_file_info(pafs.FileSelector(f"{root}/articles"))}
    assert published == {p.name for p in (Path(local_config(config).out_dir) / "articles").glob("*.parquet")}
