"""The outline as printed: numbered headings, —— groups and table rows, as a tree of blocks.

Numbering styles get their depth from the order they appear in (like a word processor's list
detection): 一、 then (一) then 1. in one notice, (一) directly under 一、 in another. A
notice's preamble (its own 一、二、三、 requirements) and its attachment are separate *runs*:
a run starts again when the top numbering restarts at 一/1, after an 附件 line, or at a table
header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from transforms import vocab

CN_DIGITS = "[一二三四五六七八九十百零〇]+"
STYLES: list[tuple[str, re.Pattern]] = [
    ("cn1", re.compile(rf"^ *({CN_DIGITS}) *[、.．]")),
    ("cn2", re.compile(rf"^ *[((] *({CN_DIGITS}) *[))]")),
    ("cn2", re.compile(rf"^ *({CN_DIGITS})[))]")),  # "一)" with its opening bracket lost
    ("ar2", re.compile(r"^ *[((] *(\d{1,3}) *[))]")),
    ("ar", re.compile(r"^ *(\d{1,3}) *(?:[、.．﹒]|\*(?!\*))(?!\d)")),
    ("group", re.compile(r"^ *(—{2,}|－{2,}|-{2,})")),
]
_ROW_NUMBER = re.compile(r"^ *(\d{1,4}) *[、.．]? *(?=\S)")
_FIRST_NUMBERS = {"一", "1"}


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


@dataclass
class Outline:
    nodes: list[Node]  # document order
    text_end: int  # where boilerplate (附表 templates) begins, or len(text)
    boilerplate_start: int | None


def split_lines(text: str) -> list[Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        out.append(Line(raw, pos))
        pos += len(raw) + 1
    return out


_NO_WORDS = ("序号", "编号")
_PIPE = re.compile(r"[|｜]")


def column_role(name: str) -> str:
    """The role of a table column from its header cell: no, a role from roles.yaml, or text."""
    flat = re.sub(r"\s|[((][^))]*[))]", "", name)
    if flat in _NO_WORDS:
        return "no"
    roles = vocab.roles()
    m = roles.label_re.search(flat)
    return roles.labels[m.group(0)] if m and len(flat) <= len(m.group(0)) + 4 else "text"


def cell_header(cells: list[str]) -> tuple[str, ...] | None:
    """Header cells such as ['序号', '重点任务', '牵头单位', '配合单位'] -> ('no', 'text', 'lead', 'co')."""
    cells = [c.strip() for c in cells]
    if len(cells) < 3 or not cells[0] in _NO_WORDS or any(not c or len(c) > 14 for c in cells):
        return None
    cols = tuple(column_role(c) for c in cells)
    return cols if "text" in cols and any(c not in ("no", "text", "deadline", "leader") for c in cols) else None


def pipe_cells(line: str, start: int) -> list[tuple[int, int]]:
    """The cells of a pipe row, as stripped spans (an empty cell is a span of length 0)."""
    bounds = [m.start() for m in _PIPE.finditer(line)]
    edges = [-1] + bounds + [len(line)]
    spans = []
    for a, b in zip(edges, edges[1:]):
        a += 1
        while a < b and line[a] == " ":
            a += 1
        e = b
        while e > a and line[e - 1] == " ":
            e -= 1
        spans.append((start + a, start + e))
    # a leading or trailing pipe opens or closes the row: no cell outside it
    if line.strip().startswith(("|", "｜")):
        spans = spans[1:]
    if line.strip().endswith(("|", "｜")):
        spans = spans[:-1]
    return spans


_DEADLINE_LIKE = re.compile(r"\d+月|\d+年|季度|年内|年底|持续|长期|底前")


@dataclass
class TableGrid:
    """A table whose cells can be seen: pipe rows, one cell per line, or cells separated by spaces."""

    mode: str  # pipe | lines | space
    columns: tuple[str, ...]
    next_row: int = 1
    group_lead: tuple[int, int] | None = None
    last: tuple[tuple[int, int] | None, ...] = ()

    def _row(self, no: str, start: int, body: int, cells: list[tuple[int, int] | None], place) -> None:
        cells = list(cells) + [None] * (len(self.columns) - len(cells))
        cells = cells[: len(self.columns)]
        inherited = []
        for c, role in enumerate(self.columns):  # an empty lead or leader cell is merged with the one above
            if cells[c] is None and role in ("lead", "leader", "overall_lead") and self.mode != "space" \
                    and self.last and self.last[c] is not None:
                cells[c] = self.last[c]
                inherited.append(c)
        node = Node("row", no, start, body, columns=self.columns, cells=tuple(cells), group_lead=self.group_lead)
        node.inherited_cols = tuple(inherited)
        place(node)
        self.last = tuple(cells)
        self.next_row = int(no) + 1

    def read(self, lines: list[Line], i: int, place, text_end: int) -> int:
        """Read the table line(s) at lines[i]; return how many lines were consumed (0: not a table line)."""
        ln = lines[i]
        if self.mode == "pipe":
            return self._read_pipe(ln, place)
        if self.mode == "space":
            return self._read_space(ln, place)
        return self._read_lines(lines, i, place, text_end)

    def _group_line(self, text: str, a: int, b: int) -> bool:
        """A line inside the table that names the lead of the rows below it (牵头单位:市发改委 / 市发改委(5项))."""
        from transforms.roles import find_labels, looks_like_units

        seg = text[a:b]
        labels = find_labels(seg)
        if labels and vocab.roles().labels[labels[0].group(0)] == "lead" and labels[0].start() == 0:
            v = labels[0].end()
            while v < len(seg) and seg[v] in " ::":
                v += 1
            self.group_lead = (a + v, b)
            return True
        core = re.sub(r"[((][^))]*项[))]$", "", seg).strip()
        if core and looks_like_units(core):
            self.group_lead = (a, a + len(core))
            return True
        return False

    def _read_pipe(self, ln: Line, place) -> int:
        if not _PIPE.search(ln.text):
            return 0
        spans = pipe_cells(ln.text, ln.start)
        full = [(a, b) for a, b in spans if b > a]
        if not full:
            return 1
        first_a, first_b = spans[0]
        first = ln.text[first_a - ln.start:first_b - ln.start]
        if first.isdigit():
            cells = [(a, b) if b > a else None for a, b in spans]
            self._row(first, first_a, first_b, cells, place)
            return 1
        if len(full) == 1:  # a line of its own inside the table: a heading or a lead group
            a, b = full[0]
            seg = ln.text[a - ln.start:b - ln.start]
            hit = _match_style(seg)
            if hit and hit[0] != "group":
                self.group_lead = None
                place(Node(hit[0], hit[1], a, a + hit[2]))
                return 1
            if self._group_line(ln.text, a - ln.start, b - ln.start):
                self.group_lead = (self.group_lead[0] + ln.start, self.group_lead[1] + ln.start)
                return 1
        return 0

    def _read_space(self, ln: Line, place) -> int:
        from transforms.roles import looks_like_units

        m = re.match(r"^ *(\d{1,4})[ 、.．]+(?=\S)", ln.text)
        if not m or int(m.group(1)) != self.next_row:
            stripped = ln.text.strip()
            if stripped and not _match_style(ln.text) and self._group_line(ln.text, len(ln.text) - len(ln.text.lstrip()), len(ln.text.rstrip())):
                self.group_lead = (self.group_lead[0] + ln.start, self.group_lead[1] + ln.start)
                return 1
            return 0
        toks = [(t.start(), t.end()) for t in re.finditer(r"\S+", ln.text[m.end():])]
        toks = [(a + m.end(), b + m.end()) for a, b in toks]
        text_cols = [c for c, r in enumerate(self.columns) if r == "text"]
        cells: list[tuple[int, int] | None] = [None] * len(self.columns)
        cells[0] = (ln.start + m.start(1), ln.start + m.end(1))
        right = len(toks)
        for c in range(len(self.columns) - 1, text_cols[-1], -1):
            role = self.columns[c]
            if right <= 1:
                break
            tok = ln.text[toks[right - 1][0]:toks[right - 1][1]]
            if role == "leader":
                j = right
                while j > 1 and len(ln.text[toks[j - 1][0]:toks[j - 1][1]]) <= 3 and right - j < 3 \
                        and not looks_like_units(ln.text[toks[j - 1][0]:toks[j - 1][1]]):
                    j -= 1
                if j < right:
                    cells[c] = (ln.start + toks[j][0], ln.start + toks[right - 1][1])
                    right = j
            elif role == "deadline":
                if _DEADLINE_LIKE.search(tok):
                    cells[c] = (ln.start + toks[right - 1][0], ln.start + toks[right - 1][1])
                    right -= 1
            elif looks_like_units(tok):
                cells[c] = (ln.start + toks[right - 1][0], ln.start + toks[right - 1][1])
                right -= 1
        # fewer unit cells than unit columns: the empty one is the last (a lead is never left out)
        unit_cols = [c for c, r in enumerate(self.columns) if r not in ("no", "text", "leader", "deadline")]
        found = [cells[c] for c in unit_cols if cells[c] is not None]
        for c, sp in zip(unit_cols, found + [None] * len(unit_cols)):
            cells[c] = sp
        if right:
            cells[text_cols[0]] = (ln.start + toks[0][0], ln.start + toks[right - 1][1])
        self._row(m.group(1), ln.start + m.start(1), ln.start + m.end(), cells, place)
        return 1

    def _read_lines(self, lines: list[Line], i: int, place, text_end: int) -> int:
        from transforms.roles import looks_like_units

        ln = lines[i]
        if ln.text.strip() != str(self.next_row):
            return 0
        body: list[Line] = []
        j = i + 1
        while j < len(lines) and lines[j].start < text_end:
            t = lines[j].text.strip()
            if t == str(self.next_row + 1) or any(r.search(t) for r in vocab.outline().run_break_res) \
                    or (t and _match_style(lines[j].text) and not t.isdigit()):
                break
            body.append(lines[j])
            j += 1
        while body and not body[-1].text.strip():
            body.pop()
        ncols = len(self.columns)
        cells: list[tuple[int, int] | None] = [None] * ncols
        lead = len(ln.text) - len(ln.text.lstrip())
        cells[0] = (ln.start + lead, ln.start + len(ln.text.rstrip()))

        def span(x: Line) -> tuple[int, int] | None:
            t = x.text.strip()
            if not t:
                return None
            a = x.start + len(x.text) - len(x.text.lstrip())
            return (a, a + len(t))

        if len(body) == ncols - 1:  # exactly one line per cell (an empty cell is an empty line)
            for c, x in enumerate(body, 1):
                cells[c] = span(x)
        else:
            rest = [x for x in body if x.text.strip()]
            t0 = next((c for c, r in enumerate(self.columns) if r == "text"), 1)
            k = 0
            while k < len(rest) and (k == 0 or not looks_like_units(rest[k].text.strip())):
                k += 1
            if k:
                cells[t0] = (span(rest[0])[0], span(rest[k - 1])[1])
            for c, x in zip(range(t0 + 1, ncols), rest[k:]):
                cells[c] = span(x)
        self._row(str(self.next_row), cells[0][0], cells[0][1], cells, place)
        return j - i


def _cell_table_header(lines: list[Line], i: int) -> tuple[TableGrid, int] | None:
    """A header row of a table with visible cells at lines[i]: (the grid, the index after the header)."""
    t = lines[i].text.strip()
    if _PIPE.search(t):
        cols = cell_header([lines[i].text[a - lines[i].start:b - lines[i].start]
                            for a, b in pipe_cells(lines[i].text, lines[i].start)])
        return (TableGrid("pipe", cols), i + 1) if cols else None
    if t in _NO_WORDS:  # one cell per line: 序号 / 重点任务 / 牵头单位 / …
        names, j = [t], i + 1
        while j < len(lines) and lines[j].text.strip() and lines[j].text.strip() != "1" and len(names) < 10:
            names.append(lines[j].text.strip())
            j += 1
        cols = cell_header(names)
        return (TableGrid("lines", cols), j) if cols else None
    if t.startswith(_NO_WORDS) and re.search(r"\s", t):
        cols = cell_header(re.split(r"\s+", t))
        return (TableGrid("space", cols), i + 1) if cols else None
    return None


def table_columns(line: str) -> tuple[str, ...] | None:
    """A table header such as '序号 重点工作 牵头单位 协办单位' -> ('lead', 'co')."""
    flat = re.sub(r"[ |｜\t]", "", line)
    if "序号" not in flat or len(flat) > 60:
        return None
    roles = vocab.roles()
    found = [(m.start(), roles.labels[m.group(0)]) for m in roles.label_re.finditer(flat)]
    return tuple(r for _, r in sorted(found)) or None


def _match_style(line: str) -> tuple[str, str, int] | None:
    for style, rx in STYLES:
        m = rx.match(line)
        if m:
            return style, ("" if style == "group" else m.group(1)), m.end()
    return None


_INLINE_NEXT = {
    "ar": lambda n: rf"(?<=[))。;;])\s*({n})\s*[、.．]",
    "ar2": lambda n: rf"(?<=[))。;;])\s*([((]\s*{n}\s*[))])",
}


def split_run_together_items(lines: list[Line]) -> list[Line]:
    """'4.优化营商环境。(牵头单位:市发改委)5.推进数字政府建设。…' is two items on one line: the
    next number, right after a closing bracket or a full stop, starts a line of its own."""
    out: list[Line] = []
    for ln in lines:
        hit = _match_style(ln.text)
        while hit and hit[0] in _INLINE_NEXT and hit[1].isdigit():
            m = re.compile(_INLINE_NEXT[hit[0]](int(hit[1]) + 1)).search(ln.text, hit[2])
            if not m:
                break
            cut = m.start(1)
            out.append(Line(ln.text[:cut], ln.start))
            ln = Line(ln.text[cut:], ln.start + cut)
            hit = _match_style(ln.text)
        out.append(ln)
    return out


def parse_outline(text: str) -> Outline:
    cfg = vocab.outline()
    lines = split_run_together_items(split_lines(text))
    text_end, boiler = len(text), None
    for ln in lines:
        if any(r.search(ln.text.strip()) for r in cfg.boilerplate_res):
            text_end, boiler = ln.start, ln.start
            break

    nodes: list[Node] = []
    run = 0
    stack: list[Node] = []
    table: tuple[str, ...] | None = None
    next_row = 1
    run_starts: list[int] = [0]

    def new_run(at: int) -> None:
        nonlocal run, stack
        run += 1
        stack = []
        run_starts.append(at)

    def place(node: Node) -> None:
        nonlocal stack
        styles = [n.style for n in stack]
        if stack and node.style == stack[0].style and node.no in _FIRST_NUMBERS and nodes and nodes[-1].run == run:
            new_run(node.start)
            styles = []
        node.run = run
        if node.style in styles:
            k = styles.index(node.style)
            stack = stack[:k]
        node.parent = stack[-1] if stack else None
        if node.parent is not None:
            node.parent.children.append(node)
        stack.append(node)
        nodes.append(node)

    grid: TableGrid | None = None
    k = 0
    while k < len(lines):
        ln = lines[k]
        k += 1
        if ln.start >= text_end:
            break
        stripped = ln.text.strip()
        if not stripped:
            continue
        if any(r.search(stripped) for r in cfg.run_break_res):
            new_run(ln.start)
            table, grid = None, None
            continue
        header = _cell_table_header(lines, k - 1)
        if header is not None:
            new_run(ln.start)
            grid, k = header
            table = None
            continue
        if grid is not None:
            consumed = grid.read(lines, k - 1, place, text_end)
            if consumed:
                k = k - 1 + consumed
                continue
        cols = table_columns(stripped)
        if cols:
            new_run(ln.start)
            table, next_row, grid = cols, 1, None
            continue
        if table is not None:
            m = _ROW_NUMBER.match(ln.text)
            if m and int(m.group(1)) == next_row:
                lead = len(ln.text) - len(ln.text.lstrip(" "))
                place(Node("row", m.group(1), ln.start + lead, ln.start + m.end(), columns=table))
                next_row += 1
                continue
        hit = _match_style(ln.text)
        if hit and table is None:
            if grid is not None:
                grid.group_lead = None  # a new heading ends a lead group
            style, no, end = hit
            lead = len(ln.text) - len(ln.text.lstrip(" "))
            place(Node(style, no, ln.start + lead, ln.start + end))

    # block ends: the next node's start, or the start of the next run, or the boilerplate
    boundaries = sorted({*(n.start for n in nodes), *run_starts[1:], text_end})
    import bisect

    for n in nodes:
        k = bisect.bisect_right(boundaries, n.start)
        n.end = boundaries[k] if k < len(boundaries) else text_end
    return Outline(nodes, text_end, boiler)


def heading_title(text: str, node: Node) -> str:
    """The first line of a node's block, after its number."""
    line_end = text.find("\n", node.body_start)
    if line_end == -1 or line_end > node.end:
        line_end = node.end
    return text[node.body_start:line_end].strip()
