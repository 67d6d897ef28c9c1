"""fengong command line: run, serve, prune, quality, report, export, sql. Every command has --help."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

from flows.defaults import (DEFAULT_CRON, DEFAULT_DEPLOYMENT, DEFAULT_LINKS_BUDGET_S, DEFAULT_LOCK_WAIT_S,
                            DEFAULT_MAX_FILE_MB, DEFAULT_WAREHOUSE)


def _prefect_env() -> None:
    """Prefect runs ephemeral: no server to start. These defaults must be set before it is imported."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_HOME", str(Path(".prefect").absolute()))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


_IMPORTED = time.time()


def process_started() -> float:
    """When this process started (epoch seconds), from /proc: Python's own start-up and imports count
    in the time a run reports. Elsewhere, when this module was imported."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            ticks = int(fh.read().rsplit(b")", 1)[1].split()[19])  # field 22, starttime, after "(comm)"
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime "))
        return min(boot + ticks / os.sysconf("SC_CLK_TCK"), _IMPORTED)
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED


def prefect_migrates(database_url: str | None, api_url: str | None) -> bool:
    """Whether starting Prefect here creates and migrates its database (~30 s): an ephemeral server
    (no PREFECT_API_URL) whose SQLite file does not exist yet."""
    if api_url or not database_url or not database_url.startswith("sqlite"):
        return False
    path = database_url.split(":///", 1)[-1]
    return path in ("", ":memory:") or not Path(path).exists()


def _prefect_database_url() -> str | None:
    from prefect.settings import get_current_settings

    url = get_current_settings().server.database.connection_url
    return url.get_secret_value() if url else None


def _check_inputs(args: argparse.Namespace) -> bool:
    """Refuse a bad --raw or an unwritable warehouse before Prefect starts (it takes ~10 s)."""
    from warehouse.inbox import RefusedInput, check_raw_dir
    from warehouse.transaction import check_writable
    from warehouse.load import WarehouseError

    try:
        check_raw_dir(args.raw, args.allow_outside_raw)
        check_writable(Path(args.warehouse))
    except (RefusedInput, WarehouseError) as e:
        print(f"fengong: {e}", file=sys.stderr)
        return False
    return True


def cmd_run(args: argparse.Namespace) -> int:
    if not _check_inputs(args):
        return 2
    _prefect_env()
    from flows.lifecycle import (Stopped, exit_now, file_identity, stop_ephemeral_server, stop_on_signals, stop_workers,
                                 stopped_line)

    before = file_identity(args.warehouse)

    def stopped(signum: int, grace_s: float) -> None:
        """SIGINT/SIGTERM: the staging copy is discarded already (or the run had published); say which, exit."""
        stop_workers()
        stop_ephemeral_server(grace_s)
        print(stopped_line(signum, file_identity(args.warehouse) != before), file=sys.stderr)
        exit_now(128 + signum)

    # Ctrl-C or SIGTERM at any moment: one line, 130 or 143, Prefect's server stopped, nothing left running
    with stop_on_signals(on_timeout=lambda signum: stopped(signum, 0.5)) as stop:
        try:
            # --json: the summary alone on stdout (`fengong run --json | jq .`); every progress line to stderr
            with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
                summary = _run(args)
        except Stopped as s:
            stopped(s.signum, 3.0)
    if stop.signum is not None:  # came after the run had finished
        stopped(stop.signum, 3.0)
    if summary is None:
        return 2
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    failed = strict_failures(summary, args.raw)
    if args.strict and failed:
        for line in failed:
            print(f"fengong: --strict: {line}", file=sys.stderr)
        return 1
    return 0


def expected_failure(e: BaseException) -> str | None:
    """The one line that tells a failure fengong expects (a refused --raw, a warehouse it cannot write, a
    full disk, DuckDB out of memory) and what to do; None for anything else (a bug: its traceback shows)."""
    from warehouse.inbox import RefusedInput
    from warehouse.load import storage_failure

    if isinstance(e, RefusedInput):
        return str(e)
    failure = storage_failure(e)
    return None if failure is None else str(failure)


_FAILED_STATE = re.compile(r"encountered an exception\.? (\w+): (.*)'\)$", re.S)


def expected_failed_state(message: str) -> bool:
    """Whether Prefect's "Finished in state Failed('… encountered an exception NAME: TEXT')" line is about a
    failure `expected_failure` tells in one line (the log record holds the text, not the exception)."""
    import duckdb

    m = _FAILED_STATE.search(message)
    if m is None:
        return False
    name, text = m.groups()
    if name in ("WarehouseError", "RefusedInput"):
        return True
    if isinstance(cls := getattr(duckdb, name, None), type) and issubclass(cls, duckdb.Error):
        return expected_failure(cls(text)) is not None
    if (oserror := re.match(r"\[Errno (\d+)\] (.*)", text)) and name in ("OSError", "IOError"):
        return expected_failure(OSError(int(oserror.group(1)), oserror.group(2))) is not None
    return False


def _csv_rows(path: Path) -> int:
    """Rows of a review file (what the last run listed; no run since has changed the warehouse)."""
    import csv

    if not path.exists():
        return 0
    with path.open(encoding="utf-8", newline="") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)


def _unchanged(args: argparse.Namespace) -> dict | None:
    """A run that would change nothing (warehouse.incremental.nothing_to_do), found read-only and
    without starting Prefect (~5-10 s of a run's time): its summary, from the warehouse as it is.
    None when there is something to do, or the warehouse cannot tell (missing, older, in use)."""
    import duckdb

    from warehouse import incremental
    from warehouse.inbox import check_raw_dir
    from warehouse.summary import run_summary

    path = Path(args.warehouse)
    if not path.exists():
        return None
    raw = check_raw_dir(args.raw, args.allow_outside_raw)
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        found = incremental.nothing_to_do(con, raw, args.max_file_mb, args.allow_outside_raw,
                                          links_budget_s=_budget(args.links_budget))
        if found is None:
            return None
        files, plan = found
        review_csv = path.parent / "review" / "unresolved_units.csv"
        summary = run_summary(con, incremental.counts_of(files, plan), [f.name for f in files],
                              warehouse=str(path), review_file=str(review_csv))
    except duckdb.Error:  # a warehouse from an older fengong: the flow upgrades it
        return None
    finally:
        con.close()
    summary.unresolved, summary.low_confidence = (_csv_rows(p) for p in (
        review_csv, review_csv.with_name("low_confidence_items.csv")))
    print(f"fengong: {len(files)} notice file(s) in {raw}: {plan.summary()}")
    print("fengong: nothing new, changed or removed: the warehouse is left as it is (Prefect not started, "
          "no run logged)")
    return summary.as_dict()


def _budget(seconds: float) -> float | None:
    """--links-budget: a negative number is no limit."""
    return None if seconds < 0 else seconds


def _run(args: argparse.Namespace) -> dict | None:
    """The flow, and what it did in a few lines; None (after saying why) when it refused to start."""
    summary = None if args.force else _unchanged(args)
    if summary is None:
        from flows.lifecycle import (quiet_expected_failures, quiet_signal_crashes,
                                     start_ephemeral_server)
        from flows.pipeline import ingest, task_runner

        if prefect_migrates(_prefect_database_url(), os.environ.get("PREFECT_API_URL")):
            print(f"fengong: starting Prefect (ephemeral); its first start with PREFECT_HOME="
                  f"{os.environ['PREFECT_HOME']} creates its database, ~30 s", flush=True)
        else:
            print("fengong: starting Prefect (ephemeral)", flush=True)
        # started here, from the main thread, so that it dies with this process (flows/lifecycle.py)
        start_ephemeral_server()
        quiet_signal_crashes()
        if not args.debug:
            quiet_expected_failures(expected_failure, expected_failed_state)
        flow = ingest.with_options(task_runner=task_runner(args.runner, args.workers, args.dask_address))
        try:
            summary = flow(raw_dir=args.raw, warehouse=args.warehouse, batch_size=args.batch_size, force=args.force,
                           allow_outside_raw=args.allow_outside_raw, max_file_mb=args.max_file_mb,
                           lock_wait_s=args.wait, links_budget_s=_budget(args.links_budget))
        except Exception as e:
            line = expected_failure(e)
            if line is None:
                raise
            if args.debug:
                traceback.print_exception(e)
            print(f"fengong: {line}", file=sys.stderr)
            return None
    # `seconds` is the flow body's time; the command took longer (Python, imports, Prefect's start)
    s = summary = {**summary, "wall_seconds": round(time.time() - process_started(), 2)}
    share = s["mentions_resolved"] / s["mentions"] if s["mentions"] else 1.0
    fshare = s["units_with_function"] / s["units"] if s["units"] else 1.0
    print(
        f"fengong: done in {s['wall_seconds']:.2f}s: {s['files_seen']} seen ({s['new_files']} new, "
        f"{s['changed_files']} changed, "
        f"{s['reprocessed']} reprocessed, {s['skipped']} unchanged and skipped), {s['parsed']} parsed, "
        f"{s['quarantined']} quarantined, {s['loaded']} loaded, {s['retired']} retired into {s['warehouse']}\n"
        f"fengong: units: {s['mentions_resolved']}/{s['mentions']} mentions resolved ({share:.1%}), "
        f"{s['units_with_function']}/{s['units']} units with a function ({fshare:.1%}); "
        f"{s['unresolved']} unresolved name(s) listed in {s['review_file']}\n"
        f"fengong: {s['low_confidence']} item(s) whose roles rest on weak evidence listed in "
        f"{Path(s['review_file']).with_name('low_confidence_items.csv')}"
    )
    print(f"fengong: contracts: {s['rejected_rows']} row(s) rejected in {s['rejected_documents']} document(s) "
          f"(table rejected_rows); {s['error_issues']} error-level quality issue(s) in {s['error_documents']} "
          "document(s) (quality_issues)")
    return summary


def strict_failures(summary: dict, raw: str) -> list[str]:
    """Why `run --strict` fails: quarantined files in raw/, and loaded documents from raw/ with
    rejected rows or error-level quality issues."""
    s = summary
    out = []
    if s["still_quarantined"]:
        out.append(f"{s['still_quarantined']} file(s) in {raw} are quarantined (see the quarantine table)")
    if s["rejected_rows"]:
        out.append(f"{s['rejected_rows']} row(s) of {s['rejected_documents']} document(s) in {raw} failed a contract "
                   "and were not loaded (see the rejected_rows table)")
    if s["error_issues"]:
        out.append(f"{s['error_issues']} error-level quality issue(s) in {s['error_documents']} document(s) in {raw} "
                   "(SELECT * FROM quality_issues WHERE severity = 'error')")
    return out


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    if not _check_inputs(args):
        return 2
    _prefect_env()
    from flows.serve import check_cron, deployment_parameters, local_timezone, serve

    try:
        check_cron(args.cron)
    except ValueError as e:
        print(f"fengong: --cron {args.cron!r} is not a cron expression: {e}", file=sys.stderr)
        return 2
    timezone = args.timezone or local_timezone()
    try:
        check_cron(args.cron, timezone)
    except ValueError as e:
        print(f"fengong: --timezone {timezone!r} is not a time zone Prefect knows ({e}); use an IANA name such "
              "as Asia/Shanghai or UTC", file=sys.stderr)
        return 2
    return serve(args.cron, deployment_parameters(args.raw, args.warehouse, args.batch_size, args.max_file_mb,
                                                  args.allow_outside_raw, _budget(args.links_budget)), name=args.name,
          progress=lambda m: print(m, flush=True), timezone=timezone, every=args.every)


def cmd_prune(args: argparse.Namespace) -> int:
    from warehouse.incremental import prune
    from warehouse.load import WarehouseError

    try:
        p = prune(args.warehouse, dry_run=args.dry_run, lock_wait_s=args.wait)
    except WarehouseError as e:
        print(f"fengong: {e}", file=sys.stderr)
        return 2
    verb = "would delete" if args.dry_run else "deleted"
    for doc_id, name, retired_at in p.documents:
        print(f"fengong: {verb} {name} ({doc_id}, retired {retired_at:%Y-%m-%d %H:%M})")
    rows = {t: n for t, n in p.rows.items() if n}
    print(f"fengong: {verb} {len(p.documents)} retired document(s) and {len(p.names)} retired file name(s)"
          + (f": {sum(rows.values())} row(s): " + ", ".join(f"{t} {n}" for t, n in rows.items()) if rows
             else " (nothing is retired)"))
    return 0


def _open_read_only(path: str):
    """A read-only connection, or None after printing what to do."""
    from warehouse.load import WarehouseError, connect

    try:
        return connect(path, read_only=True)
    except WarehouseError as e:
        print(f"fengong: {e}", file=sys.stderr)
        return None


def cmd_export(args: argparse.Namespace) -> int:
    from warehouse.export import export_parquet
    con = _open_read_only(args.warehouse)
    if con is None:
        return 2
    counts = export_parquet(con, Path(args.out))
    con.close()
    for t, n in counts.items():
        print(f"fengong: exported {t}: {n} rows")
    print(f"fengong: Parquet under {args.out} (document tables and marts hive-partitioned by "
          "province/jurisdiction/period_year; the other tables one file each)")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    """Run the Great Expectations suite on the warehouse; write Data Docs and the summary."""
    from validation.expectations import run_suite
    from validation.report import failed_errors, write_reports
    con = _open_read_only(args.warehouse)
    if con is None:
        return 2
    out = Path(args.out)
    print("fengong: running the expectation suite (Great Expectations takes ~5 s to import)", flush=True)
    results, _ = run_suite(con, out)
    md_path, html_path, md = write_reports(con, results, Path(args.warehouse).parent / "report", out)
    con.close()
    print(md)
    print(f"fengong: quality page {html_path}; summary {md_path}")
    errors = failed_errors(results)
    if errors:
        print(f"fengong: {len(errors)} error-level expectation(s) failed: "
              + "; ".join(f"{r.dataset}: {r.about}" for r in errors), file=sys.stderr)
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The charts page (warehouse/report.py), offline and self-contained."""
    from warehouse.report import write_report
    con = _open_read_only(args.warehouse)
    if con is None:
        return 2
    quality = Path(args.quality) if args.quality else Path(args.warehouse).parent / "quality"
    page = write_report(con, Path(args.out), args.warehouse, quality)
    con.close()
    print(f"fengong: report {page} (one page, no network needed)")
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Read-only SQL against the warehouse. Parameters are passed to DuckDB, never formatted in."""
    import duckdb

    from warehouse.load import WarehouseError
    from warehouse.query import Refused, check_statements, open_for_queries, refusal

    try:
        con = open_for_queries(args.warehouse, allow_files=args.allow_files)
    except WarehouseError as e:
        print(f"fengong: {e}", file=sys.stderr)
        return 2
    query = args.query if args.query != "-" else sys.stdin.read()
    try:
        check_statements(con, query, args.allow_files)
        rel = con.execute(query, args.param or None)
        cols = [d[0] for d in rel.description] if rel.description else []
        rows = rel.fetchall()
    except Refused as e:
        print(f"fengong: refused: {e}", file=sys.stderr)
        return 1
    except duckdb.Error as e:
        why = refusal(e)
        print(f"fengong: refused: {why}" if why else f"fengong: query failed: {e}", file=sys.stderr)
        return 1
    finally:
        con.close()
    write_rows(cols, rows, "json" if args.json else "csv" if args.csv else "text", sys.stdout)
    return 0


def _jsonable(v):
    """A value for json.dumps: dates and times in ISO 8601, decimals and UUIDs as text, bytes as hex."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _cell(v) -> str:
    """One value as text: lists and structs as JSON (so a list reads as a list), None as empty."""
    if v is None:
        return ""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False, default=_jsonable)
    return str(v)


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"})


