"""The CLI end to end, in a subprocess, the way an operator runs it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import RAW, ROOT, SEEDS


def fengong_cmd() -> list[str]:
    script = Path(sys.executable).parent / "fengong"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flows.cli"]


def run(args, cwd, env, timeout=300):
    return subprocess.run(fengong_cmd() + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", [[], ["run"], ["serve"], ["prune"], ["export"], ["sql"], ["report"], ["quality"]])
def test_every_command_has_help(command, tmp_path, cli_env):
    r = run(command + ["--help"], tmp_path, cli_env)
    assert r.returncode == 0 and "usage: fengong" in r.stdout


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory, prefect_home):
    """One real run on the seeds plus two bad files, then an export (Prefect starts once)."""

    work = tmp_path_factory.mktemp("e2e")
    raw = work / "raw"
    raw.mkdir()
    for name in SEEDS:
        shutil.copy(RAW / name, raw / name)
    (raw / "空 文件.txt").write_bytes(b"")
    (raw / "scan.txt").write_bytes(b"%PDF-1.7 binary")
    env = dict(os.environ, PREFECT_HOME=str(prefect_home), PYTHONPATH=str(ROOT),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    first = run(["run"], work, env)
    second = run(["run", "--strict"], work, env)
    export = run(["export"], work, env)
    return work, env, first, second, export


def test_items_whose_roles_rest_on_weak_evidence_are_listed_for_review(end_to_end):
    import csv

    work, _, first, _, _ = end_to_end
    path = work / "warehouse" / "review" / "low_confidence_items.csv"
    assert f"fengong: 25 item(s) whose roles rest on weak evidence listed in {path.relative_to(work)}" in first.stdout
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    # the 潜江 2023 table rows whose lead/co cell boundary cannot be seen (ambiguous_cell_boundary)
    assert {r["source_file"] for r in rows} == {"003_c26dbfc0c5ce5eed.txt"}
    assert rows[0] == {"source_file": "003_c26dbfc0c5ce5eed.txt", "item": "3", "confidence": "0.5",
                       "evidence": "co 市水利和湖泊局 [column, as_written]; lead 市生态环境局 [column, as_written]",
                       "text": rows[0]["text"], "doc_id": rows[0]["doc_id"], "item_id": rows[0]["doc_id"] + "-0003"}
    assert rows[0]["text"].startswith("加强马昌湖、借粮湖、冯家湖等重要湖泊生态保护修复")


def test_run_loads_the_seeds_and_quarantines_bad_files(end_to_end):
    work, _, first, _, _ = end_to_end
    assert first.returncode == 0, first.stderr
    assert ("7 seen (7 new, 0 changed, 0 reprocessed, 0 unchanged and skipped), 5 parsed, 2 quarantined, 5 loaded, "
            "0 retired") in first.stdout
    assert "QUARANTINED scan.txt [decode]: cannot read scan.txt: the file is a PDF file, not a text notice" in first.stdout
    con = duckdb.connect(str(work / "warehouse" / "fengong.duckdb"), read_only=True)
    per_doc = dict(con.execute("SELECT d.source_file, count(*) FROM items JOIN documents d USING (doc_id) "
                               "GROUP BY 1").fetchall())
    assert per_doc == {SEEDS[0]: 101, SEEDS[1]: 53, SEEDS[2]: 124, SEEDS[3]: 136, SEEDS[4]: 139}
    assert sorted(con.execute("SELECT source_file, stage FROM quarantine").fetchall()) == [
        ("scan.txt", "decode"), ("空 文件.txt", "decode")]


def test_second_run_skips_unchanged_files_and_strict_fails_on_quarantine(end_to_end):
    work, _, first, second, _ = end_to_end
    assert second.returncode == 1 and "--strict: 2 file(s) in raw are quarantined" in second.stderr
    assert ("7 seen (0 new, 0 changed, 0 reprocessed, 7 unchanged and skipped), 0 parsed, 0 quarantined, "
            "0 loaded") in second.stdout
    con = duckdb.connect(str(work / "warehouse" / "fengong.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 553
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 5
    # the second run had nothing to do: it said so without starting Prefect, and logged no run
    assert "nothing new, changed or removed: the warehouse is left as it is" in second.stdout
    assert "starting Prefect" not in second.stdout
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 2  # still quarantined, not re-parsed


# the heading declares four items, three are printed: an error-level finding (declared_count)
MISCOUNTED = """关于印发2024年潜江市《政府工作报告》重点工作责任分解的通知
潜江市人民政府办公室
一、重点工作(共4项)
1.做强小龙虾产业。(牵头单位:市虾稻产业链专班;责任单位:市农业农村局)
2.办好龙虾节。(牵头单位:市商务局)
3.推进城市更新。(牵头单位:市住建局)
"""


def test_a_notice_with_an_error_level_issue_loads_and_strict_fails(tmp_path, cli_env):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "miscounted.txt").write_text(MISCOUNTED, encoding="utf-8")
    r = run(["run", "--strict", "--warehouse", "w.duckdb"], tmp_path, cli_env)
    assert r.returncode == 1, r.stderr
    assert "1 parsed, 0 quarantined, 1 loaded" in r.stdout
    assert ("fengong: contracts: 0 row(s) rejected in 0 document(s) (table rejected_rows); "
            "1 error-level quality issue(s) in 1 document(s) (quality_issues)") in r.stdout
    assert r.stderr.splitlines()[-1] == ("fengong: --strict: 1 error-level quality issue(s) in 1 document(s) in raw "
                                         "(SELECT * FROM quality_issues WHERE severity = 'error')")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM items").fetchone() == (3,)
    assert con.execute("SELECT check_name FROM quality_issues WHERE severity = 'error'").fetchall() == [("declared_count",)]
    con.close()


def test_export_writes_hive_partitions_other_engines_read(end_to_end):
    import polars as pl

    work, *_, export = end_to_end
    assert export.returncode == 0, export.stderr
    items = pl.scan_parquet(str(work / "warehouse" / "parquet" / "items" / "**" / "*.parquet"), hive_partitioning=True)
    got = items.group_by("province", "jurisdiction", "period_year").len().sort("jurisdiction", "period_year").collect()
    assert got.rows() == [("湖北省", "丹江口市", 2021, 53), ("湖北省", "江夏区", 2023, 139),
                          ("湖北省", "潜江市", 2021, 101), ("湖北省", "潜江市", 2023, 136),
                          ("湖北省", "赤壁市", 2021, 124)]


def test_sql_is_read_only_and_takes_parameters(end_to_end):
    work, env, *_ = end_to_end
    r = run(["sql", "SELECT count(*) AS n FROM items WHERE doc_id IN (SELECT doc_id FROM documents "
             "WHERE jurisdiction = $1)", "--param", "潜江市"], work, env)
    assert r.stdout.splitlines() == ["n", "237"]
    r = run(["sql", "DELETE FROM items"], work, env)
    assert r.returncode == 1 and "read-only" in r.stderr


def test_missing_raw_folder_says_what_to_do(tmp_path, cli_env):
    r = run(["run", "--raw", "nowhere"], tmp_path, cli_env)
    assert r.returncode == 2 and "no folder nowhere" in r.stderr


def test_a_raw_folder_outside_the_project_is_refused_unless_allowed(tmp_path, cli_env):
    (tmp_path / "raw").mkdir()
    elsewhere = tmp_path.parent / (tmp_path.name + "-elsewhere")
    elsewhere.mkdir()
    r = run(["run", "--raw", str(elsewhere)], tmp_path, cli_env)
    assert r.returncode == 2
    assert f"fengong: {elsewhere} is outside this project's raw/ folder ({tmp_path / 'raw'}); " \
           "pass --allow-outside-raw to read it anyway" in r.stderr
    r = run(["run", "--raw", "raw/../..", "--warehouse", "w.duckdb"], tmp_path, cli_env)
    assert r.returncode == 2 and "outside this project's raw/ folder" in r.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_two_runs_started_together_serialise_and_the_second_finds_nothing_new(end_to_end, tmp_path, cli_env):
    """A scheduled and a manual run at once: one loads, the other waits for the lock (or starts after
    it) and skips; neither fails with DuckDB's own lock error. (end_to_end first: the shared
    PREFECT_HOME is migrated, so the two ephemeral servers do not both migrate it.)"""
    (tmp_path / "raw").mkdir()
    shutil.copy(RAW / SEEDS[1], tmp_path / "raw" / SEEDS[1])
    procs = [subprocess.Popen(fengong_cmd() + ["run"], cwd=tmp_path, env=cli_env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert not any("Could not set lock" in out + err for out, err in outs)
    con = duckdb.connect(str(tmp_path / "warehouse" / "fengong.duckdb"), read_only=True)
    runs = con.execute("SELECT pid, loaded, skipped, waited_s FROM runs ORDER BY finished_at").fetchall()
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 53
    con.close()
    assert [(r[1], r[2]) for r in runs] == [(1, 0), (0, 1)]
    assert sorted(r[0] for r in runs) == sorted(p.pid for p in procs)
    waited = [out for out, _ in outs if "waiting for the run started by pid" in out]
    assert all(f"pid {runs[0][0]} " in out for out in waited)  # whoever waited names the run that did the work


@pytest.mark.parametrize("read_only", ["folder", "file"])
def test_a_read_only_warehouse_is_a_clear_error_and_nothing_is_written(read_only, tmp_path, cli_env):
    """chmod a-w on the folder or the file. (Without any write bit it counts as read-only even for
    root, who could write it anyway; a read-only file system is refused the same way.)"""
    work = tmp_path
    (work / "raw").mkdir()
    shutil.copy(RAW / SEEDS[1], work / "raw" / SEEDS[1])
    wh_dir = work / "warehouse"
    wh_dir.mkdir()
    (wh_dir / "fengong.duckdb").write_bytes(b"an existing warehouse, not to be touched")
    if read_only == "folder":
        wh_dir.chmod(0o555)
    else:
        (wh_dir / "fengong.duckdb").chmod(0o444)
    before = {p.name: p.read_bytes() for p in wh_dir.iterdir()}
    try:
        r = run(["run"], work, cli_env)
    finally:
        wh_dir.chmod(0o755)
    assert r.returncode == 2
    expected = {
        "folder": "fengong: the warehouse folder warehouse is read-only: a run writes fengong.duckdb.lock and "
                  "fengong.duckdb.staging next to the warehouse. Make it writable, or pass --warehouse PATH",
        "file": "fengong: the warehouse file warehouse/fengong.duckdb is read-only; nothing was changed. "
                "Make it writable (chmod u+w), or pass --warehouse PATH",
    }[read_only]
    assert r.stderr.strip() == expected
    assert {p.name: p.read_bytes() for p in wh_dir.iterdir()} == before
    assert "starting Prefect" not in r.stdout  # refused before anything started


def test_serve_refuses_a_bad_cron_and_builds_a_cron_deployment_with_absolute_paths(tmp_path, cli_env):
    (tmp_path / "raw").mkdir()
    r = run(["serve", "--cron", "every minute"], tmp_path, cli_env)
    assert r.returncode == 2
    assert r.stderr == "fengong: --cron 'every minute' is not a cron expression: Invalid cron string: \"every minute\"\n"
    from flows.serve import build_deployment, deployment_parameters

    d = build_deployment("*/15 * * * *", deployment_parameters("raw", "warehouse/fengong.duckdb", 100, 5.0, False))
    assert (d.flow_name, d.name, d.entrypoint) == ("fengong-ingest", "fengong-scheduled", "flows.pipeline.ingest")
    assert [s.schedule.cron for s in d.schedules] == ["*/15 * * * *"]
    assert d.parameters["raw_dir"] == str(Path("raw").absolute())
    assert d.parameters["warehouse"] == str(Path("warehouse/fengong.duckdb").absolute())
    assert d.parameters["project_dir"] == str(Path.cwd())


def test_prefect_yaml_describes_the_deployment_serve_runs():
    """The `prefect deploy` equivalent (prefect.yaml, for a team with a Prefect server) stays in step with
    `fengong serve`: same flow, deployment name, default cron and parameter names."""
    import inspect

    import yaml
    from prefect.cli.deploy._models import PrefectYamlModel

    from flows.defaults import DEFAULT_CRON, DEFAULT_DEPLOYMENT
    from flows.pipeline import ingest
    from flows.serve import deployment_parameters

    config = PrefectYamlModel.model_validate(yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8")))
    (d,) = config.deployments
    assert (d.name, d.entrypoint) == (DEFAULT_DEPLOYMENT, "flows/pipeline.py:ingest")
    assert [s.cron for s in d.schedules] == [DEFAULT_CRON] and d.concurrency_limit == 1
    assert set(d.parameters) <= set(deployment_parameters("raw", "w.duckdb", 100, 5.0, False))
    assert set(d.parameters) <= set(inspect.signature(ingest.fn).parameters)


def test_serve_runs_on_its_schedule_and_loads_only_the_new_notice(tmp_path, cli_env):
    import signal
    import time

    (tmp_path / "raw").mkdir()
    shutil.copy(RAW / SEEDS[1], tmp_path / "raw" / SEEDS[1])
    assert run(["run"], tmp_path, cli_env).returncode == 0
    serve = subprocess.Popen(fengong_cmd() + ["serve", "--every", "5"], cwd=tmp_path, env=cli_env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        text = (RAW / SEEDS[2]).read_text(encoding="utf-8")
        (tmp_path / "raw" / "new.txt").write_text(text.replace("2021年", "2024年"), encoding="utf-8")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            time.sleep(5)
            r = run(["sql", "SELECT loaded, new_files, skipped FROM runs WHERE triggered_by LIKE 'deployment%'"],
                    tmp_path, cli_env)
            if r.stdout.splitlines()[1:]:
                break
        assert r.stdout.splitlines()[1:] == ["1\t1\t1"], r.stdout
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)


def test_run_json_is_alone_on_stdout_and_the_time_is_the_commands_and_the_first_run_hint_only_once(tmp_path):
    """`fengong run --json | jq .`: stdout is one JSON object, every progress line is on stderr. The
    printed "done in" is wall time from the process start (≥ the flow body's `seconds`), and "first start
    … ~30 s" is said only while Prefect's database does not exist yet (a PREFECT_HOME of its own here)."""
    import json
    import re

    home = tmp_path / "prefect_home"
    env = dict(os.environ, PREFECT_HOME=str(home), PYTHONPATH=str(ROOT), DO_NOT_TRACK="1",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    (tmp_path / "raw").mkdir()
    shutil.copy(RAW / SEEDS[1], tmp_path / "raw" / SEEDS[1])
    said = []
    for extra in ([], ["--force"]):  # --force: the second run has work to do, so it starts Prefect
        r = run(["run", "--json", *extra], tmp_path, env)
        assert r.returncode == 0, r.stderr[-2000:]
        summary = json.loads(r.stdout)  # the whole of stdout is the JSON
        assert r.stdout.count("\n") == 1 and summary["files_seen"] == 1
        done = re.search(r"^fengong: done in ([0-9.]+)s: 1 seen", r.stderr, re.M)
        assert done, r.stderr
        assert float(done.group(1)) == summary["wall_seconds"] >= summary["seconds"]
        said.append(r.stderr)
    assert summary["reprocessed"] == 1
    assert f"first start with PREFECT_HOME={home} creates its database, ~30 s" in said[0]
    assert "~30 s" not in said[1] and "fengong: starting Prefect (ephemeral)\n" in said[1]


def test_prefect_migrates_only_an_ephemeral_sqlite_database_that_does_not_exist_yet(tmp_path):
    from flows.cli import prefect_migrates

    db = tmp_path / "prefect.db"
    assert prefect_migrates(f"sqlite+aiosqlite:///{db}", None)
    db.touch()
    assert not prefect_migrates(f"sqlite+aiosqlite:///{db}", None)
    assert not prefect_migrates(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", "http://prefect:4200/api")
    assert not prefect_migrates("postgresql+asyncpg://u:p@db/prefect", None)


@pytest.mark.parametrize("command, named", [
    (["quality"], ["--warehouse", "--out", "summary.md", "index.html", "gx_project/", "exit status", "0 ", "1 ", "2 "]),
    (["serve"], ["--raw", "--allow-outside-raw", "--warehouse", "--batch-size", "--max-file-mb", "--wait", "--cron",
                 "--timezone", "--name", "time zone", "local zone", "WAREHOUSE.lock", "WAREHOUSE.staging",
                 "review/unresolved_units.csv", "review/low_confidence_items.csv", "PREFECT_HOME", "exit status",
                 "0 ", "2 "]),
])
def test_quality_and_serve_help_name_every_option_output_and_exit_code(command, named, tmp_path, cli_env):
    r = run(command + ["--help"], tmp_path, cli_env)
    assert r.returncode == 0
    assert [n for n in named if n not in r.stdout] == []


def test_serve_reads_its_cron_in_the_given_time_zone_or_the_machines(tmp_path, cli_env):
    from flows.serve import build_deployment, deployment_parameters, local_timezone

    params = deployment_parameters("raw", "w.duckdb", 100, 5.0, False)
    d = build_deployment("0 2 * * *", params, timezone="Asia/Shanghai")
    assert [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] == [("0 2 * * *", "Asia/Shanghai")]
    d = build_deployment("0 2 * * *", params)
    assert [s.schedule.timezone for s in d.schedules] == [local_timezone()]
    env = dict(cli_env, TZ="Asia/Shanghai")
    (tmp_path / "raw").mkdir()
    r = run(["serve", "--timezone", "Mars/Olympus"], tmp_path, env)
    assert r.returncode == 2 and r.stderr.startswith("fengong: --timezone 'Mars/Olympus' is not a time zone")
    assert len(r.stderr.splitlines()) == 1
    code = "from flows.serve import local_timezone; print(local_timezone())"
    tz = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert tz.stdout.strip() == "Asia/Shanghai"  # TZ, then /etc/localtime


# ── a failure fengong expects: one line, exit 2 ─────────────────────────────────────────────────

# `fengong ARGS` with a fault injected first: the CLI's own main, in a process whose warehouse code fails
# as a full disk makes it fail (a real full disk needs a file system of its own to fill; see
# tests/test_ops.py for a real write failure under a file size limit)
FAULTS = {
    "load": """
import duckdb
from warehouse import load
real = load._insert_frames
def full(con, docs):
    real(con, docs)  # rows written, then the commit's write fails, as DuckDB 1.5 reports it
    raise duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not write file '
                                      '"warehouse/fengong.duckdb.staging.wal": No space left on device')
load._insert_frames = full
""",
    "staging": """
import errno
from warehouse import transaction
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")
transaction.shutil.copyfile = full
""",
}


def run_with_fault(fault: str, args: list[str], work: Path, env: dict) -> subprocess.CompletedProcess:
    code = FAULTS[fault] + "import sys\nfrom flows.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)


def published_project(work: Path, new_notices: int = 3) -> Path:
    """raw/ with a seed loaded into a published warehouse (by the flow in this process), then new notices added."""
    from conftest import run_flow

    (work / "raw").mkdir()
    shutil.copy(RAW / SEEDS[0], work / "raw" / SEEDS[0])
    warehouse = work / "warehouse" / "fengong.duckdb"
    run_flow(raw_dir=str(work / "raw"), warehouse=str(warehouse), project_dir=str(work))
    text = (RAW / SEEDS[1]).read_text(encoding="utf-8")
    for i in range(new_notices):
        (work / "raw" / f"new{i}.txt").write_text(f"{text}\n(第{i}号)\n", encoding="utf-8")
    return warehouse


def test_regression_disk_full_while_loading_quarantined_every_notice_instead_of_stopping(tmp_path, cli_env):
    """The disk filling while loading reported each remaining notice as a bad file (`QUARANTINED … [load]:
    … No space left on device`). A storage error stops the run: one line, exit 2, nothing quarantined,
    the published warehouse unchanged, and the next run does the work."""
    warehouse = published_project(tmp_path)
    before = warehouse.read_bytes()
    r = run_with_fault("load", ["run", "--batch-size", "1"], tmp_path, cli_env)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (
        "fengong: writing the warehouse failed, nothing of this run was kept: TransactionContext Error: Failed to "
        'commit: Could not write file "warehouse/fengong.duckdb.staging.wal": No space left on device; the disk '
        "holding the warehouse is full: free space on it (a run needs room for a copy of the warehouse and its log) "
        "and run again (the published warehouse warehouse/fengong.duckdb was not changed)\n")
    assert "QUARANTINED" not in r.stdout and "Traceback" not in r.stdout
    assert warehouse.read_bytes() == before
    assert sorted(p.name for p in warehouse.parent.iterdir() if ".standby" not in p.name) == [
        "fengong.duckdb", "fengong.duckdb.lock", "review"]  # the standby: the file the last publish replaced
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
    con.close()
    again = run(["run"], tmp_path, cli_env)
    assert again.returncode == 0 and "3 loaded" in again.stdout, again.stderr


def test_regression_disk_full_while_staging_printed_a_prefect_error_and_two_tracebacks(tmp_path, cli_env):
    """The right line came after Prefect's ERROR line and two chained tracebacks (40 lines). Now it is all
    the command prints on stderr; `--debug` adds the traceback."""
    warehouse = published_project(tmp_path, 1)
    line = ("fengong: no space left on the device while copying warehouse/fengong.duckdb to fengong.duckdb.staging; "
            "free some space and run again; the warehouse was not changed\n")
    r = run_with_fault("staging", ["run"], tmp_path, cli_env)
    assert (r.returncode, r.stderr) == (2, line)
    assert r.stdout == "fengong: starting Prefect (ephemeral)\n"
    debug = run_with_fault("staging", ["run", "--debug"], tmp_path, cli_env)
    assert debug.returncode == 2 and debug.stderr.endswith(line)
    assert "Traceback (most recent call last)" in debug.stderr and "OSError: [Errno 28]" in debug.stderr
    assert not warehouse.with_name("fengong.duckdb.staging").exists()
