"""Domain knowledge, loaded from the versioned data files in transforms/data/.

Nothing here parses documents: it only turns the YAML/CSV files into compiled matchers.
`PARSER_VERSION` changes whenever the code version or any data file changes, so the
warehouse can tell which documents were parsed with older rules.
"""

from __future__ import annotations

import csv
import os
import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
import yaml

DATA_DIR = Path(__file__).parent / "data"
CODE_VERSION = "0.2"  # bump when parsing code changes what it extracts


def _yaml(name: str) -> dict:
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))


def data_yaml(name: str) -> dict:
    """A data file under transforms/data/, for modules that keep their own small vocabulary."""
    return _yaml(name)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class Roles:
    labels: dict[str, str]
    label_re: re.Pattern
    first_listed_re: re.Pattern
    first_listed_note_re: re.Pattern
    lead_markers: str
    phrase_verbs: dict[str, str]
    phrase_verb_re: re.Pattern
    phrase_openers: tuple[str, ...]
    deadline_clause_re: re.Pattern
    joint_verb_re: re.Pattern
    cue_confidence: dict[str, float]
    low_confidence: float
    group_lead_heading_re: re.Pattern
    prose_openers: tuple[str, ...]


@dataclass(frozen=True)
class Grammar:
    suffixes: tuple[str, ...]
    suffix_re: re.Pattern  # a unit suffix at the end of a string
    suffix_ends: str  # the characters a suffix ends with
    branch_suffixes: tuple[str, ...]
    level_chars: str
    level_words: tuple[str, ...]  # longer level words (地区, 自治州), longest first
    starts_re: re.Pattern  # a unit start (other than a level char) at the beginning
    bare_prefixes: tuple[str, ...]
    possessive_heads: tuple[str, ...]
    collective_res: tuple[re.Pattern, ...]
    trailing_noise: tuple[str, ...]
    national_prefix: str
    generic_after_deng: frozenset[str]
    carry_ge: frozenset[str]  # township words that take a 各 written once before them
    abbreviation_ends: str  # last characters of short office names (经贸委) that take a prefix written once
    zone_ends: str  # a name part ending so is a zone or place (高新区管委会): no prefix
    max_unit_chars: int


@dataclass(frozen=True)
class Function:
    code: str
    zh: str
    en: str
    party: bool


@dataclass
class Taxonomy:
    functions: dict[str, Function]
    automaton: ahocorasick.Automaton
    suffixes: list[tuple[str, str]]  # (suffix, code)
    keywords: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outline:
    max_heading_chars: int
    item_kinds: dict[str, tuple[str, ...]]
    binding: tuple[str, ...]
    run_break_res: tuple[re.Pattern, ...]
    boilerplate_res: tuple[re.Pattern, ...]
    web_noise: tuple[str, ...]
    declared_count_re: re.Pattern
    table_note_columns: frozenset[str]
    task_header_words: tuple[str, ...]
    table_label_columns: frozenset[str]


@lru_cache(maxsize=1)
def roles() -> Roles:
    d = _yaml("roles.yaml")
    labels = d["labels"]
    return Roles(
        labels=labels,
        label_re=re.compile(_alternation(labels)),
        first_listed_re=re.compile("|".join(d["first_listed_leads"])),
        first_listed_note_re=re.compile(d["first_listed_note"]),
        lead_markers="".join(d["lead_markers"]),
        phrase_verbs=d["phrase_verbs"],
        phrase_verb_re=re.compile(f"(?P<verb>{_alternation(d['phrase_verbs'])})(?:{_alternation(d['phrase_verb_tails'])})?$"),
        phrase_openers=tuple(d["phrase_openers"]),
        deadline_clause_re=re.compile(d["deadline_clause"]),
        joint_verb_re=re.compile(_alternation(d["joint_verbs"])),
        cue_confidence={k: float(v) for k, v in d["cue_confidence"].items()},
        low_confidence=float(d["low_confidence"]),
        group_lead_heading_re=re.compile(d["group_lead_heading"]),
        prose_openers=tuple(d["prose_openers"]),
    )


