"""The whole pipeline, as one Prefect flow: raw/ -> parse -> normalise units -> validate -> DuckDB.

    lock, staging copy ─▶ hash raw/ files, plan (only new or changed files)
      ─▶ per batch: read ─▶ parse + resolve units + pandera ─▶ load (one writer)
                                   └──▶ quarantine (bad input, with the reason)
      ─▶ retire names gone from raw/, functions table, run log ─▶ publish (os.replace) ─▶ review file

Tasks are coarse (one per batch of documents), never per line. Reading is retried on I/O
errors; parse errors are not retried, they go to quarantine. The run itself (incremental
plan, lock, staging, retire) is plain Python in flows/ops.py; this module adds Prefect. Parse
tasks run on the flow's task runner (`task_runner`: threads, a process pool, or Dask), a few
batches ahead of the loader; loading stays in this process, in batch order: DuckDB has one writer.
"""

from __future__ import annotations

import ctypes
import gc
import os
from collections import deque
from functools import partial
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from flows import ops, steps
from flows.lifecycle import as_a_deployment_run
from flows.ops import RunSummary, functions_frame  # noqa: F401  (used by tests and callers)


def _io_error(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), OSError)


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=_io_error, cache_policy=NO_CACHE)
def read_batch(paths: list[Path], raw_dir: Path) -> list[steps.SourceFile]:
    return steps.read_files(paths, raw_dir)


@task(cache_policy=NO_CACHE)
def parse_batch(files: list[steps.SourceFile], reviewed) -> steps.BatchResult:
    return steps.parse_and_validate(files, reviewed)


RUNNERS = ("thread", "process", "dask")


def task_runner(name: str = "thread", workers: int | None = None, address: str | None = None):
    """The task runner for parse tasks: `thread` (this process), `process` (a pool of `workers`
    processes, default one per core) or `dask` (a local cluster of `workers` processes, or the
    scheduler at `address`, default $FENGONG_DASK_ADDRESS)."""
    if name == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if not address and not os.environ.get("FENGONG_DASK_ADDRESS"):
        _share_ephemeral_api()
    if name == "process":
        return ProcessPoolTaskRunner(max_workers=workers or os.cpu_count())
    if name == "dask":
        from prefect_dask import DaskTaskRunner

        address = address or os.environ.get("FENGONG_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers or os.cpu_count(), "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    raise ValueError(f"unknown task runner {name!r}: use one of {', '.join(RUNNERS)}")


def _share_ephemeral_api() -> None:
    """Worker processes must report to this run's Prefect API. With no PREFECT_API_URL each pool or
    local Dask worker would start an ephemeral server of its own (seconds, 0.2 GB each, and the task
    runs recorded where nobody looks), so start this process's one now and hand its address down."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL") or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the process's singleton: the flow's client uses the same one
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url


def _trim() -> None:
    """Give the C heap's free pages back to the system (glibc keeps them for reuse: with batches of
    a few hundred MB passing through, the flow process held them as if in use)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def parse_ahead(path_batches: list[list[Path]], raw: Path, reviewed, ahead: int = 4):
    """Read each batch here and parse it on the task runner, up to `ahead` batches in flight;
    yields (files, parse result) in batch order, as flows/ops.py's loader expects.

    Once the caller has taken a batch, its files and documents are dropped, and the garbage is
    collected: Prefect's finished futures sit in reference cycles (future -> done callback ->
    future) that only a full collection frees, and with a process pool each one holds the pickled
    result, ~25 MB a batch. Python's own full collections are too rare for that (bytes do not
    count towards them): the flow process grew by ~0.2 GB per 1,000 notices. A full collection of
    everything costs ~0.3 s, so what exists before the first batch (modules, Prefect, the plan) is
    frozen out of it (gc.freeze) and each one takes a few ms."""
    pending: deque = deque()

    def take():
        files, future = pending.popleft()
        result = future.result()
        yield files, result
        files.clear()
        result.parsed.clear()
        del future, result
        gc.collect()
        _trim()

    gc.collect()
    gc.freeze()
    try:
        for paths in path_batches:
            files = read_batch(paths, raw)
            pending.append((files, parse_batch.submit(files, reviewed)))
            if len(pending) > ahead:
                yield from take()
        while pending:
            yield from take()
    finally:
        gc.unfreeze()


def _trigger() -> tuple[str, str | None]:
    """Who started this flow run: a deployment (the schedule of `fengong serve`) or a person."""
    from prefect.runtime import deployment, flow_run

    run_id = str(flow_run.id) if flow_run.id else None
    return (f"deployment {deployment.name}" if deployment.id else "manual"), run_id


@flow(name="fengong-ingest", log_prints=False)
def ingest(raw_dir: str = "raw", warehouse: str = ops.DEFAULT_WAREHOUSE, batch_size: int = 100,
           review_file: str | None = None, force: bool = False, allow_outside_raw: bool = False,
           max_file_mb: float = ops.DEFAULT_MAX_FILE_MB, lock_wait_s: float = ops.DEFAULT_LOCK_WAIT_S,
           project_dir: str | None = None, batches_ahead: int = 4) -> dict:
    """Process the new and changed notices in raw_dir into the warehouse (see flows/ops.py)."""
    triggered_by, flow_run_id = _trigger()
    if triggered_by != "manual":
        as_a_deployment_run()
    return ops.run_ingest(raw_dir=raw_dir, warehouse=warehouse, batch_size=batch_size, review_file=review_file,
                          force=force, allow_outside_raw=allow_outside_raw, max_file_mb=max_file_mb,
                          lock_wait_s=lock_wait_s, project_dir=project_dir,
                          parsed_batches=partial(parse_ahead, ahead=batches_ahead),
                          triggered_by=triggered_by, flow_run_id=flow_run_id)
