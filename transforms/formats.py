"""Notice files in other formats -> plain text the parser reads: saved web pages, .docx, PDF
(transforms/pdf.py), spreadsheets (transforms/sheets.py); an old .doc is refused with the command
that converts it.

Tables are written as pipe rows (`| 1 | task | 市发改委 | 市财政局 |`), one line per row, so the
cells the file gives are the cells the parser sees: no guessing from glue. A cell merged with the
one above (rowspan / vMerge) is written empty; the parser reads an empty lead cell as merged.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache

from transforms import timeout
from transforms.pdf import MAX_CHARS  # the text of one file, as for a PDF
from transforms.text import DecodedText, UnreadableDocument, decode_bytes, normalise_text

HTML_SUFFIXES = (".html", ".htm", ".shtml")
DOCX_SUFFIXES = (".docx",)
TEXT_SUFFIXES = (".txt",)
PDF_SUFFIXES = (".pdf",)
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".et")
DOC_SUFFIXES = (".doc", ".wps")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + DOCX_SUFFIXES + PDF_SUFFIXES + SHEET_SUFFIXES

# not `form`: ASP.NET pages wrap the whole page in one
_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "select", "iframe", "button",
              "object", "svg", "input", "textarea")
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


_HTML_START = re.compile(r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)


@dataclass(frozen=True)
class Cell:
    text: str
    merged: bool = False  # continues the cell above (rowspan / vMerge): written 〃


def document_text(data: bytes, source_file: str) -> DecodedText:
    """The text of a notice file, by its suffix (and its bytes, for a page saved as .txt). For a
    PDF or a spreadsheet, `pages` maps spans of the text to the page, or the sheet and row, they
    come from (see `source_spans`)."""
    name = source_file.lower()
    if name.endswith(DOCX_SUFFIXES):
        from transforms.sheets import check_zip

        check_zip(data, ".docx")
        return DecodedText(docx_to_text(data), "docx")
    if name.endswith(PDF_SUFFIXES + SHEET_SUFFIXES) or (name.endswith(DOC_SUFFIXES) and data[:4] == b"\xd0\xcf\x11\xe0"):
        return _converted(data, name.rsplit(".", 1)[-1])
    if name.endswith(DOC_SUFFIXES):
        raise UnreadableDocument(_DOC_REASON)
    decoded = decode_bytes(data)
    if name.endswith(HTML_SUFFIXES) or _HTML_START.match(decoded.text):  # also a page saved as .txt
        return DecodedText(html_to_text(decoded.text), f"html/{decoded.encoding}")
    return decoded


_DOC_REASON = ("an old Word 97-2003 file (.doc): fengong does not read this binary format; convert it with "
               "`libreoffice --headless --convert-to docx FILE.doc` and put the .docx in raw/")


@lru_cache(maxsize=4)
def _converted(data: bytes, suffix: str) -> DecodedText:
    """A PDF or spreadsheet as text, normalised here so that the spans in `pages` stay valid in the
    stored text (normalise_text changes nothing more). Cached: the parser and the loader's page map
    ask for the same file one after the other."""
    if suffix in ("doc", "wps"):
        raise UnreadableDocument(_DOC_REASON)
    if suffix == "pdf":
        from transforms.pdf import pdf_lines

        lines = [(ln.text, (ln.page, None, None)) for ln in pdf_lines(data)]
        encoding = "pdf"
    else:
        from transforms.sheets import sheet_lines

        lines = [(ln.text, (None, ln.sheet, ln.row)) for ln in sheet_lines(data, "." + suffix)]
        encoding = suffix if suffix != "et" else "xls"
    parts: list[str] = []
    pages: list[tuple[int, int, int | None, str | None, int | None]] = []
    pos = 0
    for text, (page, sheet, row) in lines:
        t = normalise_text(text.replace("\r", " ").replace("\n", " "))
        start, pos = pos, pos + len(t) + 1
        parts.append(t)
        if pages and pages[-1][2:] == (page, sheet, row) and page is not None:
            pages[-1] = (pages[-1][0], pos, page, sheet, row)  # a page is one span
        else:
            pages.append((start, pos, page, sheet, row))
    while parts and not parts[-1].strip():
        parts.pop()
    text = "\n".join(parts) + "\n"
    if not text.strip():
        raise UnreadableDocument(f"the {suffix} file has no text")
    return DecodedText(text, encoding, tuple((a, min(b, len(text)), p, s, r) for a, b, p, s, r in pages if a < len(text)))


def source_spans(data: bytes, source_file: str) -> tuple:
    """(char_start, char_end, page, sheet, row) spans of a PDF's or spreadsheet's text; () for
    other formats."""
    name = source_file.lower()
    if not name.endswith(PDF_SUFFIXES + SHEET_SUFFIXES):
        return ()
    try:
        return _converted(data, name.rsplit(".", 1)[-1]).pages
    except UnreadableDocument:
        return ()


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
        timeout.check()
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
        timeout.check()
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
        elif child.name == "table" and _is_data_table(child):
            out.append("")
            out.extend(render_table(_html_table_rows(child)))
            out.append("")
        elif child.name in ("table", "tbody", "thead", "tr", "td", "th"):  # a layout table: its cells are blocks
            out.append("")
            _html_lines(child, out)
            out.append("")
        elif child.name == "ol":  # an ordered list's numbers are not in its text: write them
            k = _span_attr(child.get("start"))
            for li in child.find_all("li", recursive=False):
                out.append(f"{k}.")
                _html_lines(li, out)
                out.append("")
                k += 1
        elif child.name in _BLOCK_TAGS:
            out.append("")
            _html_lines(child, out)
            out.append("")
        else:
            _html_lines(child, out)


def _is_data_table(table) -> bool:
    """A table of cells (rows of tasks and units), not one that lays out the page: no table inside
    it, and at least two rows of two cells or more."""
    if table.find("table") is not None:
        return False
    rows = [tr for tr in table.find_all("tr") if len(tr.find_all(["td", "th"], recursive=False)) >= 2]
    return len(rows) >= 2


_ASSIGNMENT_WORDS = re.compile(r"牵头|责任单位|责任部门|配合|协办|负责")


def _assignment_tables(el) -> int:
    return sum(1 for t in el.find_all("table") if _is_data_table(t) and _ASSIGNMENT_WORDS.search(t.get_text()))


def _in_data_table(el) -> bool:
    if el.name == "table":
        return _is_data_table(el)
    if el.name in ("tbody", "thead", "tr", "td", "th"):
        table = el.find_parent("table")
        return table is not None and _is_data_table(table)
    return False


def _weight(el) -> int:
    """How much of the notice an element holds: its role words (牵头, 责任单位…), or failing any,
    its sentences. A sidebar of news has sentences but no role words."""
    text = el.get_text()
    return len(_ASSIGNMENT_WORDS.findall(text)) or text.count("。") / 100


def main_content(soup):
    """The smallest element that holds every table of assignments and nearly all role words."""
    node = soup.body or soup
    while True:
        timeout.check()
        tables, weight = _assignment_tables(node), _weight(node)
        best = None
        for child in node.find_all(recursive=False):
            if child.name in ("ol", "ul", "li", "p") or _in_data_table(child):
                continue  # a list or a table of cells is content, not a container of it
            if weight and _assignment_tables(child) == tables and _weight(child) >= 0.9 * weight:
                best = child
                break
        if best is None:
            return node
        node = best


MAX_HTML_DEPTH = 400  # real pages nest a few dozen elements; the walker below recurses once per level
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
              "source", "track", "wbr", "basefont", "frame", "isindex"}
# closed by the parser when the next one starts (<p>…<p>…, <td>…<td>…): never nested by being left open
_AUTO_CLOSED_TAGS = {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot",
                     "colgroup", "rb", "rt", "rp"}
_MARKUP = re.compile(r"<!--.*?(?:-->|$)|<(script|style)\b.*?(?:</\1\s*>|$)|<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>",
                     re.S | re.I)


def html_depth(html: str, stop: int = MAX_HTML_DEPTH) -> int:
    """How deep the page nests its elements, counted on the markup before any parser builds a tree:
    an element left open nests what follows (as lxml nests it), a closing tag closes the elements
    opened after its own; void and self-closed elements, and those a parser closes by itself (<p>,
    <td>…), are not counted. Stops at the first depth over `stop` (a page of 100,000 nested <div>
    is refused after reading 400 of them)."""
    stack: list[str] = []
    open_count: dict[str, int] = {}
    deepest = 0
    for m in _MARKUP.finditer(html):
        name = (m.group(3) or "").lower()
        if not name or name in _VOID_TAGS or name in _AUTO_CLOSED_TAGS:
            continue
        if m.group(2):  # </name>: closes it and what was opened inside it and left open
            if open_count.get(name):
                while True:
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
        elif not m.group(4):
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > deepest:
                deepest = len(stack)
                if deepest > stop:
                    break
    return deepest


def _too_deep() -> UnreadableDocument:
    return UnreadableDocument(
        f"the web page nests its elements more than {MAX_HTML_DEPTH} deep (real pages nest a few dozen; this one "
        "is generated or broken): open it in a browser, copy the notice's text into a .txt file and put that in raw/")


def html_to_text(html: str) -> str:
    """The notice's text from a web page; a page nested deeper than MAX_HTML_DEPTH is refused before it
    is parsed."""
    if html_depth(html) > MAX_HTML_DEPTH:
        raise _too_deep()
    try:
        return _html_to_text(html)
    except RecursionError as e:  # nesting the markup count did not see (a parser's own repair)
        raise _too_deep() from e


def _html_to_text(html: str) -> str:
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

def _docx_cell_text(tc, numbering: _DocxNumbering) -> str:
    """A cell's paragraphs, nested tables included, each with its automatic number (序号 cells are
    often numbered by Word, not typed)."""
    out = []
    for p in tc.iter(f"{_W}p"):
        t = "".join(x.text or "" for x in p.iter(f"{_W}t")).strip()
        label = numbering.label(p)
        if t or label:
            out.append(label + t)
    return "\n".join(out)


def _docx_table_rows(table, numbering: _DocxNumbering) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    above: list = []
    for r in table.rows:
        timeout.check()
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
                row.append(Cell(_docx_cell_text(tc, numbering)))
            tcs.append(tc)
            prev = tc
        above = tcs
        rows.append(row)
    return rows


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class _DocxNumbering:
    """Word's automatic numbering (List Number styles, numPr): the numbers are not in the text, so
    they are written in front of each paragraph as Word shows them ("1." "(一)" "一、")."""

    def __init__(self, document):
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # numId -> ilvl -> (fmt, text, start)
        self.counters: dict[str, list[int]] = {}
        self.styles = {st.style_id: st for st in document.styles if getattr(st, "style_id", None)}
        try:
            root = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            return
        abstract = {}
        for an in root.iter(f"{_W}abstractNum"):
            lv = {}
            for lvl in an.iter(f"{_W}lvl"):
                get = lambda tag: (lvl.find(f"{_W}{tag}").get(f"{_W}val") if lvl.find(f"{_W}{tag}") is not None else None)  # noqa: E731
                lv[int(lvl.get(f"{_W}ilvl"))] = (get("numFmt") or "decimal", get("lvlText") or "", int(get("start") or 1))
            abstract[an.get(f"{_W}abstractNumId")] = lv
        for num in root.iter(f"{_W}num"):
            ref = num.find(f"{_W}abstractNumId")
            if ref is not None:
                self.levels[num.get(f"{_W}numId")] = abstract.get(ref.get(f"{_W}val"), {})

    def _num_pr(self, p):
        ppr = p.find(f"{_W}pPr")
        style = None
        if ppr is not None:
            npr = ppr.find(f"{_W}numPr")
            if npr is not None:
                return npr
            ps = ppr.find(f"{_W}pStyle")
            style = ps.get(f"{_W}val") if ps is not None else None
        seen = set()
        while style and style not in seen:  # a list style carries its numbering
            seen.add(style)
            st = self.styles.get(style)
            if st is None:
                return None
            sppr = st.element.find(f"{_W}pPr")
            npr = sppr.find(f"{_W}numPr") if sppr is not None else None
            if npr is not None:
                return npr
            style = st.base_style.style_id if st.base_style is not None else None
        return None

    def label(self, p) -> str:
        npr = self._num_pr(p)
        if npr is None:
            return ""
        nid = npr.find(f"{_W}numId")
        ilvl_el = npr.find(f"{_W}ilvl")
        num_id = nid.get(f"{_W}val") if nid is not None else None
        ilvl = int(ilvl_el.get(f"{_W}val")) if ilvl_el is not None else 0
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counts = self.counters.setdefault(num_id, [0] * 9)
        fmt, text, start = levels[ilvl]
        counts[ilvl] = counts[ilvl] + 1 if counts[ilvl] else start
        for k in range(ilvl + 1, 9):
            counts[k] = 0
        for k in range(ilvl + 1):
            if f"%{k + 1}" in text:
                f = levels.get(k, (fmt, "", 1))[0]
                n = counts[k] or levels.get(k, (fmt, "", 1))[2]
                text = text.replace(f"%{k + 1}", _format_number(n, f))
        return text


def _format_number(n: int, fmt: str) -> str:
    if fmt.startswith(("chinese", "ideograph", "taiwanese", "japaneseCounting")):
        import cn2an

        return cn2an.an2cn(n)
    return str(n)


def docx_to_text(data: bytes) -> str:
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except Exception as e:
        raise UnreadableDocument(f"the file is not a readable .docx ({type(e).__name__}: {e})") from e
    lines: list[str] = []
    numbering = _DocxNumbering(document)
    n_chars = 0
    for child in document.element.body.iterchildren():
        timeout.check()
        tag = child.tag.rsplit("}", 1)[-1]
        k = len(lines)
        if tag == "p":
            t = Paragraph(child, document).text.strip()
            if t:
                lines.append(numbering.label(child) + t)
        elif tag == "tbl":
            lines.extend(render_table(_docx_table_rows(Table(child, document), numbering)))
        n_chars += sum(len(ln) + 1 for ln in lines[k:])
        if n_chars > MAX_CHARS:
            raise UnreadableDocument(f"the .docx holds more than {MAX_CHARS:,} characters of text, more than one "
                                     "notice (and more than fengong reads from one file); save just the notice or "
                                     "its task table as a .docx of its own and put that in raw/")
    if not lines:
        raise UnreadableDocument("the .docx has no text")
    return "\n".join(lines) + "\n"
