"""How `fengong run` and `fengong serve` stop: on SIGINT (Ctrl-C) or SIGTERM, within seconds, with one
line and exit status 128 + the signal (130, 143), and with no process left behind.

* Signals. `stop_on_signals` turns the first SIGINT or SIGTERM into `Stopped`, raised in the main
  thread wherever it is (Prefect starting, parsing, loading, publishing). The warehouse needs nothing
  more: a run works on a staging copy that `write_transaction` discards on any exception, and
  publishes it with one os.replace, so the file is either as it was or as the run published it. Later
  signals are not raised again (they would interrupt the clean-up); a watchdog ends the process if
  stopping takes longer than `grace_s`, which is as safe as SIGKILL is.
* Child servers. Prefect's ephemeral API (`prefect.server.api.server.SubprocessASGIServer`, a
  `uvicorn … prefect.server.api.server:create_app` child) and serve's `prefect server start` are
  started (1) in a session of their own, so Ctrl-C in the terminal (SIGINT to the foreground process
  group) does not kill the API while the run still reports to it; fengong stops them itself, last; and
  (2) with PR_SET_PDEATHSIG = SIGTERM, so the kernel stops them when fengong dies, even by SIGKILL.
  The death signal is sent when the *thread* that started the child ends, so they are started from
  the main thread (`start_ephemeral_server`), before Prefect would start one lazily from another.
  The ephemeral server's own output goes to $PREFECT_HOME/fengong-run-server.log.
* Process-pool workers (`--runner process`) ignore Ctrl-C, are killed by the run at the signal, and exit
  by themselves when their parent is gone (`pool_worker`, the pool's initializer in flows/pipeline.task_runner).
* Expected failures (a warehouse that cannot be written, a full disk) are told by the CLI in one line;
  Prefect's ERROR records of them are kept off the terminal (`quiet_expected_failures`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

PR_SET_PDEATHSIG = 1
SIGNAL_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class Stopped(BaseException):
    """A SIGINT or SIGTERM asked fengong to stop. BaseException, like KeyboardInterrupt: no `except
    Exception` on the way may take it for an error of the work it interrupted."""

    def __init__(self, signum: int):
        super().__init__(SIGNAL_NAMES.get(signum, f"signal {signum}"))
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return None


_PRCTL = _libc_prctl()  # looked up here, not in the forked child


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A Popen preexec_fn: the child gets `sig` when this process (the thread that forks it) dies.
    None where the platform has no such thing."""
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the guard was set
            os._exit(1)

    return preexec


def guarded_popen_kwargs() -> dict:
    """Popen options for a child server that fengong stops itself and that dies with fengong."""
    kwargs: dict = {"start_new_session": True}
    preexec = die_with_parent()
    if preexec:
        kwargs["preexec_fn"] = preexec
    return kwargs


def _guarded_server_class():
    from prefect.server.api.server import SubprocessASGIServer

    class GuardedEphemeralServer(SubprocessASGIServer):
        """Prefect's ephemeral API server, the same command (prefect 3.8's `_run_uvicorn_command`), started
        in its own session and with a parent-death signal (see the module docstring)."""

        def _run_uvicorn_command(self) -> subprocess.Popen:
            import prefect
            from prefect.settings import get_current_settings

            server_env = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
            # its own errors (a traceback as it dies with a killed run) go to a file, not to the terminal
            home = Path(os.environ.get("PREFECT_HOME") or ".prefect")
            home.mkdir(parents=True, exist_ok=True)
            with open(home / "fengong-run-server.log", "ab") as log:
                return subprocess.Popen(
                    args=[sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                          "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                          "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
                    env={**os.environ, **server_env,
                         **get_current_settings().to_environment_variables(exclude_unset=True)},
                    stdout=subprocess.DEVNULL, stderr=log, **guarded_popen_kwargs())

    return GuardedEphemeralServer


class _SignalCrashes(logging.Filter):
    """Drops Prefect's "Crash detected! Execution was aborted by a termination signal / an interrupt
    signal" line: a stop by signal is told in fengong's one line (the flow run is still marked Crashed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Crash detected! Execution was aborted by a")
                    or message.startswith("Finished in state Crashed('Execution was aborted by a"))


def quiet_signal_crashes() -> None:
    """Prefect installs its own SIGTERM handler while a flow runs (it chains to fengong's afterwards), and
    logs the crash before fengong hears of the signal, for the flow run and for the task run it
    interrupted: those lines are dropped here."""
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _SignalCrashes) for f in logger.filters):
            logger.addFilter(_SignalCrashes())


class _ExpectedFailures(logging.Filter):
    """Drops a log record about a failure fengong expects and tells in one line: one that carries the
    exception, or a run's "Finished in state Failed(…)" line, which names it only in its text."""

    def __init__(self, expected: Callable[[BaseException], object], expected_state: Callable[[str], object]):
        super().__init__()
        self.expected, self.expected_state = expected, expected_state

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            return not self.expected(record.exc_info[1])
        message = record.getMessage()
        return not (message.startswith("Finished in state Failed(") and self.expected_state(message))


def quiet_expected_failures(expected: Callable[[BaseException], object],
                            expected_state: Callable[[str], object]) -> None:
    """Prefect logs a failed task run's and flow run's end at ERROR ("Finished in state Failed('Task run
    encountered an exception WarehouseError: …')"), and the flow run's exception with its traceback (two,
    chained, for an error raised `from` another), before the flow call re-raises it. For the failures
    fengong expects (a warehouse that cannot be written, a full disk, a refused --raw: `expected` for an
    exception, `expected_state` for the text of a Failed state) the command prints one line that says
    what to do: their records are dropped from the terminal's handlers only, so the run's log in the
    Prefect API keeps them, traceback and all (`fengong run --debug` prints them too)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _ExpectedFailures) for f in handler.filters):
            handler.addFilter(_ExpectedFailures(expected, expected_state))


def start_ephemeral_server():
    """Start Prefect's ephemeral API server now, from the main thread, guarded; None when Prefect will
    not use one (PREFECT_API_URL is set, or the ephemeral server is disabled). Prefect's client asks
    `SubprocessASGIServer()` for the process's server and gets this one (prefect_test_harness installs
    its server the same way)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL") or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    current = SubprocessASGIServer._instances.get(None)
    if current is not None and current.running:
        return current
    cls = _guarded_server_class()
    SubprocessASGIServer._instances.pop(None, None)
    server = cls()  # registers itself as the instance for port None
    server.start()
    return server


def stop_ephemeral_server(grace_s: float = 3.0) -> None:
    """Stop this process's ephemeral Prefect server, if one runs: SIGTERM, SIGKILL after `grace_s`."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer._instances.get(None)
    if server is not None:
        stop_process(server.server_process, grace_s)
        server.stop()  # Prefect's own bookkeeping; the process is gone


def stop_process(proc: subprocess.Popen | None, grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; reaped either way."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def quiet_resource_tracker() -> None:
    """multiprocessing's resource tracker (a process the pool starts, reading this environment) removes
    the pool's semaphores when the workers were stopped by a signal, and warns that it does so."""
    quiet = "ignore:resource_tracker:UserWarning"
    if quiet not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, (os.environ.get("PYTHONWARNINGS"), quiet)))


