"""The outline as printed: numbered headings, —— groups and table rows, as a tree of blocks.

Numbering styles get their depth from the order they appear in (like a word processor's list
detection): 一、 then (一) then 1. in one notice, (一) directly under 一、 in another. A
notice's preamble (its own 一、二、三、 requirements) and its attachment are separate *runs*:
a run starts again when the top numbering restarts at 一/1, after an 附件 line, or at a table
header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from transforms import tables, timeout, vocab
from transforms.blocks import Line, Node, match_style, split_lines

_ROW_NUMBER = re.compile(r"^ *(\d{1,4}) *[、.．]? *(?=\S)")
_FIRST_NUMBERS = {"一", "1"}
_GLUED_ROLES = ("overall_lead", "lead", "co", "co_or_responsible", "responsible", "leader")


@dataclass
class Outline:
    nodes: list[Node]  # document order
    text_end: int  # where boilerplate (附表 templates) begins, or len(text)
    boilerplate_start: int | None


def table_columns(line: str) -> tuple[str, ...] | None:
    """A table header such as '序号 重点工作 牵头单位 协办单位' -> ('lead', 'co')."""
    if "序" not in line or "号" not in line:  # cheap test first: every line is asked
        return None
    flat = re.sub(r"[ |｜\t]", "", line)
    if "序号" not in flat or len(flat) > 60:
        return None
    roles = vocab.roles()
    found = [(m.start(), roles.labels[m.group(0)]) for m in roles.label_re.finditer(flat)]
    return tuple(r for _, r in sorted(found)) or None


_INLINE_NEXT = {
    "ar": lambda n: rf"(?<=[))])\s*({n})\s*[、.．]",
    "ar2": lambda n: rf"(?<=[))])\s*([((]\s*{n}\s*[))])",
}


_INLINE_NEXT_RE: dict[tuple[str, int], re.Pattern] = {}


def _inline_next(style: str, n: int) -> re.Pattern:
    rx = _INLINE_NEXT_RE.get((style, n))
    if rx is None:
        rx = _INLINE_NEXT_RE[(style, n)] = re.compile(_INLINE_NEXT[style](n))
    return rx


def split_run_together_items(lines: list[Line]) -> list[Line]:
    """'4.优化营商环境。(牵头单位:市发改委)5.推进数字政府建设。…' is two items on one line: the
    next number, right after a closing bracket (the end of a role part), starts a line of its own.
    After a full stop it would cut inner lists (重点抓好三件事:1.…;2.…) into items."""
    out: list[Line] = []
    for ln in lines:
        timeout.check()
        hit = match_style(ln.text)
        while hit and hit[0] in _INLINE_NEXT and hit[1].isdigit():
            m = _inline_next(hit[0], int(hit[1]) + 1).search(ln.text, hit[2])
            if not m:
                break
            cut = m.start(1)
            out.append(Line(ln.text[:cut], ln.start))
            ln = Line(ln.text[cut:], ln.start + cut)
            hit = match_style(ln.text)
        out.append(ln)
    return out


def parse_outline(text: str, one_line_page: bool = False) -> Outline:
    cfg = vocab.outline()
    lines = split_run_together_items(split_lines(text, one_line_page))
    text_end, boiler = len(text), None
    for ln in lines:
        if any(r.search(ln.text.strip()) for r in cfg.boilerplate_res):
            text_end, boiler = ln.start, ln.start
            break
    numbered = next((ln.start for ln in lines if match_style(ln.text)), None)
    for ln in lines:  # the site's footer after the notice (【打印本页】【关闭窗口】) ends its outline
        s = ln.text.strip()
        if numbered is not None and numbered < ln.start < text_end and len(s) <= 30 and any(w in s for w in cfg.web_noise):
            text_end = ln.start
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
        if node.style != "row":  # a table row is never a heading of what follows it
            while stack and stack[-1].style == "row":
                stack.pop()
        styles = [n.style for n in stack]
        if stack and node.style == stack[0].style and node.no in _FIRST_NUMBERS and nodes and nodes[-1].run == run:
            new_run(node.start)
            styles = []
        node.run = run
        if node.style in styles:
            k = styles.index(node.style)
            stack = stack[:k]
        elif node.style == "cn1" and stack:
            stack = []  # 一、 is never under (二) or 1.: a page that starts mid-notice met them first
        node.parent = stack[-1] if stack else None
        if node.parent is not None:
            node.parent.children.append(node)
        stack.append(node)
        nodes.append(node)

    grid: tables.TableGrid | None = None
    k = 0
    while k < len(lines):
        timeout.check()
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
        header = tables.table_header(text, lines, k - 1)
        if header is not None:
            if not (nodes and nodes[-1].style in ("cn1", "cn2") and nodes[-1].run == run
                    and not text[text.find("\n", nodes[-1].start) + 1:ln.start].strip()):
                new_run(ln.start)  # a table right under its heading (一、区长…牵头重点工作) stays under it
            else:
                while stack and stack[-1] is not nodes[-1]:
                    stack.pop()
            grid, k = header
            table = None
            continue
        if grid is not None:
            consumed = grid.read(text, lines, k - 1, place, text_end)
            if consumed:
                k = k - 1 + consumed
                continue
            if grid.rows == 0:  # a header with visible cells over glued rows: read them as 潜江 2023
                table, next_row = tuple(r for r in grid.columns if r in _GLUED_ROLES), 1
            else:  # the table has ended: what follows (notes, 注:1.…) is not part of its outline
                new_run(ln.start)
            grid = None
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
        hit = match_style(ln.text)
        if hit and table is None:
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
