"""Indicators, targets and the quantitative commitments inside task text, as comparable numbers.

    "地区生产总值年均增长7.5%"   -> gdp_growth, =, 7.5, %, annual_growth
    "城镇登记失业率控制在4.5%以内" -> registered_unemployment, <=, 4.5, %, level
    "新增规上工业企业20家以上"    -> new_industrial_enterprises, >=, 20, 家, absolute (from task text)
    "完成省下达任务"             -> value null, qualitative
    "高新技术产业增加值达170亿元"  -> no metric_code (a share of GDP is not in 亿元): a metric_unit_mismatch finding

A metric code is given only when the number's unit and basis agree with the metric's vocabulary
entry (`agrees`); otherwise another metric named in the clause that fits is taken (粮食播种面积和总产量
…155万亩 is the sown area), or none.

Vocabulary (metrics, units, comparator words, trigger verbs) lives in transforms/data/metrics.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import cn2an
import polars as pl
import yaml

from transforms import timeout
from transforms.frames import rows_frame
from transforms.vocab import DATA_DIR

CLAUSE_BREAK = re.compile(r"[,,;;。!?]")
CN_NUM = "零〇一二三四五六七八九十百千点两"
_MAY_HOLD_NUMBER = re.compile(r"\d|百分之")  # what every match of MetricVocab.number_re contains


@dataclass(frozen=True)
class MetricVocab:
    metrics: list[dict]
    keyword_re: re.Pattern
    by_keyword: dict[str, dict]
    by_code: dict[str, dict]
    number_re: re.Pattern
    before: list[tuple[str, str]]
    after: list[tuple[str, str]]
    growth_words: tuple[str, ...]
    share_words: tuple[str, ...]
    triggers: tuple[str, ...]
    qualitative_words: tuple[str, ...]
    unit_kinds: dict[str, frozenset[str]]


@lru_cache(maxsize=1)
def vocab() -> MetricVocab:
    d = yaml.safe_load((DATA_DIR / "metrics.yaml").read_text(encoding="utf-8"))
    by_kw = {kw: m for m in d["metrics"] for kw in m.get("keywords", [])}
    units = sorted(d["units"], key=len, reverse=True)
    unit_alt = "|".join(re.escape(u) for u in units)
    number_re = re.compile(
        rf"(?<![A-Za-z0-9.．])(?P<low>\d+(?:\.\d+)?)(?:\s*[-—–~～至到]\s*(?P<high>\d+(?:\.\d+)?))?\s*(?P<unit>{unit_alt})(?![A-Za-z])"
        rf"|百分之(?P<cn>[{CN_NUM}]+)"
    )
    flat = lambda section: sorted(((w, c) for c, ws in d["comparators"][section].items() for w in ws),  # noqa: E731
                                  key=lambda x: -len(x[0]))
    return MetricVocab(
        metrics=d["metrics"],
        keyword_re=re.compile("|".join(re.escape(k) for k in sorted(by_kw, key=len, reverse=True))),
        by_keyword=by_kw,
        by_code={m["code"]: m for m in d["metrics"]},
        number_re=number_re,
        before=flat("before"),
        after=flat("after"),
        growth_words=tuple(sorted(d["growth_words"], key=len, reverse=True)),
        share_words=tuple(d["share_words"]),
        triggers=tuple(sorted(set(d["commitment_verbs"]) | set(d["growth_words"])
                              | {w for w, _ in flat("before")} | {"达到", "为", "稳定在", "保持在"},
                              key=len, reverse=True)),
        qualitative_words=tuple(d["qualitative_words"]),
        unit_kinds={k: frozenset(us) for k, us in d["unit_kinds"].items()},
    )


def agrees(metric: dict, unit: str | None, basis: str | None) -> bool:
    """Whether a number in `unit` on `basis` can be a value of this vocabulary entry: its unit is of
    the entry's kind and its basis the entry's, or it is the growth rate (in %) of a level or amount."""
    if unit is None:
        return True  # a qualitative target states no number
    kinds = vocab().unit_kinds
    if basis == "annual_growth" and metric["basis"] in ("level", "absolute") and unit in kinds["percent"]:
        return True
    return unit in kinds[metric["unit"]] and basis == metric["basis"]


_YEAR = re.compile(r"(20\d\d)\s*年|([〇零一二][〇零一二三四五六七八九]{3})年")
_REDUCE = ("降低", "下降", "减少")
CLASSIFIERS = set("个家项座所件套间条处名台辆户村部次")
_GENERIC = [("倍", "other_ratio"), ("%", "other_rate"), ("‰", "other_rate"), ("元", "other_amount"), ("亩", "other_area"),
            ("平方", "other_area"), ("公顷", "other_area"), ("公里", "other_length"), ("米", "other_length"),
            ("吨", "other_weight"), ("斤", "other_weight"), ("瓦", "other_capacity")]


def _clauses(text: str, base: int):
    start = 0
    for m in CLAUSE_BREAK.finditer(text + "。"):
        if m.start() > start:
            yield text[start:m.start()], base + start
        start = m.end()


BASES = ("annual_growth", "level", "share_of_gdp", "absolute")


def admitted_units() -> pl.DataFrame:
    """Every (metric_code, value_unit, basis) the vocabulary admits, by `agrees`: what the quality
    suite checks the warehouse's indicators against."""
    v = vocab()
    units = sorted({u for us in v.unit_kinds.values() for u in us})
    return pl.DataFrame([(m["code"], u, b) for m in v.metrics for u in units for b in BASES if agrees(m, u, b)],
                        schema={"metric_code": pl.Utf8, "value_unit": pl.Utf8, "basis": pl.Utf8}, orient="row")


