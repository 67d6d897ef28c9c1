"""The whole pipeline, as one Prefect flow: raw/ -> parse -> normalise units -> validate -> DuckDB.

    lock, staging copy ─▶ hash raw/ files, plan (only new or changed files)
      ─▶ per batch: read ─▶ parse + resolve units + pandera ─▶ load (one writer)
                                   └──▶ quarantine (bad input, with the reason)
      ─▶ retire names gone from raw/, functions table, run log ─▶ publish (os.replace) ─▶ review file

Tasks are coarse (one per batch of documents), never per line. Reading is retried on I/O
errors; parse errors are not retried, they go to quarantine. The run itself (incremental
plan, lock, staging, retire) is plain Python in flows/ops.py; this module adds Prefect.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE as NO_CACHE

from flows import ops, steps
from flows.ops import RunSummary, functions_frame  # noqa: F401  (used by tests and callers)


def _io_error(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), OSError)


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=_io_error, cache_policy=NO_CACHE)
def read_batch(paths: list[Path], raw_dir: Path) -> list[steps.SourceFile]:
    return steps.read_files(paths, raw_dir)


@task(cache_policy=NO_CACHE)
def parse_batch(files: list[steps.SourceFile], reviewed) -> steps.BatchResult:
    return steps.parse_and_validate(files, reviewed)


def _trigger() -> tuple[str, str | None]:
    """Who started this flow run: a deployment (the schedule of `fengong serve`) or a person."""
    from prefect.runtime import deployment, flow_run

    run_id = str(flow_run.id) if flow_run.id else None
    return (f"deployment {deployment.name}" if deployment.id else "manual"), run_id


@flow(name="fengong-ingest", log_prints=False)
def ingest(raw_dir: str = "raw", warehouse: str = ops.DEFAULT_WAREHOUSE, batch_size: int = 100,
           review_file: str | None = None, force: bool = False, allow_outside_raw: bool = False,
           max_file_mb: float = ops.DEFAULT_MAX_FILE_MB, lock_wait_s: float = ops.DEFAULT_LOCK_WAIT_S,
           project_dir: str | None = None) -> dict:
    """Process the new and changed notices in raw_dir into the warehouse (see flows/ops.py)."""
    triggered_by, flow_run_id = _trigger()
    return ops.run_ingest(raw_dir=raw_dir, warehouse=warehouse, batch_size=batch_size, review_file=review_file,
                          force=force, allow_outside_raw=allow_outside_raw, max_file_mb=max_file_mb,
                          lock_wait_s=lock_wait_s, project_dir=project_dir,
                          parsed_batches=partial(ops.parse_in_order, read=read_batch, parse=parse_batch),
                          triggered_by=triggered_by, flow_run_id=flow_run_id)
