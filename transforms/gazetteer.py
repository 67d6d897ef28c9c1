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


@dataclass(frozen=True)
class _Names:
    """Every full and short place name, looked up from the first two characters of a position (a dict
    lookup per candidate is much faster here than an Aho-Corasick scan, whose root has ~900 children)."""
    codes: dict[str, tuple[tuple[str, bool], ...]]  # name -> (code, written in full?) of the places it names
    lengths: dict[str, tuple[int, ...]]  # first two characters -> lengths of the names opening so, longest first
    start_re: re.Pattern  # (zero width) where a name may start: a first character, then a second one


@lru_cache(maxsize=1)
def _names() -> _Names:
    by_form: dict[str, list[tuple[str, bool]]] = {}
    for p in places().values():
        if len(p.name) < 2:  # placeholder rows such as 重庆's "县"
            continue
        by_form.setdefault(p.name, []).append((p.code, True))
        if len(p.short) >= 2 and p.short != p.name:
            by_form.setdefault(p.short, []).append((p.code, False))
    lengths: dict[str, set[int]] = {}
    for form in by_form:
        lengths.setdefault(form[:2], set()).add(len(form))
    firsts, seconds = ("".join(sorted({f[k] for f in by_form})) for k in (0, 1))
    return _Names({f: tuple(c) for f, c in by_form.items()},
                  {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()},
                  re.compile(f"(?=[{re.escape(firsts)}][{re.escape(seconds)}])"))


def is_place(name: str) -> bool:
    """Is this a place's full name (新乡市, 塔城地区), as the gazetteer writes it?"""
    return any(full for _, full in _names().codes.get(name, ()))


def find_jurisdiction(title: str, issuer: str, body: str, level_hint: str = "") -> Place | None:
    """The most specific place the notice is about.

    Scores: a full name in the title counts 6, in the issuing office 5, in the body 2; a short
    name (潜江) counts a third of that. A place whose parent is also mentioned gets the parent's
    score too, so 武汉市江夏区 picks 江夏区. `level_hint` (市/区/县 from 市人民政府办公室) breaks ties.
    """
    scores: dict[str, float] = {}
    evidence: set[str] = set()  # places named in full somewhere, or by short name in the title/issuer
    headline: set[str] = set()  # places named in full in the title or by the issuing office
    named_in_full: set[str] = set()
    for text, weight in ((title, 6.0), (issuer, 5.0), (body, 2.0)):
        for form, codes in _maximal_hits(text):
            for code, full in codes:
                scores[code] = scores.get(code, 0.0) + (weight if full else weight / 3)
                if full:
                    named_in_full.add(code)
                if full or weight > 2.0:
                    evidence.add(code)
                if full and weight > 2.0:
                    headline.add(code)
    # a short name alone (振兴 in 乡村振兴, 新城 in 新城建设) is evidence only beside its parent or its full name
    pl = places()
    named = {pl[c].name for c in scores}
    evidence = {c for c in evidence if c in named_in_full or pl[c].parent in named}
    scores = {c: s for c, s in scores.items() if c in evidence}
    if not scores:
        # the State Council's own notice (国务院关于…, 国发〔2024〕6号), not a local one that mentions it
        national = re.match(r"国务院|国家", title) or re.match(r"国务院", issuer)
        return NATIONAL if national else None
    by_name = {}
    for code in scores:
        by_name.setdefault(pl[code].name, []).append(code)
    total = {}
    for code, s in scores.items():
        p = pl[code]
        if p.level == "province" and code not in headline:
            continue  # a province is the place only when the title or the issuer names it (山东省人民政府办公厅)
        parent_codes = by_name.get(p.parent, [])
        bonus = max((scores[c] for c in parent_codes), default=0.0) if p.level in ("county", "district") else 0.0
        hint = 1.0 if level_hint and p.name.endswith(level_hint) else 0.0
        total[code] = s + bonus + hint
    if not total:
        return None
    best = max(total, key=lambda c: (total[c], c))
    return pl[best]


def _hits(text: str) -> list[tuple[int, int, str, tuple[tuple[str, bool], ...]]]:
    """(start, end, name, places) of every name in text, overlapping ones too, in order of the end
    and longer first (the order an Aho-Corasick scan reports them in)."""
    names = _names()
    hits = []
    for m in names.start_re.finditer(text):
        a = m.start()
        for n in names.lengths.get(text[a:a + 2], ()):
            codes = names.codes.get(text[a:a + n]) if a + n <= len(text) else None
            if codes is not None:
                hits.append((a, a + n, text[a:a + n], codes))
    hits.sort(key=lambda h: (h[1], h[0]))
    return hits


def _maximal_hits(text: str):
    """Names found in text, leaving out a hit inside a longer one (荆州 inside 荆州市, 大新 inside 扩大新型 is
    still a hit, which is why a short name alone in the body is not evidence)."""
    hits = _hits(text)
    # in order of start, longer first, a hit lies inside a longer one iff an earlier hit reaches as far
    # (no two hits share both ends: a span holds one form)
    inside: set[int] = set()
    reach = -1
    for k in sorted(range(len(hits)), key=lambda k: (hits[k][0], -hits[k][1])):
        if hits[k][1] <= reach:
            inside.add(k)
        reach = max(reach, hits[k][1])
    for k, (a, b, form, codes) in enumerate(hits):
        if k not in inside:
            yield form, codes


@lru_cache(maxsize=1)
def _places_by_name() -> dict[str, Place]:
    out: dict[str, Place] = {}
    for p in places().values():
        out.setdefault(p.name, p)
    return out


def place_by_name(name: str) -> Place | None:
    return _places_by_name().get(name)
