"""`fengong report`: one self-contained HTML page of charts an analyst or a reviewer can open offline.

The charts are Vega-Lite specifications built with altair and rendered to SVG by vl-convert (the
Vega engine bundled in a wheel: no browser, no network), inlined in the page. Nothing in the page
points to another host: no script, stylesheet, font or image is fetched; the only links are to the
quality page beside it (`fengong quality`). Text from notices reaches the page only as SVG text
(escaped by the renderer) or through html.escape.

Charts:
  1. lead tasks by department and city (the departments leading the most items, per notice);
  2. functions × cities (items led per function);
  3. indicator targets compared across cities and against the five-year target (only values whose
     metric code agrees with its unit and basis: transforms/indicators.py `agrees`);
  4. how much of each five-year plan has come back in annual reports, by function (from task_links;
     when that table is missing or empty the section says "no links yet").

Chinese text is rendered by the reader's fonts: the page names a CJK font stack, and vl-convert
measures labels with the same fonts when the machine has them (Debian/Ubuntu: fonts-noto-cjk).
"""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

FONT_STACK = ("'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', "
              "'WenQuanYi Micro Hei', sans-serif")
VEGA_FONT = "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/System/Library/Fonts", "C:/Windows/Fonts")
TOP_DEPARTMENTS = 12
KIND_ZH = {"fyp": "五年规划", "gwr": "政府工作报告"}

# Items each unit leads, per notice (kind and years), summed over the kinds and years for the ranking.
LEAD_DEPARTMENTS = """
WITH per_notice AS (
    SELECT coalesce(jurisdiction, '?') AS jurisdiction, unit_name, doc_kind, period_year, sum(items_led) AS items_led
    FROM v_department_load WHERE items_led > 0 GROUP BY ALL),
ranked AS (
    SELECT *, sum(items_led) OVER (PARTITION BY jurisdiction, unit_name) AS unit_total FROM per_notice)
SELECT r.jurisdiction, r.unit_name, r.items_led, r.unit_total,
       notice_label(d.doc_kind, d.period_start, d.period_end) AS notice
FROM ranked r
JOIN (SELECT DISTINCT coalesce(jurisdiction, '?') AS jurisdiction, doc_kind, period_year, period_start, period_end
      FROM documents) d USING (jurisdiction, doc_kind, period_year)
QUALIFY dense_rank() OVER (PARTITION BY r.jurisdiction ORDER BY r.unit_total DESC, r.unit_name) <= $top
ORDER BY r.jurisdiction, r.unit_total DESC, r.unit_name, notice
"""

FUNCTION_CITIES = """
SELECT function_zh, coalesce(jurisdiction, '?') AS jurisdiction, sum(items_led) AS items_led
FROM v_function_leads GROUP BY ALL ORDER BY function_zh, jurisdiction
"""

# The first value each notice states for a metric (indicator tables and target lists before task
# text), for metrics that at least two notices state in the same unit and basis.
INDICATORS = r"""
WITH v AS (
    SELECT coalesce(d.jurisdiction, '?') AS jurisdiction, d.doc_kind, d.period_start, d.period_end,
           i.metric_code, i.basis, i.value_unit, i.comparator, i.value, i.target_text, i.source
    FROM indicators i JOIN documents d USING (doc_id) JOIN items it ON it.item_id = i.item_id
    WHERE i.value IS NOT NULL AND i.metric_code IS NOT NULL AND i.metric_code NOT LIKE 'other\_%' ESCAPE '\'
    QUALIFY row_number() OVER (PARTITION BY i.doc_id, i.metric_code, i.basis, i.value_unit
                               ORDER BY i.source = 'task_text', it.seq, i.ord) = 1)
SELECT *, notice_label(doc_kind, period_start, period_end) AS notice
FROM v
WHERE (metric_code, basis, value_unit) IN (
    SELECT (metric_code, basis, value_unit) FROM v GROUP BY metric_code, basis, value_unit HAVING count(*) >= 2)
ORDER BY metric_code, basis, value_unit, jurisdiction, period_start
"""

