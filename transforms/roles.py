"""Find role labels (牵头单位:…;责任单位:…) in an item and cut the text into labelled values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms import vocab
from transforms.mentions import has_suffix, is_collective, matched_brackets

DELIMITERS = "((;;,,。.\n 、"
UNIT_ROLES = ("overall_lead", "lead", "co", "co_or_responsible", "responsible")
_UNIT_OPENING = re.compile(r"[省市区县州旗各团“\"]|人行|人民银行|中国|国家|中共")


@dataclass
class LabelledValue:
    label: str  # as printed, e.g. 牵头单位
    role: str  # overall_lead | lead | co | co_or_responsible | leader
    value: str
    start: int  # offsets of `value` in the scanned string (plus base)
    end: int
    inherited: bool = False  # taken from a merged table cell above, or from the row group's lead


@dataclass
class RolePart:
    start: int  # where the role part begins (the opening bracket, if any)
    end: int  # where it ends (after the closing bracket, if any)
    values: list[LabelledValue]


def _prev_char(s: str, i: int) -> str:
    j = i - 1
    while j >= 0 and s[j] == " ":
        j -= 1
    return s[j] if j >= 0 else "\n"


def _next_char(s: str, i: int) -> str:
    j = i
    while j < len(s) and s[j] == " ":
        j += 1
    return s[j] if j < len(s) else ""


def find_labels(s: str) -> list[re.Match]:
    """Role labels that really label something.

    A label followed by a colon always counts. Otherwise it must follow a delimiter and be
    followed by a unit (牵头单位市住建局) or by a stray semicolon (责任单位;长江流域…). This keeps
    names that end in a label word (…工作协调机制牵头单位) and prose (各牵头单位要…) out.
    """
    out = []
    for m in vocab.roles().label_re.finditer(s):
        nxt = _next_char(s, m.end())
        if nxt in "::":
            out.append(m)
            continue
        if _prev_char(s, m.start()) not in DELIMITERS:
            continue
        j = m.end()
        while j < len(s) and s[j] == " ":
            j += 1
        if nxt in ";;" or _UNIT_OPENING.match(s, j):
            out.append(m)
    return out


def labelled_values(s: str, labels: list[re.Match], end: int, base: int = 0) -> list[LabelledValue]:
    """Cut s into one value per label, each running to the next label (or `end`)."""
    roles = vocab.roles().labels
    out = []
    for k, m in enumerate(labels):
        stop = labels[k + 1].start() if k + 1 < len(labels) else end
        a = m.end()
        while a < stop and s[a] in " ::;;":
            a += 1
        b = stop
        while b > a and s[b - 1] in " ;;,,。.\n((":
            b -= 1
        role = roles[m.group(0)]
        if role == "phrase":
            out += phrase_values(s, a, b, base) or [LabelledValue(m.group(0), "co_or_responsible", s[a:b], base + a, base + b)]
            continue
        if role in UNIT_ROLES:
            b = _cut_first_listed_note(s, a, b)
        out.append(LabelledValue(m.group(0), role, s[a:b], base + a, base + b))
    return out


def _cut_first_listed_note(s: str, a: int, b: int) -> int:
    """'市发改委、市统计局;首位单位为牵头单位,下同' -> the list ends before the note."""
    m = vocab.roles().first_listed_note_re.search(s, a, b)
    if m is None:
        return b
    return m.start()


def looks_like_units(value: str) -> bool:
    parts = [p for p in re.split(r"[、,,;;\s]+", value) if p]
    return bool(parts) and all(has_suffix(p) or is_collective(p) for p in parts)


def phrase_values(s: str, a: int, b: int, base: int = 0) -> list[LabelledValue] | None:
    """Roles written as a phrase (X牵头,Y、Z按职责分工负责 / X、Y负责), by the patterns in roles.yaml."""
    while a < b and s[a] in " ":
        a += 1
    while b > a and s[b - 1] in " 。.;;":
        b -= 1
    for rx in vocab.roles().phrase_res:
        m = rx.fullmatch(s[a:b])
        if m is None:
            continue
        groups = [(g, a + m.start(g), a + m.end(g)) for g in ("lead", "co", "responsible")
                  if g in rx.groupindex and m.group(g)]
        if groups and all(looks_like_units(s[x:y]) for _, x, y in groups):
            return [LabelledValue("", g, s[x:y], base + x, base + y) for g, x, y in groups]
    return None


def phrase_role_part(block: str, base: int = 0) -> RolePart | None:
    """An item whose roles are a phrase, not labels: its closing bracket, or a sentence such as
    这项工作由X负责."""
    end = len(block.rstrip(" \n。.;;"))
    if end and block[end - 1] in "))":
        opener = next((o for o, c in matched_brackets(block).items() if c == end - 1), None)
        if opener is not None:
            values = phrase_values(block, opener + 1, end - 1, base)
            if values:
                return RolePart(base + opener, base + end, values)
    for rx in vocab.roles().sentence_res:
        for m in rx.finditer(block):
            groups = [(g, m.start(g), m.end(g)) for g in ("lead", "co", "responsible")
                      if g in rx.groupindex and m.group(g)]
            if groups and all(looks_like_units(block[x:y]) for _, x, y in groups):
                stop = m.end() + (1 if block[m.end():m.end() + 1] in ("。", ".") else 0)
                return RolePart(base + m.start(), base + stop,
                                [LabelledValue("", g, block[x:y], base + x, base + y) for g, x, y in groups])
    return None


def find_role_part(block: str, base: int = 0) -> RolePart | None:
    """The labelled role part of an item block, or None when the block has no labels.

    It starts at the first label (or the bracket just before it). It ends at the bracket that
    closes that one, or, with no bracket, at the end of the line; following lines that start
    with a label belong to it too (labelled-line layouts).
    """
    labels = find_labels(block)
    if not labels:
        return None
    first = labels[0]
    start = first.start()
    j = start - 1
    while j >= 0 and block[j] == " ":
        j -= 1
    if j >= 0 and block[j] in "((":
        start = j
        closer = matched_brackets(block[j:]).get(0)
        end = j + closer + 1 if closer is not None else _line_end(block, first.start())
    else:
        end = _line_end(block, first.start())
    # following lines that begin with a label continue the role part
    while end < len(block):
        nxt = block.find("\n", end)
        line_start = end if nxt == -1 else nxt + 1
        while line_start < len(block) and block[line_start] in " \n":
            line_start += 1
        m = next((lm for lm in labels if lm.start() == line_start), None)
        if m is None:
            break
        end = _line_end(block, line_start)
    inside = [lm for lm in labels if start <= lm.start() < end]
    value_end = end - 1 if block[end - 1 : end] in ("))") and start < len(block) and block[start] in "((" else end
    return RolePart(base + start, base + end, labelled_values(block, inside, value_end, base))


def _line_end(s: str, i: int) -> int:
    n = s.find("\n", i)
    return len(s) if n == -1 else n
