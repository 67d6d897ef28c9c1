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
from transforms.blocks import Node, match_style
from transforms.roles import find_labels, looks_like_units

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
    if flat in vocab.outline().table_label_columns:
        return "note"
    if flat in vocab.outline().table_note_columns:
        return "note"
    roles = vocab.roles()
    m = roles.label_re.search(flat)
    return roles.labels[m.group(0)] if m and len(flat) <= len(m.group(0)) + 4 else "text"


def cell_header(cells: list[str]) -> tuple[str, ...] | None:
    """Header cells such as ['序号', '重点任务', '牵头单位', '配合单位'] -> ('no', 'text', 'lead', 'co')."""
    flat = [re.sub(r"\s|[((][^))]*[))]", "", c) for c in cells]
    if len(flat) < 3 or any(not c or len(c) > 14 for c in flat):
        return None
    if flat[0] not in NO_WORDS and not any(w in flat[0] for w in vocab.outline().task_header_words):
        return None  # the first column is the number, or (no 序号 column) the task
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
        inherited, guessed = [], []
        for c, role in enumerate(self.columns):
            merged = self._is_merged_mark(text, cells[c])
            empty_means_merged = cells[c] is None and role in _INHERIT_WHEN_EMPTY and not self.explicit_merges \
                and self.mode != "space"
            if (merged or empty_means_merged) and self.last and self.last[c] is not None:
                cells[c] = self.last[c]
                inherited.append(c)
                if not merged:
                    guessed.append(c)
            elif merged:
                cells[c] = None
        node = Node("row", no, start, body, columns=self.columns, cells=tuple(cells), group_lead=self.group_lead)
        node.inherited_cols = tuple(inherited)
        node.guessed_merge = bool(guessed) and len(guessed) == len(inherited)
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
        ln = lines[i]
        if self.mode == "pipe":
            return self._read_pipe(text, ln, place)
        if self.mode == "space":
            n = self._read_space(text, ln, place)
        else:
            n = self._read_lines(text, lines, i, place, text_end)
        if n:
            return n
        hit = match_style(ln.text)  # a heading inside the table: 一、稳增长
        if hit and hit[0] in ("cn1", "cn2"):
            lead = len(ln.text) - len(ln.text.lstrip())
            place(Node(hit[0], hit[1], ln.start + lead, ln.start + hit[2]))
            self.last, self.last_node = (), None
            return 1
        stripped = ln.text.strip()
        if stripped and self._group_line(ln.text, ln.start):
            return 1
        if stripped and self.mode == "lines" and self._heading_row(lines, i):
            return 1
        if stripped and self.mode == "space" and self.last_node is not None:
            return 1  # the task's text wrapped onto a line of its own: the row's cells are already read
        return 0

    def _group_line(self, line: str, base: int) -> bool:
        """A line that names the lead of the rows below it: 牵头单位:市发改委 / 市发改委(5项)."""
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
            hit = match_style(text[a:b])
            if hit and hit[0] != "group":
                place(Node(hit[0], hit[1], a, a + hit[2]))
                self.group_lead, self.last, self.last_node = None, (), None
                return 1
            if self._group_line(ln.text, ln.start):
                return 1
        return 1  # another pipe line in the table (a note, a sub-header): not an item

    def _read_space(self, text: str, ln, place) -> int:
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
        """One row of a table with one cell per line, from lines[i]: how many lines it took (0: no
        row starts here). Blank lines are not boundaries. A row starts at its number (a line of its
        own, or glued to the task: 1.主动对接…), or, in a table whose rows are not numbered, at a line
        of text after the previous row's units. Its lines fill the columns in header order: the
        task takes every line up to the first unit list, each later column one line."""
        ln = lines[i]
        start = self._row_start(text, lines, i, text_end)
        if start is None:
            return 0
        no, body_start = start
        rows_lines = [ln]
        j = i + 1
        seen_units = False
        while j < len(lines) and lines[j].start < text_end:
            s = lines[j].text.strip()
            if s:
                if self._row_start(text, lines, j, text_end, after_units=seen_units) is not None \
                        or self._ends_row(lines[j].text):
                    break
                seen_units = seen_units or _unit_line(s)
                rows_lines.append(lines[j])
            j += 1
        self._place_row(text, no, ln.start + len(ln.text) - len(ln.text.lstrip()), body_start, rows_lines, place)
        return j - i

    def _ends_row(self, line: str) -> bool:
        s = line.strip()
        hit = match_style(line)
        return any(r.search(s) for r in vocab.outline().run_break_res) or bool(hit and hit[0] in ("cn1", "cn2"))

    def _row_start(self, text: str, lines, i: int, text_end: int, after_units: bool = True) -> tuple[str, int] | None:
        """(number as printed, where the row's first cell starts) when a row starts at lines[i]."""
        ln = lines[i]
        s = ln.text.strip()
        lead = len(ln.text) - len(ln.text.lstrip())
        m = _ROW_NO.match(s)
        if m and m.group(1).isdigit() and self._plausible(int(m.group(1))):
            return m.group(1), ln.start + lead + len(s)
        m = _GLUED_NO.match(s)
        if m and self._plausible(int(m.group(1))) and not _unit_line(s[m.end():]):
            return m.group(1), ln.start + lead + m.end()
        if self._ends_row(ln.text) or _unit_line(s) or not after_units or self.numbered:
            return None
        # an unnumbered row: text after the previous row's units; a short line followed by a
        # numbered row is a heading row of the table, not a row
        nxt = next((x.text.strip() for x in lines[i + 1:i + 4] if x.text.strip()), "")
        if _ROW_NO.match(nxt) or self._is_leader_cell(s):
            return None
        return "", ln.start + lead

    def _heading_row(self, lines, i: int) -> bool:
        """An unnumbered line right before a numbered row (经济社会发展主要预期目标分解(15项)): a
        heading row inside the table."""
        nxt = next((x.text.strip() for x in lines[i + 1:i + 4] if x.text.strip()), "")
        m = _ROW_NO.match(nxt) or _GLUED_NO.match(nxt)
        return bool(m and m.group(1).isdigit() and self._plausible(int(m.group(1))))

    def _plausible(self, n: int) -> bool:
        return self.rows == 0 or self.next_row <= n <= self.next_row + 20

    @property
    def numbered(self) -> bool:
        return self.rows > 0 and self.last_node is not None and bool(self.last_node.no)

    def _is_leader_cell(self, s: str) -> bool:
        return "leader" in self.columns and bool(_LEADER_CELL.match(s)) and not _unit_line(s)

    def _place_row(self, text: str, no: str, start: int, body: int, rows_lines, place) -> None:
        def span(x, a: int | None = None) -> Span | None:
            a = x.start + len(x.text) - len(x.text.lstrip()) if a is None else a
            e = x.start + len(x.text.rstrip())
            return (a, e) if e > a else None

        first = rows_lines[0]
        first_span = span(first, body) if body < first.start + len(first.text.rstrip()) else None
        rest = ([first_span] if first_span else []) + [span(x) for x in rows_lines[1:] if x.text.strip()]
        ncols = len(self.columns)
        cells: list[Span | None] = [None] * ncols
        if "no" in self.columns and no:
            cells[self.columns.index("no")] = (start, body)
        cols = [c for c, r in enumerate(self.columns) if r != "no"]
        text_cols = [c for c in cols if self.columns[c] in ("text", "note")]
        first_unit = next((c for c in cols if c in self.unit_cols), ncols)
        before = [c for c in cols if c < first_unit]  # the task (and notes, labels) before the units
        k = next((n for n, sp in enumerate(rest) if _unit_line(text[sp[0]:sp[1]])), len(rest))
        k = max(k, 1) if rest else 0
        task = [c for c in before if self.columns[c] == "text"] or text_cols[:1]
        others = [c for c in before if c not in task[:1]]
        # one line per column before the task's column, the task takes what is left before the units
        pre = [c for c in others if c < task[0]] if task else []
        post = [c for c in others if task and c > task[0]]
        lines_before = rest[:k]
        for c in pre:
            if len(lines_before) > 1 + len(post):
                cells[c] = lines_before.pop(0)
        tail = [lines_before.pop() for _ in post if len(lines_before) > 1][::-1]
        for c, sp in zip(post[len(post) - len(tail):], tail):
            cells[c] = sp
        if task and lines_before:
            cells[task[0]] = (lines_before[0][0], lines_before[-1][1])
        later = [c for c in cols if c >= first_unit and self.columns[c] != "note"]
        after = rest[k:]
        for c, sp in zip(later, after):
            cells[c] = sp
        last_unit = self.unit_cols[-1] if self.unit_cols else None
        for sp in after[len(later):]:  # more unit lines than columns: the last unit list goes on
            if last_unit is not None and _unit_line(text[sp[0]:sp[1]]):
                a0 = cells[last_unit][0] if cells[last_unit] else sp[0]
                cells[last_unit] = (a0, sp[1])
        # a leader cell read as a unit column (the row left a unit cell empty): move it over
        for c in later:
            if cells[c] and self.columns[c] in UNIT_COLUMN_ROLES and not _unit_line(text[cells[c][0]:cells[c][1]]) \
                    and "leader" in self.columns and cells[self.columns.index("leader")] is None \
                    and _LEADER_CELL.match(text[cells[c][0]:cells[c][1]]):
                cells[self.columns.index("leader")], cells[c] = cells[c], None
        self.row(text, no, start, body, cells, place)