def _keyword_head(clause_head: str) -> str:
    """The part of the text before a number where its metric is named: up to a share marker or a
    comparator (研发经费占GDP比重 is R&D; 总投资不低于上年度固定资产投资的3倍 is not investment growth)."""
    v = vocab()
    cut = min([k for k in [clause_head.find("占")] + [clause_head.find(w) for w, _ in v.before] if k > 0],
              default=len(clause_head))
    return clause_head[:cut]


def _entry(keyword: str, clause_head: str) -> dict:
    v = vocab()
    m = v.by_keyword[keyword]
    if m.get("growth_code") and not any(w in clause_head for w in v.share_words):
        m = v.by_code[m["growth_code"]]
    return m


def _generic(unit: str | None) -> str | None:
    for frag, code in _GENERIC:
        if unit and frag in unit:
            return code
    return "other_count" if unit else None


def _metric(clause_head: str, unit: str | None) -> tuple[str | None, dict | None]:
    """The metric whose keyword occurs last before the number (see `_keyword_head`), or a generic
    other_* code by the unit when the clause names none."""
    hits = [m.group(0) for m in vocab().keyword_re.finditer(_keyword_head(clause_head))]
    if hits:
        m = _entry(hits[-1], clause_head)
        return m["code"], m
    return _generic(unit), None


def _other_fitting_metric(clause_head: str, unit: str | None, basis_of) -> dict | None:
    """Another metric named before the number (keywords may overlap: 粮食播种面积 inside
    粮食播种面积和总产量) whose unit and basis agree, the one named last."""
    head = _keyword_head(clause_head)
    found = []
    for kw in vocab().by_keyword:
        k = head.rfind(kw)
        if k >= 0:
            found.append((k + len(kw), len(kw), kw))
    for _, _, kw in sorted(found, reverse=True):
        m = _entry(kw, clause_head)
        if agrees(m, unit, basis_of(m)):
            return m
    return None


def _basis(before: str, unit: str | None, metric: dict | None) -> str:
    v = vocab()
    if any(w in before for w in v.share_words):
        return "share_of_gdp"
    if any(w in before for w in v.growth_words) and unit in ("%", "‰"):
        return "annual_growth"
    if metric is not None:
        return metric["basis"] if metric["basis"] != "annual_growth" else "level"
    return "level" if unit in ("%", "‰") else "absolute"


def _trigger_before(clause: str, pos: int) -> tuple[int, str] | None:
    """The trigger word (a verb or comparator) that ends nearest before `pos` in the clause."""
    best = None
    for w in vocab().triggers:
        k = clause.rfind(w, 0, pos)
        if k >= 0 and (best is None or k + len(w) > best[0] + len(best[1])):
            best = (k, w)
    return best


