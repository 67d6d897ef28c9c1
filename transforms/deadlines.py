"""When an item is due: 完成时限:2021年12月31日 / 6月底前 / 年内持续推进 -> a date (or none) and the text."""

from __future__ import annotations

import calendar
import datetime as dt
import re

import cn2an

_FULL = re.compile(r"(20\d\d)年(\d{1,2})月(\d{1,2})日")
_YEAR_MONTH = re.compile(r"(20\d\d)年(\d{1,2})月")
_MONTH_DAY = re.compile(r"(?<![\d年])(\d{1,2})月(\d{1,2})日")
_MONTH = re.compile(r"(?<![\d年])(\d{1,2})月(?:份|底|末|中旬|上旬|下旬)?")
_QUARTER = re.compile(r"([1-4一二三四])季度")
_HALF = {"上半年": 6, "下半年": 12}
_YEAR_END = re.compile(r"年内|年底|年末|全年|20\d\d年底前|20\d\d年内")
_YEAR = re.compile(r"(20\d\d)年(?!以来|起)")  # 2023年以来持续推进 names no deadline


def _month_end(year: int, month: int) -> dt.date | None:
    if not 1 <= month <= 12:
        return None
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def deadline_date(text: str, year: int | None) -> dt.date | None:
    """The last day an item is due by, or None when the text names no time (持续推进, 长期坚持).

    `year` is the report's year, used when the text gives only a month (6月底前).
    """
    try:
        t = cn2an.transform(text, "cn2an")  # 六月底前 -> 6月底前
    except Exception:  # cn2an refuses some mixed strings; the arabic forms still parse
        t = text
    if m := _FULL.search(t):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if m := _YEAR_MONTH.search(t):
        return _month_end(int(m[1]), int(m[2]))
    years = [int(x) for x in _YEAR.findall(t)]
    y = years[-1] if years else year  # 2024年至2025年: by the end of the later one
    if y is None:
        return None
    if m := _MONTH_DAY.search(t):
        try:
            return dt.date(y, int(m[1]), int(m[2]))
        except ValueError:
            return None
    if m := _MONTH.search(t):
        return _month_end(y, int(m[1]))
    if m := _QUARTER.search(t):
        return _month_end(y, 3 * ("1234一二三四".index(m[1]) % 4 + 1))
    for word, month in _HALF.items():
        if word in t:
            return _month_end(y, month)
    if _YEAR_END.search(t) or _YEAR.search(t):
        return dt.date(y, 12, 31)
    return None
