"""The `newsflow` console script, run as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tasks.storage import output_lock

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def _newsflow(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**ENV, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)  # the command starts Prefect's embedded server itself
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_run_prints_a_summary_writes_json_and_status_checks_accounting(seed_corpus, tmp_path):
    out, summary_path = tmp_path / "out", tmp_path / "summary.json"
    result = _newsflow("run", "--raw", str(seed_corpus), "--out", str(out), "--workers", "2",
                       "--summary-json", str(summary_path), home=tmp_path / "prefect")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "5 files seen: 5 new" in result.stdout
    summary = json.loads(summary_path.read_text())
    assert summary["articles_written"] == 5 and set(summary["seconds_by_stage"]) >= {"parse", "normalise", "commit"}
    peaks = summary["peak_rss_mb_after_stage"]  # a high-water mark, in the order the stages ended
    assert set(peaks) == set(summary["seconds_by_stage"]) and list(peaks)[-1] == "commit"
    assert list(peaks.values()) == sorted(peaks.values()) and min(peaks.values()) > 10

    status = _newsflow("status", "--raw", str(seed_corpus), "--out", str(out), "--check", home=tmp_path / "prefect")
    assert status.returncode == 0 and "articles: 5 rows" in status.stdout
    (seed_corpus / "late.txt").write_text("A late article about the meeting between the two leaders in Samarkand.")
    status = _newsflow("status", "--raw", str(seed_corpus), "--out", str(out), "--check", home=tmp_path / "prefect")
    assert status.returncode == 1 and "not yet processed: 1" in status.stdout


def test_missing_raw_directory_is_a_clear_error(tmp_path):
    result = _newsflow("run", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), home=tmp_path)
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_a_locked_output_exits_with_a_clear_message(seed_corpus, tmp_path):
    out = tmp_path / "out"
    with output_lock(out):
        result = _newsflow("run", "--raw", str(seed_corpus), "--out", str(out), home=tmp_path)
    assert result.returncode == 3 and "locked by another newsflow run" in result.stderr


def test_prefect_defaults_wait_for_a_slow_server_and_leave_the_users_settings_alone():
    from tasks.config import apply_prefect_defaults

    environ = {"DO_NOT_TRACK": "0"}
    apply_prefect_defaults(environ)
    assert environ["DO_NOT_TRACK"] == "0" and environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert int(environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]) >= 60  # Prefect's 20 s is too short here
