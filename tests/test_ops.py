"""Operations: incremental runs, retire/prune, the run log, the writer lock, readers during a run, faults.

Runs here call the flow (flows.pipeline.ingest) in-process or in a subprocess that reports to this
session's Prefect server, so that a fault can be injected at a chosen point; the CLI is tested in
test_cli.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from transforms.batch import SourceFile, parsed_batch
from validation.batch import validated_batch
from warehouse import inbox, incremental, transaction
from warehouse import load as wh

from conftest import RAW, ROOT, SEEDS, fail_after, run_flow

NOTICE = """关于印发2024年潜江市《政府工作报告》重点工作责任分解的通知
潜江市人民政府办公室
一、重点工作
1.做强小龙虾产业。(牵头单位:市虾稻产业链专班;责任单位:市农业农村局)
2.办好龙虾节。(牵头单位:市商务局)
"""
SEED_ITEMS = {SEEDS[0]: 101, SEEDS[1]: 53, SEEDS[2]: 124, SEEDS[3]: 136, SEEDS[4]: 139}


# ── helpers ─────────────────────────────────────────────────────────────────────────────────────

def warehouse_of(project: Path) -> Path:
    return project / "warehouse" / "fengong.duckdb"


def run(project: Path, **kw) -> tuple[dict, list[str]]:
    return run_flow(raw_dir=str(project / "raw"), warehouse=str(warehouse_of(project)), project_dir=str(project), **kw)


def query(project: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(warehouse_of(project)), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def items_per_file(project: Path) -> dict[str, int]:
    return dict(query(project, "SELECT d.source_file, count(*) FROM items JOIN documents d USING (doc_id) GROUP BY 1"))


def doc_rows(project: Path, doc_id: str) -> dict[str, int]:
    return {t: query(project, f"SELECT count(*) FROM {t} WHERE doc_id = ?", [doc_id])[0][0] for t in wh.DOC_TABLES}


def left_beside(live: Path) -> list[str]:
    """The files in the warehouse folder, but the standby (the file the last publish replaced) and its stamp."""
    return sorted(p.name for p in live.parent.iterdir() if not p.name.startswith(f"{live.name}.standby"))


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def subprocess_env() -> dict:
    """The project importable, and this session's Prefect server (a server per subprocess: ~10 s each)."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the singleton the in-process flows use; started once
    server.start()
    return dict(os.environ, PYTHONPATH=str(ROOT), PREFECT_API_URL=server.api_url)


def python(code: str, cwd: Path, *args: str, pause_at_load: int | None = None, **kw) -> subprocess.Popen:
    """A Python process running `code` in `cwd`, with the project importable."""
    env = subprocess_env() if pause_at_load is None else dict(subprocess_env(), PAUSE_AT_LOAD=str(pause_at_load))
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, env=env, text=True, **kw)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the subprocess exited early ({proc.returncode})"
        assert time.monotonic() < deadline, f"{path.name} did not appear within {timeout} s"
        time.sleep(0.05)


