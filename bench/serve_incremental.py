"""One new notice into an N-notice warehouse, loaded by a running `fengong serve`.

    python bench/serve_incremental.py --raw bench/corpus/s7-n10000/raw --warehouse bench/out/n10000.duckdb \
        --new bench/out/incremental/new/<notice>.txt

What it does (the issue's scenario, measured):
1. a raw folder with every corpus notice (symbolic links) is served by `fengong serve --every 10`
   against a copy of the warehouse, with a Prefect server started here (so its flow runs can be read);
2. the first scheduled run finds nothing new. The warehouse was copied in, so it has no standby
   (warehouse/transaction.py): this run copies the whole file, once, and leaves a standby;
3. a new notice is dropped into the folder; the next scheduled run loads it, catching the standby
   up: the steady state of a served warehouse;
4. with --new given twice, a second notice the same way (a second measurement of 3).

The served runs link nothing (--links-budget 0): a freshly built warehouse has most jurisdictions'
task links pending (the rebuild's budget), and each scheduled run would spend its whole budget on them.
What linking the new notice's own jurisdiction costs is measured apart (bench/run.py `incremental`).

It reports, for both runs: the flow body (the runs table: started_at to finished_at), the Prefect flow
run (start to end: the flow-run process that `flow.serve` spawns, its imports, the body, teardown), and
the lag from the scheduled time to the end (which includes waiting for the runner's poll).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flows.serve import LocalPrefectServer  # noqa: E402

FENGONG = Path(sys.executable).parent / "fengong"


def _runs(warehouse: Path) -> list[dict]:
    """Rows of the runs table started by the deployment, oldest first (read-only; the file may be
    being replaced: retried)."""
    for _ in range(20):
        try:
            con = duckdb.connect(str(warehouse), read_only=True)
            try:
                cur = con.execute("SELECT run_id, started_at, finished_at, files_seen, new_files, skipped, loaded, "
                                  "flow_run_id FROM runs WHERE triggered_by LIKE 'deployment%' ORDER BY started_at")
                cols = [c[0] for c in cur.description]
                return [dict(zip(cols, r)) for r in cur.fetchall()]
            finally:
                con.close()
        except duckdb.Error:
            time.sleep(0.2)
    return []


async def _flow_run(api_url: str, flow_run_id: str) -> dict:
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api_url) as client:
        fr = await client.read_flow_run(flow_run_id)
    return {"expected_start": fr.expected_start_time.timestamp(), "start": fr.start_time.timestamp(),
            "end": fr.end_time.timestamp(), "state": fr.state_name}


def _wait_for_runs(warehouse: Path, n: int, proc: subprocess.Popen, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fengong serve exited with code {proc.returncode}")
        runs = _runs(warehouse)
        if len(runs) >= n:
            return runs
        time.sleep(1)
    raise TimeoutError(f"no scheduled run #{n} within {timeout_s:.0f} s")


def measure(raw: Path, warehouse: Path, news: list[Path], work: Path, env: dict, timeout_s: float = 300,
            links_budget_s: float = 0) -> dict:
    """The scenario above; `work` is emptied and holds the served raw folder and warehouse copy."""
    shutil.rmtree(work, ignore_errors=True)
    served_raw, wh = work / "raw", work / "warehouse.duckdb"
    served_raw.mkdir(parents=True)
    for p in sorted(raw.iterdir()):
        (served_raw / p.name).symlink_to(p.resolve())
    shutil.copyfile(warehouse, wh)
    # a Prefect database of its own: runs scheduled for an earlier measurement's deployment (same
    # name) would otherwise be picked up late, and their lag reported (a new database migrates in ~30 s)
    env = {**env, "PREFECT_RUNNER_POLL_FREQUENCY": "2", "PREFECT_HOME": str(work / "prefect")}
    server = LocalPrefectServer()
    os.environ.update({k: v for k, v in env.items() if k.startswith("PREFECT_")})
    env["PREFECT_API_URL"] = server.start()
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen([str(FENGONG), "serve", "--raw", str(served_raw), "--allow-outside-raw", "--warehouse",
                             str(wh), "--every", "10", "--links-budget", str(links_budget_s)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=work, start_new_session=True)
    try:
        before = len(_runs(wh))
        rows = [("nothing_new", _wait_for_runs(wh, before + 1, proc, timeout_s)[-1])]
        for i, new in enumerate(news):
            shutil.copyfile(new, served_raw / new.name)
            rows.append(("one_new" if i == 0 else f"one_new_{i + 1}", _wait_for_runs(wh, before + 2 + i, proc, timeout_s)[-1]))
        res = {}
        for name, row in rows:
            fr = asyncio.run(_flow_run(env["PREFECT_API_URL"], row["flow_run_id"]))
            res[name] = {"files_seen": row["files_seen"], "new_files": row["new_files"], "loaded": row["loaded"],
                         "body_s": (row["finished_at"] - row["started_at"]).total_seconds(),
                         "flow_run_s": fr["end"] - fr["start"],
                         "scheduled_to_end_s": fr["end"] - fr["expected_start"], "state": fr["state"]}
        return res
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raw", type=Path, required=True)
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--new", type=Path, required=True, action="append",
                    help="a notice to drop in (repeatable: one run each)")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "serve")
    args = ap.parse_args(argv)
    print(json.dumps(measure(args.raw, args.warehouse, args.new, args.work.resolve(), dict(os.environ)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
