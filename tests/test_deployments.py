"""The deployments of prefect.yaml and `newsflow serve`, end to end on a real Prefect server and worker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml

from conftest import REPO, stop_process_group

BIN = Path(sys.executable).parent
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def prefect_env(api_url: str, home: Path, **extra: str) -> dict[str, str]:
    """Environment of a prefect CLI process talking to the test server."""
    return {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1", **extra}


def call(api: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
    """One API request, retried while the SQLite-backed server answers 503 (busy database).

    A read (GET or a `/filter` query) is also tried again, twice at most, when it times out: a busy SQLite server
    can hold a request past the client's timeout. Writes are not, since the server may have done them.
    """
    read, timeouts = method == "GET" or url.endswith("/filter"), 0
    for attempt in range(10):
        try:
            response = api.request(method, url, **kwargs)
        except httpx.TimeoutException:
            timeouts += 1
            if not read or timeouts > 2:
                raise
        else:
            if response.status_code != 503:
                return response
        time.sleep(0.5 * (attempt + 1))
    return response.raise_for_status()


def wait_for_run(api: httpx.Client, flow_run_id: str, timeout: float = 180) -> dict:
    """Poll the API until the flow run reaches a terminal state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = call(api, "GET", f"/flow_runs/{flow_run_id}").raise_for_status().json()
        if run["state_type"] in TERMINAL:
            return run
        time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} did not finish within {timeout} s")


def task_runs(api: httpx.Client, flow_run_id: str, names: tuple[str, ...], timeout: float = 60) -> dict[str, str]:
    """Task run name -> state type, for one flow run, once every named task run is terminal (or at the timeout).

    A flow run's own state is set by an API call, but its task runs reach the server as events that it
    records a moment later: right after the flow run completes, a task run may still read PENDING under
    its default name (CI saw `report-7c1`), so the test waits for the events rather than racing them.
    """
    deadline = time.monotonic() + timeout
    while True:
        rows = call(api, "POST", "/task_runs/filter",
                    json={"flow_runs": {"id": {"any_": [flow_run_id]}}}).raise_for_status().json()
        runs = {row["name"]: row["state_type"] for row in rows}
        if all(runs.get(name) in TERMINAL for name in names) or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


def start_run(api: httpx.Client, deployment: str, raw: Path, out: Path) -> str:
    """Create a flow run of a deployment with its raw and output directories overridden."""
    found = call(api, "GET", f"/deployments/name/{deployment}").raise_for_status().json()
    config = {**found["parameters"]["config"], "raw_dir": str(raw), "out_dir": str(out)}
    created = call(api, "POST", f"/deployments/{found['id']}/create_flow_run", json={"parameters": {"config": config}})
    return created.raise_for_status().json()["id"]


def assert_run_wrote_the_seeds(api: httpx.Client, flow_run_id: str, out: Path) -> None:
    """The run completed, its stage and batch task runs are there, and its Parquet is readable."""
    run = wait_for_run(api, flow_run_id)
    assert run["state_type"] == "COMPLETED", run["state"].get("message")
    names = ("plan", "parse-changes-00000", "corpus-boilerplate", "normalise-00000", "dedup", "passages", "quotes-00000",
             "commit", "report")
    runs = task_runs(api, flow_run_id, names)
    for name in names:
        assert runs.get(name) == "COMPLETED", (name, runs)
    artifacts = call(api, "POST", "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}).json()
    assert {"newsflow-run-summary", "newsflow-report"} <= {a["key"] for a in artifacts}
    with duckdb.connect() as db:
        assert db.execute(f"select count(*) from '{out}/articles/*.parquet'").fetchone() == (5,)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A copy of the project as a deployment's working directory (its data/ stays in tmp_path)."""
    home = tmp_path / "home"
    for name in ("flows", "tasks"):
        shutil.copytree(REPO / name, home / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "prefect.yaml", home / "prefect.yaml")
    shutil.copytree(REPO / "data" / "raw", home / "data" / "raw")
    return home


def test_prefect_yaml_deployments_run_through_a_process_worker(prefect_server, home, seed_corpus, tmp_path):
    env = prefect_env(prefect_server, tmp_path / "prefect-home", NEWSFLOW_HOME=str(home))
    cli = [str(BIN / "prefect")]
    subprocess.run([*cli, "work-pool", "create", "newsflow-process", "--type", "process", "--overwrite"],
                   env=env, check=True, capture_output=True, timeout=120)
    deployed = subprocess.run([*cli, "--no-prompt", "deploy", "--all"], cwd=home, env=env, capture_output=True,
                              text=True, timeout=180)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    with httpx.Client(base_url=prefect_server, timeout=30) as api:
        declared = {d["name"]: d for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
        hourly = call(api, "GET", "/deployments/name/newsflow/hourly").raise_for_status().json()
        assert hourly["work_pool_name"] == "newsflow-process"
        assert [s["schedule"]["cron"] for s in hourly["schedules"]] == [declared["hourly"]["schedules"][0]["cron"]]
        assert all(s["active"] for s in hourly["schedules"])  # stored active; the test server runs no scheduler
        assert hourly["pull_steps"] == [{"prefect.deployments.steps.set_working_directory": {"directory": str(home)}}]
        refresh = call(api, "GET", "/deployments/name/newsflow/full-refresh").raise_for_status().json()
        assert refresh["parameters"]["config"]["full_refresh"] is True and not refresh["schedules"]

        worker = subprocess.Popen([*cli, "worker", "start", "--pool", "newsflow-process", "--limit", "1"],
                                  env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            out = tmp_path / "out"
            assert_run_wrote_the_seeds(api, start_run(api, "newsflow/hourly", seed_corpus, out), out)
            again = wait_for_run(api, start_run(api, "newsflow/full-refresh", seed_corpus, out))
            assert again["state_type"] == "COMPLETED"
            assert "full-refresh" in again["name"]
        finally:
            stop_process_group(worker)


def test_newsflow_serve_runs_a_scheduled_deployment_without_a_work_pool(prefect_server, seed_corpus, tmp_path):
    env = prefect_env(prefect_server, tmp_path / "prefect-home")
    out = tmp_path / "out"
    served = subprocess.Popen([str(BIN / "newsflow"), "serve", "--raw", str(seed_corpus), "--out", str(out),
                               "--cron", "0 3 * * *", "--name", "nightly"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with httpx.Client(base_url=prefect_server, timeout=30) as api:
            deadline = time.monotonic() + 120
            while (found := call(api, "GET", "/deployments/name/newsflow/nightly")).status_code == 404:
                assert served.poll() is None and time.monotonic() < deadline, "newsflow serve did not register"
                time.sleep(1)
            deployment = found.raise_for_status().json()
            assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 3 * * *"]
            assert deployment["parameters"]["config"]["raw_dir"] == str(seed_corpus)
            run = call(api, "POST", f"/deployments/{deployment['id']}/create_flow_run", json={}).raise_for_status().json()
            assert_run_wrote_the_seeds(api, run["id"], out)
    finally:
        stop_process_group(served)
