"""The flow on a Dask cluster (prefect-dask, a LocalCluster) loads exactly what the default runner loads."""

import shutil

import duckdb
import pytest

from conftest import RAW, SEEDS
from test_cli import run

TABLES = ("documents", "document_texts", "sections", "items", "assignments", "leaders", "indicators",
          "quality_issues", "doc_units", "doc_unit_aliases", "quarantine")


def snapshot(path):
    """Row counts per table, and the assignments themselves (order-free)."""
    con = duckdb.connect(str(path), read_only=True)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    rows = con.execute("SELECT doc_id, item_id, role, ord, mention, unit_id FROM assignments ORDER BY ALL").fetchall()
    con.close()
    return counts, rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli_env_module):
    work = tmp_path_factory.mktemp("runners")
    raw = work / "raw"
    raw.mkdir()
    for name in SEEDS:
        shutil.copy(RAW / name, raw / name)
    (raw / "scan.txt").write_bytes(b"%PDF-1.7 binary")
    out = {}
    for runner in ("thread", "dask"):
        r = run(["run", "--runner", runner, "--workers", "2", "--warehouse", f"{runner}.duckdb"], work, cli_env_module)
        out[runner] = (r, work / f"{runner}.duckdb")
    return out


def test_dask_runner_loads_what_the_default_runner_loads(runs):
    (default, default_wh), (dask, dask_wh) = runs["thread"], runs["dask"]
    assert default.returncode == 0, default.stderr
    assert dask.returncode == 0, dask.stderr
    assert "5 parsed, 1 quarantined, 5 loaded" in dask.stdout
    counts, rows = snapshot(dask_wh)
    assert counts["items"] == 553 and counts["documents"] == 5 and counts["quarantine"] == 1
    assert (counts, rows) == snapshot(default_wh)
