"""Crashes, concurrent runs and write errors: readers keep the last complete datasets, the next run completes.

Runs are real `newsflow run` processes reporting to one shared Prefect server (the `prefect_server`
fixture). Kills land on named failpoints (tasks/faults.py) listed from a traced run, so every
write, link and rename the pipeline performs is a candidate, and at seeded random moments.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import dataset_rows
from flows.pipeline import newsflow
from tasks.accounting import account
from tasks.config import IngestConfig, PipelineConfig
from tasks.run import scan_raw
from tasks.schemas import DATASETS
from tasks.storage import STATE_DIR, current_snapshot

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "data" / "raw"
PROSE = ("The two delegations met in Geneva on Tuesday to discuss grain exports, shipping insurance and the "
         "safety of ports, and agreed to meet again before the end of the month, officials said afterwards.")

# Small batches so a snapshot has several parts per table and an incremental run hard-links some.
SETTINGS = {"batch_size": 3}
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def _env(api_url: str, settings: Path, **extra: str) -> dict[str, str]:
    settings.write_text(json.dumps(SETTINGS))
    env = {"NEWSFLOW_CONFIG": str(settings), **os.environ, "PREFECT_API_URL": api_url, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING", **extra}
    for name in ("NEWSFLOW_FAILPOINT", "NEWSFLOW_FAILPOINT_TRACE"):
        if name not in extra:
            env.pop(name, None)
    return env


def _start(raw: Path, out: Path, env: dict[str, str], *flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--raw", str(raw), "--out", str(out),
                             "--workers", "1", *flags], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _run(raw: Path, out: Path, env: dict[str, str], *flags: str, timeout: float = 120) -> subprocess.CompletedProcess:
    process = _start(raw, out, env, *flags)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        _stop(process)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _stop(process: subprocess.Popen) -> None:
    """SIGKILL a run started by this test (its own session) and reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.communicate()


def datasets(out: Path) -> dict[str, list[str]] | None:
    """Every dataset's rows as readers see them through the links, without timestamps; None before any."""
    return dataset_rows(out) if (out / "articles").exists() else None


def _corpus_one(raw: Path) -> None:
    raw.mkdir(parents=True)
    for path in sorted(SEEDS.glob("*.txt")):
        shutil.copy2(path, raw / path.name)
    (raw / "wire").mkdir()
    records = [{"text": f"{PROSE} Item {i}.", "title": f"Talks {i}", "outlet": "Wire"} for i in range(3)]
    lines = [json.dumps(r) for r in records]
    lines.insert(2, '{"text": "cut off')
    (raw / "wire" / "feed.jsonl").write_text("\n".join(lines) + "\n")
    (raw / "page.html").write_text(f"<html><head><title>Geneva talks</title></head><body><article>"
                                   f"<h1>Geneva talks</h1><p>{PROSE}</p><p>{PROSE[::-1]}</p></article></body></html>")
    (raw / "empty.txt").write_bytes(b"")


def _corpus_two(raw: Path) -> None:
    """Changes on top of corpus one: new, changed, deleted and duplicate files."""
    shutil.copy2(raw / "000_00d65d564b3f9c64.txt", raw / "wire" / "000-repost.txt")
    changed = raw / "004_73de68f7b28712c7.txt"
    changed.write_text(changed.read_text() + "\n\nA correction was appended to this article later that day.\n")
    (raw / "001_37a63de380ce9ca2.txt").unlink()
    with (raw / "wire" / "feed.jsonl").open("a") as feed:
        feed.write(json.dumps({"text": f"{PROSE} A late item.", "outlet": "Wire"}) + "\nnot json\n")
    (raw / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))


def _traced(raw: Path, out: Path, env: dict, trace: Path) -> list[tuple[str, str, str]]:
    result = _run(raw, out, {**env, "NEWSFLOW_FAILPOINT_TRACE": str(trace)})
    assert result.returncode == 0, result.stderr[-3000:]
    return [tuple(line.split("\t")) for line in trace.read_text().splitlines()]


