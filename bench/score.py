"""Score a warehouse against the generator's truth (bench/make_corpus.py): F1 of items, assignments
and leaders, and how often the document metadata is right.

Everything is counted in DuckDB, as multisets (an item printed twice counts twice):

* an item is (file, parent_nos, item_no, first 10 characters of its text, kind, binding);
* an assignment is (file, parent_nos, item_no, first 10 characters, role, mention);
* a leader is (file, parent_nos, item_no, first 10 characters, name).

    python bench/score.py --warehouse W --truth CORPUS/truth
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

ROLES = ("lead", "co", "responsible", "overall_lead")
_ITEM_KEY = "source_file, parent_nos, item_no, starts"

TRUTH_COLUMNS = {
    "doc": "JSON", "parent_nos": "VARCHAR[]", "item_no": "VARCHAR", "kind": "VARCHAR", "binding": "VARCHAR",
    "starts": "VARCHAR", "leaders": "VARCHAR[]", **{r: "VARCHAR[]" for r in ROLES},
}


def load_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> None:
    """truth_docs, truth_items, truth_assignments, truth_leaders as temp tables."""
    pattern = (Path(truth_dir) / "*.jsonl").as_posix()
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE truth_raw AS
        SELECT *, regexp_extract(filename, '([^/]+)\\.jsonl$', 1) || '.txt' AS source_file
        FROM read_json('{pattern}', format = 'newline_delimited', filename = true,
                       columns = {json.dumps(TRUTH_COLUMNS)})""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE truth_docs AS
        SELECT source_file, doc->>'jurisdiction_code' AS jurisdiction_code, doc->>'doc_kind' AS doc_kind,
               (doc->>'period_start')::INTEGER AS period_start, doc->>'role_rule' AS role_rule,
               doc->>'family' AS family, doc->>'admin_level' AS admin_level, (doc->>'bytes')::BIGINT AS bytes
        FROM truth_raw WHERE doc IS NOT NULL""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE truth_items AS
        SELECT {_ITEM_KEY}, kind, binding, {', '.join(ROLES)}, leaders FROM truth_raw WHERE doc IS NULL""")
    con.execute("CREATE OR REPLACE TEMP TABLE truth_assignments AS " + " UNION ALL ".join(
        f"SELECT {_ITEM_KEY}, '{r}' AS role, unnest({r}) AS mention FROM truth_items" for r in ROLES))
    con.execute(f"CREATE OR REPLACE TEMP TABLE truth_leaders AS "
                f"SELECT {_ITEM_KEY}, unnest(leaders) AS name FROM truth_items")
    con.execute("DROP TABLE truth_raw")


def load_actual(con: duckdb.DuckDBPyConnection, schema: str = "wh") -> None:
    """The parsed side, from the loaded warehouse (attached as `schema`)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE got_items AS
        SELECT d.source_file, i.parent_nos, i.item_no, left(i.text, 10) AS starts, i.item_kind AS kind,
               i.binding, i.item_id
        FROM {schema}.items i JOIN {schema}.documents d USING (doc_id)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE got_assignments AS
        SELECT {', '.join('g.' + c for c in _ITEM_KEY.split(', '))}, a.role, a.mention
        FROM {schema}.assignments a JOIN got_items g USING (item_id)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE got_leaders AS
        SELECT {', '.join('g.' + c for c in _ITEM_KEY.split(', '))}, l.name
        FROM {schema}.leaders l JOIN got_items g USING (item_id)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE got_docs AS
        SELECT source_file, jurisdiction_code, doc_kind, period_start, role_rule FROM {schema}.documents""")


