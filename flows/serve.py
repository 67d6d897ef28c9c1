"""`fengong serve`: a long-running Prefect deployment of the ingest flow on a cron schedule.

Prefect's ephemeral API (what `fengong run` uses) does not run the scheduler service: `flow.serve`
on it registers the deployment and then never gets a scheduled run ("Cannot schedule flows on an
ephemeral server"). So, unless PREFECT_API_URL points at a Prefect server already, serve starts a
local one (`prefect server start`, 127.0.0.1, a free port, no UI, same PREFECT_HOME) as its child
and stops it when it stops. Kill the process group to stop both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flows.defaults import DEFAULT_DEPLOYMENT, DEFAULT_LINKS_BUDGET_S
from flows.lifecycle import SIGNAL_NAMES, guarded_popen_kwargs, quiet_signal_crashes, stop_process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPrefectServer:
    """A Prefect server with its services (the scheduler among them) for the life of `fengong serve`."""

    def __init__(self, timeout_s: float | None = None):
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.timeout_s = timeout_s or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 120))
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        prefect = Path(sys.executable).parent / "prefect"
        cmd = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
        # its own session, so Ctrl-C in the terminal does not stop it while runs still report to it, and a
        # parent-death signal, so it does not outlive serve killed with SIGKILL (flows/lifecycle.py)
        # Its log (errors of its own, with tracebacks) goes to a file, not to the operator's terminal.
        home = Path(os.environ.get("PREFECT_HOME") or ".prefect")
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "fengong-serve-server.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd + ["server", "start", "--host", "127.0.0.1", "--port", str(self.port), "--no-ui",
                       "--analytics-off", "--log-level", "WARNING"],
                stdout=subprocess.DEVNULL, stderr=log, **guarded_popen_kwargs())
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the local Prefect server exited with code {self.proc.returncode} (see {self.log})")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as r:
                    if r.status == 200:
                        return self.api_url
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the local Prefect server did not answer within {self.timeout_s:g} s (see {self.log})")

    def stop(self) -> None:
        stop_process(self.proc, grace_s=5)
        self.proc = None


def deployment_parameters(raw: str, warehouse: str, batch_size: int, max_file_mb: float,
                          allow_outside_raw: bool, links_budget_s: float | None = DEFAULT_LINKS_BUDGET_S) -> dict:
    """Absolute paths: the flow runs in a subprocess of the runner, wherever that may start it."""
    return {"raw_dir": str(Path(raw).absolute()), "warehouse": str(Path(warehouse).absolute()),
            "batch_size": batch_size, "max_file_mb": max_file_mb, "allow_outside_raw": allow_outside_raw,
            "project_dir": str(Path.cwd()), "links_budget_s": links_budget_s}


def local_timezone() -> str:
    """The machine's time zone as an IANA name (TZ, else /etc/localtime), what a cron is read in by
    default; UTC when it cannot be told."""
    try:
        import tzlocal

        return tzlocal.get_localzone_name() or "UTC"
    except Exception:  # no tzlocal, or a zone it cannot name
        return "UTC"


def check_cron(cron: str, timezone: str | None = None) -> None:
    """Raise ValueError when `cron` is not a cron expression Prefect accepts, or `timezone` not a zone."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValidationError as e:
        raise ValueError("; ".join(err["msg"].removeprefix("Value error, ") for err in e.errors())) from None


def _options(cron: str, parameters: dict, name: str, timezone: str | None = None, every: float | None = None) -> dict:
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron, Interval

    schedule = Interval(every) if every else Cron(cron, timezone=timezone or local_timezone())
    return dict(name=name, schedule=schedule, parameters=parameters,
                entrypoint_type=EntrypointType.MODULE_PATH,
                description="fengong: load new and changed notices from raw/ into the warehouse")


def build_deployment(cron: str, parameters: dict, name: str = DEFAULT_DEPLOYMENT, timezone: str | None = None,
                     every: float | None = None):
    """The deployment `fengong serve` registers: the ingest flow on `cron` in `timezone` (default: the
    machine's), or every `every` seconds, for inspection and tests."""
    from flows.pipeline import ingest

    return ingest.to_deployment(**_options(cron, parameters, name, timezone, every))


