"""The standby (warehouse/transaction.py): a run brings the file the last publish replaced up to date
from the published warehouse instead of copying the whole warehouse, and does so only when it is safe.

The check after each run below is the whole claim: right after the catch-up, the staging file holds
exactly what the published warehouse holds, table by table, row by row (a fingerprint of every row).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from warehouse import transaction
from warehouse import load as wh

from conftest import RAW, SEEDS, run_flow

REALSET = sorted((Path(__file__).resolve().parent / "realset" / "raw").glob("*.txt"))


def warehouse_of(project: Path) -> Path:
    return project / "warehouse" / "fengong.duckdb"


def run(project: Path, **kw) -> tuple[dict, list[str]]:
    return run_flow(raw_dir=str(project / "raw"), warehouse=str(warehouse_of(project)), project_dir=str(project), **kw)


def fingerprints(path: Path) -> dict[str, tuple]:
    """Every table: its row count and the sum of its rows' hashes."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                            "ORDER BY 1").fetchall()]
        return {t: con.execute(f"SELECT count(*), sum(hash(x)::HUGEINT) FROM {t} x").fetchone() for t in tables}
    finally:
        con.close()


@pytest.fixture
def catch_ups(monkeypatch) -> list[dict]:
    """Each catch-up of a run: what it copied, and whether the staging file then equalled the warehouse.
    Every standby is caught up, however many of its few documents changed (a copy is chosen when more
    than a quarter did: the last test)."""
    monkeypatch.setattr(transaction, "COPY_WHEN_CHANGED", 1.0)
    seen: list[dict] = []
    real = transaction.Staging._catch_up

    def spy(self):
        copied = real(self)
        same = copied is not None and fingerprints(self.path) == fingerprints(self.live)
        seen.append({"copied": copied, "equal": same})
        return copied

    monkeypatch.setattr(transaction.Staging, "_catch_up", spy)
    return seen


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "raw").mkdir()
    for name in SEEDS[:2]:
        shutil.copy(RAW / name, tmp_path / "raw" / name)
    return tmp_path


def test_the_first_run_publishes_and_keeps_no_standby_then_each_publish_keeps_the_file_it_replaced(project):
    live = warehouse_of(project)
    run(project)
    assert not Path(f"{live}.standby").exists()  # nothing was replaced
    before = live.stat().st_ino
    shutil.copy(RAW / SEEDS[2], project / "raw" / SEEDS[2])
    run(project)
    assert Path(f"{live}.standby").stat().st_ino == before  # the replaced file, by a second name
    assert live.stat().st_ino != before


def test_each_kind_of_run_catches_the_standby_up_exactly(project, catch_ups):
    """New, changed, removed (retired), pruned, forced: after every catch-up the staging file equals the
    warehouse, and only the documents that differ were copied."""
    from warehouse.incremental import prune

    raw, live = project / "raw", warehouse_of(project)
    run(project)                                                      # first build: no standby
    shutil.copy(RAW / SEEDS[2], raw / SEEDS[2])
    run(project)                                                      # a new notice: a copy, as nothing
                                                                      # was replaced yet (no standby)
    (raw / "real.txt").write_text(REALSET[0].read_text(encoding="utf-8"), encoding="utf-8")
    run(project)                                                      # another; catch-up copies SEEDS[2]
    (raw / "real.txt").write_text(REALSET[1].read_text(encoding="utf-8"), encoding="utf-8")
    run(project)                                                      # changed content under one name
    (raw / SEEDS[0]).unlink()
    run(project)                                                      # a name gone: its document retired
    prune(warehouse=str(live))                                        # rows deleted
    run(project, force=True)                                          # every document again
    shutil.copy(RAW / SEEDS[3], raw / SEEDS[3])
    run(project)                                                      # catch-up copies every document
    assert [c["equal"] for c in catch_ups] == [True] * 6
    # the third run's catch-up copied the one document the second run had loaded
    assert catch_ups[0]["copied"]["documents"] == 1
    assert catch_ups[0]["copied"]["items"] == 124  # SEEDS[2]
    # after --force every document had been loaded again: all of them were copied
    assert catch_ups[5]["copied"]["documents"] == 3


