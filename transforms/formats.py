"""Notice files in other formats -> plain text the parser reads: saved web pages and .docx.

Tables are written as pipe rows (`| 1 | task | 市发改委 | 市财政局 |`), one line per row, so the
cells the file gives are the cells the parser sees: no guessing from glue. A cell merged with the
one above (rowspan / vMerge) is written empty; the parser reads an empty lead cell as merged.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from transforms.text import DecodedText, UnreadableDocument, decode_bytes

HTML_SUFFIXES = (".html", ".htm", ".shtml")
DOCX_SUFFIXES = (".docx",)
TEXT_SUFFIXES = (".txt",)
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + DOCX_SUFFIXES

_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "form", "select", "iframe",
              "button", "object", "svg")
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5",
               "h6", "blockquote", "center", "dd", "dt", "dl", "pre", "tr", "caption"}
_META_LINE = re.compile(r"(索引号|发文字号|文号|发布日期|成文日期|发文机关|发布机构)\s*[::]")


def _span_attr(value) -> int:
    """rowspan / colspan as written on real pages ("2", "2;", "abc", "0"): a count of at least 1."""
    m = re.match(r"\s*(\d+)", str(value or ""))
    if not m:
        return 1  # as browsers do with rowspan="abc"
    n = int(m.group(1))
    return 500 if n == 0 else min(n, 500)  # rowspan="0": to the end of the table


@dataclass(frozen=True)
class Cell:
    text: str
    merged: bool = False  # continues the cell above (rowspan / vMerge): written 〃


def document_text(data: bytes, source_file: str) -> DecodedText:
    """The text of a notice file, by its suffix (and its bytes, for a page saved as .txt)."""
    name = source_file.lower()
    if name.endswith(DOCX_SUFFIXES):
        return DecodedText(docx_to_text(data), "docx")
    if name.endswith(HTML_SUFFIXES):
        decoded = decode_bytes(data)
        return DecodedText(html_to_text(decoded.text), f"html/{decoded.encoding}")
    return decode_bytes(data)


def _cell_text(s: str) -> str:
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in s.splitlines()]
    lines = [ln for ln in lines if ln]
    out = ""
    for ln in lines:  # lines inside one cell: a list of units gets 、, a sentence runs on
        if out and not re.search(r"[。;;,,、::]$", out):
            out += "、" if len(ln) <= 20 and len(out.split("、")[-1]) <= 20 else ""
        out += ln
    return out.replace("|", "∣").replace("｜", "∣")  # a bar inside a cell is not a cell boundary


def render_table(rows: list[list[Cell]]) -> list[str]:
    """Pipe rows; a cell merged with the one above is written 〃 (ditto), one merged with the one to
    its left is written empty."""
    out = []
    for row in rows:
        if not row:
            continue
        out.append("| " + " | ".join("〃" if c.merged else _cell_text(c.text) for c in row) + " |")
    return out


# --- HTML ------------------------------------------------------------------------------------

def _html_table_rows(table) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan from above
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        row: list[Cell] = []
        col = 0
        cells = [c for c in tr.find_all(["td", "th"]) if c.find_parent("tr") is tr]
        for cell in cells:
            while pending.get(col, 0) > 0:
                row.append(Cell("", merged=True))
                pending[col] -= 1
                col += 1
            span = _span_attr(cell.get("colspan"))
            rspan = _span_attr(cell.get("rowspan"))
            row.append(Cell(cell.get_text("\n")))
            for k in range(span):
                if k:
                    row.append(Cell(""))  # merged with the cell to its left: the text is written once
                if rspan > 1:
                    pending[col + k] = rspan - 1
            col += span
        while pending.get(col, 0) > 0:
            row.append(Cell("", merged=True))
            pending[col] -= 1
            col += 1
        rows.append(row)
    return rows


def _html_lines(node, out: list[str]) -> None:
    from bs4 import NavigableString, Tag

    for child in node.children:
        if isinstance(child, NavigableString):
            if type(child).__name__ in ("Comment", "Doctype", "ProcessingInstruction", "Declaration"):
                continue
            t = re.sub(r"[ \t\r\n]+", " ", str(child))
            if t.strip():
                out[-1] += t if out[-1].strip() else t.lstrip()
            continue
        if not isinstance(child, Tag):
            continue
        if child.name == "br":
            out.append("")
        elif child.name == "table":
            out.extend(render_table(_html_table_rows(child)))
            out.append("")
        elif child.name in _BLOCK_TAGS:
            out.append("")
            _html_lines(child, out)
            out.append("")
        else:
            _html_lines(child, out)


def _marks(el) -> int:
    """Sentences, plus a heavy weight for each table of assignments (not layout or metadata tables)."""
    tables = [t for t in el.find_all("table") if re.search(r"牵头|责任单位|责任部门|配合|协办", t.get_text())]
    return el.get_text().count("。") + 20 * len(tables)


def main_content(soup):
    """The smallest element that holds nearly all of the page's sentences and tables."""
    node = soup.body or soup
    total = _marks(node)
    while True:
        best = None
        for child in node.find_all(recursive=False):
            if _marks(child) >= 0.9 * total and total > 0:
                best = child
                break
        if best is None:
            return node
        node = best


def html_to_text(html: str) -> str:
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(html, "lxml")
    except Exception as e:  # lxml refuses very broken input; the stdlib parser is forgiving
        soup = BeautifulSoup(html, "html.parser")
        del e
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    content = main_content(soup)
    lines = [""]
    _html_lines(content, lines)
    body = [ln.strip() for ln in lines if ln.strip()]
    head: list[str] = []
    title = soup.title.get_text(strip=True) if soup.title else ""
    if title and not any(title in ln or ln in title for ln in body[:5]):
        head.append(title)
    outside = soup.get_text("\n")
    for ln in outside.splitlines():  # 索引号 / 发布日期 rows usually sit outside the article
        ln = ln.strip()
        if _META_LINE.search(ln) and ln not in body and len(ln) < 80:
            head.append(ln)
    if not body:
        raise UnreadableDocument("the web page has no text content")
    return "\n".join(head + body) + "\n"


# --- DOCX ------------------------------------------------------------------------------------

def _docx_table_rows(table) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    above: list = []
    for r in table.rows:
        row: list[Cell] = []
        tcs = []
        prev = None
        for k, cell in enumerate(r.cells):
            tc = cell._tc
            if tc is prev:  # gridSpan: the same cell repeated across columns
                row.append(Cell(""))
            elif k < len(above) and tc is above[k]:  # vMerge: continues the cell above
                row.append(Cell("", merged=True))
            else:
                row.append(Cell(cell.text))
            tcs.append(tc)
            prev = tc
        above = tcs
        rows.append(row)
    return rows


def docx_to_text(data: bytes) -> str:
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except Exception as e:
        raise UnreadableDocument(f"the file is not a readable .docx ({type(e).__name__}: {e})") from e
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            t = Paragraph(child, document).text.strip()
            if t:
                lines.append(t)
        elif tag == "tbl":
            lines.extend(render_table(_docx_table_rows(Table(child, document))))
    if not lines:
        raise UnreadableDocument("the .docx has no text")
    return "\n".join(lines) + "\n"
