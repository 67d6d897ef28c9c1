"""Resolve a mention to a canonical unit in its jurisdiction, and map units to functions.

Evidence, strongest first:
  1. a reviewer's decision (transforms/data/reviewed_aliases.csv), per jurisdiction;
  2. an alias written in the document itself (市自然资源规划局〈市林业局〉);
  3. the curated abbreviation dictionary (aliases.csv: 文旅局 = 文化和旅游局), plus one rule:
     an inserted 和 never changes a unit (自然资源规划局 = 自然资源和规划局);
  4. the function taxonomy (a unit whose name says 生态环境 does ecology and environment).
Fuzzy similarity is never evidence for a merge: it only proposes candidates to a reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from transforms import vocab
from transforms.mentions import level_prefix, starts_with_function


@dataclass(frozen=True)
class Resolution:
    unit_id: str
    name: str  # canonical name in the jurisdiction, e.g. 市文化和旅游局
    kind: str  # unit | collective
    functions: tuple[str, ...]
    source: str  # reviewed | document | dictionary | rule | provisional
    resolved: bool


def _key(core: str) -> str:
    return core.replace("和", "")


@lru_cache(maxsize=1)
def _canonical_by_key() -> dict[str, str]:
    out: dict[str, str] = {}
    for alias, a in vocab.aliases().items():
        out.setdefault(_key(a.canonical), a.canonical)
        out.setdefault(_key(alias), a.canonical)
    return out


def canonical_core(core: str) -> tuple[str, vocab.Alias | None]:
    al = vocab.aliases()
    if core in al:
        return al[core].canonical, al[core]
    canon = _canonical_by_key().get(_key(core))
    if canon is not None:
        entry = next((a for a in al.values() if a.canonical == canon), None)
        return canon, entry
    return core, None


def township_suffix(name: str) -> bool:
    return any(name.endswith(sfx) for sfx, code in vocab.taxonomy().suffixes if code == "township")


def functions_of(name: str, explicit: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Explicit functions (from curated data) win; else keywords and suffixes of the name."""
    if explicit:
        return tuple(sorted(explicit))
    if township_suffix(name):
        return ("township",)
    tax = vocab.taxonomy()
    codes: set[str] = set()
    for _, (_, kw_codes) in tax.automaton.iter(name):
        codes.update(kw_codes)
    for sfx, code in tax.suffixes:
        if name.endswith(sfx):
            codes.add(code)
    return tuple(sorted(codes))


def split_prefix(mention: str, jurisdiction: str | None, parent: str | None) -> tuple[str, str]:
    """(prefix, core): 潜江市文旅局 -> (市, 文旅局); 区委组织部 -> (区委, 组织部);
    退役军人事务局 in 赤壁市 -> (市, 退役军人事务局); 江汉职院 -> ('', 江汉职院)."""
    # the level a bare name takes: 市 in 潜江市; none at national level (商务部 is already whole),
    # where 国家 is the level word: 国家发展改革委 and 发展改革委 are one unit
    level = jurisdiction[-1] if jurisdiction and jurisdiction[-1] in vocab.grammar().level_chars else ""
    national = vocab.grammar().national_prefix
    if jurisdiction == "全国" and mention.startswith(national) and starts_with_function(mention[len(national):]):
        return "", mention[len(national):]
    if jurisdiction:
        for full in filter(None, ((parent or "") + jurisdiction, jurisdiction)):
            if mention.startswith(full) and len(mention) > len(full):
                rest = mention[len(full):]
                if rest.startswith("委") and not starts_with_function(rest):
                    return level + "委", rest[1:]
                return level, rest
    p = level_prefix(mention)
    if p:
        return p, mention[len(p):]
    if (level and starts_with_function(mention) and not township_suffix(mention)
            and not vocab.grammar().starts_re.match(mention)):
        return level, mention
    return "", mention


class Resolver:
    def __init__(self, jurisdiction: str | None, parent: str | None = None, reviewed=None,
                 document_aliases: dict[str, str] | None = None):
        self.jurisdiction = jurisdiction or "未知"
        self.parent = parent
        self.reviewed = reviewed if reviewed is not None else vocab.read_reviewed(vocab.REVIEWED_ALIASES)
        self.document_aliases = document_aliases or {}

    @property
    def document_aliases(self) -> dict[str, str]:
        return self._document_aliases

    @document_aliases.setter
    def document_aliases(self, aliases: dict[str, str]) -> None:
        self._document_aliases = aliases
        self._memo: dict[tuple[str, str], Resolution] = {}  # a notice names the same units again and again

    def unit_id(self, name: str) -> str:
        return f"{self.jurisdiction}:{name}"

    def resolve(self, mention: str, kind: str = "unit") -> Resolution:
        hit = self._memo.get((mention, kind))
        if hit is None:
            hit = self._memo[(mention, kind)] = self._resolve(mention, kind)
        return hit

    def _resolve(self, mention: str, kind: str) -> Resolution:
        if kind == "collective":
            return Resolution(self.unit_id(mention), mention, "collective", ("collective",), "rule", True)
        r = self.reviewed.get((self.jurisdiction, mention))
        if r is not None:
            funcs = functions_of(r.canonical, r.functions)
            return Resolution(self.unit_id(r.canonical), r.canonical, "unit", funcs, "reviewed", True)
        if mention in self.document_aliases:
            target = self.resolve(self.document_aliases[mention])
            return Resolution(target.unit_id, target.name, "unit", target.functions, "document", target.resolved)
        prefix, core = split_prefix(mention, self.jurisdiction, self.parent)
        canon, entry = canonical_core(core)
        name = prefix + canon
        funcs = functions_of(name, entry.functions if entry else ())
        if entry is not None:
            return Resolution(self.unit_id(name), name, "unit", funcs, "dictionary", True)
        if funcs:
            return Resolution(self.unit_id(name), name, "unit", funcs, "rule", True)
        return Resolution(self.unit_id(name), name, "unit", (), "provisional", False)
