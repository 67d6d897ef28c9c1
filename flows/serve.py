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

from flows.defaults import DEFAULT_DEPLOYMENT


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
        self.proc = subprocess.Popen(
            cmd + ["server", "start", "--host", "127.0.0.1", "--port", str(self.port), "--no-ui", "--analytics-off",
                   "--log-level", "WARNING"],
            stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the local Prefect server exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as r:
                    if r.status == 200:
                        return self.api_url
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the local Prefect server did not answer within {self.timeout_s:g} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def deployment_parameters(raw: str, warehouse: str, batch_size: int, max_file_mb: float,
                          allow_outside_raw: bool) -> dict:
    """Absolute paths: the flow runs in a subprocess of the runner, wherever that may start it."""
    return {"raw_dir": str(Path(raw).absolute()), "warehouse": str(Path(warehouse).absolute()),
            "batch_size": batch_size, "max_file_mb": max_file_mb, "allow_outside_raw": allow_outside_raw,
            "project_dir": str(Path.cwd())}


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


def _options(cron: str, parameters: dict, name: str, timezone: str | None = None) -> dict:
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    return dict(name=name, schedule=Cron(cron, timezone=timezone or local_timezone()), parameters=parameters,
                entrypoint_type=EntrypointType.MODULE_PATH,
                description="fengong: load new and changed notices from raw/ into the warehouse")


def build_deployment(cron: str, parameters: dict, name: str = DEFAULT_DEPLOYMENT, timezone: str | None = None):
    """The deployment `fengong serve` registers: the ingest flow on `cron` in `timezone` (default: the
    machine's), for inspection and tests."""
    from flows.pipeline import ingest

    return ingest.to_deployment(**_options(cron, parameters, name, timezone))


def serve(cron: str, parameters: dict, name: str = DEFAULT_DEPLOYMENT, progress=print,
          timezone: str | None = None) -> None:
    """Register the deployment and poll for its scheduled runs until stopped (SIGINT/SIGTERM)."""
    timezone = timezone or local_timezone()
    check_cron(cron, timezone)
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        progress("fengong: starting a local Prefect server with a scheduler (the ephemeral API has none) …")
        server = LocalPrefectServer()
        os.environ["PREFECT_API_URL"] = server.start()  # inherited by the flow-run subprocesses
        progress(f"fengong: Prefect API at {os.environ['PREFECT_API_URL']}")

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # A project folder has a warehouse/ data folder, and a `python -m` child started there would import it
    # as a namespace package before the editable install's finder is asked; the package root goes first.
    package_root = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.pipeline import ingest

        progress(f"fengong: serving deployment fengong-ingest/{name} on cron '{cron}' ({timezone} time) "
                 f"(raw {parameters['raw_dir']}, warehouse {parameters['warehouse']})")
        # prefect read its settings when it was imported, maybe before the server's address was known.
        # flow.serve runs each flow run in a spawned process from the flow object itself.
        with temporary_settings({PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
            ingest.serve(**_options(cron, parameters, name, timezone), limit=1, pause_on_shutdown=False)
    except KeyboardInterrupt:
        progress("fengong: serve stopped")
    finally:
        if server:
            server.stop()
