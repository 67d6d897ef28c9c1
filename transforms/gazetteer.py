"""China's administrative divisions (GB/T 2260 codes), read from the data file shipped with cpca.

Used to recognise the jurisdiction a notice belongs to and its province and level.
"""

from __future__ import annotations

import csv
import re
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick

_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "地区",
             "林区", "特区", "新区", "省", "市", "区", "县", "州", "旗", "盟")


@dataclass(frozen=True)
class Place:
    code: str  # 6-digit division code
    name: str  # 潜江市
    short: str  # 潜江
    level: str  # national | province | prefecture | county | district
    province: str  # 湖北省
    parent: str  # 武汉市 for 江夏区 ('' when there is none)


# The State Council's own notices (国务院关于落实《政府工作报告》重点工作分工的意见).
NATIONAL = Place("100000", "全国", "全国", "national", "全国", "")  # province 全国: its own partition


def _adcodes_path() -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cpca package (administrative division data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _short(name: str) -> str:
    for s in _SUFFIXES:
        if name.endswith(s) and len(name) - len(s) >= 2:
            return name[: -len(s)]
    return name


@lru_cache(maxsize=1)
def places() -> dict[str, Place]:
    rows = []
    with _adcodes_path().open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["adcode"][:6]
            rows.append((code, row["name"]))
    by_code = {c: n for c, n in rows}
    out: dict[str, Place] = {}
    for code, name in rows:
        prov = by_code.get(code[:2] + "0000", "")
        if code[2:] == "0000":
            level, parent = "province", ""
        elif code[4:] == "00":
            level, parent = "prefecture", prov
        else:
            level = "district" if name.endswith("区") and not name.endswith(("林区", "特区")) else "county"
            parent = by_code.get(code[:4] + "00", prov)
            if code[2:4] == "90":  # 省直辖县级行政区划 (潜江市, 仙桃市, …)
                parent = prov
        out[code] = Place(code, name, _short(name), level, prov, parent)
    return out


@lru_cache(maxsize=1)
def _automaton() -> ahocorasick.Automaton:
    auto = ahocorasick.Automaton()
    by_form: dict[str, list[tuple[str, bool]]] = {}
    for p in places().values():
        if len(p.name) < 2:  # placeholder rows such as 重庆's "县"
            continue
        by_form.setdefault(p.name, []).append((p.code, True))
        if len(p.short) >= 2 and p.short != p.name:
            by_form.setdefault(p.short, []).append((p.code, False))
    for form, codes in by_form.items():
        auto.add_word(form, (form, tuple(codes)))
    auto.make_automaton()
    return auto


def find_jurisdiction(title: str, issuer: str, body: str, level_hint: str = "") -> Place | None:
    """The most specific place the notice is about.

    Scores: a full name in the title counts 6, in the issuing office 5, in the body 2; a short
    name (潜江) counts a third of that. A place whose parent is also mentioned gets the parent's
    score too, so 武汉市江夏区 picks 江夏区. `level_hint` (市/区/县 from 市人民政府办公室) breaks ties.
    """
    scores: dict[str, float] = {}
    evidence: set[str] = set()  # places named in full somewhere, or by short name in the title/issuer
    auto = _automaton()
    for text, weight in ((title, 6.0), (issuer, 5.0), (body, 2.0)):
        for form, codes in _maximal_hits(auto, text):
            for code, full in codes:
                scores[code] = scores.get(code, 0.0) + (weight if full else weight / 3)
                if full or weight > 2.0:
                    evidence.add(code)
    scores = {c: s for c, s in scores.items() if c in evidence}
    if not scores:
        # the State Council's own notice (国务院关于…, 国发〔2024〕6号), not a local one that mentions it
        national = re.match(r"国务院|国家", title) or re.match(r"国务院", issuer)
        return NATIONAL if national else None
    pl = places()
    by_name = {}
    for code in scores:
        by_name.setdefault(pl[code].name, []).append(code)
    total = {}
    for code, s in scores.items():
        p = pl[code]
        if p.level == "province":
            continue
        parent_codes = by_name.get(p.parent, [])
        bonus = max((scores[c] for c in parent_codes), default=0.0) if p.level in ("county", "district") else 0.0
        hint = 1.0 if level_hint and p.name.endswith(level_hint) else 0.0
        total[code] = s + bonus + hint
    if not total:
        return None
    best = max(total, key=lambda c: (total[c], c))
    return pl[best]


def _maximal_hits(auto: ahocorasick.Automaton, text: str):
    """Names found in text, leaving out a hit inside a longer one (荆州 inside 荆州市, 大新 inside 扩大新型 is
    still a hit, which is why a short name alone in the body is not evidence)."""
    hits = [(end - len(form) + 1, end + 1, form, codes) for end, (form, codes) in auto.iter(text)]
    for a, b, form, codes in hits:
        if not any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) for a2, b2, _, _ in hits):
            yield form, codes


def place_by_name(name: str) -> Place | None:
    for p in places().values():
        if p.name == name:
            return p
    return None
