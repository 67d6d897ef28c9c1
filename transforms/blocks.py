"""The blocks a notice is cut into: lines, numbered headings and table rows (outline nodes).

Shared by transforms/outline.py (the tree of headings) and transforms/tables.py (rows of tables
whose cells can be seen); neither imports the other's internals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CN_DIGITS = "[一二三四五六七八九十百零〇]+"
STYLES: list[tuple[str, re.Pattern]] = [
    ("cn1", re.compile(rf"^ *({CN_DIGITS}) *[、.．]")),
    ("cn2", re.compile(rf"^ *[((] *({CN_DIGITS}) *[))]")),
    ("cn2", re.compile(rf"^ *({CN_DIGITS})[))]")),  # "一)" with its opening bracket lost
    ("ar2", re.compile(r"^ *[((] *(\d{1,3}) *[))]")),
    ("ar", re.compile(r"^ *(\d{1,3}) *(?:[、.．﹒]|\*(?!\*))(?!\d)")),
    ("group", re.compile(r"^ *(—{2,}|－{2,}|-{2,})")),
]


@dataclass
class Line:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class Node:
    style: str  # cn1 | cn2 | ar2 | ar | group | row
    no: str  # printed number without punctuation ('' for groups)
    start: int  # offset where the number starts
    body_start: int  # offset just after the number and its punctuation
    end: int = 0  # end of the block: the next node's start, or the end of the run
    run: int = 0
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    columns: tuple[str, ...] = ()  # table rows: the roles of the unit columns, in order
    # rows of a table with visible cells (pipes, one cell per line, spaces): every column's role
    # (no | text | lead | co | … | leader | deadline) and each cell's span; None for an empty cell
    cells: tuple[tuple[int, int] | None, ...] = ()
    group_lead: tuple[int, int] | None = None  # the lead of a table grouped by lead unit
    inherited_cols: tuple[int, ...] = ()  # cells taken from the row above (a merged cell)
    more_cells: list[tuple[int, tuple[int, int]]] = field(default_factory=list)  # continuation rows
    ambiguous: bool = False  # a row whose cell boundaries could not be seen
    guessed_merge: bool = False  # its inherited cells were empty, read as merged (no 〃 says so)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def ancestors(self) -> list[Node]:
        out, p = [], self.parent
        while p is not None:
            out.append(p)
            p = p.parent
        return out

    def numbered_ancestors(self) -> list[Node]:
        return [a for a in reversed(self.ancestors()) if a.style != "group"]


def split_lines(text: str, one_line_page: bool = False) -> list[Line]:
    """The lines of the text. On a page that was saved on one line (`one_line_page`: its line
    breaks dropped, …。2.下一项…), a long line also breaks before each number marker that follows a
    sentence end or a closing bracket; on any other page an inner list (…三件事:1.…;2.…) stays whole."""
    out, pos = [], 0
    for raw in text.split("\n"):
        if one_line_page and len(raw) >= 200:
            cuts = [0] + [m.start() for m in _GLUED_MARKER.finditer(raw) if m.start() > 0] + [len(raw)]
            out += [Line(raw[a:b], pos + a) for a, b in zip(cuts, cuts[1:])]
        else:
            out.append(Line(raw, pos))
        pos += len(raw) + 1
    return out


_GLUED_MARKER = re.compile(rf"(?<=[。;;!?!?))】\]〕])\s*(?=\d{{1,3}}[、.．﹒]|{CN_DIGITS}、|[((]{CN_DIGITS}[))])")


_STYLE_OPENERS = frozenset("一二三四五六七八九十百零〇((—－-")  # what a STYLES match starts with, or a digit


def match_style(line: str) -> tuple[str, str, int] | None:
    first = line.lstrip(" ")[:1]
    if not first or not (first in _STYLE_OPENERS or first.isdecimal()):
        return None  # cheap test first: every line is asked, most lines are prose
    for style, rx in STYLES:
        m = rx.match(line)
        if m:
            return style, ("" if style == "group" else m.group(1)), m.end()
    return None
