"""The reviewer's data-quality report: a short Markdown summary and a self-contained HTML page.

Everything that comes from documents is escaped in the HTML (html.escape); the page needs no
network (inline CSS). It is the page reviewers open: Great Expectations' own Data Docs load their
styles and scripts (bootstrap-table renders their tables) from CDNs and show a blank page offline, so
they are built (in the gx_project folder) but never linked. The page links to the charts of
`fengong report` when that page exists.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import duckdb

from validation.expectations import ExpectationResult

PER_DOCUMENT = """
SELECT d.source_file, coalesce(d.jurisdiction, '?') AS jurisdiction, coalesce(d.doc_kind, '?') AS kind,
       d.period_start AS year,
       (SELECT count(*) FROM items i WHERE i.doc_id = d.doc_id) AS items,
       (SELECT count(*) FROM assignments a WHERE a.doc_id = d.doc_id AND NOT a.inherited) AS assignments,
       (SELECT avg(CASE WHEN resolved THEN 1.0 ELSE 0.0 END) FROM assignments a
         WHERE a.doc_id = d.doc_id AND NOT a.inherited) AS resolved_share,
       (SELECT count(*) FROM quality_issues q WHERE q.doc_id = d.doc_id AND q.severity = 'warning') AS warnings,
       (SELECT count(*) FROM quality_issues q WHERE q.doc_id = d.doc_id AND q.severity = 'error') AS errors,
       (SELECT count(*) FROM (SELECT DISTINCT frame, row_no FROM rejected_rows r WHERE r.doc_id = d.doc_id)) AS rejected
FROM documents d ORDER BY d.source_file
"""
WARNINGS = """
SELECT d.source_file, q.severity, q.check_name, count(*) AS n, min(q.message) AS example,
       string_agg(array_to_string(list_append(i.parent_nos, i.item_no), '/'), ', ' ORDER BY i.seq) AS items
FROM quality_issues q JOIN documents d USING (doc_id) LEFT JOIN items i ON i.item_id = q.item_id
GROUP BY ALL ORDER BY d.source_file, q.check_name
"""
UNRESOLVED = """
SELECT mention, count(*) AS n, string_agg(DISTINCT d.jurisdiction, '、') AS jurisdictions
FROM assignments a JOIN documents d USING (doc_id) WHERE NOT a.resolved GROUP BY mention ORDER BY n DESC, mention LIMIT 15
"""
QUARANTINE = "SELECT source_file, stage, reason FROM quarantine ORDER BY source_file"
# rows set aside by the pandera contracts (validation/batch.py), per table and check, with a few of them
REJECTED = """
SELECT r.frame AS "table", r.check_name AS "check", count(*) AS n, count(DISTINCT r.doc_id) AS documents,
       array_to_string(list_slice(list(coalesce(d.source_file, r.source_file) || ': ' || r.reason
                                        ORDER BY coalesce(d.source_file, r.source_file), r.row_no), 1, 3), '; ') AS examples