def _strip_trailing_triggers(head: str) -> str:
    """全员劳动生产率年均增长 -> 全员劳动生产率 (the metric, without its verb)."""
    triggers = vocab().triggers
    changed = True
    while changed and head.endswith(triggers):
        changed = False
        for w in triggers:
            if head.endswith(w) and len(head) > len(w):
                head, changed = head[: -len(w)].rstrip(), True
    return head


def _horizon(clause: str, doc_kind: str | None, period: tuple[int | None, int | None]) -> int | None:
    m = _YEAR.search(clause)
    if m:
        return int(m.group(1)) if m.group(1) else int(cn2an.cn2an(m.group(2), "smart"))
    return period[1] if doc_kind == "fyp" else period[0]


def _noun_after(clause: str, start: int) -> str:
    """打造3-5家营销龙头企业 -> 营销龙头企业: the noun a count is followed by."""
    m = re.match(r"[^、,,;;的\d]{2,20}", clause[start:])
    return m.group(0) if m else ""


def quantities_in_clause(clause: str, base: int, require_trigger: bool, doc_kind, period,
                         previous_metric: tuple[str, str | None] | None = None) -> list[dict]:
    """Every quantity in one clause. In task text a quantity counts only when the clause commits to it:
    a verb or comparator before it (新增…20家), a known metric before it (规上工业总产值620亿元), or a
    rate right before it (积案化解率80%以上). "36亿元的大桥" describes the bridge and is skipped."""
    if not _MAY_HOLD_NUMBER.search(clause):
        return []
    v = vocab()
    rows = []
    last_end = 0
    for m in v.number_re.finditer(clause):
        if m.group("cn"):
            try:
                low, high, unit = float(cn2an.cn2an(m.group("cn"), "smart")), None, "%"
            except ValueError:
                continue
        else:
            low, unit = float(m.group("low")), m.group("unit")
            high = float(m.group("high")) if m.group("high") else None
            if unit == "年" and low >= 1900:
                continue  # a year, not a quantity
        before = clause[:m.start()]
        trig = _trigger_before(clause, m.start())
        # after an earlier number of the clause, its metric is named after that number, if anywhere
        # (面积48万亩以上、产量稳定在4.1亿斤: the 亿斤 are not the area)
        own = before[last_end:]
        named = own if len(own.strip("、,和及与 ")) >= 2 else before
        code, metric = _metric(named, unit)
        rate_noun = before.rstrip().endswith(("率", "比重"))
        between = clause[(trig[0] if trig else 0):m.start()]
        comparator = next((c for w, c in v.before if w in between), "=")
        tail = clause[m.end():]
        after = next(((w, c) for w, c in v.after if tail.startswith(w)), None)
        if require_trigger and trig is None and metric is None and not rate_noun:
            continue
        if tail.startswith("的") and comparator == "=" and after is None:
            continue  # attributive: "投资36亿元的赤壁长江公路大桥" describes a project
        if after:
            comparator = after[1]
        if high is not None:
            comparator = ">="
        boundary = max(last_end, before.rfind("、") + 1)
        seg_start = max(boundary, trig[0] + len(trig[1]) if trig else 0)
        phrase = _strip_trailing_triggers(clause[seg_start:m.start()].strip(" “”"))
        noun_after = _noun_after(clause, m.end() + (len(after[0]) if after else 0)).rstrip("和及与")
        if len(phrase) < 2 or (unit in CLASSIFIERS and len(noun_after) >= 2):
            phrase = noun_after or phrase
        if len(phrase) < 2 and trig:
            phrase = _strip_trailing_triggers(clause[:trig[0]].strip())
        if len(phrase) < 2 and previous_metric:  # "同比增长8%" continues the previous clause's metric
            phrase, code = previous_metric[0], previous_metric[1] or code
            metric = v.by_code.get(code)
        basis = _basis(before, unit, metric)
        refused = None
        if metric is not None and not agrees(metric, unit, basis):
            refused = metric["code"]
            metric = _other_fitting_metric(named, unit, lambda m: _basis(before, unit, m))
            code = metric["code"] if metric else None
            basis = _basis(before, unit, metric)
        if basis == "annual_growth" and any(w in before for w in _REDUCE):
            low = -low
        starts = [k for k in (clause.find(phrase, 0, m.start()) if phrase else -1,
                              trig[0] if trig and trig[0] >= boundary else -1) if k >= 0]
        a = min(starts) if starts else seg_start
        b = m.end() + (len(after[0]) if after else 0)
        if unit in CLASSIFIERS and phrase == noun_after and noun_after:
            b = m.end() + (len(after[0]) if after else 0) + len(noun_after)
        last_end = b
        rows.append({
            "metric": phrase or clause.strip(), "metric_code": code, "comparator": comparator,
            "value": low, "value_low": low if high is not None else None, "value_high": high,
            "value_unit": unit, "basis": basis, "horizon_year": _horizon(clause, doc_kind, period),
            "target_text": clause[a:b].strip(), "char_start": base + a, "char_end": base + b, "qualitative": False,
            "refused_code": refused if metric is None else None,
        })
    return rows