UNIT_COLUMN_ROLES = ("overall_lead", "lead", "co", "co_or_responsible", "responsible")
_GLUED_NO = re.compile(r"^[((]?(\d{1,4})[))]?\s*[、.．﹒]\s*(?=\S)")
_LEADER_CELL = re.compile(r"^[\u4e00-\u9fff]{2,4}(?:[、,, ]+[\u4e00-\u9fff]{2,4}){0,4}$")


def _unit_line(s: str) -> bool:
    """A cell that is a unit list; in a table's unit column a name that only ends like a unit
    (国税局) counts when another name of the list opens like one (市财政局、国税局、地税局)."""
    s = s.strip()
    return bool(s) and looks_like_units(s, cued=True)


def lines_header(lines, i: int) -> tuple[list[str], int] | None:
    """Header cells on lines of their own from lines[i] (blank lines between them are skipped):
    序号 / 主要工作举措 / 牵头单位 / …, or with no 序号 column when the first is a task heading."""
    names, j = [], i
    while j < len(lines) and len(names) < 10:
        s = lines[j].text.strip()
        if not s:
            j += 1
            continue
        flat = re.sub(r"\s|[((][^))]*[))]", "", s)
        if not flat or len(flat) > 10 or flat.isdigit() or _GLUED_NO.match(s) or PIPE.search(s):
            break
        if names and column_role(s) == "text" and not any(w in flat for w in vocab.outline().task_header_words) \
                and flat not in vocab.outline().table_note_columns:
            break  # a heading row after the header (一、…) or the first task
        names.append(s)
        j += 1
    return (names, j) if len(names) >= 3 else None


