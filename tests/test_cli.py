"""The CLI end to end, in a subprocess, the way an operator runs it."""

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


@pytest.mark.parametrize("command", [[], ["run"], ["export"], ["sql"]])
def test_every_command_has_help(command, tmp_path, cli_env):
    r = run(command + ["--help"], tmp_path, cli_env)
    assert r.returncode == 0 and "usage: fengong" in r.stdout


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory, prefect_home):
    """One real run on the seeds plus two bad files, then an export (Prefect starts once)."""
    import os

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


def test_run_loads_the_seeds_and_quarantines_bad_files(end_to_end):
    work, _, first, _, _ = end_to_end
    assert first.returncode == 0, first.stderr
    assert "7 seen, 5 parsed, 2 quarantined, 5 loaded" in first.stdout
    assert "QUARANTINED scan.txt [decode]: cannot read scan.txt: the file is a PDF file, not a text notice" in first.stdout
    con = duckdb.connect(str(work / "warehouse" / "fengong.duckdb"), read_only=True)
    per_doc = dict(con.execute("SELECT d.source_file, count(*) FROM items JOIN documents d USING (doc_id) "
                               "GROUP BY 1").fetchall())
    assert per_doc == {SEEDS[0]: 101, SEEDS[1]: 53, SEEDS[2]: 124, SEEDS[3]: 136, SEEDS[4]: 139}
    assert sorted(con.execute("SELECT source_file, stage FROM quarantine").fetchall()) == [
        ("scan.txt", "decode"), ("空 文件.txt", "decode")]


def test_second_run_changes_no_row_counts_and_strict_fails_on_quarantine(end_to_end):
    work, _, first, second, _ = end_to_end
    assert second.returncode == 1 and "--strict" in second.stderr
    assert "7 seen, 5 parsed, 2 quarantined, 5 loaded" in second.stdout
    con = duckdb.connect(str(work / "warehouse" / "fengong.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM items").fetchone()[0] == 553
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 5
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2


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
