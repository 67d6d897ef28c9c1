"""Split a written unit list into mentions, and expand what the writer left implicit.

    "区科经、商务局,郑店、五里界街道办事处" -> 区科经局, 区商务局, 郑店街道办事处, 五里界街道办事处

Every mention keeps the character span it was written in, so an expanded mention (区科经局)
still points at the text that produced it (区科经).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ahocorasick

from transforms import gazetteer, vocab

OPENERS = "((<〈《“「【[〔"
CLOSERS = "))>〉》”」】]〕"
_PAIR = dict(zip(OPENERS, CLOSERS))
SEPARATORS = "、,,;;\n "
_STRIP = " \t\n::;;,,。.、()()——-|｜"


@dataclass
class Mention:
    mention: str  # the full name a careful reader would write
    written: str  # the text as printed
    start: int  # offsets of `written` in the document
    end: int
    kind: str = "unit"  # unit | collective
    aliases: list[str] = field(default_factory=list)
    expanded: bool = False


@dataclass
class _Piece:
    text: str
    start: int
    sep_before: str  # the separator that preceded it ('' at the start)


_ANY_OPENER = re.compile("[" + re.escape(OPENERS) + "]")
_ANY_BRACKET = re.compile("[" + re.escape(OPENERS + CLOSERS) + "]")


def matched_brackets(s: str) -> dict[int, int]:
    """Positions of opening brackets that are closed, mapped to their closer (unclosed ones are ignored)."""
    if not _ANY_OPENER.search(s):
        return {}
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for m in _ANY_BRACKET.finditer(s):
        i, ch = m.start(), m.group()
        if ch in _PAIR:
            stack.append(i)
        elif stack:  # a closer
            j = stack[-1]
            if _PAIR[s[j]] == ch:
                stack.pop()
                pairs[j] = i
    return pairs


def _protected(s: str) -> list[bool]:
    """True for characters inside a closed bracket or quote pair."""
    inside = [False] * len(s)
    for a, b in matched_brackets(s).items():
        for k in range(a + 1, b):
            inside[k] = True
    return inside


_SEPARATOR = re.compile("[" + re.escape(SEPARATORS) + "]")


def _tokenise(s: str, base: int) -> list[_Piece]:
    """Split on list separators outside brackets; also split on 等 between two names."""
    inside = _protected(s) if _ANY_OPENER.search(s) else None
    pieces: list[_Piece] = []
    start, sep = 0, ""
    for m in _SEPARATOR.finditer(s):
        i = m.start()
        if inside and inside[i]:
            continue
        if m.group() == " " and not _space_separates(s, start, i):
            continue  # 市 财政局, 伏羲 山管委 会: a space inside one name
        if i > start:
            pieces.append(_Piece(s[start:i], base + start, sep))
        elif m.group() == " " and pieces:  # padding after a separator (、 资源规划局) keeps it
            start += 1
            continue
        start, sep = i + 1, ("、" if m.group() == "、" else ",")
    if len(s) > start:
        pieces.append(_Piece(s[start:], base + start, sep))
    out: list[_Piece] = []
    for p in pieces:
        for q in _split_deng(p):
            out.extend(_split_he(q) if _HE_BEFORE_NAME.search(q.text) else (q,))
    return out


_HE_BEFORE_NAME = re.compile("[和及](?=[各省市区县州旗国中团人共])")  # 和 before what may open a unit name


def _space_separates(s: str, start: int, i: int) -> bool:
    """A space between two names separates them; a space after a piece that cannot end a name
    (市 财政局) or before one character (山管委 会) is padding inside one name."""
    left = s[start:i].strip()
    nxt = _SEPARATOR.search(s, i + 1)
    right = s[i + 1:nxt.start() if nxt else len(s)].strip()
    if not left or not right:
        return True
    return (has_suffix(left) or is_collective(left)) and len(right) >= 2


def _split_he(p: _Piece) -> list[_Piece]:
    """'省直有关部门和各市人民政府': 和 between a complete name and one that opens like a unit is a
    list separator; inside a name (经济和信息化委, 住房和城乡建设局) it is not."""
    g = vocab.grammar()
    for m in re.finditer("和|及", p.text):
        at = m.start()
        left, right = p.text[:at], p.text[at + 1:]
        if len(left) >= 2 and len(right) >= 3 and (is_collective(left) or g.suffix_re.search(_name_before(left))) \
                and (right[0] in g.level_chars or g.starts_re.match(right)) and (has_suffix(right) or is_collective(right)):
            return [_Piece(left, p.start, p.sep_before), *_split_he(_Piece(right, p.start + at + 1, ","))]
    return [p]


def _name_before(text: str) -> str:
    """The name a piece ends with, without a bracketed alias after it: 区财政局(金融办) -> 区财政局."""
    if text and text[-1] in _ALIAS_CLOSERS:
        opener = next((a for a, b in matched_brackets(text).items() if b == len(text) - 1), None)
        if opener:
            return text[:opener]
    return text


def _split_deng(p: _Piece) -> list[_Piece]:
    g = vocab.grammar()
    at = p.text.find("等")
    if 0 < at < len(p.text) - 1 and g.suffix_re.search(_name_before(p.text[:at])):
        left = _Piece(p.text[:at], p.start, p.sep_before)
        right = _Piece(p.text[at + 1:], p.start + at + 1, ",")
        if right.text.strip(_STRIP) in g.generic_after_deng:
            return [left]
        return [left, *_split_deng(right)]
    return [p]


def _clean(p: _Piece) -> _Piece | None:
    """Trim punctuation and trailing words such as 等 / 按职责分工负责."""
    g = vocab.grammar()
    strip = _STRIP + vocab.roles().lead_markers  # ★区发改委: the mark is read by the caller, not kept
    text, start = p.text, p.start
    changed = True
    while changed and text:
        changed = False
        lead = len(text) - len(text.lstrip(strip))
        if lead:
            text, start, changed = text[lead:], start + lead, True
        # a closing bracket at the end is stripped only when it has no opener in the piece
        while text and text[-1] in _STRIP + CLOSERS:
            if text[-1] in CLOSERS and (len(text) - 1) in matched_brackets(text).values():
                break
            text, changed = text[:-1], True
        if text.endswith(g.trailing_noise):
            for w in g.trailing_noise:
                if text.endswith(w) and len(text) > len(w):
                    text, changed = text[: -len(w)], True
                    break
    return _Piece(text, start, p.sep_before) if text else None


_COLLECTIVE: tuple = (None, None)  # (grammar, its collective patterns as one regex)


def is_collective(name: str) -> bool:
    global _COLLECTIVE
    g = vocab.grammar()
    if _COLLECTIVE[0] is not g:
        _COLLECTIVE = (g, re.compile("|".join(f"(?:{r.pattern})" for r in g.collective_res)))
    return _COLLECTIVE[1].search(name) is not None


def has_suffix(name: str) -> bool:
    return bool(vocab.grammar().suffix_re.search(_strip_alias(name)[0]))


def unit_suffix(name: str) -> str:
    m = vocab.grammar().suffix_re.search(name)
    return m.group(0) if m else ""


_OPENINGS: tuple = (None, None, None, frozenset(), (), {})  # (taxonomy, aliases, grammar, words, lengths, prefixes)


def _function_openings() -> tuple[frozenset[str], tuple[int, ...]]:
    """Function keywords and dictionary aliases, as a set and the lengths to try (rebuilt when the
    vocabulary objects change)."""
    global _OPENINGS
    tax, al, g = vocab.taxonomy(), vocab.aliases(), vocab.grammar()
    if _OPENINGS[0] is not tax or _OPENINGS[1] is not al or _OPENINGS[2] is not g:
        words = frozenset(tax.keywords) | frozenset(al)
        _OPENINGS = (tax, al, g, words, tuple(sorted({len(w) for w in words})), {})
    return _OPENINGS[3], _OPENINGS[4]


def starts_with_function(name: str) -> bool:
    """Does the name open with a function keyword or a dictionary alias (发改…, 文旅局…)?"""
    words, lengths = _function_openings()
    for n in lengths:  # ascending
        if n > len(name):
            return False
        if name[:n] in words:
            return True
    return False


def level_prefix(name: str) -> str:
    """'市' for 市发改委, '区委' for 区委组织部, '地区' for 地区财政局 (a level word of unit_grammar.yaml
    followed by a function), '' for 江汉职院 or 市场监管局 (市场 is a word). Remembered per name for as
    long as the vocabulary is the same (notices repeat their unit names)."""
    _function_openings()
    known = _OPENINGS[5]
    prefix = known.get(name)
    if prefix is None:
        if len(known) > KNOWN_MAX:
            known.clear()
        prefix = known[name] = _level_prefix(name)
    return prefix


def _level_prefix(name: str) -> str:
    g = vocab.grammar()
    if not name or starts_with_function(name):
        return ""
    for w in g.level_words:  # 地区财政局: 地区
        if name.startswith(w) and starts_with_function(name[len(w):]):
            return w
    if name[0] not in g.level_chars:
        return ""
    if len(name) > 2 and name[1] == "委" and not starts_with_function(name[1:]):
        return name[:2]
    return name[0]


_ALIAS_OPENERS = "((〈<[【〔"
_ALIAS_CLOSERS = "".join(_PAIR[o] for o in _ALIAS_OPENERS)


def _strip_alias(name: str) -> tuple[str, list[str]]:
    """市城发集团(市高新投公司) -> (市城发集团, [市高新投公司]); collectives keep their brackets."""
    if not name or name[-1] not in _ALIAS_CLOSERS:
        return name, []
    pairs = matched_brackets(name)
    for a, b in sorted(pairs.items()):
        if b == len(name) - 1 and a > 0 and name[a] in _ALIAS_OPENERS and not is_collective(name):
            inner = name[a + 1 : b].strip()
            head, more = _strip_alias(name[:a])
            return head, more + ([inner] if inner else [])
    return name, []


# entries kept in each cross-notice memory before it is emptied: 100,000 held ~60 MB more per parse
# worker than 20,000 after 500 notices each (bench, 1,000 notices), for no measurable speed
KNOWN_MAX = 20_000
_KNOWN: tuple = (None, {}, {})  # (the vocabulary objects, {(list, lexicon hits): mentions at offset 0}, {list: names})


def _known() -> tuple:
    """What is remembered across notices for as long as the vocabulary is the same."""
    global _KNOWN
    objects = (vocab.grammar(), vocab.roles(), vocab.taxonomy(), vocab.aliases())
    if _KNOWN[0] is None or any(a is not b for a, b in zip(_KNOWN[0], objects)):
        _KNOWN = (objects, {}, {})
    return _KNOWN


def _known_splits() -> dict:
    return _known()[1]


class UnitSplitter:
    """Splits unit lists. `lexicon` holds unit names seen standing alone in the same document,
    which lets it find the boundary in glued text such as 市经信局总口管理区."""

    def __init__(self, lexicon: set[str] | None = None):
        self._auto = None
        self._split_at_0: dict[str, list[Mention]] = {}  # a document repeats its unit lists
        words = {w for w in (lexicon or ()) if len(w) >= 3}
        if words:
            self._auto = ahocorasick.Automaton()
            for w in words:
                self._auto.add_word(w, len(w))
            self._auto.make_automaton()

    # -- boundaries in glued text ------------------------------------------------------------
    def _lexicon_starts(self, s: str) -> set[int]:
        if self._auto is None:
            return set()
        return {end - n + 1 for end, n in self._auto.iter(s)}

    def _starts_unit(self, right: str, at: int, lexicon_starts: set[int]) -> bool:
        g = vocab.grammar()
        if at in lexicon_starts:
            return True
        if right[0] in g.level_chars and len(right) > 2:
            return True
        return bool(g.starts_re.match(right))

    def glue_boundaries(self, s: str) -> list[int]:
        """Positions where one unit name ends and the next begins with nothing between them."""
        g = vocab.grammar()
        # the left part can only end in a suffix if the character before i can end one (or close an alias)
        may_end = g.suffix_ends + _ALIAS_CLOSERS + "\n"
        candidates = [i for i in range(2, len(s) - 1) if s[i - 1] in may_end]
        if not candidates:
            return []
        inside = _protected(s)
        lex = self._lexicon_starts(s)
        cuts: list[int] = []
        last = 0
        for i in candidates:
            if inside[i] or inside[i - 1]:
                continue
            left, right = s[last:i], s[i:]
            core_left = _strip_alias(left)[0]
            if len(core_left) < 2 or not g.suffix_re.search(core_left):
                continue
            if core_left in g.bare_prefixes or core_left in g.level_chars:
                continue
            if any(right.startswith(w) and gazetteer.is_place(core_left + w) for w in (right[0], *g.level_words)):
                continue  # 新乡|市生态环境局卫滨分局: 新乡 ends like a unit (乡) but is the place's own name
            if any(core_left.endswith(h) for h in g.possessive_heads) and right.startswith("各"):
                continue
            if right.startswith(("各成员单位", "成员单位")):
                continue
            if not self._starts_unit(right, i, lex):
                continue
            cuts.append(i)
            last = i
        return cuts

    # -- the whole list ---------------------------------------------------------------------
    def split(self, s: str, base: int = 0) -> list[Mention]:
        """The mentions in s, whose offsets count from `base`."""
        ms = self._split_at_0.get(s)
        if ms is None:
            # the split depends on the lexicon only through the lexicon words found in s (every piece
            # glue_boundaries reads is a substring of s): notices share unit lists, so across
            # documents it is remembered per (s, those words) for as long as the vocabulary is the same
            known = _known_splits()
            key = (s, tuple(self._auto.iter(s)) if self._auto is not None else ())
            ms = known.get(key)
            if ms is None:
                if len(known) > KNOWN_MAX:
                    known.clear()
                ms = known[key] = self._split(s)
            self._split_at_0[s] = ms
        return [Mention(m.mention, m.written, m.start + base, m.end + base, m.kind, list(m.aliases), m.expanded)
                for m in ms]

    def _split(self, s: str, base: int = 0) -> list[Mention]:
        pieces = [c for p in _tokenise(s, base) if (c := _clean(p))]
        # glue splitting, keeping track of which pieces form a 、-group
        groups: list[list[_Piece]] = []
        for p in pieces:
            subs = [p]
            if not is_collective(_strip_alias(p.text)[0]):
                cuts = self.glue_boundaries(p.text)
                if cuts:
                    bounds = [0, *cuts, len(p.text)]
                    subs = [
                        _Piece(p.text[a:b], p.start + a, p.sep_before if k == 0 else "glue")
                        for k, (a, b) in enumerate(zip(bounds, bounds[1:]))
                    ]
            for k, sp in enumerate(subs):
                if sp.sep_before == "、" and groups and k == 0:
                    groups[-1].append(sp)
                else:
                    groups.append([sp])
        out: list[Mention] = []
        for group in groups:
            out.extend(self._expand_group(group))
        return out

    def _expand_group(self, group: list[_Piece]) -> list[Mention]:
        names = [_strip_alias(p.text.replace(" ", "") if " " in p.text else p.text) for p in group]
        g = vocab.grammar()
        for k in range(1, len(names)):  # 各开发区、镇(街道) -> 各镇(街道): 各 written once
            if names[k][0] in g.carry_ge and names[k - 1][0].startswith("各"):
                names[k] = ("各" + group[k].text.replace(" ", ""), [])
        last_suffix = unit_suffix(names[-1][0])
        first_prefix = level_prefix(names[0][0])
        tax = vocab.taxonomy()
        out: list[Mention] = []
        for idx, (p, (name, aliases)) in enumerate(zip(group, names)):
            mention, expanded = name, False
            collective = is_collective(name)
            if not collective and last_suffix and idx < len(group) - 1 and not has_suffix(name):
                mention, expanded = mention + last_suffix, True
            if (
                not collective
                and idx > 0
                and first_prefix
                and not level_prefix(mention)
                and not vocab.grammar().starts_re.match(mention)
                and (starts_with_function(mention) or _abbreviation(mention))
                and not _zone(mention)
            ):
                prefix = first_prefix if first_prefix in vocab.grammar().level_words else first_prefix[0]
                if _is_party(mention, tax) and not mention.startswith(("纪委", "政法委")):
                    prefix += "委"
                mention, expanded = prefix + mention, True
            out.append(
                Mention(
                    mention=mention,
                    written=p.text,
                    start=p.start,
                    end=p.start + len(p.text),
                    kind="collective" if collective else "unit",
                    aliases=aliases,
                    expanded=expanded,
                )
            )
        return out


def _abbreviation(name: str) -> bool:
    """经贸委, 信息办, 食品办: a short office name whose level was written once before it."""
    return len(name) <= 4 and name[-1] in vocab.grammar().abbreviation_ends


def _zone(name: str) -> bool:
    """高新区管委会, 新城区管委会: a unit named after a zone or place, which takes no level prefix."""
    core = name[: len(name) - len(unit_suffix(name))]
    return bool(core) and (core[-1] in vocab.grammar().zone_ends or gazetteer.is_place(core))


def _is_party(name: str, tax) -> bool:
    for _, (kw, codes) in tax.automaton.iter(name):
        if any(tax.functions[c].party for c in codes):
            return True
    return False


def standalone_names(values: list[str]) -> set[str]:
    """Unit-like names written on their own (between separators) in a document: the lexicon."""
    names: set[str] = set()
    known = _known()[2]  # notices share unit lists
    for v in set(values):  # a notice repeats its unit lists
        found = known.get(v)
        if found is None:
            if len(known) > KNOWN_MAX:
                known.clear()
            found = known[v] = _standalone_in(v)
        names |= found
    return names


def _standalone_in(v: str) -> frozenset[str]:
    names = set()
    for p in _tokenise(v, 0):
        c = _clean(p)
        if c and has_suffix(c.text) and len(c.text) <= 16:
            names.add(_strip_alias(c.text)[0])
    return frozenset(names)