# A run (or a bare load) that stops inside a document's transaction, rows written, until released.
PAUSE_IN_LOAD = """
import os, sys, time
from pathlib import Path
from warehouse import load as wh
real, calls = wh._insert_frames, []
def paused(con, docs):
    real(con, docs)
    calls.append(1)
    if len(calls) == int(os.environ["PAUSE_AT_LOAD"]):
        Path("inside-load").write_text(str(os.getpid()))
        while not Path("release").exists():
            time.sleep(0.05)
wh._insert_frames = paused
"""
RUN = "from flows.pipeline import ingest\ningest()\n"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A project whose warehouse holds the five seeds (loaded once per module)."""
    project = tmp_path_factory.mktemp("seeded")
    (project / "raw").mkdir()
    for name in SEEDS:
        shutil.copy(RAW / name, project / "raw" / name)
    summary, _ = run(project)
    assert summary["loaded"] == 5
    return project


@pytest.fixture
def project(seeded, tmp_path) -> Path:
    """A copy of the seeded project to change."""
    copy = tmp_path / "project"
    shutil.copytree(seeded, copy)
    return copy


def add_notice(project: Path, name: str = "new notice.txt", text: str = NOTICE) -> Path:
    path = project / "raw" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ── incremental ─────────────────────────────────────────────────────────────────────────────────

def test_unchanged_files_are_skipped_and_only_a_new_file_is_parsed(project):
    add_notice(project)
    summary, said = run(project)
    assert {k: summary[k] for k in ("files_seen", "new_files", "changed_files", "skipped", "parsed", "loaded")} == {
        "files_seen": 6, "new_files": 1, "changed_files": 0, "skipped": 5, "parsed": 1, "loaded": 1}
    assert said[0].endswith("6 notice file(s) in " + str(project / "raw") + ": 1 new, 0 changed, 0 to reprocess, "
                            "5 unchanged (skipped)")
    assert items_per_file(project) == {**SEED_ITEMS, "new notice.txt": 2}
    again, _ = run(project)
    assert (again["skipped"], again["parsed"], again["loaded"]) == (6, 0, 0)


def nothing_to_do(project: Path, **kw):
    con = duckdb.connect(str(warehouse_of(project)), read_only=True)
    try:
        return incremental.nothing_to_do(con, project / "raw", 5.0, False, **kw)
    finally:
        con.close()


def test_nothing_to_do_is_told_read_only_and_anything_new_changed_touched_or_gone_is_something(project):
    files, plan = nothing_to_do(project)
    assert (len(files), len(plan.skip)) == (5, 5)
    notice = add_notice(project)
    assert nothing_to_do(project) is None  # new
    notice.unlink()
    assert nothing_to_do(project) is not None
    (project / "raw" / SEEDS[0]).touch()  # the same content with a new mtime: the run records the mtime
    assert nothing_to_do(project) is None
    run(project)
    assert nothing_to_do(project) is not None
    (project / "raw" / SEEDS[1]).unlink()  # gone: the run retires it
    assert nothing_to_do(project) is None


def test_regression_a_run_with_nothing_to_do_imported_scikit_learn_and_pandera():
    """The check for nothing to do imports warehouse.incremental, which imported scikit-learn and
    pandera (with pandas) for the task links: 1.7 s of a 4 s run at 50,000 notices. Only linking needs them."""
    code = ("import sys, warehouse.incremental, warehouse.summary, warehouse.inbox; "
            "print(sorted(m for m in ('sklearn', 'pandera', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_task_links_left_by_a_runs_budget_are_linked_by_the_next_run(project):
    """A run stops linking when its links budget is spent (here 0 s: none); the jurisdictions left are
    pending, so the next run is not "nothing to do", and it links them."""
    add_notice(project)  # 潜江 2024: 潜江's links are to be computed again
    _, lines = run(project, links_budget_s=0)
    assert any(line.startswith("task links: 0 jurisdiction(s) linked") and "1 still to link" in line
               for line in lines)
    assert nothing_to_do(project) is None  # the links are still to do
    assert nothing_to_do(project, links_budget_s=0) is not None  # a run that may not link has nothing to do
    _, lines = run(project)
    assert any(line.startswith("task links: 1 jurisdiction(s) linked") and "still" not in line for line in lines)
    assert nothing_to_do(project) is not None
    assert query(project, "SELECT count(DISTINCT from_doc_id) FROM task_links")[0][0] == 2  # 潜江 2023 and 2024


def hashed_by_a_run(project: Path, monkeypatch, **kw) -> tuple[dict, list[str]]:
    """Run, and return the summary and the names of the files the run read to hash."""
    hashed: list[str] = []
    real = inbox.sha256_file

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(inbox, "sha256_file", counting)
    summary, _ = run(project, **kw)
    return summary, hashed


def test_unchanged_files_are_not_read_again_to_hash_them(project, monkeypatch):
    summary, hashed = hashed_by_a_run(project, monkeypatch)
    assert (summary["skipped"], hashed) == (5, [])
    assert query(project, "SELECT count(*) FROM document_files WHERE size_bytes IS NULL OR mtime_ns IS NULL") == [(0,)]


def test_a_file_with_a_new_mtime_is_hashed_again_and_skipped_if_its_content_is_the_same(project, monkeypatch):
    target = project / "raw" / SEEDS[2]
    os.utime(target, ns=(time.time_ns(), time.time_ns()))
    summary, hashed = hashed_by_a_run(project, monkeypatch)
    assert (hashed, summary["skipped"], summary["parsed"]) == ([SEEDS[2]], 5, 0)


def test_regression_a_same_size_edit_is_seen_by_its_mtime(project, monkeypatch):
    """The hash is skipped only while size and mtime (ns) both match what the last run recorded."""
    target = project / "raw" / SEEDS[1]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("5.切实优化营商环境", "5.切实改善营商环境", 1), encoding="utf-8")
    assert target.stat().st_size == (RAW / SEEDS[1]).stat().st_size
    summary, hashed = hashed_by_a_run(project, monkeypatch)
    assert (hashed, summary["changed_files"], summary["loaded"]) == ([SEEDS[1]], 1, 1)


def test_force_hashes_every_file(project, monkeypatch):
    _, hashed = hashed_by_a_run(project, monkeypatch, force=True)
    assert sorted(hashed) == sorted(SEEDS)


def test_changed_file_replaces_its_document_and_nothing_else(project):
    before = items_per_file(project)
    old_id = query(project, "SELECT doc_id FROM documents WHERE source_file = ?", [SEEDS[1]])[0][0]
    target = project / "raw" / SEEDS[1]
    text = target.read_text(encoding="utf-8")
    cut = text.index("5.切实优化营商环境")  # drop the last task of 丹江口
    target.write_text(text[:cut] + text[text.index("四、工作要求"):], encoding="utf-8")
    summary, _ = run(project)
    assert (summary["changed_files"], summary["skipped"], summary["parsed"], summary["loaded"]) == (1, 4, 1, 1)
    assert items_per_file(project) == {**before, SEEDS[1]: before[SEEDS[1]] - 1}
    assert set(doc_rows(project, old_id).values()) == {0}  # the old version is gone from every table
    assert query(project, "SELECT count(*) FROM document_files WHERE source_file = ?", [SEEDS[1]]) == [(1,)]


def test_force_reprocesses_every_file(project):
    summary, said = run(project, force=True)
    assert (summary["reprocessed"], summary["skipped"], summary["parsed"], summary["loaded"]) == (5, 0, 5, 5)
    assert "5 to reprocess (--force)" in said[0]
    assert items_per_file(project) == SEED_ITEMS


def test_regression_force_grew_the_warehouse_file_the_space_of_replaced_rows_is_given_back(project, monkeypatch):
    """--force replaced every document and the file kept the old rows' blocks (400 notices: 39 -> 74 MB).
    A sparse staging copy is rewritten compactly before it is published (thresholds lowered: the seeds
    make a 7 MB file, below the 16 MB a compaction is worth, and a forced run frees a third of it where
    it frees half of a real warehouse's: 400 notices stay within 10% at the real thresholds, bench/)."""
    monkeypatch.setattr(transaction.Staging, "COMPACT_MIN_BYTES", 0)
    monkeypatch.setattr(transaction.Staging, "COMPACT_FREE_SHARE", 0.25)
    live = warehouse_of(project)
    fresh = live.stat().st_size
    tables = query(project, "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY 1")
    for _ in range(3):
        run(project, force=True)
        assert live.stat().st_size <= fresh * 1.1
    assert items_per_file(project) == SEED_ITEMS
    assert [t for t, _ in query(project, "SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY 1")] == [
        t for t, _ in tables]
    assert query(project, "SELECT count(*) FROM v_department_load")[0][0] > 0  # views and macros came along
    assert left_beside(live) == ["fengong.duckdb", "fengong.duckdb.lock", "review"]


def test_a_new_parser_version_reprocesses_and_is_recorded(project, monkeypatch):
    from transforms import vocab

    monkeypatch.setattr(vocab, "parser_version", lambda: "9.9+test")
    summary, _ = run(project)
    assert (summary["reprocessed"], summary["parsed"], summary["loaded"]) == (5, 5, 5)
    assert query(project, "SELECT DISTINCT parser_version FROM documents") == [("9.9+test",)]
    assert query(project, "SELECT parser_version FROM runs ORDER BY started_at DESC LIMIT 1") == [("9.9+test",)]
    assert run(project)[0]["skipped"] == 5


def test_removed_file_is_retired_and_kept_until_prune_deletes_all_its_rows(project):
    doc_id = query(project, "SELECT doc_id FROM documents WHERE source_file = ?", [SEEDS[1]])[0][0]
    kept = doc_rows(project, doc_id)
    (project / "raw" / SEEDS[1]).unlink()
    summary, said = run(project)
    assert summary["retired"] == 1 and f"marked retired (`fengong prune` deletes them): {SEEDS[1]}" in said[-1]
    assert doc_rows(project, doc_id) == kept  # still there, for analysts
    assert query(project, "SELECT retired_at IS NOT NULL FROM documents WHERE doc_id = ?", [doc_id]) == [(True,)]
    assert query(project, "SELECT current_documents, retired_documents FROM v_freshness") == [(4, 1)]

    would = incremental.prune(str(warehouse_of(project)), dry_run=True)
    assert [r[:2] for r in would.documents] == [(doc_id, SEEDS[1])]
    assert doc_rows(project, doc_id) == kept  # a dry run changes nothing
    pruned = incremental.prune(str(warehouse_of(project)))
    assert [r[:2] for r in pruned.documents] == [(doc_id, SEEDS[1])]
    assert pruned.rows == would.rows == {**kept, "document_files": 1}  # counted by the deletes, all of them
    assert set(doc_rows(project, doc_id).values()) == {0}
    assert query(project, "SELECT count(*) FROM document_files WHERE source_file = ?", [SEEDS[1]]) == [(0,)]
    assert items_per_file(project) == {k: v for k, v in SEED_ITEMS.items() if k != SEEDS[1]}
    assert query(project, "SELECT command, pruned, data_changed FROM runs ORDER BY started_at DESC LIMIT 1") == [
        ("prune", 1, True)]


def test_fengong_prune_prints_the_rows_it_removed(project, capsys, monkeypatch):
    """It printed the retired documents only: a name removed from raw/ whose content is still there
    under another name was deleted from document_files without being counted ("0 retired document(s)
    (nothing is retired)"), and the rows of each table were not counted at all."""
    import re

    from flows.cli import main

    shutil.copy(project / "raw" / SEEDS[0], project / "raw" / "copy.txt")  # the same content, a second name
    run(project)
    (project / "raw" / "copy.txt").unlink()
    (project / "raw" / SEEDS[1]).unlink()
    run(project)
    tables = (*wh.DOC_TABLES, "document_files")
    before = {t: query(project, f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    monkeypatch.chdir(project)
    printed = {}
    for args, verb in ((["--dry-run"], "would delete"), ([], "deleted")):
        assert main(["prune", *args]) == 0
        last = capsys.readouterr().out.splitlines()[-1]
        m = re.fullmatch(rf"fengong: {verb} 1 retired document\(s\) and 2 retired file name\(s\): (\d+) row\(s\): (.*)", last)
        assert m, last
        printed[verb] = {t: int(n) for t, n in (pair.rsplit(" ", 1) for pair in m.group(2).split(", "))}
        assert sum(printed[verb].values()) == int(m.group(1))
    after = {t: query(project, f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    removed = {t: before[t] - after[t] for t in tables if before[t] != after[t]}
    assert printed["would delete"] == printed["deleted"] == removed and removed["document_files"] == 2 and removed["items"] == SEED_ITEMS[SEEDS[1]]
    assert main(["prune"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "fengong: deleted 0 retired document(s) and 0 retired file name(s) (nothing is retired)")


def test_prune_failing_part_way_deletes_nothing(project, monkeypatch):
    (project / "raw" / SEEDS[1]).unlink()
    run(project)
    before = items_per_file(project)
    fail_after(monkeypatch, wh, "delete_documents", duckdb.ConstraintException("simulated, after the rows were deleted"))
    with pytest.raises(duckdb.ConstraintException):
        incremental.prune(str(warehouse_of(project)))
    assert items_per_file(project) == before
    assert not Path(str(warehouse_of(project)) + ".staging").exists()


def test_a_retired_file_that_comes_back_is_current_again(project):
    saved = (project / "raw" / SEEDS[2]).read_bytes()
    (project / "raw" / SEEDS[2]).unlink()
    run(project)
    (project / "raw" / SEEDS[2]).write_bytes(saved)
    summary, _ = run(project)
    assert (summary["new_files"], summary["parsed"], summary["linked"]) == (1, 0, 1)
    assert query(project, "SELECT count(*) FROM documents WHERE retired_at IS NOT NULL") == [(0,)]
    assert query(project, "SELECT count(*) FROM document_files WHERE retired_at IS NOT NULL") == [(0,)]


def test_run_log_says_what_each_run_did_and_when_the_data_last_changed(project):
    add_notice(project)
    first, _ = run(project)
    second, _ = run(project)
    rows = query(project, """
        SELECT run_id, command, files_seen, new_files, changed_files, reprocessed, skipped, parsed, quarantined,
               loaded, retired, data_changed, triggered_by, pid, parser_version IS NOT NULL, finished_at >= started_at
        FROM runs ORDER BY started_at""")
    assert [r[1:] for r in rows[-2:]] == [
        ("run", 6, 1, 0, 0, 5, 1, 0, 1, 0, True, "manual", os.getpid(), True, True),
        ("run", 6, 0, 0, 0, 6, 0, 0, 0, 0, False, "manual", os.getpid(), True, True)]
    assert [r[0] for r in rows[-2:]] == [first["run_id"], second["run_id"]]
    changed_at, last_run_at, last_id = query(project, "SELECT data_changed_at, last_run_at, last_run_id FROM v_freshness")[0]
    assert changed_at < last_run_at and last_id == second["run_id"]
    assert changed_at == query(project, "SELECT finished_at FROM runs WHERE run_id = ?", [first["run_id"]])[0][0]


def test_a_warehouse_from_before_operations_is_upgraded_in_place(tmp_path, parsed_seeds):
    """A file written by the previous schema (no document_files, 9-column runs) keeps its rows and
    gains the new columns; the next run treats its documents as loaded under their names."""
    path = tmp_path / "warehouse" / "fengong.duckdb"
    path.parent.mkdir()
    old_schema = (ROOT / "warehouse" / "schema.sql").read_text(encoding="utf-8").split("-- Operations")[0]
    con = duckdb.connect(str(path))
    con.execute(old_schema)
    doc = parsed_seeds[SEEDS[0]]
    old_cols = [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'documents'").fetchall()]
    con.register("d", doc.frames["documents"].select([c for c in doc.frames["documents"].columns if c in old_cols]).to_arrow())
    con.execute("INSERT INTO documents BY NAME SELECT * FROM d")
    con.execute("INSERT INTO runs VALUES ('old', now(), now(), 1, 1, 0, 1, 0, '0.0')")
    con.close()

    con = wh.connect(path)  # what a run does first
    cols = {c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'")
            .fetchall()}
    assert {"new_files", "changed_files", "retired", "triggered_by", "waited_s"} <= cols
    assert con.execute("SELECT run_id, files_seen, new_files FROM runs").fetchall() == [("old", 1, None)]
    assert con.execute("SELECT source_file, doc_id FROM document_files").fetchall() == [(SEEDS[0], doc.doc_id)]
    con.close()
    (tmp_path / "raw").mkdir()
    shutil.copy(RAW / SEEDS[0], tmp_path / "raw" / SEEDS[0])
    summary, _ = run(tmp_path)
    assert (summary["changed_files"], summary["loaded"]) == (0, 1)  # reprocessed once: no decisions_version yet
    assert items_per_file(tmp_path) == {SEEDS[0]: 101}
    assert run(tmp_path)[0]["skipped"] == 1


def test_review_file_is_rebuilt_from_the_warehouse_as_the_parser_wrote_it(project):
    from warehouse.review import review_rows

    add_notice(project)
    summary, _ = run(project)
    con = duckdb.connect(str(warehouse_of(project)), read_only=True)
    rows = review_rows(con)
    con.close()
    parsed = validated_batch(parsed_batch(inbox.read_files([project / "raw" / "new notice.txt"], project / "raw"), {}))
    assert [{k: r[k] for k in ("jurisdiction", "mention", "doc_id", "source_file", "item_id", "context")}
            for r in rows] == parsed.parsed[0].review
    assert summary["unresolved"] == 1
    # an incremental run that parses nothing still lists every unresolved name
    assert run(project)[0]["unresolved"] == 1
    assert "市虾稻产业链专班" in (project / "warehouse" / "review" / "unresolved_units.csv").read_text(encoding="utf-8")


def test_review_rows_are_in_file_order(project):
    from warehouse import review

    add_notice(project, "b notice.txt")
    add_notice(project, "a notice.txt", NOTICE.replace("2024年", "2025年"))
    run(project)
    con = duckdb.connect(str(warehouse_of(project)), read_only=True)
    rows = review.review_rows(con)
    con.close()
    assert [(r["source_file"], r["mention"]) for r in rows] == [
        ("a notice.txt", "市虾稻产业链专班"), ("b notice.txt", "市虾稻产业链专班")]


def test_low_confidence_rows_carry_the_evidence_of_each_item(project, monkeypatch):
    """The evidence is read from the assignments of the listed documents (a constant list, or a join
    for a long one); it is what a subquery per item over every assignment gives."""
    from warehouse import marts, review

    run(project)
    con = duckdb.connect(str(warehouse_of(project)), read_only=True)
    per_item = dict(con.execute("""
        SELECT i.item_id, (SELECT string_agg(a.role || ' ' || a.mention || ' [' || a.cue || ', ' || a.rule || ']', '; '
                                             ORDER BY a.role, a.ord)
                           FROM assignments a WHERE a.doc_id = i.doc_id AND a.item_id = i.item_id)
        FROM items i""").fetchall())
    listed = review.low_confidence_rows(con)
    monkeypatch.setattr(marts, "among", lambda column, values: f"{column} IN (SELECT unnest(?))")
    joined = review.low_confidence_rows(con)
    con.close()
    assert len(listed) == 25  # the seeds' items whose roles rest on weak evidence
    assert any(r["evidence"] for r in listed)
    assert [r["evidence"] for r in listed] == [per_item[r["item_id"]] for r in listed]
    assert joined == listed


def test_review_query_ran_the_50000_notice_rebuild_out_of_memory(tmp_path):
    """Regression: the review query read the texts of every document with an unresolved name in one
    statement, which holds them all until it ends; the 50,000-notice rebuild ran out of the writer's
    256 MB there. Here the texts of 210 documents (128 KB each) in one statement need more than
    24 MB; the review rows read TEXTS_PER_QUERY (16) texts per statement and fit."""
    from warehouse import review

    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    wh.ensure_schema(con)
    con.execute("INSERT INTO document_texts SELECT 'd' || i, repeat(md5(i::VARCHAR), 4000) FROM range(0, 2100, 10) t(i)")
    con.execute("INSERT INTO documents (doc_id, source_file, sha256, jurisdiction) "
                "SELECT 'd' || i, 'f' || (10000 + i) || '.txt', 'x', '某市' FROM range(0, 2100, 10) t(i)")
    con.execute("INSERT INTO items (doc_id, item_id, seq, item_kind) SELECT doc_id, 'i1', 1, 'task' FROM documents")
    con.execute("INSERT INTO assignments (doc_id, item_id, role, ord, mention, resolved, inherited, char_start, char_end) "
                "SELECT doc_id, 'i1', 'lead', 1, '某局', false, false, 40, 42 FROM documents")
    con.close()
    con = duckdb.connect(str(path))
    con.execute("SET threads = 1")
    con.execute("SET memory_limit = '24MB'")
    ids = [d for (d,) in con.execute("SELECT doc_id FROM documents").fetchall()]
    with pytest.raises(duckdb.OutOfMemoryException):
        con.execute("SELECT doc_id, text FROM document_texts WHERE list_contains(?, doc_id)", [ids]).fetchall()
    con.close()
    con = duckdb.connect(str(path))
    con.execute("SET threads = 1")
    con.execute("SET memory_limit = '24MB'")
    rows = review.review_rows(con)
    con.close()
    assert rows[1] == {"jurisdiction": "某市", "mention": "某局", "doc_id": "d10", "source_file": "f10010.txt",
                       "item_id": "i1", "context": ("d3d9446802a44259755d38e6d163e820" * 2)[10:52]}
    assert [r["context"] for r in rows] == [(hashlib.md5(str(i).encode()).hexdigest() * 2)[10:52]
                                            for i in range(0, 2100, 10)]


# ── bad input ───────────────────────────────────────────────────────────────────────────────────

def test_bad_files_are_quarantined_with_a_reason_and_nothing_else_is_lost(project):
    raw = project / "raw"
    (raw / "empty.txt").write_bytes(b"")
    (raw / "scan.txt").write_bytes(b"\x00\x01binary\x00" * 100)
    add_notice(project, "gbk.txt").write_bytes(NOTICE.encode("gbk"))
    add_notice(project, "no items.txt", "关于做好安全生产工作的通知\n各单位:请认真落实。\n")
    text = (RAW / SEEDS[1]).read_text(encoding="utf-8")
    add_notice(project, "truncated.txt", text[:text.index("5.切实优化营商环境") + 30])
    summary, said = run(project)
    # a notice cut off inside its last item is not bad input: its complete items load (below)
    assert (summary["new_files"], summary["parsed"], summary["quarantined"], summary["loaded"]) == (5, 2, 3, 2)
    reasons = dict(((s, st), r) for s, st, r in query(project, "SELECT source_file, stage, reason FROM quarantine"))
    assert reasons == {
        ("empty.txt", "decode"): "cannot read empty.txt: the file is empty",
        ("scan.txt", "decode"): "cannot read scan.txt: the file is binary (it contains NUL bytes), not a text notice; "
                                "fengong reads .txt, .html, .docx, .pdf, .xlsx, .xls and .ods by their suffix",
        ("no items.txt", "parse"): "no items.txt: no numbered items with responsible units "
                                   "(牵头单位/责任单位 or a unit table) were found",
    }
    # its cut-off item is dropped with a warning, not an error: nothing for `run --strict` to fail on
    assert (summary["error_issues"], summary["error_documents"], summary["rejected_rows"]) == (0, 0, 0)
    assert "QUARANTINED empty.txt [decode]: cannot read empty.txt: the file is empty" in said
    assert query(project, "SELECT encoding FROM documents WHERE source_file = 'gbk.txt'") == [("gb18030",)]
    assert items_per_file(project) == {**SEED_ITEMS, "gbk.txt": 2, "truncated.txt": 52}
    assert query(project, "SELECT incomplete FROM documents WHERE source_file = 'truncated.txt'") == [(True,)]
    assert query(project, "SELECT q.message FROM quality_issues q JOIN documents d USING (doc_id) "
                          "WHERE d.source_file = 'truncated.txt' AND q.check_name = 'truncated_item_dropped'") == [
        ("the notice ends inside item 三/七/5 (切实优化营商环境。深入落实国务院《优化营…): the item was dropped, "
         "the items before it are loaded",)]
    # unchanged bad files are not parsed again, and stay quarantined
    again, _ = run(project)
    assert (again["skipped"], again["parsed"], again["still_quarantined"]) == (10, 0, 3)
    # a fixed file leaves quarantine
    (raw / "no items.txt").write_text(NOTICE, encoding="utf-8")
    fixed, _ = run(project)
    assert (fixed["changed_files"], fixed["loaded"], fixed["still_quarantined"]) == (1, 1, 2)
    # a bad file that is removed is no longer listed
    (raw / "empty.txt").unlink()
    assert run(project)[0]["still_quarantined"] == 1
    assert query(project, "SELECT count(*) FROM quarantine WHERE source_file = 'empty.txt'") == [(0,)]


def test_same_content_under_two_names_is_loaded_once_and_both_names_are_recorded(project):
    add_notice(project, "a.txt")
    add_notice(project, "sub/a copy.txt")
    summary, said = run(project)
    assert (summary["new_files"], summary["parsed"], summary["loaded"], summary["linked"]) == (2, 1, 1, 1)
    doc_id = query(project, "SELECT doc_id FROM documents WHERE source_file = 'a.txt'")[0][0]
    assert query(project, "SELECT source_file FROM document_files WHERE doc_id = ? ORDER BY 1", [doc_id]) == [
        ("a.txt",), ("sub/a copy.txt",)]
    assert items_per_file(project)["a.txt"] == 2 and "sub/a copy.txt" not in items_per_file(project)
    # a third name later: recorded without parsing
    add_notice(project, "a again.txt")
    later, _ = run(project)
    assert (later["new_files"], later["parsed"], later["linked"]) == (1, 0, 1)
    # removing the first name keeps the document current under another name
    (project / "raw" / "a.txt").unlink()
    run(project)
    assert query(project, "SELECT source_file, retired_at IS NULL FROM documents WHERE doc_id = ?", [doc_id]) == [
        ("a again.txt", True)]


def test_the_parse_step_reports_the_names_it_deduplicates(tmp_path):
    files = [SourceFile(tmp_path / n, n, NOTICE.encode()) for n in ("x.txt", "y.txt")]
    result = parsed_batch(files, reviewed={})
    assert len(result.parsed) == 1 and result.duplicates == [("y.txt", result.parsed[0].doc_id)]


def test_file_names_with_spaces_and_non_ascii_characters(project):
    name = "潜江 2024 重点工作(副本)ｖ2.txt"
    add_notice(project, name)
    summary, _ = run(project)
    assert summary["loaded"] == 1
    assert query(project, "SELECT count(*) FROM items JOIN documents d USING (doc_id) WHERE d.source_file = $1",
                 [name]) == [(2,)]
    assert query(project, "SELECT source_file FROM document_files WHERE source_file LIKE '潜江 %'") == [(name,)]


def test_a_folder_outside_raw_is_refused_unless_allowed(project, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(RAW / SEEDS[0], elsewhere / "x.txt")
    with pytest.raises(inbox.RefusedInput, match="is outside this project's raw/ folder .*--allow-outside-raw"):
        run_flow(raw_dir=str(elsewhere), warehouse=str(warehouse_of(project)), project_dir=str(project))
    (project / "raw" / "2024").mkdir()  # a folder below raw/ is inside
    assert inbox.check_raw_dir(project / "raw" / "2024", project_dir=project) == project / "raw" / "2024"
    (project / "raw" / "up").symlink_to(elsewhere)  # resolved paths count, not spellings
    with pytest.raises(inbox.RefusedInput):
        inbox.check_raw_dir(project / "raw" / "up", project_dir=project)
    summary, _ = run_flow(raw_dir=str(elsewhere), warehouse=str(tmp_path / "other.duckdb"),
                          project_dir=str(project), allow_outside_raw=True)
    assert summary["loaded"] == 1


def test_a_link_in_raw_to_a_file_outside_is_quarantined_unread(project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(NOTICE, encoding="utf-8")
    (project / "raw" / "link.txt").symlink_to(secret)
    run(project)
    ((stage, reason),) = query(project, "SELECT stage, reason FROM quarantine WHERE source_file = 'link.txt'")
    assert stage == "read" and reason == f"link.txt is a link to {secret}, outside raw/; pass --allow-outside-raw to read it"


def test_regression_a_link_to_a_folder_in_raw_broke_the_listing(tmp_path):
    """The scandir listing followed links to folders, which Path.rglob never did: a link to a parent
    (a loop) stopped every run with "Too many levels of symbolic links", and a link to / would have
    been walked. Links to folders are not followed; links to files are listed, flagged as links."""
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "sub" / "a.txt").write_text("x", encoding="utf-8")
    (raw / "sub" / "loop").symlink_to(raw)
    (raw / "root").symlink_to("/")
    (raw / "b.txt").symlink_to(raw / "sub" / "a.txt")
    (raw / ".hidden").mkdir()
    (raw / ".hidden" / "c.txt").write_text("x", encoding="utf-8")
    assert [(name, linked) for _, name, linked in inbox.list_raw(raw)] == [("b.txt", True), ("sub/a.txt", False)]


def test_a_file_name_that_is_not_utf8_is_quarantined_naming_it_and_the_other_files_load(project):
    """A name copied from a GBK zip or share (工作.txt in GBK bytes): os.scandir hands it over with lone
    surrogates, which stopped every run in clear_quarantine. Now the file is quarantined under its
    name with the bad bytes escaped, the reason says how to rename it, the other files load, and the
    next runs skip it until it is renamed; then it loads."""
    raw = project / "raw"
    bad = os.path.join(os.fsencode(raw), b"\xb9\xa4\xd7\xf7.txt")
    with open(bad, "wb") as fh:
        fh.write(NOTICE.encode("utf-8"))
    add_notice(project, "good.txt", NOTICE.replace("2024年", "2025年"))
    summary, said = run(project)
    assert {k: summary[k] for k in ("new_files", "quarantined", "loaded", "still_quarantined")} == {
        "new_files": 2, "quarantined": 1, "loaded": 1, "still_quarantined": 1}
    shown = "\\xb9\\xa4\\xd7\\xf7.txt"
    reason = (f"the file name {shown} is not valid UTF-8 (it was written in another encoding; read as GBK it is "
              "'工作.txt'); rename it to UTF-8, e.g. `convmv -f gbk -t utf-8 --notest -r raw/`, and the next run loads it")
    assert f"QUARANTINED {shown} [read]: {reason}" in said
    assert query(project, "SELECT source_file, stage, reason FROM quarantine") == [(shown, "read", reason)]
    assert "good.txt" in items_per_file(project)
    again, said = run(project)  # later runs work, and leave it quarantined
    assert {k: again[k] for k in ("skipped", "quarantined", "still_quarantined")} == {
        "skipped": 7, "quarantined": 0, "still_quarantined": 1}
    os.rename(bad, raw / "工作.txt")
    fixed, _ = run(project)
    assert (fixed["new_files"], fixed["loaded"], fixed["still_quarantined"]) == (1, 1, 0)
    assert query(project, "SELECT count(*) FROM quarantine") == [(0,)]


def test_links_to_folders_in_raw_are_counted_and_said_not_followed(project, tmp_path):
    elsewhere = tmp_path / "more notices"
    elsewhere.mkdir()
    (elsewhere / "x.txt").write_text(NOTICE, encoding="utf-8")
    (project / "raw" / "more").symlink_to(elsewhere)
    (project / "raw" / "sub").mkdir()
    (project / "raw" / "sub" / "loop").symlink_to(project / "raw")
    summary, said = run(project)
    assert summary["files_seen"] == 5 and summary["new_files"] == 0
    assert said[0] == (f"2 link(s) to a folder in {project / 'raw'} not followed (a link can lead back into raw/ or "
                       "to / and loop): more, sub/loop; copy or move the folder into raw/, or run with --raw "
                       "pointing at it")
    (project / "raw" / "more").unlink()
    (project / "raw" / "sub" / "loop").unlink()
    _, said = run(project)
    assert not any("not followed" in line for line in said)


def test_an_io_error_reading_a_file_quarantines_it_until_a_run_can_read_it(project, monkeypatch):
    add_notice(project)
    real = inbox.sha256_file

    def flaky(path):
        if path.name == "new notice.txt":
            raise OSError(errno.EIO, "Input/output error")
        return real(path)

    monkeypatch.setattr(inbox, "sha256_file", flaky)
    summary, said = run(project)
    assert (summary["quarantined"], summary["skipped"]) == (1, 5)
    assert "QUARANTINED new notice.txt [read]: cannot read new notice.txt: Input/output error" in said
    monkeypatch.undo()
    summary, _ = run(project)
    assert (summary["loaded"], summary["still_quarantined"]) == (1, 0)


LARGE_FILES = """
import json, resource, sys, time
from pathlib import Path
import contextlib, io
from flows.pipeline import ingest
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with contextlib.redirect_stdout(io.StringIO()):
    ingest()  # the seeds: imports and caches are warm after this
for name, unit in (("big notice.txt", sys.argv[1]), ("big no items.txt", sys.argv[2])):
    line = unit.encode()
    with open(Path("raw") / name, "wb") as fh:
        for _ in range(int(float(sys.argv[3]) * 2**20 / len(line))):
            fh.write(line)
before, t0 = rss(), time.perf_counter()
summary = ingest()
print(json.dumps({"seconds": time.perf_counter() - t0, "rss_growth_mb": rss() - before, **summary}))
"""


def large_files_run(tmp_path: Path, mb: float) -> tuple[dict, list[tuple]]:
    (tmp_path / "raw").mkdir()
    shutil.copy(RAW / SEEDS[1], tmp_path / "raw" / SEEDS[1])
    notice = (RAW / SEEDS[0]).read_text(encoding="utf-8")
    no_items = "各单位要认真贯彻落实会议精神,切实加强组织领导,确保各项工作任务落到实处。\n"
    p = python(LARGE_FILES, tmp_path, notice, no_items, str(mb), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = p.communicate(timeout=120)
    for big in (tmp_path / "raw").glob("big *.txt"):
        big.unlink()  # pytest keeps the last three temporary folders; not with 100 MB each
    assert p.returncode == 0, stderr
    out = json.loads(stdout.splitlines()[-1])
    return out, query(tmp_path, "SELECT source_file, stage, reason FROM quarantine ORDER BY 1")


def test_a_50_mb_file_is_quarantined_quickly_with_bounded_memory(tmp_path):
    out, quarantined = large_files_run(tmp_path, 50)
    assert quarantined == [
        ("big no items.txt", "read", "big no items.txt is 50.0 MB, larger than the 5 MB limit for one notice; "
                                     "split it into one file per notice (or raise --max-file-mb)"),
        ("big notice.txt", "read", "big notice.txt is 50.0 MB, larger than the 5 MB limit for one notice; "
                                   "split it into one file per notice (or raise --max-file-mb)")]
    assert out["seconds"] < 10, out  # two files hashed in 1 MB chunks, neither read whole
    assert out["rss_growth_mb"] < 32, out
    assert (out["skipped"], out["loaded"]) == (1, 0)


def test_a_file_just_under_the_limit_is_parsed_in_bounded_time_and_memory(tmp_path):
    out, quarantined = large_files_run(tmp_path, 4)
    assert [(n, s) for n, s, _ in quarantined] == [("big no items.txt", "parse")]
    assert out["loaded"] == 1  # the seed repeated 100 times is one (odd) notice
    assert out["seconds"] < 30, out
    assert out["rss_growth_mb"] < 600, out


# ── the lock ────────────────────────────────────────────────────────────────────────────────────

def test_a_second_run_waits_for_the_first_then_finds_nothing_to_do(project):
    add_notice(project)
    first = python(PAUSE_IN_LOAD + RUN, project, pause_at_load=1, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(project / "inside-load", first)
    log = (project / "second.log").open("w")
    second = python(RUN, project, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "waiting for" not in (project / "second.log").read_text(encoding="utf-8"):
        assert second.poll() is None and time.monotonic() < deadline, (project / "second.log").read_text()
        time.sleep(0.05)
    (project / "release").touch()
    assert first.wait(60) == 0, first.communicate()
    assert second.wait(60) == 0
    said = (project / "second.log").read_text(encoding="utf-8")
    assert f"fengong: waiting for the run started by pid {first.pid} at " in said
    assert "(fengong run (manual)) to finish (lock warehouse/fengong.duckdb.lock) …" in said
    assert "0 new, 0 changed, 0 to reprocess, 6 unchanged (skipped)" in said
    assert "Could not set lock" not in said and "Error" not in said
    rows = query(project, "SELECT pid, loaded, skipped, waited_s > 0 FROM runs ORDER BY finished_at DESC LIMIT 2")
    assert rows == [(second.pid, 0, 6, True), (first.pid, 1, 5, False)]


def test_the_lock_wait_gives_up_with_a_clear_message(project):
    add_notice(project)
    holder = python(PAUSE_IN_LOAD + RUN, project, pause_at_load=1, stdout=subprocess.DEVNULL)
    try:
        wait_for(project / "inside-load", holder)
        with pytest.raises(wh.WarehouseError, match=f"gave up after 0.5 s waiting for the run started by pid "
                                                    f"{holder.pid} .*nothing was changed"):
            run(project, lock_wait_s=0.5)
    finally:
        (project / "release").touch()
        holder.wait(60)


# ── killed mid-load ─────────────────────────────────────────────────────────────────────────────

def test_a_run_killed_mid_load_leaves_the_warehouse_as_it_was_and_the_next_run_completes(project):
    before = items_per_file(project)
    live = warehouse_of(project)
    sha_before = file_sha(live)
    add_notice(project, "one.txt")
    add_notice(project, "two.txt", NOTICE.replace("2024年", "2025年"))
    p = python(PAUSE_IN_LOAD + RUN.replace("()", "(batch_size=1)"), project, pause_at_load=2,
               stdout=subprocess.DEVNULL)
    wait_for(project / "inside-load", p)  # one.txt committed (in staging), two.txt's rows written, not committed
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert Path(f"{live}.staging").exists()  # what the killed run left
    assert file_sha(live) == sha_before
    assert items_per_file(project) == before  # readable, every document intact
    summary, _ = run(project)
    assert (summary["new_files"], summary["loaded"]) == (2, 2)
    assert items_per_file(project) == {**before, "one.txt": 2, "two.txt": 2}
    assert not Path(f"{live}.staging").exists()


def test_a_first_run_killed_mid_load_publishes_nothing_and_the_next_run_completes(tmp_path):
    add_notice(tmp_path, "one.txt")
    add_notice(tmp_path, "two.txt", NOTICE.replace("2024年", "2025年"))
    p = python(PAUSE_IN_LOAD + RUN.replace("()", "(batch_size=1)"), tmp_path, pause_at_load=2,
               stdout=subprocess.DEVNULL)
    wait_for(tmp_path / "inside-load", p)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert not warehouse_of(tmp_path).exists()
    summary, _ = run(tmp_path)
    assert summary["loaded"] == 2 and items_per_file(tmp_path) == {"one.txt": 2, "two.txt": 2}


def test_a_process_killed_inside_a_document_transaction_keeps_the_committed_ones(tmp_path):
    """The loader's own guarantee, without the staging copy: DuckDB replays only committed documents.
    (It needs wh.connect's CHECKPOINT after the DDL: a WAL holding CREATE TABLE … DEFAULT cannot be
    replayed by DuckDB 1.5, duckdb/duckdb#18259, and the file would not open at all.)"""
    code = PAUSE_IN_LOAD + f"""
from transforms.batch import parsed_batch
from validation.batch import validated_batch
from warehouse import inbox
raw = Path({str(RAW)!r})
files = inbox.read_files([raw / n for n in {SEEDS[:3]!r}], raw)
con = wh.connect("w.duckdb")
for f in files:
    wh.load_documents(con, validated_batch(parsed_batch([f], reviewed={{}})).parsed)
"""
    p = python(code, tmp_path, pause_at_load=3, stdout=subprocess.DEVNULL)
    wait_for(tmp_path / "inside-load", p, timeout=90)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    got = dict(con.execute("SELECT d.source_file, count(*) FROM items JOIN documents d USING (doc_id) GROUP BY 1")
               .fetchall())
    con.close()
    assert got == {SEEDS[0]: 101, SEEDS[1]: 53}


# ── readers during a run ────────────────────────────────────────────────────────────────────────

READER = """
import sys, time, duckdb
from pathlib import Path
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
while not Path("stop-reading").exists():
    print(con.execute("SELECT count(*) FROM documents").fetchone()[0], flush=True)
    time.sleep(0.05)
print("last", con.execute("SELECT count(*), sum(n_chars) FROM documents").fetchone()[0], flush=True)
"""


def test_readers_keep_answering_during_a_run_and_new_connections_see_the_new_data(project, monkeypatch):
    live = warehouse_of(project)
    reader = python(READER, project, str(live), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout.readline() == "open\n"
    add_notice(project)
    seen_mid_run = []
    real = wh._insert_frames

    def load_and_look(con, docs):
        real(con, docs)
        time.sleep(0.3)  # the reader queries meanwhile
        # an analyst opening a new connection in the middle of the run (what `fengong sql` does)
        r = subprocess.run([sys.executable, "-m", "flows.cli", "sql", "SELECT count(*) FROM documents",
                            "--warehouse", str(live)], cwd=project, env=subprocess_env(), capture_output=True,
                           text=True, timeout=60)
        seen_mid_run.append((r.returncode, r.stdout, r.stderr))

    monkeypatch.setattr(wh, "_insert_frames", load_and_look)
    summary, _ = run(project)
    assert summary["loaded"] == 1
    assert seen_mid_run == [(0, "count_star()\n5\n", "")]
    time.sleep(0.2)
    (project / "stop-reading").touch()
    out, err = reader.communicate(timeout=30)
    assert reader.returncode == 0 and err == ""
    answers = out.split()
    assert len(answers) > 5 and set(answers[:-2]) == {"5"} and answers[-2:] == ["last", "5"]
    assert query(project, "SELECT count(*) FROM documents") == [(6,)]  # a new connection sees the run


# ── disk full, read-only ────────────────────────────────────────────────────────────────────────

def _fail_copy(monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(transaction.shutil, "copyfile", full)


def _fail_load(monkeypatch):
    fail_after(monkeypatch, wh, "_insert_frames", duckdb.IOException(
        'IO Error: Could not write file "fengong.duckdb.staging": No space left on device'))


def _fail_publish(monkeypatch):
    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(transaction, "_fsync", full)


@pytest.mark.parametrize("fail, message", [
    (_fail_copy, "no space left on the device while copying .* to fengong.duckdb.staging; free some space"),
    (_fail_load, "writing the warehouse failed, nothing of this run was kept: IO Error: .*No space left on device"),
    (_fail_publish, "no space left on the device while publishing"),
], ids=["copying", "loading", "publishing"])
def test_disk_full_is_a_clear_error_and_leaves_nothing_half_written(project, monkeypatch, fail, message):
    live = warehouse_of(project)
    sha_before = file_sha(live)
    add_notice(project)
    fail(monkeypatch)
    with pytest.raises(wh.WarehouseError, match=message) as e:
        run(project)
    assert "was not changed" in str(e.value)
    assert file_sha(live) == sha_before
    assert left_beside(live) == ["fengong.duckdb", "fengong.duckdb.lock", "review"]
    monkeypatch.undo()
    assert run(project)[0]["loaded"] == 1  # the next run does the work


@pytest.mark.parametrize("error, message", [
    (duckdb.IOException('IO Error: Could not write file "fengong.duckdb.staging": No space left on device'),
     "writing the warehouse failed, nothing of this run was kept: IO Error: .*No space left on device; the disk "
     "holding the warehouse is full: free space on it"),
    # what DuckDB 1.5 raises when the commit's write fails (see the test below)
    (duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not write file "w.wal": Disk '
                                 'quota exceeded'), "Disk quota exceeded; the disk holding the warehouse is full"),
    (duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB"),
     "DuckDB ran out of memory, nothing of this run was kept: .*; the writer may use 256MB \\(FENGONG_WRITER_MEMORY\\): "
     "set it higher .*or run with a smaller --batch-size"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "Disk quota exceeded; the disk holding the warehouse is full"),
], ids=["io", "commit", "out-of-memory", "oserror"])
def test_a_storage_error_while_loading_is_not_blamed_on_the_documents(tmp_path, parsed_seeds, monkeypatch, error,
                                                                      message):
    """A full disk, a quota or DuckDB out of memory aborts the load instead of quarantining every document."""
    con = wh.connect(tmp_path / "w.duckdb")
    fail_after(monkeypatch, wh, "_insert_frames", error)
    with pytest.raises(wh.WarehouseError, match=message):
        wh.load_documents(con, list(parsed_seeds.values())[:2])
    assert con.execute("SELECT count(*) FROM documents").fetchone() == (0,)
    con.close()


def test_a_document_the_warehouse_refuses_is_still_returned_to_be_quarantined(tmp_path, parsed_seeds, monkeypatch):
    """Not every DuckDB error is the storage's: a constraint a document breaks is that document's."""
    con = wh.connect(tmp_path / "w.duckdb")
    docs = list(parsed_seeds.values())[:2]
    real = wh._insert_frames

    def refuse_the_second(con, batch):
        if any(d is docs[1] for d in batch):
            raise duckdb.ConstraintException("Constraint Error: Duplicate key")
        real(con, batch)

    monkeypatch.setattr(wh, "_insert_frames", refuse_the_second)
    failed = wh.load_documents(con, docs)
    assert [(d, why) for d, why in failed] == [(docs[1], "loading failed and was rolled back: Constraint Error: "
                                                         "Duplicate key")]
    assert con.execute("SELECT count(*) FROM documents").fetchone() == (1,)
    con.close()


# A run under a file size limit (ulimit -f): the first commit that writes past it fails for real, as on a
# full disk (a file system of its own to fill needs root; this needs nothing). SIGXFSZ is ignored, so the
# write fails with EFBIG instead of killing the process.
RUN_UNDER_FILE_LIMIT = """
import resource, signal, sys
from flows.pipeline import ingest
from warehouse.load import WarehouseError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
try:
    ingest(batch_size=5)
except WarehouseError as e:
    print(e)
    sys.exit(2)
"""


def test_regression_a_real_write_failure_while_loading_stops_the_run_and_quarantines_nothing(tmp_path):
    """DuckDB reports a failed commit as TransactionException ('Failed to commit: Could not write file …'),
    which the loader took for the document's fault: with the disk full, every notice after it was
    quarantined as bad. Here the write fails for real, on a first run: the new warehouse's file is 1 MB
    after its schema, and its write-ahead log outgrows the 1.25 MB limit at the third or fourth batch of 5
    notices (about 0.4 MB of log a batch). Nothing is published, nothing quarantined; the next run loads all."""
    text = (RAW / SEEDS[1]).read_text(encoding="utf-8")
    for i in range(40):
        add_notice(tmp_path, f"n{i:02d}.txt", f"{text}\n(第{i}号)\n")
    p = python(RUN_UNDER_FILE_LIMIT, tmp_path, str(5 * 2**18), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 2, err
    assert re.match(r"writing the warehouse failed, nothing of this run was kept: TransactionContext Error: Failed to "
                    r"commit: Could not write file .*fengong.duckdb.staging.wal\": File too large; a file size limit "
                    r"stopped the write \(ulimit -f\): raise it and run again \(the published warehouse "
                    r"warehouse/fengong.duckdb was not changed\)$", out.splitlines()[-1]), out
    assert "QUARANTINED" not in out and "5/40 files to parse: 5 parsed, 0 quarantined, 5 loaded" in out
    assert sorted(p.name for p in (tmp_path / "warehouse").iterdir()) == ["fengong.duckdb.lock"]
    summary, said = run(tmp_path)  # without the limit, the next run does the work
    assert (summary["loaded"], summary["quarantined"]) == (40, 0)
    assert query(tmp_path, "SELECT count(*) FROM documents") == [(40,)]
