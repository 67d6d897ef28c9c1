"""`fengong run`, exactly as the CLI runs it, with a clock on each step; used by bench/run.py.

    python bench/flow_timings.py TIMINGS.json run --raw … --warehouse … [other `fengong run` options]

The flow process's own steps are wrapped here (the flow body, listing and hashing raw/, the
staging copy, read, load, quarantine bookkeeping, the marts, publishing, the review file); parse and validate times come from each batch's `BatchResult.timings`,
measured where the batch ran (a thread, a pool process, a Dask worker). All intervals use the
epoch clock, so the union of them is the time in which some step was working; the rest of the
flow call is orchestration.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

STARTED = time.time()
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EVENTS: list[tuple[str, float, float]] = []  # (step, start, end), epoch seconds
MARKS: dict[str, float] = {"process_start": STARTED}


def _timed(step: str, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        t0 = time.time()
        try:
            return fn(*a, **k)
        finally:
            EVENTS.append((step, t0, time.time()))
    return wrapper


def _marking(mark: str, fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        MARKS.setdefault(mark, time.time())
        return fn(*a, **k)
    return wrapper


def _batches(fn):
    """Wraps the flow's generator of (files, BatchResult): records where each batch was parsed."""
    @functools.wraps(fn)
    def wrapper(*a, **k):
        for files, result in fn(*a, **k):
            t = result.timings
            if t:
                EVENTS.append(("parse", t["start"], t["start"] + t["parse"]))
                EVENTS.append(("validate", t["end"] - t["validate"], t["end"]))
            yield files, result
    return wrapper


def _span(start: str, end: str, fn):
    """Marks the first call's start and the last return of fn."""
    @functools.wraps(fn)
    def wrapper(*a, **k):
        MARKS.setdefault(start, time.time())
        try:
            return fn(*a, **k)
        finally:
            MARKS[end] = time.time()
    return wrapper


def instrument() -> None:
    _prefect_env_from_cli()
    from flows import pipeline
    from warehouse import inbox, marts, review, transaction
    from warehouse import load as wh

    pipeline.ingest.fn = _span("body_start", "body_end", pipeline.ingest.fn)  # the flow body
    inbox.scan_raw = _timed("discover", inbox.scan_raw)  # list raw/ and hash what changed
    transaction.Staging.open = _timed("staging", transaction.Staging.open)  # copy the warehouse to <warehouse>.staging
    transaction.Staging.publish = _timed("publish", transaction.Staging.publish)  # checkpoint, os.replace
    inbox.read_files = _timed("read", inbox.read_files)
    wh.load_documents = _timed("load", wh.load_documents)
    wh.load_functions = _timed("load", wh.load_functions)
    wh.quarantine = _timed("load", wh.quarantine)
    wh.clear_quarantine = _timed("load", wh.clear_quarantine)
    marts.refresh_mart_tables = _timed("marts", marts.refresh_mart_tables)
    review.write_review_files = _timed("review", review.write_review_files)
    pipeline.task_runner = _marking("flow_call", pipeline.task_runner)
    pipeline.in_order = _batches(pipeline.in_order)


def _prefect_env_from_cli() -> None:
    from flows import cli

    cli._prefect_env()  # the CLI sets these before importing Prefect; so do we


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    instrument()
    MARKS["imported"] = time.time()
    from flows import cli

    rc = cli.main(argv[1:])
    MARKS["flow_return"] = time.time()
    out.write_text(json.dumps({"rc": rc, "marks": MARKS, "events": EVENTS}), encoding="utf-8")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