def _choose(trace: list[tuple[str, str, str]], count: int, names: set[str] | None = None) -> list[str]:
    """Failpoint specs spread over a traced run: named points' first hits, Parquet writes sampled across stages."""
    specs = [f"{name}:{hit}" for name, hit, _ in trace if int(hit) == 1 and not name.startswith("parquet.")
             and (names is None or name in names)]
    sampled = []
    share = max(count - len(specs), 2) // 2  # half mid-write, half just after the rename, spread over the run
    for kind in ("parquet.written", "parquet.replaced"):
        writes = [f"{name}:{hit}" for name, hit, _ in trace if name == kind]
        step = max(1, len(writes) // max(share, 1))
        sampled += writes[step // 2::step][:share]
    return list(dict.fromkeys(specs + sampled))


def _recover(raw: Path, out: Path) -> None:
    """The next run, in this process (a real flow run; only the process start-up is saved)."""
    newsflow(PipelineConfig(raw_dir=str(raw), out_dir=str(out), workers=1, **SETTINGS))


def _accounted(raw: Path, out: Path) -> None:
    config = IngestConfig()
    assert account(current_snapshot(out), scan_raw(raw, config), config) == []


@pytest.fixture(scope="module")
def corpus(prefect_server, prefect_harness, tmp_path_factory) -> dict:
    """Raw files before and after a round of changes, the datasets an uninterrupted run gives for each,
    and an output directory (two snapshots) to copy for every incremental scenario."""
    root = tmp_path_factory.mktemp("faults")
    env = _env(prefect_server, root / "settings.json")
    raw = root / "raw"
    _corpus_one(raw)
    first = root / "first"
    started = time.monotonic()
    trace_one = _traced(raw, first, env, root / "trace-one")
    seconds = time.monotonic() - started
    after_one = datasets(first)
    raw_one = root / "raw-one"
    shutil.copytree(raw, raw_one, symlinks=True)
    os.utime(raw / "page.html", ns=(1, 1))  # a touch: a second snapshot, same rows, so the next run prunes one
    template = root / "template"
    shutil.copytree(first, template, symlinks=True)
    _recover(raw, template)
    assert datasets(template) == after_one and len(list((template / STATE_DIR / "snapshots").iterdir())) == 2
    _corpus_two(raw)
    second = root / "second"
    shutil.copytree(template, second, symlinks=True)
    trace_two = _traced(raw, second, env, root / "trace-two")
    after_two = datasets(second)
    assert after_two != after_one
    return {"env": env, "raw_one": raw_one, "raw": raw, "template": template, "after_one": after_one,
            "after_two": after_two, "trace_one": trace_one, "trace_two": trace_two, "seconds": seconds}


def test_sigkill_anywhere_loses_nothing_and_the_next_run_matches_an_uninterrupted_one(corpus, tmp_path):
    env, rng = corpus["env"], random.Random(6)
    kills, rows_lost, tried = 0, 0, []

    def kill_then_recover(raw: Path, out: Path, spec: str | float, before: dict | None, after: dict) -> None:
        nonlocal kills, rows_lost
        if isinstance(spec, str):
            result = _run(raw, out, {**env, "NEWSFLOW_FAILPOINT": spec})
            assert result.returncode == -signal.SIGKILL, (spec, result.returncode, result.stderr[-2000:])
        else:  # a seeded random moment
            process = _start(raw, out, env)
            time.sleep(spec)
            _stop(process)
        kills += 1
        # Readers see the last complete datasets: the previous ones, or the new ones if the kill came after the switch.
        assert datasets(out) in (before, after), f"after a kill at {spec} readers see neither the old nor the new datasets"
        _recover(raw, out)
        final = datasets(out)
        rows_lost += sum(len(set(after[n]) - set(final[n])) for n in DATASETS)
        assert final == after, f"the run after a kill at {spec} differs from an uninterrupted run"
        _accounted(raw, out)
        assert len(list((out / STATE_DIR / "snapshots").iterdir())) <= 2
        assert not list(out.glob(".*.tmp")) and not list((out / STATE_DIR).glob("*.tmp"))
        tried.append(spec)

    # The first run, into an empty output directory.
    for spec in _choose(corpus["trace_one"], 4, {"links.before_rename", "commit.before_rename", "commit.after_rename"}):
        kill_then_recover(corpus["raw_one"], tmp_path / f"first-{len(tried)}", spec, None, corpus["after_one"])
    # An incremental run (new, changed, deleted, duplicate files) over two earlier snapshots.
    delays = [rng.uniform(0.5, corpus["seconds"]) for _ in range(4)]
    for spec in [*_choose(corpus["trace_two"], 14), *delays]:
        out = tmp_path / f"second-{len(tried)}"
        shutil.copytree(corpus["template"], out, symlinks=True)
        kill_then_recover(corpus["raw"], out, spec, corpus["after_one"], corpus["after_two"])

    points = {spec.split(":")[0] for spec in tried if isinstance(spec, str)}
    print(f"\nkills survived: {kills} ({kills - len(delays)} at failpoints {sorted(points)}, {len(delays)} at random "
          f"moments); rows lost: {rows_lost}")
    assert kills >= 20 and rows_lost == 0
    assert {"run.planned", "export.carried_over", "export.state_written", "commit.manifest_written", "links.before_rename",
            "commit.before_rename", "commit.after_rename", "prune.removing", "carry_over.linked", "parquet.written",
            "parquet.replaced"} <= points


def test_two_runs_at_once_one_proceeds_the_other_exits_with_a_clear_message(corpus, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(corpus["template"], out, symlinks=True)
    slow = {**corpus["env"], "NEWSFLOW_FAILPOINT": "run.planned:1:sleep=3"}  # hold the lock long enough to overlap
    runs = [_start(corpus["raw"], out, slow) for _ in range(2)]
    results = [(p.returncode, *outputs) for p, outputs in [(p, p.communicate(timeout=120)) for p in runs]]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 3], [r[2][-1500:] for r in results]
    refused = next(err for code, _, err in results if code == 3)
    assert "locked by another newsflow run" in refused and "--wait" in refused
    assert datasets(out) == corpus["after_two"]

    waited = tmp_path / "waited"
    shutil.copytree(corpus["template"], waited, symlinks=True)
    runs = [_start(corpus["raw"], waited, slow, "--wait") for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], [e[-1500:] for e in errors]
    assert datasets(waited) == corpus["after_two"]
    _accounted(corpus["raw"], waited)


@pytest.mark.parametrize("error, message", [("enospc", "No space left on device"), ("eacces", "Permission denied")])
def test_a_full_disk_or_a_permission_error_fails_clearly_and_keeps_the_datasets(corpus, tmp_path, error, message):
    out = tmp_path / "out"
    shutil.copytree(corpus["template"], out, symlinks=True)
    before = current_snapshot(out).root.name
    spec = f"parquet.written@/_state/files/:1:{error}"
    result = _run(corpus["raw"], out, {**corpus["env"], "NEWSFLOW_FAILPOINT": spec})
    assert result.returncode == 1
    assert f"newsflow: run failed: {message}" in result.stderr and "_state/files" in result.stderr
    assert f"datasets in {out} are unchanged (snapshot {before})" in result.stderr
    assert current_snapshot(out).root.name == before and datasets(out) == corpus["after_one"]
    assert len(list((out / STATE_DIR / "snapshots").iterdir())) == 2  # the half-built one is gone
    _recover(corpus["raw"], out)
    assert datasets(out) == corpus["after_two"]


def test_a_write_error_on_the_carry_over_thread_fails_the_run_clearly(corpus, tmp_path):
    """Unchanged parts are carried into the new snapshot on a thread of their own while the later stages run: an
    error there fails the run like one in the flow's own thread, and the datasets stay as they were."""
    out = tmp_path / "out"
    shutil.copytree(corpus["template"], out, symlinks=True)
    before = current_snapshot(out).root.name
    result = _run(corpus["raw"], out, {**corpus["env"], "NEWSFLOW_FAILPOINT": "carry_over.linked:2:enospc"})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "newsflow: run failed: No space left on device" in result.stderr
    assert f"datasets in {out} are unchanged (snapshot {before})" in result.stderr
    assert current_snapshot(out).root.name == before and datasets(out) == corpus["after_one"]
    assert len(list((out / STATE_DIR / "snapshots").iterdir())) == 2  # the half-built one is gone
    _recover(corpus["raw"], out)
    assert datasets(out) == corpus["after_two"]


def test_a_real_write_error_from_the_kernel_fails_clearly(corpus, tmp_path):
    """RLIMIT_FSIZE makes the kernel refuse to grow any file past 8 KiB (EFBIG), like a full quota."""
    out = tmp_path / "out"
    shutil.copytree(corpus["template"], out, symlinks=True)

    limited = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192)); "
               "sys.argv[0] = 'newsflow'; runpy.run_module('flows.cli', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", limited, "run", "--raw", str(corpus["raw"]), "--out", str(out),
                             "--workers", "1"], cwd=REPO, env=corpus["env"], capture_output=True, text=True, timeout=120)
    stderr = result.stderr
    assert result.returncode == 1, stderr[-2000:]
    failure = next(line for line in stderr.splitlines() if line.startswith("newsflow: run failed"))
    assert "File too large" in failure and "are unchanged" in stderr, stderr[-3000:]
    assert datasets(out) == corpus["after_one"]
    _recover(corpus["raw"], out)
    assert datasets(out) == corpus["after_two"]
