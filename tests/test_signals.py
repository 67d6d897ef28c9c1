"""`fengong run` and `fengong serve` stopped by an operator: Ctrl-C (SIGINT to the process group),
SIGINT or SIGTERM to the pid, SIGKILL. Each test starts the command as a subprocess in a process group
of its own, on generated notices, and checks the exit status, the time it took to stop, the one line on
stderr, the warehouse, and that no Prefect server (`uvicorn … prefect.server.api.server`,
`prefect server start`) of this test session is left running."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from conftest import RAW, SEEDS
from test_cli import fengong_cmd

NOTICES = 200  # ~10 s of parsing: long enough to signal in the middle of it


def generated_raw(work: Path, n: int = NOTICES) -> Path:
    """n notices, each a seed with a line of its own (distinct content, so each is parsed and loaded)."""
    raw = work / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    text = (RAW / SEEDS[1]).read_text(encoding="utf-8")
    for i in range(n):
        (raw / f"n{i:03d}.txt").write_text(f"{text}\n(第{i}号)\n", encoding="utf-8")
    return raw


def existing_warehouse(work: Path) -> Path:
    """A warehouse published before the run under test (by the flow, in this process)."""
    from conftest import run_flow

    seed = work / "seed_raw"
    seed.mkdir()
    shutil.copy(RAW / SEEDS[0], seed / SEEDS[0])
    warehouse = work / "warehouse" / "fengong.duckdb"
    run_flow(raw_dir=str(seed), warehouse=str(warehouse), allow_outside_raw=True, project_dir=str(work))
    return warehouse


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def prefect_processes(prefect_home: Path) -> list[psutil.Process]:
    """Live processes whose command line names prefect or uvicorn and whose PREFECT_HOME is this session's."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["status"] == psutil.STATUS_ZOMBIE or not ("prefect" in cmd or "uvicorn" in cmd):
                continue
            if p.environ().get("PREFECT_HOME") == str(prefect_home):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def start(args: list[str], work: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(fengong_cmd() + args, cwd=work, env=dict(env, PYTHONUNBUFFERED="1"), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 180) -> list[str]:
    """Read stdout until a line holds `needle` (the process is then at that point of its work)."""
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if needle in line:
            return seen
        assert time.monotonic() < deadline, "".join(seen)
    raise AssertionError(f"{needle!r} never came; exit {proc.wait()}: {''.join(seen)}{proc.stderr.read()}")


def gone_within(procs: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    _, alive = psutil.wait_procs(procs, timeout=seconds)
    return alive


def send_and_wait(proc: subprocess.Popen, send, signum: int) -> tuple[str, float]:
    """Send the signal; return (stderr, seconds from the signal to the exit). The group is killed if it hangs."""
    t0 = time.monotonic()
    send(proc.pid, signum)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return err, time.monotonic() - t0


def stop_and_check(proc: subprocess.Popen, send, signum: int, prefect_home: Path) -> tuple[str, float]:
    """Send the signal, wait for the exit; return (stderr, seconds from the signal to the exit). Asserts
    that every process the command had started is gone then."""
    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("uvicorn" in " ".join(c.cmdline()) for c in children), "no Prefect server was running"
    err, elapsed = send_and_wait(proc, send, signum)
    assert gone_within(children, 2) == []
    assert prefect_processes(prefect_home) == []
    return err, elapsed


@pytest.mark.parametrize("runner", ["thread", "process"])
def test_ctrl_c_stops_a_run_while_it_parses_and_leaves_no_warehouse_and_no_process(runner, tmp_path, cli_env,
                                                                                    prefect_home):
    """With --runner process, Ctrl-C reached the pool's workers too: each printed a KeyboardInterrupt
    traceback (sent back and printed again by the run, 172 lines), and the workers and multiprocessing's
    resource tracker lived on after the run exited. The workers ignore SIGINT now; the run ends them."""
    generated_raw(tmp_path)
    proc = start(["run", "--batch-size", "20", "--runner", runner], tmp_path, cli_env)
    wait_for_line(proc, "files to parse:")  # the first batch is loaded, the others are being parsed
    if runner == "process":
        assert sum("multiprocessing" in " ".join(c.cmdline()) for c in psutil.Process(proc.pid).children()) >= 2
    err, elapsed = stop_and_check(proc, os.killpg, signal.SIGINT, prefect_home)
    assert proc.returncode == 130, err
    assert err == "fengong: stopped by SIGINT; the warehouse is as it was before this run\n"
    assert elapsed < 10
    assert sorted(p.name for p in (tmp_path / "warehouse").iterdir()) == ["fengong.duckdb.lock"]  # none published


def test_sigterm_stops_a_run_and_the_warehouse_is_as_it_was(tmp_path, cli_env, prefect_home):
    warehouse = existing_warehouse(tmp_path)
    before = digest(warehouse)
    generated_raw(tmp_path)
    proc = start(["run", "--batch-size", "20"], tmp_path, cli_env)
    wait_for_line(proc, "files to parse:")
    err, elapsed = stop_and_check(proc, os.kill, signal.SIGTERM, prefect_home)
    assert proc.returncode == 143, err
    assert err == "fengong: stopped by SIGTERM; the warehouse is as it was before this run\n"
    assert elapsed < 10
    assert digest(warehouse) == before
    assert not warehouse.with_name("fengong.duckdb.staging").exists()


def test_sigint_to_the_pid_while_prefect_starts_stops_the_run(tmp_path, cli_env, prefect_home):
    """The moment before any work: Prefect's server is starting (or has just started)."""
    (tmp_path / "raw").mkdir()
    shutil.copy(RAW / SEEDS[1], tmp_path / "raw" / SEEDS[1])
    proc = start(["run"], tmp_path, cli_env)
    wait_for_line(proc, "starting Prefect")
    deadline = time.monotonic() + 30
    while not any("uvicorn" in " ".join(c.cmdline()) for c in psutil.Process(proc.pid).children(recursive=True)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    err, elapsed = stop_and_check(proc, os.kill, signal.SIGINT, prefect_home)
    assert proc.returncode == 130, err
    assert err == "fengong: stopped by SIGINT; the warehouse is as it was before this run\n"
    assert elapsed < 10


@pytest.mark.parametrize("runner", ["thread", pytest.param("process", marks=pytest.mark.skipif(
    not os.environ.get("FENGONG_SLOW_TESTS"), reason="~30 s with a spawned process pool, the same server guard as "
                                                     "[thread]; set FENGONG_SLOW_TESTS=1 to run it"))])
def test_a_run_killed_with_sigkill_mid_load_leaves_no_process(runner, tmp_path, cli_env, prefect_home):
    """SIGKILL cannot be caught: the Prefect server (`uvicorn … prefect.server.api.server`, ~230 MB, one
    leaked per killed run) dies with its parent (PR_SET_PDEATHSIG), the process pool's workers see their
    parent gone and exit, and multiprocessing's resource tracker follows them; none of them writes to the
    terminal on the way (the server's log is $PREFECT_HOME/fengong-run-server.log)."""
    generated_raw(tmp_path, 60)
    proc = start(["run", "--batch-size", "20", "--runner", runner], tmp_path, cli_env)
    wait_for_line(proc, "files to parse:")  # a batch loaded, the next being parsed and loaded
    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("uvicorn" in " ".join(c.cmdline()) for c in children)
    proc.kill()
    _, err = proc.communicate(timeout=30)  # returns once no process holds its pipes any more
    assert err == ""
    assert gone_within(children, 5) == []
    assert prefect_processes(prefect_home) == []


@pytest.mark.parametrize("send, signum, code", [(os.killpg, signal.SIGINT, 130), (os.kill, signal.SIGTERM, 143)],
                         ids=["ctrl-c", "sigterm-to-pid"])
def test_a_signal_stops_serve_and_the_scheduled_run_it_started(send, signum, code, tmp_path, cli_env, prefect_home):
    """serve every 5 s; once its scheduled run is parsing, the signal: serve, the flow run and the local
    Prefect server are gone within 15 s, one line, and the run published nothing."""
    generated_raw(tmp_path)
    proc = start(["serve", "--every", "5", "--batch-size", "20"], tmp_path, cli_env)
    wait_for_line(proc, "files to parse:", timeout=240)  # printed by the flow-run process
    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("prefect server start" in " ".join(c.cmdline()) for c in children)
    err, elapsed = send_and_wait(proc, send, signum)
    assert elapsed < 15
    assert proc.returncode == code, err
    assert err == f"fengong: serve stopped by {signal.Signals(signum).name}\n"
    assert gone_within(children, 2) == []
    assert prefect_processes(prefect_home) == []
    # nothing published (a flow run ended by serve's SIGTERM may leave its staging copy: the next run deletes it)
    assert not (tmp_path / "warehouse" / "fengong.duckdb").exists()


def test_serve_killed_with_sigkill_leaves_no_prefect_server_and_no_flow_run(tmp_path, cli_env, prefect_home):
    """kill -9 cannot be caught: serve's Prefect server and its flow-run process die with it (PR_SET_PDEATHSIG)."""
    generated_raw(tmp_path)
    proc = start(["serve", "--every", "5", "--batch-size", "20"], tmp_path, cli_env)
    wait_for_line(proc, "files to parse:", timeout=240)  # a scheduled run is loading
    children = psutil.Process(proc.pid).children(recursive=True)
    assert any("prefect server start" in " ".join(c.cmdline()) for c in children)
    proc.kill()
    proc.communicate(timeout=30)
    assert gone_within(children, 10) == []
    assert prefect_processes(prefect_home) == []
    assert not (tmp_path / "warehouse" / "fengong.duckdb").exists()  # the killed run published nothing
