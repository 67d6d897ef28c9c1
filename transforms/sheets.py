"""A spreadsheet (.xlsx, .xls, .ods) -> the lines the parser reads, each with its sheet and row.

python-calamine (the Rust calamine reader) gives each sheet's used range as a grid and its merged
ranges. A row with one value in its first column, or one value merged across (a title row above a
table), is a line of text; inside a table a row merged across (一、… headings) is one of its rows;
any other row is a table row, written as a pipe row
by `formats.render_table` like the tables of .docx and .html. A cell merged down is written 〃 (the
parser reads it as the cell above), one merged across is empty. A two-row header whose group cell
(责任单位) is merged over the columns of the row below it is read as one header row. Blank rows
are dropped.

Limits: what the file expands to (a zip: the sum of its members) and the size of a sheet's used
range are checked before calamine builds the grid, which it builds densely: a small file with a
value in A1 and one in XFD1048576 (a "spreadsheet bomb") would ask for 17 billion cells.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from transforms import timeout
from transforms.text import UnreadableDocument

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".et")
MAX_CELLS = 2_000_000  # a task table of 2,000 rows x 40 columns is 80,000
MAX_EXPANDED_BYTES = 64 * 2**20
MAX_SHEETS = 50


@dataclass
class Line:
    text: str
    sheet: str
    row: int  # 1-based, as the spreadsheet shows it


def _col_no(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?(/?)>')


def _broken_zip(what: str, e: Exception) -> UnreadableDocument:
    return UnreadableDocument(f"the file is not a readable {what} (a broken zip container: {e}); download it "
                              "again, or open and re-save it, and put that in raw/")


def check_zip(data: bytes, what: str) -> zipfile.ZipFile:
    """The zip container of a .docx/.xlsx/.ods, refused if it expands past MAX_EXPANDED_BYTES, before
    any member is read whole: first by the sizes its directory declares, then by inflating every member
    in 1 MB steps that are counted and dropped. zipfile stops a member at its declared size and checks
    its CRC there, so a member that declares less than it holds (a bomb that lies, which calamine's
    reader would inflate whole) is refused as broken."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise _broken_zip(what, e) from e
    total = sum(i.file_size for i in infos)
    if total > MAX_EXPANDED_BYTES:
        raise UnreadableDocument(
            f"the {what} expands to {total / 2**20:.0f} MB, more than the {MAX_EXPANDED_BYTES // 2**20} MB limit for "
            "one notice (a zip bomb, or far more than a notice); save just the notice or its task table and put that in raw/")
    for info in infos:
        try:
            with z.open(info) as member:
                while member.read(2**20):
                    timeout.check()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as e:
            raise _broken_zip(what, e) from e
    return z


def _xlsx_used_ranges(z: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """(rows, columns) of the cells holding a value, per worksheet part, read from the XML before
    calamine builds its dense grid (the <dimension> a file declares may lie; the cells do not)."""
    out = {}
    for name in z.namelist():
        if not re.match(r"xl/worksheets/[^/]+\.xml$", name):
            continue
        rows = cols = 0
        with z.open(name) as f:
            data = f.read(MAX_EXPANDED_BYTES + 1)
        for m in _CELL_REF.finditer(data):
            if m.group(3):  # <c r="B2" s="1"/>: a styled empty cell is not part of the grid
                continue
            cols = max(cols, _col_no(m.group(1).decode()))
            rows = max(rows, int(m.group(2)))
        out[name] = (rows, cols)
    return out


def _refuse_bomb(sheet: str, rows: int, cols: int) -> UnreadableDocument:
    return UnreadableDocument(
        f"spreadsheet bomb: sheet {sheet!r} has a used range of {rows:,} rows x {cols:,} columns "
        f"({rows * cols:,} cells), more than the {MAX_CELLS:,} cells of any task table; delete the rows and "
        "columns beyond the table (or copy the table to a new file) and put that in raw/")


def _open(data: bytes, suffix: str):
    from python_calamine import CalamineWorkbook

    kind = {".xls": ".xls", ".et": ".xls", ".ods": ".ods"}.get(suffix, ".xlsx")
    if data.startswith(b"PK\x03\x04"):
        z = check_zip(data, kind)
        if kind == ".xlsx":
            for part, (rows, cols) in _xlsx_used_ranges(z).items():
                if rows * cols > MAX_CELLS:
                    raise _refuse_bomb(part.rsplit("/", 1)[-1], rows, cols)
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as e:
        if "password" in str(e).lower() or "encrypt" in str(e).lower():
            raise UnreadableDocument(f"password-protected spreadsheet: it cannot be read without its password; save "
                                     "an unprotected copy and put that in raw/") from e
        raise UnreadableDocument(f"the file is not a readable spreadsheet ({type(e).__name__}: {str(e)[:120]}); open "
                                 "and re-save it as .xlsx and put that in raw/") from e


def _grid(sheet) -> tuple[list[list[str]], dict[tuple[int, int], tuple[int, int, int, int]]]:
    rows = [[_value(v) for v in r] for r in sheet.to_python(skip_empty_area=False)]
    merges = {}
    top, left = sheet.start or (0, 0)
    bottom, right = top + len(rows) - 1, left + max((len(r) for r in rows), default=0) - 1
    for rng in sheet.merged_cell_ranges or []:
        (r0, c0), (r1, c1) = rng
        # only the cells of the grid (a merge may claim A1:XFD1048576 around a one-cell grid)
        for r in range(max(r0, top), min(r1, bottom) + 1):
            timeout.check()
            for c in range(max(c0, left), min(c1, right) + 1):
                merges[(r, c)] = (r0, c0, r1, c1)
    return rows, merges


def _value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v).strip()