def write_rows(cols: list[str], rows: list[tuple], fmt: str, out) -> None:
    """`fengong sql` output. text: tab-separated, one row per line (a backslash, newline, tab or carriage
    return in a value is written as backslash-backslash, backslash-n, -t, -r); csv: RFC 4180 by the csv
    module (a value with a comma, quote or newline is quoted); json: JSON Lines, one object per row.
    Lists and structs are written as JSON in text and csv."""
    if fmt == "json":
        for r in rows:
            out.write(json.dumps(dict(zip(cols, r)), ensure_ascii=False, default=_jsonable) + "\n")
    elif fmt == "csv":
        import csv

        w = csv.writer(out, lineterminator="\n")
        w.writerow(cols)
        w.writerows([_cell(v) for v in r] for r in rows)
    else:
        out.write("\t".join(c.translate(_ESCAPES) for c in cols) + "\n")
        for r in rows:
            # JSON (lists, structs) holds no raw newline or tab: not escaped twice
            out.write("\t".join(_cell(v) if isinstance(v, (list, tuple, dict)) else _cell(v).translate(_ESCAPES)
                                 for v in r) + "\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fengong",
        description="Turn Chinese task-division notices (任务分工方案) into a DuckDB warehouse.",
        epilog="Start with: fengong run   (reads raw/, writes warehouse/fengong.duckdb)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="load the new and changed notices in raw/ into DuckDB",
                       description="Parse, normalise unit names, validate and load the notices in --raw that are new "
                                   "or changed since the last run (by sha256); unchanged files are skipped. Bad files "
                                   "are quarantined with a reason; the others still load. Files gone from --raw are "
                                   "marked retired (see `fengong prune`).")
    _run_options(r)
    r.add_argument("--force", action="store_true", help="reprocess every file, changed or not")
    r.add_argument("--strict", action="store_true",
                   help="exit 1 when any file in --raw is quarantined, or a document loaded from it has "
                        "rejected rows or an error-level quality issue")
    r.add_argument("--runner", choices=("thread", "process", "dask"), default="thread",
                   help="where batches are parsed: threads in this process, a process pool, or Dask (default: thread)")
    r.add_argument("--workers", type=int, help="processes for --runner process/dask (default: one per core)")
    r.add_argument("--dask-address", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                          "(default: $FENGONG_DASK_ADDRESS, else a local cluster)")
    r.add_argument("--debug", action="store_true",
                   help="on a failure fengong expects (a warehouse it cannot write, a full disk), print the traceback "
                        "and Prefect's error log before the one line that says what to do")
    r.add_argument("--json", action="store_true",
                   help="print the run summary as one JSON object, alone on stdout; the progress lines go to "
                        "stderr (`fengong run --json | jq .`)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("serve", help="run the flow on a cron schedule (a long-running Prefect deployment)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Serve the ingest flow as the Prefect deployment fengong-ingest/NAME with a cron "
                                   "schedule; each\nscheduled run is `fengong run` with these options: it loads "
                                   "only new or changed files,\none run at a time. Uses PREFECT_API_URL if set, "
                                   "otherwise starts a local Prefect server\n(127.0.0.1, a free port, the same "
                                   "PREFECT_HOME) as its child: the ephemeral API has no scheduler.",
                       epilog="time zone:\n  the cron is read in --timezone (default: this machine's local zone, "
                              "from TZ or /etc/localtime;\n  UTC if it cannot be told); '0 2 * * *' with "
                              "--timezone Asia/Shanghai runs at 02:00 Beijing time.\n\n"
                              "files written (each scheduled run):\n"
                              "  the --warehouse file (published by atomic rename), WAREHOUSE.lock (the writer lock), "
                              "\n  WAREHOUSE.staging while a run loads, review/unresolved_units.csv and "
                              "review/low_confidence_items.csv\n  beside the warehouse; Prefect's database under "
                              "PREFECT_HOME (default ./.prefect).\n\n"
                              "stop:\n  Ctrl-C, or kill -TERM -- -PGID (serve, its Prefect server and a running "
                              "flow run).\n\n"
                              "exit status:\n  130  stopped by Ctrl-C (SIGINT), 143  stopped by SIGTERM (runs in progress are stopped, their "
                              "warehouse\n       changes discarded)\n  2  refused before serving: a bad --raw, a "
                              "read-only warehouse, a bad --cron or --timezone")
    _run_options(v)
    v.add_argument("--cron", default=DEFAULT_CRON, help=f"cron schedule (default: every 15 minutes, '{DEFAULT_CRON}'), "
                                                        "read in --timezone")
    v.add_argument("--every", type=_positive_seconds, metavar="SECONDS",
                   help="run every SECONDS seconds instead of on --cron (e.g. 900; a run starts only when the "
                        "last one has finished)")
    v.add_argument("--timezone", help="IANA time zone the cron is read in, e.g. Asia/Shanghai or UTC "
                                      "(default: this machine's local zone)")
    v.add_argument("--name", default=DEFAULT_DEPLOYMENT, help=f"deployment name (default: {DEFAULT_DEPLOYMENT})")
    v.set_defaults(func=cmd_serve)

    pr = sub.add_parser("prune", help="delete the documents whose files were removed from raw/",
                        description="Delete every retired document (all of its rows, in every document table) and "
                                    "retired file names, in one transaction. A document is retired when none of "
                                    "its file names is in raw/ any more.")
    pr.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default: {DEFAULT_WAREHOUSE})")
    pr.add_argument("--dry-run", action="store_true", help="list what would be deleted, change nothing")
    pr.add_argument("--wait", type=float, default=DEFAULT_LOCK_WAIT_S,
                    help=f"seconds to wait for a running run (default: {DEFAULT_LOCK_WAIT_S:g})")
    pr.set_defaults(func=cmd_prune)

    e = sub.add_parser("export", help="write every table as hive-partitioned Parquet",
                       description="Export the warehouse to Parquet, partitioned by province/jurisdiction/period_year.")
    e.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    e.add_argument("--out", default="warehouse/parquet", help="output folder (default: warehouse/parquet)")
    e.set_defaults(func=cmd_export)

    q = sub.add_parser("quality", help="validate the warehouse and write the data-quality report",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run the Great Expectations suite (validation/suite.yaml) on the warehouse, "
                                   "opened read-only,\nand print the Markdown summary. Great Expectations takes "
                                   "about 5 s to import.",
                       epilog="files written under --out (replaced each time):\n"
                              "  summary.md    per document: items, assignments, resolution share, warnings, "
                              "errors,\n                rejected rows; the failed expectations; top unresolved "
                              "names; quarantined files\n"
                              "  index.html    the same as a page that reads offline\n"
                              "  gx_project/   the Great Expectations project, rebuilt from the suite; its Data "
                              "Docs\n                load CSS and scripts from CDNs (blank offline): read index.html\n\n"
                              "exit status:\n  0  no error-level expectation failed (warnings are reported, "
                              "not failed)\n  1  an error-level expectation failed (listed on stderr)\n"
                              "  2  no warehouse, or it cannot be opened")
    q.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default: {DEFAULT_WAREHOUSE})")
    q.add_argument("--out", default="warehouse/quality", help="report folder (default: warehouse/quality)")
    q.set_defaults(func=cmd_quality)

    rp = sub.add_parser("report", help="write the charts page: who leads what, targets, follow-up",
                        description="Write one self-contained HTML page of charts (no network needed to view "
                                    "it): lead tasks by department and city, functions x cities, indicator "
                                    "targets across cities and against the five-year target, and how much of "
                                    "each five-year plan came back in annual reports (from task_links).")
    rp.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default: {DEFAULT_WAREHOUSE})")
    rp.add_argument("--out", default="warehouse/report", help="report folder (default: warehouse/report)")
    rp.add_argument("--quality", default=None,
                    help="the folder of `fengong quality`'s page, linked when it exists (default: quality/ beside "
                         "the warehouse)")
    rp.set_defaults(func=cmd_report)

    s = sub.add_parser("sql", help="run a read-only SQL query against the warehouse",
                       description="Open the warehouse read-only and run QUERY ('-' reads it from stdin). "
                                   "Use $1, $2 … placeholders with --param; values are never formatted into SQL. "
                                   "The query reaches the warehouse and its Parquet export folder "
                                   "(<warehouse folder>/parquet, read_parquet) and nothing else: no other file, "
                                   "COPY, ATTACH, EXPORT, INSTALL or LOAD, unless --allow-files. "
                                   "Output: tab-separated text, one row per line (newline, tab and backslash in a "
                                   "value escaped as \\n, \\t, \\\\; lists as JSON), or --csv, or --json. "
                                   "Exit 0, 1 when the query fails or is refused, 2 when there is no warehouse.")
    s.add_argument("query")
    s.add_argument("--param", action="append", help="a query parameter (repeatable)")
    s.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true",
                     help="print CSV (RFC 4180: a value holding a comma, quote or newline is quoted)")
    fmt.add_argument("--json", action="store_true",
                     help="print JSON Lines: one JSON object per row, keyed by column name (for jq)")
    s.add_argument("--allow-files", action="store_true",
                   help="let the query read and write files anywhere you may (read_csv of your own file, "
                        "COPY … TO a CSV, ATTACH); by default it reaches only the warehouse and its Parquet "
                        "export folder (<warehouse folder>/parquet), read-only")
    s.set_defaults(func=cmd_sql)
    return p


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", default="raw", help="folder of notice files (default: raw)")
    p.add_argument("--allow-outside-raw", action="store_true",
                   help="read a --raw folder (or links in it) whose resolved path is not under ./raw")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE, help=f"DuckDB file (default: {DEFAULT_WAREHOUSE})")
    p.add_argument("--batch-size", type=int, default=100, help="documents per Prefect task (default: 100)")
    p.add_argument("--max-file-mb", type=float, default=DEFAULT_MAX_FILE_MB,
                   help=f"quarantine files larger than this without reading them (default: {DEFAULT_MAX_FILE_MB:g})")
    p.add_argument("--wait", type=float, default=DEFAULT_LOCK_WAIT_S,
                   help=f"seconds to wait for another run holding the warehouse lock (default: {DEFAULT_LOCK_WAIT_S:g})")
    p.add_argument("--links-budget", type=float, default=DEFAULT_LINKS_BUDGET_S, metavar="SECONDS",
                   help="seconds a run may spend linking annual items to plan items (task_links); the "
                        "jurisdictions left are linked by the next runs (default: %(default)g; -1: all of them "
                        "now; 0: none)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