def collapse_missed_runs(deployment_id, now=None) -> int:
    """Runs the schedule created for times when serve was down are cancelled but the latest, which runs at
    once: one catch-up run, not a burst. (Prefect deletes only *future* scheduled runs when serve
    registers the deployment again; the past-due ones would all run, one after the other. A run loads
    everything new in raw/, so one is enough.) Returns how many were cancelled."""
    import datetime as dt

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                                FlowRunFilterExpectedStartTime, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.states import Cancelled

    now = now or dt.datetime.now(dt.timezone.utc)
    with get_client(sync_client=True) as client:
        missed = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                                          expected_start_time=FlowRunFilterExpectedStartTime(before_=now)),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC)
        for run in missed[1:]:
            client.set_flow_run_state(run.id, Cancelled(message="missed while fengong serve was down; "
                                                                "the latest missed run catches up"), force=True)
    return max(len(missed) - 1, 0)


def serve(cron: str, parameters: dict, name: str = DEFAULT_DEPLOYMENT, progress=print,
          timezone: str | None = None, every: float | None = None) -> int:
    """Register the deployment and run its scheduled runs, one at a time, until SIGINT or SIGTERM; then
    stop the runs in progress (their staging copies are discarded) and the local server. Returns the
    exit status: 128 + the signal. `every` (seconds) replaces the cron by a fixed interval."""
    import asyncio

    timezone = timezone or local_timezone()
    check_cron(cron, timezone)
    # A project folder has a warehouse/ data folder, and a `python -m` child started there would import it
    # as a namespace package before the editable install's finder is asked; the package root goes first.
    package_root = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])
    got: list[int] = []

    def note(signum, frame):  # until the runner's loop takes over the signals
        got.append(signum)

    for s in SIGNAL_NAMES:
        signal.signal(s, note)
    server = None
    try:
        if not os.environ.get("PREFECT_API_URL"):
            progress("fengong: starting a local Prefect server with a scheduler (the ephemeral API has none) …")
            server = LocalPrefectServer()
            os.environ["PREFECT_API_URL"] = server.start()  # inherited by the flow-run subprocesses
            progress(f"fengong: Prefect API at {os.environ['PREFECT_API_URL']}")
        if not got:
            from prefect.runner import Runner
            from prefect.settings import PREFECT_API_URL, temporary_settings

            from flows.pipeline import ingest

            # prefect read its settings when it was imported, maybe before the server's address was known.
            with temporary_settings({PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
                quiet_signal_crashes()
                runner = Runner(name=name, pause_on_shutdown=False, limit=1)
                deployment_id = runner.add_flow(ingest, **_options(cron, parameters, name, timezone, every))
                cancelled = collapse_missed_runs(deployment_id)
                if cancelled:
                    progress(f"fengong: {cancelled + 1} scheduled run(s) were missed while serve was down; "
                             f"one catches up now, {cancelled} cancelled")
                when = f"every {every:g} s" if every else f"on cron '{cron}' ({timezone} time)"
                progress(f"fengong: serving deployment fengong-ingest/{name} {when} "
                         f"(raw {parameters['raw_dir']}, warehouse {parameters['warehouse']})")
                if not got:
                    asyncio.run(_run_until_signal(runner, got))
    finally:
        if server:
            server.stop()
    signum = got[0] if got else signal.SIGTERM
    print(f"fengong: serve stopped by {SIGNAL_NAMES[signum]}", file=sys.stderr, flush=True)
    return 128 + signum


async def _run_until_signal(runner, got: list[int], grace_s: float = 10.0) -> None:
    """Run the runner until SIGINT or SIGTERM (the runner's own SIGTERM handler exits 0 with a warning: it
    is replaced), then stop it: it kills the flow run in progress, whose staging copy is discarded."""
    import asyncio
    import contextlib

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(runner.start())
    await asyncio.sleep(0)  # runner.start() has set its SIGTERM handler; these replace it
    stop = asyncio.Event()
    for s in SIGNAL_NAMES:
        loop.add_signal_handler(s, lambda s=s: (got.append(s), stop.set()))
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # the runner failed: its exception
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runner.astop(), grace_s)
    task.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(task, grace_s)