FROM rejected_rows r LEFT JOIN documents d USING (doc_id)
GROUP BY ALL ORDER BY n DESC, "table", "check"
"""
ERRORS = """
SELECT d.source_file, q.check_name, array_to_string(list_append(i.parent_nos, i.item_no), '/') AS item, q.message
FROM quality_issues q JOIN documents d USING (doc_id) LEFT JOIN items i ON i.item_id = q.item_id
WHERE q.severity = 'error' ORDER BY d.source_file, i.seq NULLS FIRST, q.check_name LIMIT 50
"""


def _rows(con, sql):
    rel = con.execute(sql)
    cols = [c[0] for c in rel.description]
    return cols, rel.fetchall()


def failed_errors(results: list[ExpectationResult]) -> list[ExpectationResult]:
    return [r for r in results if not r.success and r.severity == "error"]


def markdown_summary(con: duckdb.DuckDBPyConnection, results: list[ExpectationResult]) -> str:
    _, docs = _rows(con, PER_DOCUMENT)
    lines = ["# fengong data-quality summary", ""]
    errs = failed_errors(results)
    warns = [r for r in results if not r.success and r.severity == "warning"]
    verdict = "FAIL" if errs else "PASS"
    lines += [f"**{verdict}**: {len(results)} expectations, {len(errs)} error(s) failed, "
              f"{len(warns)} warning(s).", ""]
    lines += ["| document | jurisdiction | kind | year | items | assignments | resolved | warnings | errors | rejected rows |",
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for f, j, k, y, n_i, n_a, share, w, e, r in docs:
        share_s = f"{share:.1%}" if share is not None else "-"
        lines.append(f"| {f} | {j} | {k} | {y or '-'} | {n_i} | {n_a} | {share_s} | {w} | {e} | {r} |")
    lines += ["", "## Expectations", "", "| | severity | expectation | result |", "|---|---|---|---|"]
    for r in results:
        mark = "ok" if r.success else ("FAIL" if r.severity == "error" else "warn")
        detail = "" if r.success else f"{r.unexpected_count} unexpected" + (
            f"; e.g. {', '.join(map(str, r.examples[:5]))}" if r.examples else "")
        lines.append(f"| {mark} | {r.severity} | {r.dataset}: {r.about} | {detail} |")
    _, rejected = _rows(con, REJECTED)
    lines += ["", "## Rejected rows (failed a contract, not loaded: table rejected_rows)", ""]
    lines += [f"- {t} **{c}** ×{n} in {d} document(s): {ex[:300]}" for t, c, n, d, ex in rejected] or ["- none"]
    _, errors = _rows(con, ERRORS)
    lines += ["", "## Error-level quality issues", ""]
    lines += [f"- {f}: **{c}**{f' (item {i})' if i else ''}: {m}" for f, c, i, m in errors] or ["- none"]
    _, warn_rows = _rows(con, WARNINGS)
    if warn_rows:
        lines += ["", "## Quality findings per document", ""]
        for f, sev, check, n, example, items in warn_rows:
            where = f" (items {items[:200]})" if items and n > 1 else ""
            lines.append(f"- {f}: {sev} **{check}** ×{n}: {example}{where}")
    _, unresolved = _rows(con, UNRESOLVED)
    lines += ["", "## Top unresolved unit names", ""]
    lines += [f"- {m} ×{n} ({j})" for m, n, j in unresolved] or ["- none"]
    _, quarantined = _rows(con, QUARANTINE)
    lines += ["", "## Quarantined files", ""]
    lines += [f"- {f} [{s}]: {r[:300]}" for f, s, r in quarantined] or ["- none"]
    return "\n".join(lines) + "\n"


CSS = """body{font-family:system-ui,'Noto Sans CJK SC','PingFang SC',sans-serif;margin:2rem;color:#1d2733;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right}.ok{color:#1a7f37;font-weight:600}.warn{color:#9a6700;font-weight:600}
.fail{color:#cf222e;font-weight:700}.verdict{font-size:1.1rem;padding:.6rem 1rem;border-radius:6px;display:inline-block}
.verdict.pass{background:#dafbe1}.verdict.fail{background:#ffebe9}small{color:#57606a}
table.expectations td:nth-child(4){min-width:18rem}"""


STATUS_CLASS = {"ok": "ok", "warning": "warn", "FAIL": "fail"}


def _table(cols, rows, classes=None, table_class: str = "") -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for k, v in enumerate(row):
            cls = (classes or {}).get(k, "") or STATUS_CLASS.get(v, "") if isinstance(v, str) else (classes or {}).get(k, "")
            text = "" if v is None else (f"{v:.1%}" if isinstance(v, float) else str(v))
            cells.append(f'<td class="{cls}">{e(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='{table_class}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_report(con: duckdb.DuckDBPyConnection, results: list[ExpectationResult], report_link: str | None) -> str:
    e = html.escape
    errs = failed_errors(results)
    verdict = ("fail", f"FAIL: {len(errs)} error-level expectation(s) failed") if errs else (
        "pass", "PASS: no error-level expectation failed")
    cols, docs = _rows(con, PER_DOCUMENT)
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>fengong data quality</title>"
             f"<style>{CSS}</style></head><body><h1>fengong data-quality report</h1>",
             f"<p class='verdict {verdict[0]}'>{e(verdict[1])}</p>"]
    if report_link:
        parts.append(f"<p><a href='{e(report_link)}'>Charts: who leads what, targets, follow-up (fengong report)</a></p>")
    parts += ["<h2>Documents</h2>", _table(cols, docs, {4: "num", 5: "num", 6: "num", 7: "num", 8: "num", 9: "num"}),
              "<h2>Expectations (Great Expectations suite)</h2>"]
    rows = []
    for r in results:
        status = "ok" if r.success else ("FAIL" if r.severity == "error" else "warning")
        detail = "" if r.success else f"{r.unexpected_count} unexpected; e.g. {', '.join(map(str, r.examples[:5]))}"
        rows.append((status, r.severity, r.dataset, r.about, detail))
    parts.append(_table(["result", "severity", "dataset", "expectation", "detail"], rows, table_class="expectations"))
    for title, sql in (("Rejected rows (failed a contract, not loaded)", REJECTED),
                       ("Error-level quality issues", ERRORS), ("Quality findings", WARNINGS),
                       ("Top unresolved unit names", UNRESOLVED),
                       ("Quarantined files", QUARANTINE)):
        c, r = _rows(con, sql)
        parts += [f"<h2>{e(title)}</h2>", _table(c, r) if r else "<p>none</p>"]
    parts.append("<p><small>This page holds every expectation result and needs no network. Great Expectations' "
                 "own Data Docs (under gx_project/) load their styles and scripts from CDNs and are blank "
                 "offline; they are not linked.</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(con, results, report_dir: Path | None, out_dir: Path) -> tuple[Path, Path, str]:
    """Write summary.md and index.html under out_dir; index.html links to report_dir/index.html
    (the charts of `fengong report`) when that page exists."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = markdown_summary(con, results)
    (out_dir / "summary.md").write_text(md, encoding="utf-8")
    link = None
    if report_dir is not None and (Path(report_dir) / "index.html").exists():
        link = os.path.relpath(Path(report_dir).absolute() / "index.html", out_dir.absolute())
    (out_dir / "index.html").write_text(html_report(con, results, link), encoding="utf-8")
    return out_dir / "summary.md", out_dir / "index.html", md