def _multiset_f1(con, truth: str, got: str, cols: list[str], where: str = "") -> dict:
    keys = ", ".join(cols)
    on = " AND ".join(f"t.{c} IS NOT DISTINCT FROM g.{c}" for c in cols)
    t, g, tp = con.execute(f"""
        WITH t AS (SELECT {keys}, count(*) AS n FROM {truth} {where} GROUP BY ALL),
             g AS (SELECT {keys}, count(*) AS n FROM {got} {where} GROUP BY ALL)
        SELECT (SELECT coalesce(sum(n), 0) FROM t), (SELECT coalesce(sum(n), 0) FROM g),
               (SELECT coalesce(sum(least(t.n, g.n)), 0) FROM t JOIN g ON {on})""").fetchone()
    p = tp / g if g else 0.0
    r = tp / t if t else 0.0
    return {"truth": int(t), "parsed": int(g), "matched": int(tp), "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0}


ITEM_COLS = ["source_file", "parent_nos", "item_no", "starts", "kind", "binding"]
ASG_COLS = ["source_file", "parent_nos", "item_no", "starts", "role", "mention"]
LEADER_COLS = ["source_file", "parent_nos", "item_no", "starts", "name"]


def score(con: duckdb.DuckDBPyConnection) -> dict:
    """F1s overall and per layout family; metadata accuracy; loaded/quarantined counts."""
    out = {
        "items": _multiset_f1(con, "truth_items", "got_items", ITEM_COLS),
        "assignments": _multiset_f1(con, "truth_assignments", "got_assignments", ASG_COLS),
        "leaders": _multiset_f1(con, "truth_leaders", "got_leaders", LEADER_COLS),
        "families": {},
    }
    for (family,) in con.execute("SELECT DISTINCT family FROM truth_docs ORDER BY 1").fetchall():
        where = f"WHERE source_file IN (SELECT source_file FROM truth_docs WHERE family = '{family}')"
        out["families"][family] = {
            "docs": con.execute(f"SELECT count(*) FROM truth_docs {where}").fetchone()[0],
            "items": _multiset_f1(con, "truth_items", "got_items", ITEM_COLS, where)["f1"],
            "assignments": _multiset_f1(con, "truth_assignments", "got_assignments", ASG_COLS, where)["f1"],
        }
    docs, loaded, jur, kind, period, rule = con.execute("""
        SELECT count(*), count(g.source_file),
               count(*) FILTER (WHERE g.jurisdiction_code = t.jurisdiction_code),
               count(*) FILTER (WHERE g.doc_kind = t.doc_kind),
               count(*) FILTER (WHERE g.period_start = t.period_start),
               count(*) FILTER (WHERE g.role_rule = t.role_rule)
        FROM truth_docs t LEFT JOIN got_docs g USING (source_file)""").fetchone()
    out["documents"] = {"truth": docs, "loaded": loaded, "jurisdiction": jur / docs, "doc_kind": kind / docs,
                        "period": period / docs, "role_rule": rule / docs}
    return out


def mismatches(con: duckdb.DuckDBPyConnection, limit: int = 20) -> dict[str, list[tuple]]:
    """Examples of assignments only in the truth and only in the parse, for reading."""
    keys = ", ".join(ASG_COLS)
    return {
        "missed": con.execute(f"SELECT {keys} FROM (SELECT {keys} FROM truth_assignments EXCEPT ALL "
                              f"SELECT {keys} FROM got_assignments) ORDER BY random() LIMIT {limit}").fetchall(),
        "spurious": con.execute(f"SELECT {keys} FROM (SELECT {keys} FROM got_assignments EXCEPT ALL "
                                f"SELECT {keys} FROM truth_assignments) ORDER BY random() LIMIT {limit}").fetchall(),
    }


def score_warehouse(warehouse: Path, truth_dir: Path, examples: int = 0) -> dict:
    con = duckdb.connect()
    con.execute(f"ATTACH '{Path(warehouse).as_posix()}' AS wh (READ_ONLY)")
    load_truth(con, truth_dir)
    load_actual(con)
    out = score(con)
    if examples:
        out["examples"] = mismatches(con, examples)
    con.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score a warehouse against the benchmark corpus truth.")
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--examples", type=int, default=10, help="mismatched assignments to print")
    args = ap.parse_args(argv)
    out = score_warehouse(args.warehouse, args.truth, args.examples)
    examples = out.pop("examples", {})
    print(json.dumps(out, ensure_ascii=False, indent=1))
    for kind, rows in examples.items():
        print(f"-- {kind}:")
        for r in rows:
            print("  ", r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
