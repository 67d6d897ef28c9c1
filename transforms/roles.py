"""Find role labels (牵头单位:…;责任单位:…) in an item and cut the text into labelled values."""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms import vocab
from transforms.mentions import matched_brackets

DELIMITERS = "((;;,,。.\n 、"
_UNIT_OPENING = re.compile(r"[省市区县州旗各团“\"]|人行|人民银行|中国|国家|中共")


@dataclass
class LabelledValue:
    label: str  # as printed, e.g. 牵头单位
    role: str  # overall_lead | lead | co | co_or_responsible | leader
    value: str
    start: int  # offsets of `value` in the scanned string (plus base)
    end: int


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
        out.append(LabelledValue(m.group(0), roles[m.group(0)], s[a:b], base + a, base + b))
    return out


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