def test_a_reader_in_another_process_keeps_its_file_and_the_run_copies_the_warehouse(project, catch_ups):
    live = warehouse_of(project)
    run(project)
    shutil.copy(RAW / SEEDS[2], project / "raw" / SEEDS[2])
    run(project)  # the first build is now the standby
    reader = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(live) + '.standby'!r}, read_only=True)\n"
         "print(con.execute('SELECT count(*) FROM documents').fetchone()[0], flush=True)\n"
         "sys.stdin.readline()\n"
         "print(con.execute('SELECT count(*) FROM documents').fetchone()[0], flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "2"
        shutil.copy(RAW / SEEDS[3], project / "raw" / SEEDS[3])
        summary, _ = run(project)
        assert summary["loaded"] == 1
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "2"  # its file was not written
    finally:
        reader.kill()
        reader.wait()
    assert catch_ups == [{"copied": None, "equal": False}]  # the standby was locked: copied instead
    assert fingerprints(live)["documents"][0] == 4


def test_regression_a_reader_in_this_process_is_not_written_under(project, catch_ups):
    """POSIX locks do not conflict within one process: DuckDB would let the run write the file this
    process still reads. The run sees the open file in /proc/self/fd and copies instead."""
    live = warehouse_of(project)
    run(project)
    held = duckdb.connect(str(live), read_only=True)  # will be the standby after the next run
    try:
        shutil.copy(RAW / SEEDS[2], project / "raw" / SEEDS[2])
        run(project)
        shutil.copy(RAW / SEEDS[3], project / "raw" / SEEDS[3])
        run(project)
        assert held.execute("SELECT count(*) FROM documents").fetchone()[0] == 2
    finally:
        held.close()
    assert catch_ups == []  # the standby was never taken
    assert fingerprints(live)["documents"][0] == 4


def test_a_warehouse_written_in_place_since_the_last_publish_is_copied_not_caught_up(project, catch_ups):
    live = warehouse_of(project)
    run(project)
    shutil.copy(RAW / SEEDS[2], project / "raw" / SEEDS[2])
    run(project)
    con = duckdb.connect(str(live))  # by hand, outside fengong
    con.execute("UPDATE items SET text = text || '!' WHERE seq = 1")
    con.close()
    time.sleep(0.01)
    shutil.copy(RAW / SEEDS[3], project / "raw" / SEEDS[3])
    run(project)
    assert catch_ups == []
    assert duckdb.connect(str(live), read_only=True).execute(
        "SELECT count(*) FROM items WHERE seq = 1 AND text LIKE '%!'").fetchone()[0] == 3


def test_catch_up_refuses_a_standby_with_another_schema(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for p in (a, b):
        wh.connect(p).close()
    con = duckdb.connect(str(b))
    con.execute("ALTER TABLE runs ADD COLUMN extra INTEGER")
    con.execute(f"ATTACH '{a}' AS published (READ_ONLY)")
    assert transaction.catch_up(con, "published") is None
    con.close()


def test_a_standby_most_of_whose_documents_changed_is_not_caught_up_but_copied(project, catch_ups, monkeypatch):
    """After --force every row was rewritten: a copy is cheaper, and leaves no free blocks behind."""
    monkeypatch.setattr(transaction, "COPY_WHEN_CHANGED", 0.25)
    run(project)
    shutil.copy(RAW / SEEDS[2], project / "raw" / SEEDS[2])
    run(project)
    run(project, force=True)    # 1 of 3 documents changed since the standby: more than a quarter, copied
    shutil.copy(RAW / SEEDS[3], project / "raw" / SEEDS[3])
    run(project)                # the standby missed the forced rewrite of all 3: copied
    assert [c["copied"] for c in catch_ups] == [None, None]
    assert fingerprints(warehouse_of(project))["documents"][0] == 4
