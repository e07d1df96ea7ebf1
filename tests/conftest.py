"""Shared fixtures: one Prefect test server per session, and temporary copies of the seed corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
