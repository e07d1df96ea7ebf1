"""Shared fixtures: one Prefect test server per session, and temporary copies of the seed corpus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pytest

# Before Prefect is imported anywhere: no telemetry, no internet.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "raw"
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def prefect_harness():
    """A throwaway Prefect server and database for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    """A temporary raw directory holding the five seed articles."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for path in sorted(SEEDS.glob("*.txt")):
        shutil.copy2(path, raw / path.name)
    return raw


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `prefect server` on 127.0.0.1 (own home and database) for subprocess runs; yields its API URL."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url,
           "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
           "PREFECT_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
           # The tests create their runs by hand. The scheduler would also insert a deployment's next ~100
           # scheduled runs, and at the top of the hour the worker could take one of them before the test's
           # own run; CI saw those inserts hold SQLite's lock for 60 s and an API read time out.
           "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false", "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prefect server did not answer /api/health within 120 s")
            time.sleep(0.5)
        yield api_url
    finally:
        stop_process_group(server)
        log.close()


def stop_process_group(process: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a process started with start_new_session=True and everything it started."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)
        except ProcessLookupError:
            pass
    try:  # children that outlived the leader
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# Ingestion timestamps: the only values in which two runs over the same input may differ.
VOLATILE = {"ingested_at", "seen_at"}


def dataset_rows(root: str | Path, filesystem: object = None) -> dict[str, list[str]]:
    """Every dataset's rows without ingestion timestamps, as sorted JSON strings: equal for equal datasets."""
    from tasks.schemas import DATASETS

    found = {}
    for name in DATASETS:
        table = ds.dataset(f"{root}/{name}", filesystem=filesystem, format="parquet").to_table()
        keep = [c for c in table.column_names if c not in VOLATILE]
        found[name] = sorted(json.dumps(r, sort_keys=True, default=str) for r in table.select(keep).to_pylist())
    return found
