"""Every SQL block of README.md and warehouse/models/README.md runs on a warehouse built from the seeds.

Blocks run as `fengong sql` runs a query (warehouse.query.open_for_queries: read-only, the export
folder readable), from the folder that holds warehouse/, so `warehouse/parquet/…` paths resolve.
Each block must return rows unless it says `-- no rows on the seeds`.
"""

import re

import pytest

from warehouse.load import _CREATED
from warehouse.query import open_for_queries

from conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "warehouse" / "models" / "README.md"]
MODELS = sorted((ROOT / "warehouse" / "models").glob("*.sql"))
SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```", re.M | re.S)


def sql_blocks(path):
    return [m.group(1).strip() for m in SQL_BLOCK.finditer(path.read_text(encoding="utf-8"))]


BLOCKS = [(f"{p.relative_to(ROOT)}#{k}", sql) for p in DOCS for k, sql in enumerate(sql_blocks(p), 1)]


@pytest.fixture(scope="module")
def query(seed_warehouse):
    con = open_for_queries(seed_warehouse)
    yield con
    con.close()


@pytest.mark.parametrize("sql", [sql for _, sql in BLOCKS], ids=[name for name, _ in BLOCKS])
def test_every_sql_block_of_the_docs_runs_on_the_seeds(sql, query, seed_warehouse, monkeypatch):
    monkeypatch.chdir(seed_warehouse.parent.parent)
    rows = query.execute(sql).fetchall()
    assert rows or "-- no rows on the seeds" in sql


def test_the_docs_hold_sql_blocks():
    """The block pattern finds them (a fence written differently would silently run nothing)."""
    assert all(len(sql_blocks(p)) >= 5 for p in DOCS)
    assert all(text.count("```sql") == len(sql_blocks(p)) for p in DOCS for text in [p.read_text(encoding="utf-8")])


def test_every_view_and_macro_of_the_models_has_an_example_query():
    """Tables the model files create (the marts' storage, bookkeeping) are documented in prose."""
    created = set()
    for path in MODELS:
        for statement in path.read_text(encoding="utf-8").split(";"):
            m = _CREATED.search(statement)
            if m and not re.search(r"CREATE\s+(?:OR\s+REPLACE\s+)?TABLE", statement, re.I):
                created.add(m.group(1))
    examples = "\n".join(sql_blocks(DOCS[1]))
    assert len(created) >= 16
    assert sorted(n for n in created if not re.search(rf"\b{n}\b", examples)) == []