_HEADER_WORDS: tuple = (None, None)  # (the outline vocabulary, its number and task header words as one regex)


def _header_words_re() -> re.Pattern:
    """NO_WORDS or a task header word anywhere in a line (asked of every line of a notice)."""
    global _HEADER_WORDS
    cfg = vocab.outline()
    if _HEADER_WORDS[0] is not cfg:
        _HEADER_WORDS = (cfg, re.compile("|".join(re.escape(w) for w in (*NO_WORDS, *cfg.task_header_words))))
    return _HEADER_WORDS[1]


def table_header(text: str, lines, i: int) -> tuple[TableGrid, int] | None:
    """A header row of a table with visible cells at lines[i]: (the grid, the index after the header)."""
    ln = lines[i]
    if not _header_words_re().search(ln.text):
        return None  # every header names its number column or its task column
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
    flat = re.sub(r"\s", "", t) if len(t) <= 24 else ""  # a header cell is short; most lines are not
    if flat in NO_WORDS or (flat and len(flat) <= 10 and any(w in flat for w in vocab.outline().task_header_words)):
        found = lines_header(lines, i)  # one cell per line: 序号 / 重点任务 / 牵头单位 / …
        cols = cell_header(found[0]) if found else None
        return (TableGrid("lines", cols), found[1]) if cols else None
    if t.startswith(NO_WORDS) and re.search(r"\s", t):
        cols = cell_header(re.split(r"\s+", t))
        return (TableGrid("space", cols), i + 1) if cols else None
    return None