@lru_cache(maxsize=1)
def grammar() -> Grammar:
    d = _yaml("unit_grammar.yaml")
    suffixes = tuple(sorted(d["suffixes"], key=len, reverse=True))
    return Grammar(
        suffixes=suffixes,
        suffix_re=re.compile(f"(?:{_alternation(suffixes)})$"),
        suffix_ends="".join(sorted({sfx[-1] for sfx in suffixes})),
        branch_suffixes=tuple(d["branch_suffixes"]),
        level_chars="".join(d["level_chars"]),
        level_words=tuple(sorted(d.get("level_words", []), key=len, reverse=True)),
        starts_re=re.compile("(?:" + "|".join(d["starts"]) + ")"),
        bare_prefixes=tuple(d["bare_prefixes"]),
        possessive_heads=tuple(d["possessive_heads"]),
        collective_res=tuple(re.compile(p) for p in d["collectives"]),
        trailing_noise=tuple(sorted(d["trailing_noise"], key=len, reverse=True)),
        national_prefix=d["national_prefix"],
        generic_after_deng=frozenset(d["generic_after_deng"]),
        carry_ge=frozenset(d["carry_ge"]),
        abbreviation_ends="".join(d["abbreviation_ends"]),
        zone_ends="".join(d["zone_ends"]),
        max_unit_chars=int(d["max_unit_chars"]),
    )


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    d = _yaml("functions.yaml")
    functions: dict[str, Function] = {}
    auto = ahocorasick.Automaton()
    by_kw: dict[str, set[str]] = {}
    suffixes: list[tuple[str, str]] = []
    for f in d["functions"]:
        functions[f["code"]] = Function(f["code"], f["zh"], f["en"], bool(f.get("party")))
        for kw in f.get("keywords", []):
            by_kw.setdefault(kw, set()).add(f["code"])
        for sfx in f.get("suffixes", []):
            suffixes.append((sfx, f["code"]))
    for kw, codes in by_kw.items():
        auto.add_word(kw, (kw, tuple(sorted(codes))))
    auto.make_automaton()
    return Taxonomy(functions, auto, suffixes, sorted(by_kw, key=len, reverse=True))


@dataclass(frozen=True)
class Alias:
    canonical: str
    functions: tuple[str, ...]


def read_alias_csv(path: Path) -> dict[str, Alias]:
    out: dict[str, Alias] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["alias"].startswith("#"):
                continue
            funcs = tuple(f for f in (row.get("functions") or "").split(";") if f)
            out[row["alias"].strip()] = Alias(row["canonical"].strip(), funcs)
    return out


@lru_cache(maxsize=1)
def aliases() -> dict[str, Alias]:
    """Alias core -> canonical core, valid in every jurisdiction (发改委 -> 发展和改革委员会)."""
    return read_alias_csv(DATA_DIR / "aliases.csv")


@dataclass(frozen=True)
class ReviewedAlias:
    jurisdiction: str
    alias: str
    canonical: str
    functions: tuple[str, ...]


def read_reviewed(path: Path) -> dict[tuple[str, str], ReviewedAlias]:
    """Reviewer decisions: (jurisdiction, mention) -> canonical unit name in that jurisdiction."""
    out: dict[tuple[str, str], ReviewedAlias] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["jurisdiction"].startswith("#"):
                continue
            funcs = tuple(f for f in (row.get("functions") or "").split(";") if f)
            r = ReviewedAlias(row["jurisdiction"].strip(), row["alias"].strip(), row["canonical"].strip(), funcs)
            out[(r.jurisdiction, r.alias)] = r
    return out


REVIEWED_ALIASES = Path(os.environ.get("FENGONG_REVIEWED_ALIASES") or DATA_DIR / "reviewed_aliases.csv")


@lru_cache(maxsize=1)
def outline() -> Outline:
    d = _yaml("outline.yaml")
    return Outline(
        max_heading_chars=int(d["max_heading_chars"]),
        item_kinds={k: tuple(v) for k, v in d["item_kinds"].items()},
        binding=tuple(d["binding"]),
        run_break_res=tuple(re.compile(p) for p in d["run_breaks"]),
        boilerplate_res=tuple(re.compile(p) for p in d["boilerplate_from"]),
        web_noise=tuple(d["web_noise"]),
        declared_count_re=re.compile(d["declared_count"]),
        table_note_columns=frozenset(d["table_note_columns"]),
        task_header_words=tuple(d["task_header_words"]),
        table_label_columns=frozenset(d["table_label_columns"]),
    )


@lru_cache(maxsize=1)
def parser_version() -> str:
    h = hashlib.sha256(CODE_VERSION.encode())
    for p in sorted(DATA_DIR.iterdir()):
        if p.name == REVIEWED_ALIASES.name:
            continue  # reviewer decisions change resolution, not parsing
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return f"{CODE_VERSION}+{h.hexdigest()[:10]}"
