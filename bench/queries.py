"""The README's analyst queries, timed on a warehouse: the median of several runs each.

    python bench/queries.py --warehouse bench/out/n10000.duckdb [--runs 7]

The queries are read from README.md's "Analyst queries" section (every ```sql block there,
v_indicator_compare included), so the benchmark runs what analysts are told to run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_queries(readme: Path = README) -> list[tuple[str, str]]:
    """(name, sql) for every SQL block in the README's "## Analyst queries" section."""
    text = readme.read_text(encoding="utf-8")
    m = re.search(r"^## Analyst queries\n(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        raise SystemExit(f"queries: no '## Analyst queries' section in {readme}")
    section = m.group(1)
    out = []
    for block in re.finditer(r"```sql\n(.*?)```", section, re.S):
        sql = block.group(1).strip()
        source = re.search(r"\bFROM\s+(\w+)", sql)
        name = {"PIVOT": "function × city pivot (v_function_leads)"}.get(sql.split()[0], None)
        if name is None:
            name = f"{source.group(1)}: " + " ".join(sql.split())[:60] if source else sql[:60]
        out.append((name, sql))
    if not out:
        raise SystemExit(f"queries: no ```sql blocks under '## Analyst queries' in {readme}")
    return out


def time_queries(warehouse: Path, runs: int = 7) -> list[dict]:
    """Each query once to warm up, then `runs` times; median and worst in milliseconds."""
    con = duckdb.connect(str(warehouse), read_only=True)
    results = []
    for name, sql in readme_queries():
        t0 = time.perf_counter()
        rows = con.execute(sql).fetchall()
        first = time.perf_counter() - t0
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            con.execute(sql).fetchall()
            times.append(time.perf_counter() - t0)
        results.append({"query": name, "rows": len(rows), "first_ms": first * 1000,
                        "median_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000})
    con.close()
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time the README's analyst queries on a warehouse.")
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    print("| query | rows | first run ms | median ms | max ms |\n|---|---:|---:|---:|---:|")
    for r in time_queries(args.warehouse, args.runs):
        print(f"| {r['query']} | {r['rows']} | {r['first_ms']:.0f} | {r['median_ms']:.0f} | {r['max_ms']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
