"""The whole pipeline, as one Prefect flow: raw/ -> parse -> normalise units -> validate -> DuckDB.

    discover files ─▶ per batch: read ─▶ parse + resolve units + pandera ─▶ load (one writer)
                                                   └──▶ quarantine (bad input, with the reason)
    then: functions table, review file for unresolved names, run log.

Tasks are coarse (one per batch of documents), never per line. Reading is retried on I/O
errors; parse errors are not retried, they go to quarantine. Parse tasks run on the flow's task
runner (`task_runner`: threads, a process pool, or Dask), a few batches ahead of the loader;
loading stays in this process, in batch order: DuckDB has one writer.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NONE as NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from flows import steps
from transforms import vocab
from warehouse import load as wh
from warehouse.review import write_review_file


@dataclass
class RunSummary:
    run_id: str
    files_seen: int
    parsed: int
    quarantined: int
    loaded: int
    seconds: float
    warehouse: str
    review_file: str | None
    unresolved: int
    mentions: int
    mentions_resolved: int
    units: int
    units_with_function: int

    def as_dict(self) -> dict:
        return asdict(self)


def _io_error(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), OSError)


@task(retries=2, retry_delay_seconds=1, retry_condition_fn=_io_error, cache_policy=NO_CACHE)
def read_batch(paths: list[Path], raw_dir: Path) -> list[steps.SourceFile]:
    return steps.read_files(paths, raw_dir)


@task(cache_policy=NO_CACHE)
def parse_batch(files: list[steps.SourceFile], reviewed) -> steps.BatchResult:
    return steps.parse_and_validate(files, reviewed)


def _progress(msg: str) -> None:
    print(f"fengong: {msg}", flush=True)


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


def _parsed_in_order(batches: list[list[Path]], raw: Path, reviewed, ahead: int):
    """Read each batch here and parse it on the task runner, up to `ahead` batches in flight;
    yields (files, parse result) in batch order.

    Once the caller has taken a batch, its files and documents are dropped: Prefect's finished
    futures keep their results in reference cycles that only a full garbage collection frees, so
    holding on to them makes memory grow with the corpus, not with the batch size."""
    pending: deque = deque()

    def take():
        files, future = pending.popleft()
        result = future.result()
        yield files, result
        files.clear()
        result.parsed.clear()

    for batch in batches:
        files = read_batch(batch, raw)
        pending.append((files, parse_batch.submit(files, reviewed)))
        if len(pending) > ahead:
            yield from take()
    while pending:
        yield from take()


@flow(name="fengong-ingest", log_prints=False)
def ingest(raw_dir: str = "raw", warehouse: str = "warehouse/fengong.duckdb", batch_size: int = 100,
           review_file: str | None = None, batches_ahead: int = 4) -> dict:
    started = dt.datetime.now()
    t0 = time.perf_counter()
    raw = Path(raw_dir)
    paths = steps.discover(raw)
    _progress(f"{len(paths)} notice file(s) in {raw}")
    reviewed = vocab.read_reviewed(vocab.REVIEWED_ALIASES)
    con = wh.connect(warehouse)
    parsed_n = quarantined_n = loaded_n = 0
    review_rows: list[dict] = []
    try:
        wh.load_functions(con, functions_frame())
        batches = [paths[k:k + batch_size] for k in range(0, len(paths), batch_size)]
        done = 0
        for files, result in _parsed_in_order(batches, raw, reviewed, batches_ahead):
            done += len(files)
            failed = wh.load_documents(con, result.parsed)
            q_rows = result.quarantined + [
                {"source_file": d.frames["documents"]["source_file"][0],
                 "sha256": d.frames["documents"]["sha256"][0], "stage": "load", "reason": why}
                for d, why in failed]
            wh.clear_quarantine(con, [f.name for f in files])
            wh.quarantine(con, q_rows)
            for q in q_rows:
                _progress(f"QUARANTINED {q['source_file']} [{q['stage']}]: {q['reason'][:300]}")
            failed_ids = {d.doc_id for d, _ in failed}
            for d in result.parsed:
                if d.doc_id not in failed_ids:
                    review_rows += d.review
            parsed_n += len(result.parsed)
            quarantined_n += len(q_rows)
            loaded_n += len(result.parsed) - len(failed)
            _progress(f"{done}/{len(paths)} files: {parsed_n} parsed, "
                      f"{quarantined_n} quarantined, {loaded_n} loaded ({time.perf_counter() - t0:.1f}s)")
        review_path = Path(review_file) if review_file else Path(warehouse).parent / "review" / "unresolved_units.csv"
        known = {j: [n for (n,) in con.execute(
            "SELECT DISTINCT name FROM units WHERE resolved AND jurisdiction = ?", [j]).fetchall()]
            for j in {r["jurisdiction"] for r in review_rows}}
        n_review = write_review_file(review_path, review_rows, known)
        cov = con.execute("""
            SELECT count(*), count(*) FILTER (WHERE resolved),
                   (SELECT count(*) FROM units), (SELECT count(*) FROM units WHERE len(functions) > 0)
            FROM assignments WHERE NOT inherited""").fetchone()
        seconds = time.perf_counter() - t0
        run_id = uuid.uuid4().hex[:12]
        wh.record_run(con, {"run_id": run_id, "started_at": started, "finished_at": dt.datetime.now(),
                            "files_seen": len(paths), "parsed": parsed_n, "quarantined": quarantined_n,
                            "loaded": loaded_n, "skipped": 0, "parser_version": vocab.parser_version()})
    finally:
        con.close()
    return RunSummary(run_id, len(paths), parsed_n, quarantined_n, loaded_n, round(seconds, 2), warehouse,
                      str(review_path), n_review, cov[0], cov[1], cov[2], cov[3]).as_dict()


def functions_frame() -> pl.DataFrame:
    tax = vocab.taxonomy()
    return pl.DataFrame([{"code": f.code, "name_zh": f.zh, "name_en": f.en, "party": f.party}
                         for f in tax.functions.values()])