# Per five-year plan and function (of the item's lead units): its items, and those an annual
# report's item links to (task_links: from an annual item to the plan item it carries out). Only
# plans of a jurisdiction with an annual report loaded from the plan's years: an item cannot have
# come back where no report was loaded. The functions past the first $top are one row, 其他.
FOLLOWUP_PLANS = """
SELECT p.doc_id, coalesce(p.jurisdiction, '?') AS jurisdiction, notice_label(p.doc_kind, p.period_start, p.period_end) AS plan,
       string_agg(DISTINCT CAST(g.period_year AS VARCHAR), '、' ORDER BY CAST(g.period_year AS VARCHAR)) AS report_years,
       (SELECT count(*) FROM items i WHERE i.doc_id = p.doc_id) AS items,
       (SELECT count(*) FROM items i WHERE i.doc_id = p.doc_id AND i.item_id IN (
            SELECT l.to_item_id FROM task_links l JOIN documents f ON f.doc_id = l.from_doc_id
            WHERE f.doc_kind = 'gwr')) AS came_back
FROM documents p LEFT JOIN documents g
  ON g.doc_kind = 'gwr' AND g.jurisdiction = p.jurisdiction AND g.period_year BETWEEN p.period_start AND p.period_end
WHERE p.doc_kind = 'fyp' GROUP BY ALL ORDER BY jurisdiction, plan
"""
FOLLOWUP = """
WITH came_back AS (
    SELECT DISTINCT l.to_item_id AS item_id FROM task_links l
    JOIN documents g ON g.doc_id = l.from_doc_id WHERE g.doc_kind = 'gwr'),
lead_functions AS (
    SELECT DISTINCT a.item_id, f.name_zh AS function_zh
    FROM assignments a JOIN units u USING (unit_id), unnest(u.functions) AS t(code)
    JOIN functions f ON f.code = t.code WHERE a.role = 'lead' AND list_contains($plans, a.doc_id)),
per_function AS (
    SELECT i.doc_id, lf.function_zh, count(*) AS items, count(c.item_id) AS came_back
    FROM items i JOIN lead_functions lf USING (item_id) LEFT JOIN came_back c USING (item_id)
    GROUP BY ALL),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY doc_id ORDER BY items DESC, came_back DESC, function_zh) AS k
    FROM per_function),
labelled AS (
    SELECT *, CASE WHEN k <= $top THEN function_zh
                   ELSE '其他 ' || count(*) OVER (PARTITION BY doc_id, k > $top) || ' 个职能' END AS label
    FROM ranked)
SELECT * FROM (SELECT doc_id, label AS function_zh, sum(items) AS items, sum(came_back) AS came_back
               FROM labelled GROUP BY doc_id, label)
ORDER BY doc_id, function_zh LIKE '其他%', items DESC, function_zh
"""
TOP_FUNCTIONS = 20
FOLLOWUP_TITLE = "How much of each five-year plan came back in annual reports"

SUMMARY = """
SELECT coalesce(jurisdiction, '?') AS jurisdiction, notice_label(doc_kind, period_start, period_end) AS notice,
       count(*) AS notices, sum((SELECT count(*) FROM items i WHERE i.doc_id = d.doc_id)) AS items
FROM documents d WHERE retired_at IS NULL GROUP BY ALL ORDER BY 1, 2
"""

NOTICE_LABEL = """
CREATE OR REPLACE TEMP MACRO notice_label(kind, a, b) AS
    CASE WHEN kind = 'fyp' THEN coalesce(CAST(a AS VARCHAR), '?') || '–' || coalesce(CAST(b AS VARCHAR), '?') || ' 五年规划'
         WHEN kind = 'gwr' THEN coalesce(CAST(a AS VARCHAR), '?') || ' 政府工作报告'
         ELSE coalesce(CAST(a AS VARCHAR), '?') || ' ' || coalesce(kind, '?') END
"""


@dataclass
class Section:
    title: str
    caption: str
    svg: str | None  # None: `empty` says why there is no chart
    empty: str = ""


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    rel = con.execute(sql, params or {})
    cols = [c[0] for c in rel.description]
    return [dict(zip(cols, row)) for row in rel.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary "
                       "UNION ALL SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT temporary",
                       [name, name]).fetchall() != [(0,), (0,)]


# ── chart specifications (altair) ──────────────────────────────────────────────────────────────


def _config(chart):
    return (chart.configure(font=VEGA_FONT, background="white")
            .configure_axis(labelFontSize=12, titleFontSize=12, labelLimit=260)
            .configure_legend(labelFontSize=12, titleFontSize=12, labelLimit=320, orient="top")
            .configure_header(labelFontSize=13, titleFontSize=13)
            .configure_title(fontSize=14, anchor="start")
            .configure_view(stroke="#d0d7de"))


COUNT_AXIS = {"format": "d", "tickMinStep": 1}


