"""A PDF with a text layer -> the lines the parser reads, each with the page it comes from.

pdfplumber (on pdfminer.six) gives every character with its position and the ruling lines of
tables. Tables are read as cells and written as pipe rows by `formats.render_table`, like the
tables of .docx and .html. Lines that reach the right edge of the text are joined with the next
(a paragraph wrapped by the layout, not by the author); so are the lines of one table cell. A
table that goes on over a page break is one table, and a row cut by the break is one row.
Running heads, footers and page numbers are dropped.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from transforms import timeout
from transforms.text import UnreadableDocument

MAX_PAGES = 200  # a notice or its attachment; a 200-page PDF is something else
MAX_CHARS = 2_000_000

_PAGE_NUMBER = re.compile(r"^[-—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:[/／]\s*\d{1,4}|(?:共\s*\d{1,4}\s*页))?[-—–\s]*$")
_SENTENCE_END = re.compile(r"[。;;!?!?]$")
# a line that opens with an outline number starts a new paragraph even after a full line
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}\s*[.、．﹒](?!\d)|[一二三四五六七八九十]{1,3}\s*、|[((][一二三四五六七八九十\d]{1,3}[))])")


@dataclass
class Line:
    text: str
    page: int  # 1-based


@dataclass
class _Block:  # a line of text or a table, in reading order on its page
    top: float
    bottom: float
    line: dict | None = None
    table: object = None


def _refuse(what: str) -> UnreadableDocument:
    return UnreadableDocument(what)


def _open(data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        n = len(pdf.pages)
    except Exception as e:
        locked = (PDFPasswordIncorrect, PDFEncryptionError)
        if not any(isinstance(x, locked) for x in (e, e.__context__, *e.args)):  # pdfplumber wraps pdfminer's
            raise _refuse(f"corrupt PDF: it cannot be opened ({type(e).__name__}: {str(e)[:120]}); download it again, "
                          "or open and re-save it as PDF, and put that in raw/") from e
        raise _refuse("password-protected PDF: it cannot be read without its password; save an unprotected "
                      "copy (open it with the password and print or export it to PDF) and put that in raw/") from e
    if n == 0:
        raise _refuse("corrupt PDF: it has no pages; download it again and put it in raw/")
    if n > MAX_PAGES:
        pdf.close()
        raise _refuse(f"the PDF has {n} pages, more than the {MAX_PAGES} of one notice; split out the notice "
                      "and its task table and put those in raw/")
    return pdf


def _text_lines(page, tables) -> list[dict]:
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and t <= cy <= b for x0, t, x1, b in boxes)

    return [ln for ln in page.filter(outside).extract_text_lines(strip=True, return_chars=True) if ln["text"].strip()]


def _size(line: dict) -> float:
    chars = line.get("chars") or []
    return max((c["size"] for c in chars), default=10.0)


def _join_wrapped(lines: list[dict], right: float, left: float | None = None) -> list[tuple[str, dict]]:
    """Lines that reach `right` (within a character) run on into the next line: one paragraph,
    unless the next line is indented (a first-line indent opens a paragraph) or opens with an
    outline number."""
    out: list[tuple[str, dict]] = []
    prev_full = False
    for ln in lines:
        t = ln["text"].strip()
        # a wrapped centred heading is not indented
        centred = (left is not None and abs((ln["x0"] + ln["x1"]) / 2 - (left + right) / 2) < _size(ln)
                   and ln["x1"] < right - 1.2 * _size(ln))
        indented = left is not None and ln["x0"] > left + 1.5 * _size(ln) and not centred
        if out and prev_full and not indented and not _NUMBERED.match(t):
            a = out[-1][0]
            sep = " " if re.search(r"[A-Za-z0-9]$", a) and re.match(r"[A-Za-z0-9]", t) else ""
            out[-1] = (a + sep + t, out[-1][1])
        else:
            out.append((t, ln))
        prev_full = ln["x1"] >= right - 1.2 * _size(ln)
    return out


def _cell_text(page, bbox) -> str:
    x0, top, x1, bottom = bbox
    try:
        cropped = page.within_bbox((x0 + 0.5, top + 0.5, x1 - 0.5, bottom - 0.5))
    except ValueError:
        return ""
    lines = [ln for ln in cropped.extract_text_lines(strip=True, return_chars=True) if ln["text"].strip()]
    if not lines:
        return ""
    right = max(ln["x1"] for ln in lines) if len(lines) > 1 else x1
    right = max(right, x1 - 2 * _size(lines[0]) - 3)  # the cell's edge less its padding
    return "\n".join(t for t, _ in _join_wrapped(lines, right))


def _table_grid(page, table) -> list[list]:
    """The table's cells, row by row: text, None for a cell merged with the one above (〃), '' for
    one merged with the one to its left."""
    from transforms.formats import Cell

    rows = table.rows
    grid: list[list] = []
    for r_i, r in enumerate(rows):
        row = []
        for c_i, cell in enumerate(r.cells):
            if cell is not None:
                row.append(Cell(_cell_text(page, cell)))
                continue
            above = next((rows[k].cells[c_i] for k in range(r_i - 1, -1, -1)
                          if c_i < len(rows[k].cells) and rows[k].cells[c_i] is not None), None)
            vertical = above is not None and above[3] > r.bbox[1] + 1
            row.append(Cell("", merged=vertical))
        grid.append(row)
    return grid


def _is_running(text: str) -> bool:
    return bool(_PAGE_NUMBER.match(text))


def pdf_lines(data: bytes) -> list[Line]:
    from transforms.formats import Cell, render_table

    pdf = _open(data)
    try:
        pages = []
        n_chars = 0
        for p in pdf.pages:
            timeout.check()
            n_chars += len(p.chars)
            if n_chars > MAX_CHARS:
                raise _refuse(f"the PDF holds more than {MAX_CHARS:,} characters, more than one notice; split out the "
                              "notice and put it in raw/")
            tables = p.find_tables()
            lines = _text_lines(p, tables)
            pages.append((p, tables, lines))
        if n_chars == 0:
            raise _refuse("image-only PDF (a scan: no text layer on any of its "
                          f"{len(pdf.pages)} page(s)): run OCR first (e.g. `ocrmypdf --language chi_sim in.pdf out.pdf`) "
                          "and put the result in raw/")

        # running heads and footers: in the top or bottom band of the page, a page number, or a line
        # that repeats (digits aside) on most pages
        def rules(p) -> tuple[float, float]:
            """The lowest horizontal rule in the top band and the highest in the bottom band: a
            running head sits above the first, a footer below the second."""
            h, top, bottom = p.height, 0.0, p.height
            for e in p.horizontal_edges if hasattr(p, "horizontal_edges") else []:
                if e["x1"] - e["x0"] < 0.5 * p.width:
                    continue
                if e["top"] < 0.12 * h:
                    top = max(top, e["top"])
                elif e["top"] > 0.88 * h:
                    bottom = min(bottom, e["top"])
            return top, bottom

        page_rules = {id(p): rules(p) for p, _, _ in pages}

        def band(p, ln) -> str | None:
            h = p.height
            top, bottom = page_rules[id(p)]
            if ln["bottom"] < max(0.1 * h, 60) or ln["bottom"] <= top + 1:  # 60 pt: a head on a small page
                return "head"
            if ln["top"] > min(0.9 * h, h - 60) or ln["top"] >= bottom - 1:
                return "foot"
            return None

        def ruled(p, ln) -> bool:
            top, bottom = page_rules[id(p)]
            return ln["bottom"] <= top + 1 or ln["top"] >= bottom - 1

        seen: dict[str, int] = {}
        for p, _, lines in pages:
            for key in {re.sub(r"\d+", "#", ln["text"].strip()) for ln in lines if band(p, ln)}:
                seen[key] = seen.get(key, 0) + 1
        repeated = {k for k, n in seen.items() if len(pages) > 1 and n >= max(2, len(pages) // 2)}

        def running(p, ln) -> bool:
            return band(p, ln) is not None and (_is_running(ln["text"]) or ruled(p, ln)
                                                or re.sub(r"\d+", "#", ln["text"].strip()) in repeated)

        body = [[ln for ln in lines if not running(p, ln)] for p, _, lines in pages]
        all_body = [ln for b in body for ln in b]
        right = max((ln["x1"] for ln in all_body), default=0.0)
        left = min((ln["x0"] for ln in all_body), default=0.0)

        out: list[Line] = []
        para: list[dict] = []
        open_table: tuple | None = None  # rows so far, the last page's table, its column count, each row's page

        def flush() -> None:
            nonlocal open_table
            if open_table:
                rows, _, _, pg = open_table
                for k, s in enumerate(render_table(rows)):
                    out.append(Line(s, pg[k] if k < len(pg) else pg[-1]))
                out.append(Line("", pg[-1]))
            open_table = None

        for (p, tables, _), lines in zip(pages, body):
            timeout.check()
            blocks = [_Block(ln["top"], ln["bottom"], line=ln) for ln in lines]
            blocks += [_Block(t.bbox[1], t.bbox[3], table=t) for t in tables if len(t.rows) >= 1 and len(t.rows[0].cells) >= 2]
            blocks.sort(key=lambda b: b.top)
            last_bottom = None

            def end_para() -> None:
                for t, ln in _join_wrapped(para, right, left):
                    out.append(Line(t, ln.get("page", p.page_number)))
                para.clear()

            for k, b in enumerate(blocks):
                if b.table is not None:
                    end_para()
                    grid = _table_grid(p, b.table)
                    ncols = max((len(r) for r in grid), default=0)
                    continues = k == 0 and open_table is not None and open_table[2] == ncols
                    if continues:
                        rows, _, _, pg = open_table
                        first = grid[0]
                        if first and not first[0].text.strip() and not first[0].merged and rows and rows[-1][0].text.strip():
                            rows[-1] = [Cell(a.text + c.text, a.merged) for a, c in zip(rows[-1], first)] + rows[-1][len(first):]
                            grid = grid[1:]
                        rows.extend(grid)
                        pg.extend([p.page_number] * len(grid))
                        open_table = (rows, b.table, ncols, pg)
                    else:
                        flush()
                        open_table = (grid, b.table, ncols, [p.page_number] * len(grid))
                    last_bottom = b.bottom
                    continue
                if open_table is not None:
                    flush()
                ln = b.line
                if para and last_bottom is not None and ln["top"] - last_bottom > 1.2 * _size(ln):
                    end_para()
                    out.append(Line("", p.page_number))  # a blank line between paragraphs
                para.append({**ln, "page": p.page_number})
                last_bottom = ln["bottom"]
            if not (para and para[-1]["x1"] >= right - 1.2 * _size(para[-1])):
                end_para()  # a paragraph whose last line is full goes on on the next page
        end_para()
        flush()
    finally:
        pdf.close()
    if not any(ln.text.strip() for ln in out):
        raise _refuse("image-only PDF (no text on its pages): run OCR first (e.g. `ocrmypdf --language chi_sim in.pdf "
                      "out.pdf`) and put the result in raw/")
    return out
