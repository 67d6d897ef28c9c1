"""The whole pipeline, as one Prefect flow: raw/ -> parse -> normalise units -> validate -> DuckDB.

Read `ingest` top to bottom: it is the pipeline. Each step is a named task, coarse (one per run, or
one per batch of documents), never per line:

    scan raw/ ─▶ plan (new / changed / unchanged, from the warehouse's record) ─▶ settle what needs no parsing
      ─▶ per batch: read ─▶ parse (+ normalise units) ─▶ validate (pandera) ─▶ load (one writer)
      ─▶ record raw/ (file stats, retire names gone) ─▶ marts ─▶ quality summary (+ run log)
      ─▶ publish (warehouse/transaction.py) ─▶ review files

Everything between "scan" and "quality summary" writes a staging copy of the warehouse under its
lock; the copy replaces the warehouse only when the block ends without an error or a signal.
Reading is retried on I/O errors; parse errors are not retried, they go to quarantine. Read and
parse run on the flow's task runner (`task_runner`: threads, a process pool, or Dask), a few batches
ahead of the loader; loading stays in this process, in batch order: DuckDB has one writer.
The plumbing lives where it belongs: the lock and the staging copy in warehouse/transaction.py,
the plan and its bookkeeping in warehouse/incremental.py, raw/ in warehouse/inbox.py, parsing in
transforms/batch.py, the contracts in validation/batch.py.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import os
import time
import uuid
from collections import deque
from dataclasses import asdict
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.defaults import DEFAULT_LINKS_BUDGET_S, DEFAULT_LOCK_WAIT_S, DEFAULT_MAX_FILE_MB, DEFAULT_WAREHOUSE
from flows.lifecycle import as_a_deployment_run, pool_worker, quiet_resource_tracker
from transforms import vocab
from transforms.batch import BatchResult, SourceFile, parsed_batch
from validation.batch import validated_batch
from warehouse import incremental, inbox, review, transaction
from warehouse import load as wh
from warehouse.incremental import Counts, Plan
from warehouse.summary import RunSummary, run_summary
from warehouse.transaction import say

# ── the steps, as Prefect tasks ─────────────────────────────────────────────────────────────────


def _batch_run_name(verb: str):
    """A task run's name as Prefect's UI shows it: `parse 100 files: a.txt … z.txt`."""
    def name() -> str:
        from prefect.runtime import task_run

        params = task_run.parameters
        files = params.get("files") or params.get("paths") or getattr(params.get("batch"), "parsed", None) or []
        names = [getattr(f, "name", None) or getattr(f, "doc_id", "?") for f in files]
        if not names:  # validate's batch is the parse task's future until it runs
            return f"{verb} the parsed batch"
        shown = f"{names[0]} … {names[-1]}" if len(names) > 1 else names[0]
        return f"{verb} {len(names)} file(s): {shown}"[:120]
    return name



@task(name="scan raw/", cache_policy=NO_CACHE)
def scan(raw: Path, con, max_file_mb: float, allow_outside_raw: bool, force: bool) -> list[inbox.RawFile]:
    linked_dirs: list[str] = []
    files = inbox.scan_raw(raw, max_file_mb, allow_outside_raw, known=None if force else incremental.wh.file_stats(con),
                           linked_dirs=linked_dirs)
    if linked_dirs:
        say(f"{len(linked_dirs)} link(s) to a folder in {raw} not followed (a link can lead back into raw/ or to / "
            f"and loop): {', '.join(linked_dirs[:5])}{' …' if len(linked_dirs) > 5 else ''}; copy or move the "
            "folder into raw/, or run with --raw pointing at it")
    return files


@task(name="plan", cache_policy=NO_CACHE)
def plan(con, raw: Path, files: list[inbox.RawFile], force: bool) -> Plan:
    p = incremental.plan_run(con, files, vocab.parser_version(), incremental.decisions_version(), force)
    say(f"{len(files)} notice file(s) in {raw}: {p.summary(force)}")
    return p


@task(name="settle without parsing", cache_policy=NO_CACHE)
def settle(con, plan: Plan) -> Counts:
    return incremental.begin_plan(con, plan)


def _io_error(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), OSError)


@task(name="read", task_run_name=_batch_run_name("read"), retries=2, retry_delay_seconds=1, retry_condition_fn=_io_error, cache_policy=NO_CACHE)
def read(paths: list[Path], raw: Path) -> list[SourceFile]:
    return inbox.read_files(paths, raw)


@task(name="parse", task_run_name=_batch_run_name("parse"), cache_policy=NO_CACHE)
def parse(files: list[SourceFile], reviewed) -> BatchResult:
    return parsed_batch(files, reviewed)


@task(name="validate", task_run_name=_batch_run_name("validate"), cache_policy=NO_CACHE)
def validate(batch: BatchResult) -> BatchResult:
    return validated_batch(batch)


@task(name="load", task_run_name=_batch_run_name("load"), cache_policy=NO_CACHE)
def load(con, plan: Plan, files: list[SourceFile], batch: BatchResult) -> Counts:
    return incremental.load_batch(con, plan, files, batch)


@task(name="record raw/", cache_policy=NO_CACHE)
def record_raw(con, raw: Path, files: list[inbox.RawFile]) -> Counts:
    return incremental.record_raw(con, raw, files)


@task(name="marts and task links", cache_policy=NO_CACHE)
def marts(con, links_budget_s: float | None) -> int:
    return incremental.refresh_marts(con, links_budget_s=links_budget_s)


@task(name="quality summary", cache_policy=NO_CACHE)
def summarise(tx: transaction.Transaction, counts: Counts, files: list[inbox.RawFile], plan: Plan, run: dict,
              ) -> tuple[RunSummary, review.ReviewFiles]:
    """The run's numbers and the reviewer's rows, read from the staging copy; the run log row."""
    summary = wh.with_more_memory_on_oom(tx.con, lambda: run_summary(
        tx.con, counts, [f.name for f in files], run_id=run["run_id"], warehouse=str(tx.warehouse),
        review_file=run["review_file"], waited_s=round(tx.lock.waited_s, 2), forced=run["force"]), "run summary", say)
    incremental.record_run(tx.con, {
        **asdict(counts),
        "run_id": run["run_id"], "started_at": run["started_at"], "finished_at": dt.datetime.now(),
        "command": "run", "pruned": 0, "data_changed": bool(counts.loaded or counts.linked or counts.retired),
        "forced": run["force"], "parser_version": plan.parser_version, "decisions_version": plan.decisions_version,
        "raw_dir": run["raw_dir"], "triggered_by": run["triggered_by"], "flow_run_id": run["flow_run_id"],
        "waited_s": round(tx.lock.waited_s, 2)})
    return summary, wh.with_more_memory_on_oom(tx.con, lambda: review.review_files_of(tx.con), "review rows", say)


@task(name="review files", cache_policy=NO_CACHE)
def write_review(path: Path, files: review.ReviewFiles) -> tuple[int, int]:
    return review.write_review_files(path, files)


# ── the flow ────────────────────────────────────────────────────────────────────────────────────


@flow(name="fengong-ingest", log_prints=False)
def ingest(raw_dir: str = "raw", warehouse: str = DEFAULT_WAREHOUSE, batch_size: int = 100,
           review_file: str | None = None, force: bool = False, allow_outside_raw: bool = False,
           max_file_mb: float = DEFAULT_MAX_FILE_MB, lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
           project_dir: str | None = None, batches_ahead: int = 4,
           links_budget_s: float | None = DEFAULT_LINKS_BUDGET_S) -> dict:
    """Process the new and changed notices in raw_dir into the warehouse; returns the run's counts
    (RunSummary). Raises RefusedInput (bad raw_dir) or WarehouseError (cannot write; nothing changed)."""
    t0, started = time.perf_counter(), dt.datetime.now()
    triggered_by, flow_run_id = _trigger()
    raw = inbox.check_raw_dir(raw_dir, allow_outside_raw, project_dir)
    review_csv = Path(review_file) if review_file else Path(warehouse).parent / "review" / "unresolved_units.csv"
    reviewed = vocab.read_reviewed(vocab.REVIEWED_ALIASES)
    run = {"run_id": uuid.uuid4().hex[:12], "started_at": started, "force": force, "raw_dir": str(raw.resolve()),
           "review_file": str(review_csv), "triggered_by": triggered_by, "flow_run_id": flow_run_id}

    # quote(x): Prefect passes x to the task as it is, without visiting each of its elements for
    # futures; the file list and the plan of a 10,000-file raw/ took seconds per task call otherwise
    with transaction.staged(warehouse, f"fengong run ({triggered_by})", lock_wait_s) as tx:
        files = scan(raw, tx.con, max_file_mb, allow_outside_raw, force)
        todo = plan(tx.con, raw, quote(files), force)
        counts = incremental.counts_of(files, todo)
        counts.add(settle(tx.con, quote(todo)))
        batches = ((batch, validate.submit(parse.submit(batch, reviewed)))
                   for batch in (read(paths, raw) for paths in todo.path_batches(batch_size)))
        done = 0
        for batch, result in in_order(batches, ahead=batches_ahead, collect=len(todo.process) > batch_size):
            counts.add(load(tx.con, quote(todo), batch, result))
            done += len(batch)
            say(f"{done}/{len(todo.process)} files to parse: "
                f"{counts.parsed} parsed, {counts.quarantined} quarantined, {counts.loaded} loaded "
                f"({time.perf_counter() - t0:.1f}s)")
        counts.add(record_raw(tx.con, raw, quote(files)))
        marts(tx.con, links_budget_s)
        summary, review_rows = summarise(tx, counts, quote(files), quote(todo), run)

    summary.unresolved, summary.low_confidence = write_review(review_csv, quote(review_rows))
    summary.seconds = round(time.perf_counter() - t0, 2)
    _publish_counts(summary)
    return summary.as_dict()


# ── plumbing of the flow itself ─────────────────────────────────────────────────────────────────


def in_order(submitted, ahead: int = 4, collect: bool = True):
    """(batch, future) pairs in, (batch, result) out, in submission order, with up to `ahead`
    batches in flight on the task runner (so parsing runs while this process loads).

    Once the caller has taken a batch, its files and documents are dropped, and the garbage is
    collected: Prefect's finished futures sit in reference cycles (future -> done callback ->
    future) that only a full collection frees, and with a process pool each one holds the pickled
    result, ~25 MB a batch. Python's own full collections are too rare for that (bytes do not count
    towards them): the flow process grew by ~0.2 GB per 1,000 notices. A full collection of
    everything costs ~0.3 s, so what exists before the first batch (modules, Prefect, the plan) is
    frozen out of it (gc.freeze) and each one takes a few ms. A run of one batch (`collect` False: a
    scheduled run with a new notice) needs none of it."""
    pending: deque = deque()

    def take():
        batch, future = pending.popleft()
        result = future.result()
        yield batch, result
        batch.clear()
        result.parsed.clear()
        del future, result
        if collect and pending:  # more batches to come
            gc.collect()
            _trim()

    if collect:
        gc.collect()
        gc.freeze()
    try:
        for pair in submitted:
            pending.append(pair)
            if len(pending) > ahead:
                yield from take()
        while pending:
            yield from take()
    finally:
        if collect:
            gc.unfreeze()


def _trim() -> None:
    """Give the C heap's free pages back to the system (glibc keeps them for reuse: with batches of
    a few hundred MB passing through, the flow process held them as if in use)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _trigger() -> tuple[str, str | None]:
    """Who started this flow run: a deployment (the schedule of `fengong serve`) or a person. A
    deployment's run is stopped by its starter (flows/lifecycle.as_a_deployment_run)."""
    from prefect.runtime import deployment, flow_run

    run_id = str(flow_run.id) if flow_run.id else None
    if deployment.id:
        as_a_deployment_run()
        return f"deployment {deployment.name}", run_id
    return "manual", run_id