def sheet_lines(data: bytes, suffix: str) -> list[Line]:
    from transforms.formats import Cell, render_table

    wb = _open(data, suffix)
    names = wb.sheet_names
    if len(names) > MAX_SHEETS:
        raise UnreadableDocument(f"the workbook has {len(names)} sheets, more than the {MAX_SHEETS} of one notice; "
                                 "save the task table's sheets as their own file and put that in raw/")
    out: list[Line] = []
    for name in names:
        try:
            sheet = wb.get_sheet_by_name(name)
        except Exception as e:
            raise UnreadableDocument(f"sheet {name!r} cannot be read ({type(e).__name__}: {str(e)[:120]}); open and "
                                     "re-save the file as .xlsx and put that in raw/") from e
        if sheet.total_height * sheet.total_width > MAX_CELLS:
            raise _refuse_bomb(name, sheet.total_height, sheet.total_width)
        rows, merges = _grid(sheet)
        r_off, c_off = sheet.start or (0, 0)  # the grid starts at the used range's first cell
        width = max((len(r) for r in rows), default=0)
        rows = [r + [""] * (width - len(r)) for r in rows]

        def merge_of(r: int, c: int):
            return merges.get((r + r_off, c + c_off))

        def one_line(r: int) -> str | None:
            """The row's text when it is a line, not a table row: a single value in the first
            column, or a single value merged across."""
            filled = [c for c, v in enumerate(rows[r]) if v]
            if len(filled) != 1:
                return None
            c = filled[0]
            m = merge_of(r, c)
            across = m is not None and m[3] > m[1] and m[0] == m[2]
            if across and table:  # a heading row inside a table (一、…) stays one of its rows
                return None
            if c == 0 or across:
                return rows[r][c]
            return None

        table: list[list[Cell]] = []
        table_rows: list[int] = []
        pending_header: list[str] | None = None

        def flush() -> None:
            for k, s in enumerate(render_table(table)):
                out.append(Line(s, name, table_rows[k] + r_off + 1))
            table.clear()
            table_rows.clear()

        for r in range(len(rows)):
            timeout.check()
            if not any(rows[r]):
                continue  # a blank row
            line = one_line(r)
            if line is not None:
                flush()
                out.append(Line(line, name, r + r_off + 1))
                continue
            cells: list[Cell] = []
            here = [merge_of(r, c) for c in range(len(rows[r]))]
            # a header of two rows: a group cell merged across (one row tall) beside cells merged down
            # over the next row
            group_header = (any(m and m[0] == m[2] == r + r_off and m[3] > m[1] for m in here)
                            and any(m and m[0] == r + r_off and m[2] == r + r_off + 1 and m[1] == m[3] for m in here))
            for c, v in enumerate(rows[r]):
                m = here[c]
                if m is None or (m[0], m[1]) == (r + r_off, c + c_off):
                    cells.append(Cell(v))
                elif m[1] == c + c_off and m[0] < r + r_off:
                    cells.append(Cell("", merged=True))  # merged down: 〃
                else:
                    cells.append(Cell(""))  # merged across: written once
            if group_header and pending_header is None and r + 1 < len(rows):
                pending_header = [x.text for x in cells]
                continue
            if pending_header is not None:  # the header's second row: each column its own name
                cells = [Cell(x.text if x.text and not x.merged else pending_header[c]) for c, x in enumerate(cells)]
                pending_header = None
            table.append(cells)
            table_rows.append(r)
        flush()
    if not any(ln.text.strip() for ln in out):
        raise UnreadableDocument("the spreadsheet has no text in any sheet")
    return out