def lead_departments_chart(rows: list[dict]):
    import altair as alt

    bars = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        x=alt.X("items_led:Q", title="items led (牵头事项数)", stack="zero", axis=alt.Axis(**COUNT_AXIS)),
        y=alt.Y("unit_name:N", title=None, sort=alt.EncodingSortField("unit_total", op="max", order="descending")),
        color=alt.Color("notice:N", title="notice", scale=alt.Scale(scheme="tableau10")),
        order=alt.Order("notice:N"),
        tooltip=["jurisdiction:N", "unit_name:N", "notice:N", "items_led:Q"],
    ).properties(width=520, height=alt.Step(20))
    facet = bars.facet(row=alt.Row("jurisdiction:N", title=None, header=alt.Header(
        labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top", labelFontWeight="bold")),
        spacing=24)
    return _config(facet.resolve_scale(y="independent", x="independent"))


def function_cities_chart(rows: list[dict]):
    import altair as alt

    totals: dict[str, int] = {}
    for r in rows:
        totals[r["function_zh"]] = totals.get(r["function_zh"], 0) + r["items_led"]
    order = sorted(totals, key=lambda f: (-totals[f], f))
    cities = sorted({r["jurisdiction"] for r in rows})
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("jurisdiction:N", title=None, sort=cities, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("function_zh:N", title=None, sort=order))
    cells = base.mark_rect().encode(
        color=alt.Color("items_led:Q", title="items led", scale=alt.Scale(scheme="blues")),
        tooltip=["function_zh:N", "jurisdiction:N", "items_led:Q"])
    top = max([r["items_led"] for r in rows] or [0])
    labels = base.mark_text(fontSize=11).encode(
        text="items_led:Q",
        color=alt.condition(f"datum.items_led > {top / 2}", alt.value("white"), alt.value("#1d2733")))
    return _config((cells + labels).properties(width=110 * len(cities), height=20 * len(order)))


def indicator_chart(rows: list[dict], names: dict[str, str]):
    import altair as alt

    data = []
    for r in rows:
        series = f"{names.get(r['metric_code'], r['metric_code'])} ({r['value_unit']}, {r['basis']})"
        comparator = {None: "", "=": "", ">=": "≥", "<=": "≤", "~": "约"}.get(r["comparator"], r["comparator"])
        data.append({**r, "series": series, "kind": KIND_ZH.get(r["doc_kind"], r["doc_kind"] or "?"),
                     "label": f"{comparator}{r['value']:g}",
                     "row": f"{r['jurisdiction']} · {r['notice']}"})
    kinds: dict[tuple, set] = {}
    for d in data:
        kinds.setdefault((d["series"], d["jurisdiction"]), set()).add(d["doc_kind"])
    against_plan = {series for (series, _), k in kinds.items() if {"fyp", "gwr"} <= k}
    order = sorted(dict.fromkeys(d["series"] for d in data), key=lambda t: (t not in against_plan, t))
    base = alt.Chart().encode(
        y=alt.Y("row:N", title=None, sort=None),
        x=alt.X("value:Q", title=None, scale=alt.Scale(zero=True, nice=True),
                axis=alt.Axis(tickCount=5, labelOverlap=True, labelFlush=True)))
    rule = base.mark_bar(height=3, color="#c9d1d9")
    points = base.mark_point(size=110, filled=True, opacity=1).encode(
        color=alt.Color("kind:N", title="target in", scale=alt.Scale(domain=list(KIND_ZH.values()),
                                                                     range=["#8250df", "#1f883d"])),
        shape=alt.Shape("kind:N", title="target in", scale=alt.Scale(domain=list(KIND_ZH.values()),
                                                                     range=["diamond", "circle"])),
        tooltip=["jurisdiction:N", "notice:N", "target_text:N", "value:Q", "value_unit:N"])
    labels = base.mark_text(align="left", dx=9, fontSize=11).encode(text="label:N")
    layered = alt.layer(rule, points, labels, data=alt.Data(values=data)).properties(
        width=300, height=alt.Step(26))
    facet = layered.facet(facet=alt.Facet("series:N", title=None, sort=order,
                                          header=alt.Header(labelFontWeight="bold", labelAnchor="start")),
                          columns=2, spacing={"row": 24, "column": 60})
    return _config(facet.resolve_scale(x="independent", y="independent"))


def followup_chart(rows: list[dict]):
    import altair as alt

    data = []
    for r in rows:
        share = r["came_back"] / r["items"] if r["items"] else 0.0
        data.append({**r, "status": "came back in an annual report", "n": r["came_back"],
                     "label": f"{r['came_back']}/{r['items']} ({share:.0%})"})
        data.append({**r, "status": "not seen again yet", "n": r["items"] - r["came_back"], "label": ""})
    y = alt.Y("function_zh:N", title=None, sort=None)  # as the query orders them: 其他 last
    bars = alt.Chart().mark_bar().encode(
        x=alt.X("n:Q", title="plan items, by the function of their lead units", stack="zero",
                axis=alt.Axis(**COUNT_AXIS)),
        y=y,
        color=alt.Color("status:N", title=None, scale=alt.Scale(
            domain=["came back in an annual report", "not seen again yet"], range=["#1f883d", "#d0d7de"])),
        order=alt.Order("status:N"),
        tooltip=["function_zh:N", "items:Q", "came_back:Q"])
    labels = alt.Chart().transform_filter("datum.label != ''").mark_text(align="left", dx=4, fontSize=11).encode(
        x=alt.X("items:Q"), y=y, text="label:N")
    layered = alt.layer(bars, labels, data=alt.Data(values=data)).properties(width=480, height=alt.Step(20))
    facet = layered.facet(row=alt.Row("plan_name:N", title=None, header=alt.Header(
        labelAngle=0, labelAlign="left", labelAnchor="start", labelOrient="top", labelFontWeight="bold")),
        spacing=24)
    return _config(facet.resolve_scale(y="independent", x="independent"))


# ── rendering ───────────────────────────────────────────────────────────────────────────────────


_FONTS_REGISTERED = False


def to_svg(chart) -> str:
    """Render a chart to SVG with vl-convert (no browser, no network). The machine's font folders
    are registered once, so labels are measured with the CJK fonts the page names."""
    global _FONTS_REGISTERED
    import vl_convert as vlc

    if not _FONTS_REGISTERED:
        for d in FONT_DIRS:
            if os.path.isdir(d):
                vlc.register_font_directory(d)
        _FONTS_REGISTERED = True
    return vlc.vegalite_to_svg(chart.to_dict())


def followup_section(con: duckdb.DuckDBPyConnection) -> tuple[Section, list[dict]]:
    """How much of each five-year plan came back (chart 4), and per plan its totals; "no links yet"
    while task_links is missing (its branch not merged, or no run has linked) or empty."""
    title = FOLLOWUP_TITLE
    if not _has_table(con, "task_links"):
        return Section(title, "", None, "no links yet: this warehouse has no task_links table (no run has "
                                        "linked annual-report items to five-year items)"), []
    if con.execute("SELECT count(*) FROM task_links").fetchone()[0] == 0:
        return Section(title, "", None, "no links yet: task_links is empty"), []
    con.execute(NOTICE_LABEL)
    plans = _records(con, FOLLOWUP_PLANS)
    reported = {p["doc_id"]: p for p in plans if p["report_years"]}
    rows = _records(con, FOLLOWUP, {"plans": list(reported), "top": TOP_FUNCTIONS}) if reported else []
    for r in rows:
        r["plan_name"] = f"{reported[r['doc_id']]['jurisdiction']} {reported[r['doc_id']]['plan']}"
    return Section(
        title,
        "Per five-year plan and function of its lead units: the plan items that an annual work report's "
        "item carries out (task_links), and those not seen again yet. Only plans of a city with an annual "
        "report loaded from the plan's years; an item led by units of two functions counts under each.",
        to_svg(followup_chart(rows)) if rows else None,
        "no five-year plan has an annual report of its city loaded from its years"), plans


def build_sections(con: duckdb.DuckDBPyConnection) -> tuple[list[Section], list[dict]]:
    from transforms.indicators import vocab

    con.execute(NOTICE_LABEL)
    sections = []
    rows = _records(con, LEAD_DEPARTMENTS, {"top": TOP_DEPARTMENTS})
    sections.append(Section(
        "Lead tasks by department and city",
        f"The {TOP_DEPARTMENTS} departments that lead the most items in each city, split by the notice "
        "they come from (v_department_load). An item led by two units counts for each.",
        to_svg(lead_departments_chart(rows)) if rows else None, "no lead assignments loaded"))
    rows = _records(con, FUNCTION_CITIES)
    sections.append(Section(
        "Functions × cities",
        "Items led per function and city, over every notice loaded (v_function_leads). A merged agency "
        "(科技经信局) counts under each of its functions; totals across functions use items_led_share.",
        to_svg(function_cities_chart(rows)) if rows else None, "no lead assignments loaded"))
    rows = _records(con, INDICATORS)
    names = {m["code"]: m["zh"] for m in vocab().metrics}
    sections.append(Section(
        "Indicator targets across cities and against the five-year target",
        "The first value each notice states for a metric, for metrics stated by at least two notices in "
        "the same unit and basis; ◆ a five-year plan's target, ● an annual report's. A number whose unit "
        "or basis does not fit its metric (高新技术产业增加值 in 亿元 is not a share of GDP) has no metric "
        "code and is not shown.",
        to_svg(indicator_chart(rows, names)) if rows else None,
        "no metric is stated by two notices in the same unit and basis"))
    followup, totals = followup_section(con)
    sections.append(followup)
    return sections, totals


CSS = f"""body{{font-family:{FONT_STACK};margin:2rem auto;color:#1d2733;max-width:1280px;padding:0 1.5rem;line-height:1.5}}
h1{{font-size:1.6rem;margin-bottom:.2rem}}h2{{font-size:1.2rem;margin-top:2.4rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}}
svg text{{font-family:{FONT_STACK}}}
figure{{margin:0;overflow-x:auto}}figcaption{{color:#57606a;font-size:.92rem;margin:.3rem 0 1rem;max-width:60rem}}
table{{border-collapse:collapse;font-size:.92rem}}th,td{{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}}
th{{background:#f3f5f7}}td.num{{text-align:right}}.empty{{background:#f6f8fa;border:1px dashed #afb8c1;
padding:1.2rem;color:#57606a;font-size:1rem}}nav a{{margin-right:1rem}}small{{color:#57606a}}"""


def html_page(sections: list[Section], summary: list[dict], totals: list[dict], warehouse: str,
              quality_link: str | None, generated: dt.datetime) -> str:
    e = html.escape
    parts = ["<!doctype html>", "<html lang='zh-CN'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             "<title>fengong report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>fengong report: who leads what, what was promised, what came back</h1>",
             f"<p><small>warehouse {e(warehouse)}, generated {e(generated.isoformat(timespec='seconds'))}; "
             "this page needs no network.</small></p>"]
    nav = [f"<a href='#s{k}'>{e(s.title)}</a>" for k, s in enumerate(sections, 1)]
    if quality_link:
        nav.append(f"<a href='{e(quality_link)}'>Data quality (fengong quality)</a>")
    else:
        nav.append("<span>Data quality: run <code>fengong quality</code> to write its page</span>")
    parts.append("<nav>" + "".join(nav) + "</nav>")
    parts.append("<h2>Notices loaded</h2><table><thead><tr><th>jurisdiction</th><th>notice</th><th>notices</th>"
                 "<th>items</th></tr></thead><tbody>")
    parts += [f"<tr><td>{e(str(r['jurisdiction']))}</td><td>{e(str(r['notice']))}</td>"
              f"<td class='num'>{r['notices']}</td><td class='num'>{r['items']}</td></tr>" for r in summary]
    parts.append("</tbody></table>")
    for k, s in enumerate(sections, 1):
        parts.append(f"<section id='s{k}'><h2>{e(s.title)}</h2>")
        if s.caption:
            parts.append(f"<figcaption>{e(s.caption)}</figcaption>")
        if s.title == FOLLOWUP_TITLE and totals:
            parts.append("<ul>" + "".join(
                f"<li>{e(str(t['jurisdiction']))} {e(str(t['plan']))}: " + (
                    f"{t['came_back']} of {t['items']} items came back in the work report(s) of "
                    f"{e(t['report_years'])}" if t["report_years"] else
                    "no annual work report of the city from the plan's years is loaded") + "</li>"
                for t in totals) + "</ul>")
        parts.append(f"<figure>{s.svg}</figure>" if s.svg is not None else f"<p class='empty'>{e(s.empty)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(con: duckdb.DuckDBPyConnection, out_dir: str | Path, warehouse: str = "",
                 quality_dir: str | Path | None = None) -> Path:
    """Write out_dir/index.html (replaced whole); returns its path. The page links to the quality
    page in quality_dir when one is there."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections, totals = build_sections(con)
    summary = _records(con, SUMMARY)
    link = None
    if quality_dir is not None and (Path(quality_dir) / "index.html").exists():
        link = os.path.relpath(Path(quality_dir).absolute() / "index.html", out_dir.absolute())
    page = html_page(sections, summary, totals, warehouse, link, dt.datetime.now())
    target = out_dir / "index.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
