"""Document metadata: title, issuer, jurisdiction, kind, period, dates and numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import cn2an

from transforms import gazetteer, vocab

HEAD_CHARS = 3000
_SP = r"[ \n]*"


def _label(word: str) -> str:
    """'发布日期' -> a regex that allows spaces and line breaks between the characters."""
    return _SP.join(map(re.escape, word)) + r"[ \n]*[::]?[ \n]*"


_DATE = r"(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})"
_PUBLISHED = re.compile(_label("发布日期") + _DATE)
_ISSUED = re.compile(_label("发文日期") + _DATE + "|" + _label("成文日期") + _DATE)
_INDEX = re.compile(_label("索引号") + r"([0-9A-Za-z][0-9A-Za-z/\-]+)")
_DOCNO_LABEL = re.compile(_label("文号") + r"(?:" + _label("文号") + r")*([^\s:]+)")
_DOCNO = re.compile(r"[\u4e00-\u9fff]{1,10}[〔\[(【]\s*\d{4}\s*[〕\])】]\s*\d+\s*号")
_ISSUER = re.compile(_label("发布机构") + r"([^\s]+)")
_SOURCE = re.compile(r"(?:文章来源|来源)[ ]*[::][ ]*([\u4e00-\u9fff()()]+(?:办公室|办公厅|人民政府|政府|委员会))")
_NAME = re.compile(_label("名称") + r"([^\n]+?)(?=\s+\S{1,4}\s*[::]|\n|$)")
_SIGNATURE_DATE = re.compile(r"^ *(\d{4})年(\d{1,2})月(\d{1,2})日 *$", re.M)
_TITLE_WORDS = re.compile("通知|方案|意见|分解|清单|决定|安排")
_FYP = re.compile(r"第([一二三四五六七八九十]+)个五年规划|([一二三四五六七八九十]{2,3})五规划|“([一二三四五六七八九十]{2,3})五”")
_YEAR = re.compile(r"(20\d\d)年")


@dataclass
class Metadata:
    title: str | None
    issuer: str | None
    jurisdiction: str | None
    jurisdiction_code: str | None
    province: str | None
    admin_level: str | None
    doc_kind: str | None
    period_start: int | None
    period_end: int | None
    published_on: dt.date | None
    issued_on: dt.date | None
    doc_number: str | None
    index_no: str | None


def _date(m: re.Match | None) -> dt.date | None:
    if not m:
        return None
    g = [x for x in m.groups() if x is not None]
    try:
        return dt.date(int(g[0]), int(g[1]), int(g[2]))
    except ValueError:
        return None


def _cjk_squeeze(s: str) -> str:
    """Remove spaces between CJK characters (任务 分工方案 -> 任务分工方案)."""
    return re.sub(r"(?<=[\u4e00-\u9fff》〉”])\s+(?=[\u4e00-\u9fff《〈“])", "", s).strip()


def extract_title(text: str) -> str | None:
    head = text[:HEAD_CHARS]
    m = _NAME.search(head)
    if m and _TITLE_WORDS.search(m.group(1)):
        return _cjk_squeeze(m.group(1))
    noise = vocab.outline().web_noise
    for line in head.split("\n"):
        s = line.strip()
        if len(s) < 8 or any(w in s for w in noise) or re.search(r"[::]", s[:8]):
            continue
        if _TITLE_WORDS.search(s):
            return _cjk_squeeze(s)
    return None


def extract_issuer(text: str) -> str | None:
    head = text[:HEAD_CHARS]
    m = _ISSUER.search(head) or _SOURCE.search(head)
    if m:
        return m.group(1)
    for line in head.split("\n"):
        s = line.strip()
        if 4 <= len(s) <= 24 and re.search("(办公室|办公厅|人民政府)$", s):
            return s
    return None


def expand_issuer(issuer: str | None, jurisdiction: str | None) -> str | None:
    """市人民政府办公室 -> 潜江市人民政府办公室 (the jurisdiction written in full)."""
    if not issuer or not jurisdiction:
        return issuer
    if jurisdiction in issuer:
        return issuer
    if issuer[0] == jurisdiction[-1] and issuer[1:2] not in ("委",):
        return jurisdiction + issuer[1:]
    return issuer


def doc_kind(title: str, text: str) -> str | None:
    for s in (title, text[:HEAD_CHARS]):
        if re.search(r"五年规划|规划纲要|“?十[一二三四五六]五”?规划", s):
            return "fyp"
        if "政府工作报告" in s:
            return "gwr"
    return None


def plan_period(text: str) -> tuple[int, int] | None:
    """第十四个五年规划 -> (2021, 2025). From the 3rd plan on, plans follow each other every 5 years."""
    m = _FYP.search(text)
    if not m:
        return None
    n = cn2an.cn2an(next(g for g in m.groups() if g), "smart")
    if n < 3:
        return None
    start = 1966 + 5 * (int(n) - 3)
    return start, start + 4


def report_year(title: str, text: str, published: dt.date | None, doc_number: str | None = None) -> int | None:
    m = _YEAR.search(title or "")
    if m:
        return int(m.group(1))
    m = re.search(r"(20\d\d)年(?:是|《政府工作报告》|区《政府工作报告》|市《政府工作报告》|县《政府工作报告》)", text)
    if m:
        return int(m.group(1))
    m = re.search(r"[〔\[(（【](20\d\d)[〕\])）】]", doc_number or "")
    if m:  # 国发〔2024〕6号: the year the notice was issued, which is the report's year
        return int(m.group(1))
    return published.year if published else None


_PIPE = re.compile("[|｜]")


def extract_metadata(text: str) -> Metadata:
    text = _PIPE.sub(" ", text)  # a metadata table flattened to pipe rows: | 文 号: | 玄政〔2023〕25号 |
    head = text[:HEAD_CHARS]
    title = extract_title(text)
    issuer = extract_issuer(text)
    published = _date(_PUBLISHED.search(head))
    issued = _date(_ISSUED.search(head))
    if issued is None:
        sigs = [_date(m) for m in _SIGNATURE_DATE.finditer(text[:HEAD_CHARS * 2])]
        issued = next((d for d in sigs if d), None)
    published = published or issued
    docno_m = _DOCNO_LABEL.search(head)
    doc_number = docno_m.group(1) if docno_m else None
    if doc_number in ("无", "-", "—"):
        doc_number = None
    if doc_number is None:
        m = _DOCNO.search(head)
        doc_number = m.group(0) if m else None
    index_m = _INDEX.search(head)

    level_hint = issuer[0] if issuer and issuer[0] in "省市区县州" else ""
    place = gazetteer.find_jurisdiction(title or "", issuer or "", text[:20000], level_hint)
    kind = doc_kind(title or "", text)
    if kind == "fyp":
        period = plan_period((title or "") + "\n" + text[:HEAD_CHARS]) or (None, None)
    else:
        year = report_year(title or "", text, published, doc_number)
        period = (year, year)
    return Metadata(
        title=title,
        issuer=expand_issuer(issuer, place.name if place else None),
        jurisdiction=place.name if place else None,
        jurisdiction_code=place.code if place else None,
        province=place.province if place else None,
        admin_level=place.level if place else None,
        doc_kind=kind,
        period_start=period[0],
        period_end=period[1],
        published_on=published,
        issued_on=issued,
        doc_number=doc_number,
        index_no=index_m.group(1) if index_m else None,
    )