def _publish_counts(summary: RunSummary) -> None:
    """The run's counts as a table artifact: what a team running a real Prefect server sees in its UI."""
    from prefect.artifacts import create_table_artifact

    keys = ("files_seen", "new_files", "changed_files", "reprocessed", "skipped", "parsed", "quarantined", "loaded",
            "linked", "retired", "rejected_rows", "error_issues", "unresolved", "low_confidence", "seconds")
    try:
        create_table_artifact([{k: getattr(summary, k) for k in keys}], key="fengong-run-counts",
                              description=f"fengong run {summary.run_id} into {summary.warehouse}")
    except Exception:  # the UI's record is a courtesy; the run's data is published already
        pass


# ── task runners ────────────────────────────────────────────────────────────────────────────────

RUNNERS = ("thread", "process", "dask")


def task_runner(name: str = "thread", workers: int | None = None, address: str | None = None):
    """The task runner for read/parse/validate tasks: `thread` (this process), `process` (a pool of
    `workers` processes, default one per core) or `dask` (a local cluster of `workers` processes, or
    the scheduler at `address`, default $FENGONG_DASK_ADDRESS)."""
    if name == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if not address and not os.environ.get("FENGONG_DASK_ADDRESS"):
        _share_ephemeral_api()
    if name == "process":
        # each worker ignores Ctrl-C (fengong stops the pool) and exits when fengong is gone (pool_worker)
        quiet_resource_tracker()
        return ProcessPoolTaskRunner(max_workers=workers or os.cpu_count(), initializer=pool_worker)
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
