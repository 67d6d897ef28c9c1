"""The parser on real notices: the realset (tests/realset/, see PROVENANCE.md) scored by its own score.py.

The in-process build (a few seconds) must not fall below tests/realset_floor.json, and must score
exactly as a warehouse built by the real CLI does. `python -m tests.realset_score` prints the same
figures with the by-doc table.
"""

import filecmp
import subprocess
from pathlib import Path

import pytest

import realset_score as rs
from conftest import ROOT
from test_cli import fengong_cmd

SHARED = ROOT.parent / "shared" / "realset"  # where the vendored copy comes from, when it is beside the checkout


@pytest.fixture(scope="module")
def realset() -> Path:
    return rs.realset_dir()


@pytest.fixture(scope="module")
def in_process(realset) -> dict:
    return rs.measure(realset, mismatches=True)


def test_the_realset_scores_at_least_the_floor(in_process):
    floor = rs.read_floor()
    short = rs.below_floor(in_process, floor)
    assert not short, (
        f"the realset ({in_process['realset']}) fell below {rs.FLOOR_FILE.name}: {'; '.join(short)}\n"
        f"{rs.table(in_process)}\n{in_process['line']}\n"
        f"{len(in_process['quarantined'])} of {len(in_process['docs'])} notices quarantined")


def test_every_gold_notice_is_scored(in_process, realset):
    names = sorted(p.name for p in (realset / "raw").iterdir())
    assert sorted(d["file"] for d in in_process["docs"]) == names
    assert in_process["not_loaded"] == len(in_process["quarantined"])


def test_the_cli_warehouse_scores_the_same(in_process, realset, tmp_path, cli_env):
    """The real `fengong run` (Prefect, the loader) and the in-process build give the same score."""
    warehouse = tmp_path / "realset.duckdb"
    r = subprocess.run(fengong_cmd() + ["run", "--allow-outside-raw", "--raw", str(realset / "raw"),
                                        "--warehouse", str(warehouse)],
                       cwd=tmp_path, env=cli_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cli = rs.score(warehouse, realset, mismatches=True)
    assert cli["line"] == in_process["line"], f"CLI:\n{cli['table']}\nin process:\n{in_process['table']}"
    assert cli["table"] == in_process["table"]
    assert cli["mismatches"] == in_process["mismatches"]  # score.py's first 60, item by item


@pytest.mark.skipif(not SHARED.is_dir() or SHARED.resolve() == rs.VENDORED.resolve(),
                    reason=f"no shared realset at {SHARED} to compare the vendored copy with")
def test_the_vendored_realset_is_a_byte_copy_of_the_shared_one():
    names = ["gold.json", "index.jsonl", "score.py", "README.md"]
    match, mismatch, errors = filecmp.cmpfiles(SHARED, rs.VENDORED, names, shallow=False)
    raw = filecmp.dircmp(SHARED / "raw", rs.VENDORED / "raw")
    _, raw_mismatch, raw_errors = filecmp.cmpfiles(SHARED / "raw", rs.VENDORED / "raw", raw.common_files,
                                                   shallow=False)
    differ = mismatch + errors + [f"raw/{n}" for n in raw_mismatch + raw_errors + raw.left_only + raw.right_only]
    assert not differ, (f"tests/realset differs from {SHARED} in {differ}: never edit the copy; refresh it with "
                        f"cp -r {SHARED}/{{raw,gold.json,index.jsonl,score.py,README.md}} tests/realset/ "
                        "(tests/realset/PROVENANCE.md)")
