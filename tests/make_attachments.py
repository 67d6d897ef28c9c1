"""Attachments made from a notice's text, as government sites publish them: a PDF exported from
Word and a spreadsheet of the notice (test material for transforms/pdf.py and transforms/sheets.py).

    .venv/bin/python -m tests.make_attachments tests/realset/raw/203_*.txt --out /tmp/att

The PDF is laid out as Word exports one: A4, a centred title, paragraphs with a first-line indent
wrapped at the margin, a
blank line as a gap, a ruled table (its cells wrapped, rows going on over page breaks, a row cut
by a break when it does not fit), a running head and a page number in the footer. The font is
STSong-Light, one of the CJK fonts every PDF reader knows (Adobe-GB1; referenced, not embedded,
so no font file is needed). The spreadsheet has a title row merged across the table, a header
cells (tests/test_attachments.py, make_grouped_header_xlsx), text wrapped in its cells, a blank
row, and the notice's other lines one per row in column A.

Lines of the text written `a | b | c |` (pipe rows) are table rows; every other line is a paragraph.
"""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

FONT = "STSong-Light"
A4 = (595.27, 841.89)
MARGIN = 72.0
HEAD = "政府信息公开"


def blocks(text: str) -> list[tuple[str, object]]:
    """('p', line) for a paragraph (an empty one is a blank line), ('t', rows) for a table."""
    out: list[tuple[str, object]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        s = line.strip()
        if s.count("|") >= 2:
            body = s[1:] if s.startswith("|") else s
            body = body[:-1] if body.endswith("|") else body
            cells = [c.strip() for c in body.split("|")]
            if out and out[-1][0] == "t":
                out[-1][1].append(cells)
            else:
                out.append(("t", [cells]))
        else:
            out.append(("p", s))
    for kind, rows in out:  # every row of a table as wide as its widest
        if kind == "t":
            n = max(len(r) for r in rows)
            for r in rows:
                r.extend([""] * (n - len(r)))
    return out


# --- PDF -------------------------------------------------------------------------------------

def _font():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return pdfmetrics.stringWidth


def _wrap(text: str, width: float, size: float, indent: float = 0) -> list[str]:
    sw = _font()
    lines, cur = [], ""
    for ch in text:
        if cur and sw(cur + ch, FONT, size) > width - (0 if lines else indent):
            lines.append(cur)
            cur = ""
        cur += ch
    if cur or not lines:
        lines.append(cur)
    return lines


def make_pdf(text: str, page_size: tuple[float, float] = A4, body_size: float = 12, cell_size: float = 10.5,
             head: str | None = HEAD) -> bytes:
    from reportlab.pdfgen import canvas

    _font()
    w, h = page_size
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=page_size, invariant=1)
    width = w - 2 * MARGIN
    state = {"page": 1, "y": h - MARGIN}

    def furniture() -> None:
        if head:
            c.setFont(FONT, 9)
            c.drawCentredString(w / 2, h - 40, head)
            c.line(MARGIN, h - 46, w - MARGIN, h - 46)
        c.setFont(FONT, 10.5)
        c.drawCentredString(w / 2, 36, f"- {state['page']} -")

    def new_page() -> None:
        c.showPage()
        state["page"] += 1
        state["y"] = h - MARGIN
        furniture()

    furniture()
    lead = 1.5 * body_size
    first = True
    for kind, value in blocks(text):
        if kind == "p":
            if not value:
                state["y"] -= lead
                continue
            size = 16 if first else body_size
            indent = 0 if first else 2 * size  # Word's first-line indent of two characters
            for k, ln in enumerate(_wrap(value, width, size, indent)):
                if state["y"] - size < MARGIN:
                    new_page()
                c.setFont(FONT, size)
                if first:
                    c.drawCentredString(w / 2, state["y"] - size, ln)
                else:
                    c.drawString(MARGIN + (indent if k == 0 else 0), state["y"] - size, ln)
                state["y"] -= 1.5 * size
            first = False
            continue
        rows: list[list[str]] = value
        n = len(rows[0])
        weight = [max(len(r[k]) for r in rows) ** 0.5 + 1.5 for k in range(n)]
        cw = [width * x / sum(weight) for x in weight]
        xs = [MARGIN + sum(cw[:k]) for k in range(n + 1)]
        lh, pad = cell_size * 1.35, 4.0
        state["y"] -= 4
        for row in rows:
            wrapped = [_wrap(cell, cw[k] - 2 * pad, cell_size) if cell else [] for k, cell in enumerate(row)]
            start = 0
            total = max(1, max(len(x) for x in wrapped))
            while start < total:
                room = int((state["y"] - MARGIN - 2 * pad) // lh)
                if room < 1 or (start == 0 and room < 2 and total > 1):
                    new_page()
                    continue
                take = min(room, total - start)  # a row that does not fit is cut by the page break
                top, bottom = state["y"], state["y"] - take * lh - 2 * pad
                c.setFont(FONT, cell_size)
                for k in range(n):
                    for j, ln in enumerate(wrapped[k][start:start + take]):
                        c.drawString(xs[k] + pad, top - pad - cell_size - j * lh + 2, ln)
                c.setLineWidth(0.6)
                c.line(MARGIN, top, xs[-1], top)
                c.line(MARGIN, bottom, xs[-1], bottom)
                for x in xs:
                    c.line(x, top, x, bottom)
                state["y"] = bottom
                start += take
                if start < total:
                    new_page()
        state["y"] -= lead
    c.showPage()
    c.save()
    return buf.getvalue()


def make_scanned_pdf() -> bytes:
    """A page that is only an image: what a scanner gives (no text layer)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from PIL import Image, ImageDraw

    img = Image.new("L", (400, 300), 255)
    d = ImageDraw.Draw(img)
    for y in range(20, 280, 16):
        d.line((20, y, 380, y), fill=0, width=3)  # lines of "text" as a scan shows them
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.drawImage(ImageReader(img), 72, 400, 400, 300)
    c.showPage()
    c.save()
    return buf.getvalue()


def make_encrypted_pdf(text: str = "牵头单位:市发展改革委") -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    _font()
    buf = io.BytesIO()
    enc = pdfencrypt.StandardEncryption("secret", ownerPassword="owner", canPrint=0)
    c = canvas.Canvas(buf, pagesize=A4, encrypt=enc, invariant=1)
    c.setFont(FONT, 12)
    c.drawString(72, 700, text)
    c.showPage()
    c.save()
    return buf.getvalue()


# --- spreadsheets ----------------------------------------------------------------------------

def sheet_layout(text: str) -> tuple[int, list[tuple[str, object]]]:
    """How many columns the sheet spans, and its rows: ('line', text) one per row in column A
    (merged across), ('blank', None), ('table', rows)."""
    bl = blocks(text)
    ncols = max([len(v[0]) for k, v in bl if k == "t"] + [4])
    rows: list[tuple[str, object]] = []
    lines = [v for k, v in bl if k == "p"]
    title = next((ln for ln in lines if ln), "")
    seen_title = False
    for kind, v in bl:
        if kind == "p":
            if v == title and not seen_title:
                seen_title = True
                continue
            rows.append(("line", v) if v else ("blank", None))
        else:
            rows.append(("table", v))
    return ncols, [("title", title)] + rows


def make_xlsx(text: str, sheet: str = "任务分解表") -> bytes:
    """Title row merged across, a blank row, the notice's lines one per row in column A, its
    tables as cells (unit lists wrapped on lines in their cells)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    ncols, rows = sheet_layout(text)
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    wrap = Alignment(wrap_text=True, vertical="top")
    r = 1
    for kind, v in rows:
        if kind == "title":
            ws.cell(r, 1, v)
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
            r += 2  # the blank row under the title
            continue
        if kind == "blank":
            r += 1
            continue
        if kind == "line":  # pasted text: in column A, running over the empty cells beside it
            ws.cell(r, 1, v)
            r += 1
            continue
        table: list[list[str]] = v
        for k, cell in enumerate(table[0], 1):
            ws.cell(r, k, cell).alignment = wrap
        body_start = r + 1
        for i, row in enumerate(table[1:], body_start):
            for k, cell in enumerate(row, 1):
                # a unit list written on lines in its cell (wrapped text), as people type them
                val = cell.replace("、", "\n") if re.search("单位|部门", table[0][k - 1]) else cell
                ws.cell(i, k, val).alignment = wrap
        r = body_start + len(table) - 1
    for k in range(1, ncols + 1):
        ws.column_dimensions[get_column_letter(k)].width = 30
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_grouped_header_xlsx(header_group: str, title: str, header: list[str], group: tuple[int, int],
                             rows: list[list[str | None]], sheet: str = "Sheet1") -> bytes:
    """A task table as offices make them: the title row merged across, a two-row header whose
    group cell (责任单位) is merged over its columns and whose other cells are merged down, a blank
    row, cells wrapped, and None for a cell merged with the one above."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    n = len(header)
    ws.cell(1, 1, title)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    a, b = group
    for k, hname in enumerate(header, 1):
        if a <= k <= b:
            ws.cell(3, k, hname)
        else:
            ws.cell(2, k, hname)
            ws.merge_cells(start_row=2, start_column=k, end_row=3, end_column=k)
    ws.cell(2, a, header_group)
    ws.merge_cells(start_row=2, start_column=a, end_row=2, end_column=b)
    r = 4
    for row in rows:
        if row is None:  # a blank row
            r += 1
            continue
        if len(row) == 1:  # a heading row merged across
            ws.cell(r, 1, row[0])
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=n)
            r += 1
            continue
        for k, v in enumerate(row, 1):
            if v is None:
                top = r - 1
                while ws.cell(top, k).value is None and top > 4:
                    top -= 1
                for rng in list(ws.merged_cells.ranges):
                    if rng.min_col == k == rng.max_col and rng.min_row == top:
                        ws.unmerge_cells(str(rng))
                ws.merge_cells(start_row=top, start_column=k, end_row=r, end_column=k)
            else:
                ws.cell(r, k, v).alignment = Alignment(wrap_text=True)
        r += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_xlsx_bomb(rows: int = 1_048_576, cols: int = 16_384) -> bytes:
    """A small file whose used range is huge: a value in A1 and one in the last cell. Written as
    XML by hand, so making it costs nothing."""
    import zipfile

    from openpyxl.utils import get_column_letter

    last = f"{get_column_letter(cols)}{rows}"
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             f'spreadsheetml/2006/main"><dimension ref="A1:{last}"/><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>牵头单位</t></is></c></row>'
             f'<row r="{rows}"><c r="{last}"><v>1</v></c></row></sheetData></worksheet>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
                   'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                   '</Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
                   'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
                   '</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns='
                   '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
                   '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


def make_ods(rows: list[list[tuple[str | None, dict]]], sheet: str = "表1") -> bytes:
    """An OpenDocument spreadsheet (odfpy) of one sheet: per row, its cells as (text, TableCell options such
    as numberrowsspanned); None for a cell covered by a merge."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name=sheet)
    for cells in rows:
        tr = TableRow()
        for v, kw in cells:
            if v is None:
                tr.addElement(CoveredTableCell())
                continue
            tc = TableCell(valuetype="string", **kw)
            tc.addElement(P(text=v))
            tr.addElement(tc)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    return buf.getvalue()


def zip_bomb(container: bytes, member: str, head: bytes, chunk: bytes, times: int, tail: bytes,
             declared: int | None = None) -> bytes:
    """`container` (a .docx, .xlsx or .ods) with `member` replaced by head + chunk * times + tail,
    e.g. a document.xml that inflates to 1.5 GB, and no more than a few MB of memory used to make it:
    after a full flush deflate starts afresh, so each repeat of `chunk` compresses to the same bytes,
    made once. A valid zip (CRC and sizes right) unless `declared` gives the member a false size,
    as a bomb may to pass a check of the sizes alone."""
    import struct
    import zipfile
    import zlib

    def deflate(data: bytes) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    body = first + again * times + c.compress(tail) + c.flush()
    crc = zlib.crc32(head)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(chunk) * times + len(tail)

    src = zipfile.ZipFile(io.BytesIO(container))
    members = [(i.filename, deflate(raw := src.read(i)), zlib.crc32(raw), len(raw)) for i in src.infolist()
               if i.filename != member] + [(member, body, crc, size if declared is None else declared)]
    out, central = io.BytesIO(), io.BytesIO()
    for name, data, crc, usize in members:
        offset, encoded = out.tell(), name.encode("utf-8")
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0x800, 8, 0, 0x21, crc, len(data), usize,
                              len(encoded), 0) + encoded + data)
        central.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0x800, 8, 0, 0x21, crc, len(data),
                                  usize, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central.getvalue()),
                          start, 0))
    return out.getvalue()


def make_doc() -> bytes:
    """An old Word (97-2003) file's container: an OLE2 compound file with a WordDocument stream,
    as far as a reader sees before the text (the text itself is not needed to test the refusal)."""
    import olefile  # noqa: F401  (the reader's dependency; the header below is what it checks)

    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    return bytes(header) + b"\x00" * 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("txt", nargs="+")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for t in args.txt:
        p = Path(t)
        text = p.read_text(encoding="utf-8-sig")
        (out / (p.stem + ".pdf")).write_bytes(make_pdf(text))
        (out / (p.stem + ".xlsx")).write_bytes(make_xlsx(text))
        print(p.stem)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