def extract_indicators(doc_id: str, text: str, items: pl.DataFrame, doc_kind: str | None,
                       period: tuple[int | None, int | None]) -> tuple[pl.DataFrame, list[dict]]:
    """One row per number in indicator/target items and per commitment in task text; and one
    finding (item_id, message) per number whose unit or basis fits no metric its clause names."""
    rows, mismatches = [], []
    keys = ("item_id", "item_kind", "text_start", "text_end")  # columns as lists: a select is a query (~1 ms)
    for it in (dict(zip(keys, r)) for r in zip(*(items.get_column(k).to_list() for k in keys))):
        timeout.check()
        kind = it["item_kind"]
        source = kind if kind in ("indicator", "target") else "task_text"
        item_text = text[it["text_start"]:it["text_end"]]
        found = []
        clauses = list(_clauses(item_text, it["text_start"])) if _MAY_HOLD_NUMBER.search(item_text) else []
        previous = None
        for clause, base in clauses:
            got = quantities_in_clause(clause, base, True, doc_kind, period, previous)
            found += got
            previous = (got[-1]["metric"], got[-1]["metric_code"]) if got else None
        if not found and source != "task_text":  # an indicator may state its number with no verb: "增速11%"
            for clause, base in clauses:
                found += quantities_in_clause(clause, base, False, doc_kind, period)
        if not found and source != "task_text":
            a = it["text_start"]
            stripped = item_text.rstrip("。. ")
            code, _ = _metric(stripped, None)
            found = [{"metric": stripped, "metric_code": code, "comparator": None, "value": None,
                      "value_low": None, "value_high": None, "value_unit": None, "basis": None,
                      "horizon_year": _horizon(stripped, doc_kind, period), "target_text": stripped,
                      "char_start": a, "char_end": a + len(stripped), "qualitative": True}]
        for k, r in enumerate(found, 1):
            refused = r.pop("refused_code", None)
            if refused:
                m = vocab().by_code[refused]
                mismatches.append({"item_id": it["item_id"], "message": (
                    f"{r['target_text']}: {r['value']:g}{r['value_unit']} ({r['basis']}) is not a value of "
                    f"{refused} ({m['zh']}, {m['basis']} in {m['unit']}); metric_code left empty")})
            rows.append({"doc_id": doc_id, "item_id": it["item_id"], "ord": k, "source": source, **r})
    return rows_frame(rows, INDICATOR_SCHEMA), mismatches


INDICATOR_SCHEMA = {
    "doc_id": pl.Utf8, "item_id": pl.Utf8, "ord": pl.Int64, "source": pl.Utf8, "metric": pl.Utf8,
    "metric_code": pl.Utf8, "comparator": pl.Utf8, "value": pl.Float64, "value_low": pl.Float64,
    "value_high": pl.Float64, "value_unit": pl.Utf8, "basis": pl.Utf8, "horizon_year": pl.Int64,
    "target_text": pl.Utf8, "char_start": pl.Int64, "char_end": pl.Int64, "qualitative": pl.Boolean,
}