def pool_worker(poll_s: float = 0.2) -> None:
    """In a parse worker of the process pool. Ctrl-C reaches the whole foreground process group: the
    worker ignores it (it would print a KeyboardInterrupt traceback, sent back and printed again by the
    parent), and the parent, which stops on it, ends the workers (`stop_workers`). If the parent dies
    without doing so (SIGKILL), the worker sees its parent change and exits: a pool worker is started
    by whichever thread submits first, so the parent-death signal, sent when that thread ends, would
    not do."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="fengong-parent-watch", daemon=True).start()


def stop_workers() -> None:
    """End this process's multiprocessing children (the process pool's parse workers) with SIGKILL: they
    hold nothing but a batch being parsed, whose result nobody will read, and Prefect's SIGTERM handler
    in them would let a batch finish first."""
    import multiprocessing

    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join(2.0)


class SignalStop:
    """The state of `stop_on_signals`: which signal came, and whether to raise it (armed) or only note it."""

    def __init__(self, grace_s: float, on_timeout: Callable[[int], None]):
        self.signum: int | None = None
        self.armed = True
        self.grace_s = grace_s
        self.on_timeout = on_timeout

    def handler(self, signum, frame) -> None:
        if self.signum is not None:
            return  # already stopping: let the clean-up finish (the watchdog bounds it)
        self.signum = signum
        # Prefect logs the interrupted flow run as a crash (and a traceback); the one line is fengong's
        logging.disable(logging.CRITICAL)
        threading.Thread(target=self._watchdog, name="fengong-stop-watchdog", daemon=True).start()
        # parse workers of a process pool first: unwinding the flow would wait for their batches
        stop_workers()
        if self.armed:
            raise Stopped(signum)

    def _watchdog(self) -> None:
        time.sleep(self.grace_s)
        self.on_timeout(self.signum)


@contextlib.contextmanager
def stop_on_signals(grace_s: float = 8.0, on_timeout: Callable[[int], None] | None = None) -> Iterator[SignalStop]:
    """SIGINT and SIGTERM raise `Stopped` in the main thread while the block runs; after it, they are only
    noted (`state.signum`). If stopping takes longer than `grace_s` after the signal, `on_timeout(signum)`
    runs in a watchdog thread (default: exit at once with 128 + signum)."""
    state = SignalStop(grace_s, on_timeout or (lambda signum: os._exit(128 + signum)))
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, state.handler)
    try:
        yield state
    finally:
        # the handlers stay, noting and not raising, until the process ends: a signal now must not
        # turn into a KeyboardInterrupt traceback in the middle of the clean-up
        state.armed = False


def file_identity(path: str | Path) -> tuple | None:
    """(device, inode, size, mtime) of a file, None when absent: os.replace gives the published warehouse
    a new inode, so a change tells that a run published."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def stopped_line(signum: int, published: bool) -> str:
    what = "as this run published it" if published else "as it was before this run"
    return f"fengong: stopped by {SIGNAL_NAMES.get(signum, signum)}; the warehouse is {what}"


def exit_now(code: int) -> None:
    """Leave at once after the clean-up: flush what was printed, skip interpreter shutdown (it would
    wait for the parse threads' queued batches and Prefect's log and event workers)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def as_a_deployment_run() -> None:
    """In a flow-run process that `fengong serve` (or a Prefect worker) started, from the flow's body: its
    starter stops it, with SIGTERM, so Ctrl-C in the terminal (SIGINT to the whole group) is left to the
    starter; and it dies with its starter, even one killed with SIGKILL."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the starter's SIGTERM ends the process at once, as SIGKILL would and as safely (the staging copy is
    # never published; the next run deletes it): Prefect's own handling of it in the middle of a task
    # prints tracebacks (a task crash while its run is not set yet)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    quiet_signal_crashes()
    starter = os.getppid()
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != starter:  # the starter died before the guard was set
            os._exit(1)
