"""Tables whose cells can be seen: pipe rows (also what .html and .docx tables become), one cell per
line, or cells separated by spaces. Each row becomes an outline node with one span per column.

    | 序号 | 重点任务 | 责任领导 | 牵头单位 | 配合单位 | 完成时限 |      header: the columns' roles
    | 一、稳增长 |  |  |  |  |  |                                  a heading inside the table
    | 牵头单位:市发改委 |  |  |  |  |  |                           a lead group (rows below inherit it)
    | 1 | 任务… | 钱 宇 | 市发改委 | 市统计局、市财政局 | 12月底前 |  a row
    | 2 | 任务… | 〃 |  | 市重点局 | 年内 |                       〃: merged with the cell above
    |   |      |    |  | 市财政局 |  |                            a continuation: more units for row 2

A merged cell is read from the row above: always when it says 〃 / 同上 (how .html and .docx
rowspans are written), and for an empty lead or leader cell when the table marks no merges at all
(a table flattened to text loses its rowspans). An empty co cell is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms import vocab

NO_WORDS = ("序号", "编号")
PIPE = re.compile(r"[|｜]")
MERGED_MARKS = ("〃", "同上")
_ROW_NO = re.compile(r"^[((]?\s*(\d{1,4}|[一二三四五六七八九十]{1,3})\s*[))、.．]?$")
_INHERIT_WHEN_EMPTY = ("lead", "leader", "overall_lead")


def column_role(name: str) -> str:
    """The role of a column from its header cell: no, note, a role from roles.yaml, or text."""
    flat = re.sub(r"\s|[((][^))]*[))]", "", name)
    if flat in NO_WORDS:
        return "no"
    if flat in vocab.outline().table_note_columns:
        return "note"
    roles = vocab.roles()
    m = roles.label_re.search(flat)
    return roles.labels[m.group(0)] if m and len(flat) <= len(m.group(0)) + 4 else "text"


def cell_header(cells: list[str]) -> tuple[str, ...] | None:
    """Header cells such as ['序号', '重点任务', '牵头单位', '配合单位'] -> ('no', 'text', 'lead', 'co')."""
    flat = [re.sub(r"\s|[((][^))]*[))]", "", c) for c in cells]
    if len(flat) < 3 or flat[0] not in NO_WORDS or any(not c or len(c) > 14 for c in flat):
        return None
    cols = tuple(column_role(c) for c in cells)
    unit_cols = [c for c in cols if c not in ("no", "text", "note", "deadline", "leader")]
    return cols if "text" in cols and unit_cols else None


def pipe_cells(line: str, start: int) -> list[tuple[int, int]]:
    """The cells of a pipe row, as stripped spans (an empty cell is a span of length 0)."""
    bounds = [m.start() for m in PIPE.finditer(line)]
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
    if line.strip().startswith(("|", "｜")):  # a leading or trailing pipe opens or closes the row
        spans = spans[1:]
    if line.strip().endswith(("|", "｜")):
        spans = spans[:-1]
    return spans


Span = tuple[int, int]


@dataclass
class TableGrid:
    mode: str  # pipe | lines | space
    columns: tuple[str, ...]
    explicit_merges: bool = False  # the table writes 〃 where a cell is merged: empty means empty
    next_row: int = 1
    group_lead: Span | None = None
    last: tuple[Span | None, ...] = ()
    last_node: object = None
    rows: int = 0

    @property
    def unit_cols(self) -> list[int]:
        return [c for c, r in enumerate(self.columns) if r not in ("no", "text", "note", "leader", "deadline")]

    def _is_merged_mark(self, text: str, span: Span | None) -> bool:
        return span is not None and text[span[0]:span[1]] in MERGED_MARKS

    def row(self, text: str, no: str, start: int, body: int, cells: list[Span | None], place,
            ambiguous: bool = False) -> None:
        from transforms.outline import Node

        cells = (list(cells) + [None] * len(self.columns))[: len(self.columns)]
        text_cols = [c for c, r in enumerate(self.columns) if r == "text"]
        has_text = any(cells[c] is not None and not self._is_merged_mark(text, cells[c]) for c in text_cols)
        own_number = no.strip() not in ("",) + MERGED_MARKS
        if not has_text and self.last_node is not None:
            if not own_number:
                self._continue(text, cells)  # number and task merged: more units for the row above
                return
            for c in text_cols:  # a numbered row of its own whose task cell is merged with the one above
                cells[c] = self.last[c] if self.last else None
        inherited = []
        for c, role in enumerate(self.columns):
            merged = self._is_merged_mark(text, cells[c])
            empty_means_merged = cells[c] is None and role in _INHERIT_WHEN_EMPTY and not self.explicit_merges \
                and self.mode != "space"
            if (merged or empty_means_merged) and self.last and self.last[c] is not None:
                cells[c] = self.last[c]
                inherited.append(c)
            elif merged:
                cells[c] = None
        node = Node("row", no, start, body, columns=self.columns, cells=tuple(cells), group_lead=self.group_lead)
        node.inherited_cols = tuple(inherited)
        node.ambiguous = ambiguous
        place(node)
        self.last, self.last_node, self.rows = tuple(cells), node, self.rows + 1
        self.next_row = int(no) + 1 if no.isdigit() else self.next_row + 1

    def _continue(self, text: str, cells: list[Span | None]) -> None:
        node = self.last_node
        for c, sp in enumerate(cells):
            if sp is not None and self.columns[c] not in ("no", "text", "note") \
                    and not self._is_merged_mark(text, sp):
                node.more_cells.append((c, sp))

    def set_group(self, span: Span) -> None:
        self.group_lead, self.last, self.last_node = span, (), None

    def read(self, text: str, lines, i: int, place, text_end: int) -> int:
        """Read the table line(s) at lines[i]; how many lines were consumed (0: the table has ended)."""
        from transforms.outline import Node, _match_style

        ln = lines[i]
        if self.mode == "pipe":
            return self._read_pipe(text, ln, place)
        if self.mode == "space":
            n = self._read_space(text, ln, place)
        else:
            n = self._read_lines(text, lines, i, place, text_end)
        if n:
            return n
        hit = _match_style(ln.text)  # a heading inside the table: 一、稳增长
        if hit and hit[0] in ("cn1", "cn2"):
            lead = len(ln.text) - len(ln.text.lstrip())
            place(Node(hit[0], hit[1], ln.start + lead, ln.start + hit[2]))
            self.last, self.last_node = (), None
            return 1
        stripped = ln.text.strip()
        if stripped and self._group_line(ln.text, ln.start):
            return 1
        if stripped and self.mode == "space" and self.last_node is not None:
            return 1  # the task's text wrapped onto a line of its own: the row's cells are already read
        return 0

    def _group_line(self, line: str, base: int) -> bool:
        """A line that names the lead of the rows below it: 牵头单位:市发改委 / 市发改委(5项)."""
        from transforms.roles import find_labels, looks_like_units

        a = len(line) - len(line.lstrip(" |｜"))
        b = len(line.rstrip(" |｜"))
        seg = line[a:b]
        labels = find_labels(seg)
        if labels and labels[0].start() == 0 and vocab.roles().labels[labels[0].group(0)] == "lead":
            v = labels[0].end()
            while v < len(seg) and seg[v] in " ::":
                v += 1
            if v < len(seg) and looks_like_units(seg[v:]):
                self.set_group((base + a + v, base + b))
                return True
            return False
        core = re.sub(r"[((][^))]*项[))]$", "", seg).strip()
        if core and looks_like_units(core, strict=True):
            self.set_group((base + a, base + a + len(core)))
            return True
        return False

    def _read_pipe(self, text: str, ln, place) -> int:
        from transforms.outline import Node, _match_style

        if not PIPE.search(ln.text):
            return 0
        spans = pipe_cells(ln.text, ln.start)
        full = [(a, b) for a, b in spans if b > a]
        if not full:
            return 1
        cells: list[Span | None] = [(a, b) if b > a else None for a, b in spans]
        first = text[spans[0][0]:spans[0][1]]
        m = _ROW_NO.match(first)
        if m:
            self.row(text, m.group(1), spans[0][0], spans[0][1], cells, place)
            return 1
        if (not first or first in MERGED_MARKS) and self.last_node is not None:  # a continuation row
            self._continue(text, cells)
            return 1
        if len(full) == 1:
            a, b = full[0]
            hit = _match_style(text[a:b])
            if hit and hit[0] != "group":
                place(Node(hit[0], hit[1], a, a + hit[2]))
                self.group_lead, self.last, self.last_node = None, (), None
                return 1
            if self._group_line(ln.text, ln.start):
                return 1
        return 1  # another pipe line in the table (a note, a sub-header): not an item

    def _read_space(self, text: str, ln, place) -> int:
        from transforms.roles import looks_like_units

        m = re.match(r"^ *(\d{1,4})[ 、.．]+(?=\S)", ln.text)
        if not m or not self.next_row <= int(m.group(1)) <= self.next_row + 9:
            return 0
        toks = [(ln.start + m.end() + t.start(), ln.start + m.end() + t.end())
                for t in re.finditer(r"\S+", ln.text[m.end():])]
        word = lambda k: text[toks[k][0]:toks[k][1]]  # noqa: E731
        cells: list[Span | None] = [None] * len(self.columns)
        cells[0] = (ln.start + m.start(1), ln.start + m.end(1))
        right = len(toks)
        # trailing columns after the units (deadline, leader), read from the right
        for c in range(len(self.columns) - 1, self.unit_cols[-1], -1):
            role = self.columns[c]
            if right > 1 and role == "deadline" and vocab.roles().deadline_clause_re.search(word(right - 1)):
                cells[c] = toks[right - 1]
                right -= 1
        # the unit tokens: the trailing run of tokens that open like a unit (市…, 区…); else any unit
        for strict in (True, False):
            j = right
            while j > 1 and looks_like_units(word(j - 1), strict=strict):
                j -= 1
            if j < right:
                break
        units = toks[j:right]
        right = j
        ambiguous = len(units) > len(self.unit_cols)
        for k, c in enumerate(self.unit_cols):
            if k < len(units):
                last = k == len(self.unit_cols) - 1
                cells[c] = (units[k][0], units[-1][1]) if last else units[k]
        # a leader column before the units: short tokens that are names, not units
        leader_cols = [c for c, r in enumerate(self.columns) if r == "leader" and c < self.unit_cols[0]]
        if leader_cols and right > 1:
            j = right
            while j > 1 and len(word(j - 1)) <= 3 and right - j < 3:
                j -= 1
            if j < right:
                cells[leader_cols[0]] = (toks[j][0], toks[right - 1][1])
                right = j
        text_col = next(c for c, r in enumerate(self.columns) if r == "text")
        if right:
            cells[text_col] = (toks[0][0], toks[right - 1][1])
        self.row(text, m.group(1), ln.start + m.start(1), ln.start + m.end(), cells, place, ambiguous=ambiguous)
        return 1

    def _read_lines(self, text: str, lines, i: int, place, text_end: int) -> int:
        from transforms.outline import _match_style
        from transforms.roles import looks_like_units

        ln = lines[i]
        t = ln.text.strip()
        if not t.isdigit() or not self.next_row <= int(t) <= self.next_row + 9:
            return 0
        body = []
        j = i + 1
        while j < len(lines) and lines[j].start < text_end:
            s = lines[j].text.strip()
            if (s.isdigit() and int(s) > int(t)) or any(r.search(s) for r in vocab.outline().run_break_res) \
                    or (s and _match_style(lines[j].text) and _match_style(lines[j].text)[0] in ("cn1", "cn2")):
                break
            body.append(lines[j])
            j += 1
        while body and not body[-1].text.strip():
            body.pop()

        def span(x) -> Span | None:
            s = x.text.strip()
            a = x.start + len(x.text) - len(x.text.lstrip())
            return (a, a + len(s)) if s else None

        ncols = len(self.columns)
        cells: list[Span | None] = [None] * ncols
        cells[0] = span(ln)
        rest = [x for x in body if x.text.strip()]
        text_col = next(c for c, r in enumerate(self.columns) if r == "text")
        # the task: lines up to the first line that is a unit list; then one line per column
        k = 1
        while k < len(rest) and not looks_like_units(rest[k].text.strip()):
            k += 1
        if rest:
            cells[text_col] = (span(rest[0])[0], span(rest[k - 1])[1])
        later = [c for c in range(text_col + 1, ncols) if self.columns[c] != "note"]
        for c, x in zip(later, rest[k:]):
            cells[c] = span(x)
        last_unit = self.unit_cols[-1]
        for x in rest[k + len(later):]:  # more unit lines than columns: the co list goes on
            if looks_like_units(x.text.strip()):
                start = cells[last_unit][0] if cells[last_unit] else span(x)[0]
                cells[last_unit] = (start, span(x)[1])
        self.row(text, t, cells[0][0], cells[0][1], cells, place)
        return j - i


def table_header(text: str, lines, i: int) -> tuple[TableGrid, int] | None:
    """A header row of a table with visible cells at lines[i]: (the grid, the index after the header)."""
    ln = lines[i]
    t = ln.text.strip()
    if PIPE.search(t):
        cols = cell_header([text[a:b] for a, b in pipe_cells(ln.text, ln.start)])
        if not cols:
            return None
        explicit = False
        for x in lines[i + 1:]:
            if not PIPE.search(x.text):
                break
            if any(text[a:b] in MERGED_MARKS for a, b in pipe_cells(x.text, x.start)):
                explicit = True
                break
        return TableGrid("pipe", cols, explicit_merges=explicit), i + 1
    if t in NO_WORDS:  # one cell per line: 序号 / 重点任务 / 牵头单位 / …
        names, j = [t], i + 1
        while j < len(lines) and lines[j].text.strip() and not lines[j].text.strip().isdigit() and len(names) < 10:
            names.append(lines[j].text.strip())
            j += 1
        cols = cell_header(names)
        return (TableGrid("lines", cols), j) if cols else None
    if t.startswith(NO_WORDS) and re.search(r"\s", t):
        cols = cell_header(re.split(r"\s+", t))
        return (TableGrid("space", cols), i + 1) if cols else None
    return None
