"""Attachments: a notice as a PDF exported from Word or as a spreadsheet is read as its text is (the
same core, the same score on the real notices), and what cannot be read is refused with a reason
that says what to do. Test files are made by tests/make_attachments.py, never stored."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from tests.make_attachments import (make_encrypted_pdf, make_grouped_header_xlsx, make_ods, make_pdf, make_scanned_pdf,
                                    make_xlsx, make_xlsx_bomb)
from transforms.document import parse_document
from transforms.formats import document_text
from transforms.text import UnreadableDocument

HERE = Path(__file__).parent
REALSET = HERE / "realset"
# every notice is compared (106, which stops at a bare 责任单位 label, was left out until a cut-off
# last item was dropped whether or not the text ends with a line break)
NOT_COMPARED: set[str] = set()


def _realset_as(ext: str, make, folder: Path) -> Path:
    """A realset folder whose raw/ holds each notice made into `ext`, gold.json naming those files."""
    (folder / "raw").mkdir(parents=True)
    gold = json.loads((REALSET / "gold.json").read_text(encoding="utf-8"))
    keep = {}
    for key, g in gold["docs"].items():
        if g["file"] in NOT_COMPARED:
            continue
        src = REALSET / "raw" / g["file"]
        name = src.name if ext == "txt" else f"{src.stem}.{ext}"
        data = src.read_bytes() if ext == "txt" else make(src.read_text(encoding="utf-8-sig"))
        (folder / "raw" / name).write_bytes(data)
        keep[key] = {**g, "file": name}
    (folder / "gold.json").write_text(json.dumps({**gold, "docs": keep}, ensure_ascii=False), encoding="utf-8")
    shutil.copy(REALSET / "score.py", folder / "score.py")
    return folder


@pytest.fixture(scope="module")
def realset_scores(tmp_path_factory):
    from reportlab.lib.pagesizes import A5

    from tests.realset_score import build_warehouse, score

    out = {}
    for ext, make in (("txt", None), ("pdf", lambda t: make_pdf(t, page_size=A5)), ("xlsx", make_xlsx)):
        folder = _realset_as(ext, make, tmp_path_factory.mktemp(f"realset-{ext}"))
        quarantined = build_warehouse(folder / "raw", folder / "w.duckdb")
        out[ext] = {**score(folder / "w.duckdb", folder), "quarantined": quarantined}
    return out


@pytest.mark.parametrize("ext", ["pdf", "xlsx"])
def test_real_notices_score_the_same_from_their_pdf_and_spreadsheet_as_from_their_text(realset_scores, ext):
    """score.py on the realset, each notice (A5 pages: most run over a page break) as a PDF and as a
    spreadsheet: the same unit-role F1, items exact and per-notice result as the .txt."""
    txt, got = realset_scores["txt"], realset_scores[ext]
    assert len(txt["docs"]) >= 10 and got["quarantined"] == txt["quarantined"] == []
    assert (got["f1"], got["precision"], got["recall"], got["items_exact"]) == \
        (txt["f1"], txt["precision"], txt["recall"], txt["items_exact"])
    assert [(d["key"], d["exact"], d["total"]) for d in got["docs"]] == [(d["key"], d["exact"], d["total"]) for d in txt["docs"]]
    assert got["metadata"] == txt["metadata"]


# --- PDF -------------------------------------------------------------------------------------

TABLE_TXT = (
    "某市人民政府办公室关于印发2024年重点工作任务分工方案的通知\n"
    "各区人民政府,市政府各部门:\n"
    "现将《2024年重点工作任务分工方案》印发给你们,请认真贯彻落实。\n\n"
    "| 序号 | 重点工作任务 | 牵头单位 | 配合单位 | 完成时限 |\n"
    + "".join(f"| {k} | 第{k}项任务:" + "推进重点项目建设,加快形成实物工作量,确保按期完成年度目标。" * (1 + k % 3)
              + f" | 市发展改革委 | 市财政局、市自然资源和规划局、市住房城乡建设局 | {k}月底前 |\n" for k in range(1, 10))
)


def test_a_ruled_table_over_pages_is_one_table_with_its_cut_rows_joined():
    """A6 pages: the table runs over several pages and rows are cut by the breaks; the PDF reads as
    the text does (each cell one cell, each row one row), without heads or page numbers."""
    from reportlab.lib.pagesizes import A6

    from transforms.pdf import pdf_lines

    data = make_pdf(TABLE_TXT, page_size=(A6[0] * 1.4, A6[1]))
    lines = pdf_lines(data)
    assert max(ln.page for ln in lines) >= 4
    text = document_text(data, "table.pdf").text
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    want = [ln for ln in TABLE_TXT.splitlines() if ln.startswith("|")]
    assert rows == want
    assert "政府信息公开" not in text and "- 2 -" not in text
    cut = [ln for ln in lines if ln.text.startswith("| ")]
    assert len({ln.page for ln in cut}) >= 3  # the rows start on several pages

    from tests.test_formats import summary

    assert summary(parse_document(data, "table.pdf")) == summary(parse_document(TABLE_TXT.encode(), "table.txt"))


def test_pdf_items_record_the_page_they_start_on(tmp_path):
    from reportlab.lib.pagesizes import A6

    from transforms.batch import SourceFile, parsed_batch
    from validation.batch import concat_frames, validated_batch
    from warehouse import inbox
    from warehouse import load as wh

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "table.pdf").write_bytes(make_pdf(TABLE_TXT, page_size=(A6[0] * 1.4, A6[1])))
    (raw / "table.xlsx").write_bytes(make_xlsx(TABLE_TXT.replace("2024年", "2023年")))
    (raw / "table.txt").write_bytes(TABLE_TXT.replace("2024年", "2022年").encode())
    result = validated_batch(parsed_batch(inbox.read_files(inbox.discover(raw), raw)))
    assert result.quarantined == []
    con = wh.connect(tmp_path / "w.duckdb")
    try:
        for _ in range(2):  # loading again replaces the rows: the same counts
            assert wh.load_documents(con, result.parsed) == []
            got = con.execute("""SELECT d.source_file, list(s.page ORDER BY s.char_start), list(s.sheet_row ORDER BY s.char_start),
                                        count(s.page), count(s.sheet)
                                 FROM v_item_sources s JOIN documents d USING (doc_id) GROUP BY 1 ORDER BY 1""").fetchall()
            assert con.execute("SELECT count(*) FROM document_pages").fetchone()[0] == \
                sum(d.frames["document_pages"].height for d in result.parsed)
        pdf, txt, xlsx = got
        assert pdf[0] == "table.pdf" and pdf[1] == sorted(pdf[1]) and pdf[1][0] == 1 and pdf[1][-1] >= 4
        assert txt[0] == "table.txt" and txt[3:] == (0, 0)  # a text file has no pages
        assert xlsx[0] == "table.xlsx" and xlsx[4] == 9 and xlsx[2] == list(range(xlsx[2][0], xlsx[2][0] + 9))
    finally:
        con.close()


def test_an_image_only_pdf_is_refused_with_ocr_as_what_to_do():
    with pytest.raises(UnreadableDocument, match=r"image-only PDF .*run OCR first \(e\.g\. `ocrmypdf"):
        document_text(make_scanned_pdf(), "scan.pdf")


def test_a_corrupt_pdf_is_refused():
    data = make_pdf(TABLE_TXT)
    for broken in (b"%PDF-1.7 ...", data[: len(data) // 3]):
        with pytest.raises(UnreadableDocument, match=r"corrupt PDF|image-only PDF"):
            document_text(broken, "broken.pdf")
    with pytest.raises(UnreadableDocument, match=r"corrupt PDF: it cannot be opened"):
        document_text(b"%PDF-1.7 ...", "broken.pdf")


def test_a_password_protected_pdf_is_refused():
    with pytest.raises(UnreadableDocument, match=r"password-protected PDF: .*save an unprotected copy"):
        document_text(make_encrypted_pdf(), "locked.pdf")


def test_refusals_are_quarantined_with_the_file_name(tmp_path):
    from transforms.batch import SourceFile, parsed_batch
    from validation.batch import concat_frames, validated_batch
    from warehouse import inbox

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "scan.pdf").write_bytes(make_scanned_pdf())
    (raw / "locked.pdf").write_bytes(make_encrypted_pdf())
    (raw / "bomb.xlsx").write_bytes(make_xlsx_bomb())
    (raw / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1500))
    result = validated_batch(parsed_batch(inbox.read_files(inbox.discover(raw), raw)))
    assert result.parsed == []
    why = {q["source_file"]: (q["stage"], q["reason"]) for q in result.quarantined}
    assert set(why) == {"scan.pdf", "locked.pdf", "bomb.xlsx", "old.doc"}
    for name, (stage, reason) in why.items():
        assert stage == "decode" and reason.startswith(f"cannot read {name}: "), reason
    assert "libreoffice --headless --convert-to docx" in why["old.doc"][1]


# --- spreadsheets ----------------------------------------------------------------------------

def test_spreadsheet_title_row_grouped_header_merged_cells_and_blank_row_read_as_the_text():
    """The task table of tests/test_formats as an office makes it in Excel: the same items and
    assignments as its .txt (a lead cell merged down is the one above, as in .docx)."""
    from tests.test_formats import HEADER, PARAGRAPHS, ROWS, summary

    FIXTURES = HERE / "fixtures" / "layouts"
    rows = list(ROWS)
    rows.insert(3, None)  # a blank row
    data = make_grouped_header_xlsx("责任单位", PARAGRAPHS[0], ["序号", "重点工作任务", "责任领导", "牵头单位", "配合单位", "完成时限"],
                                    (4, 5), rows)
    text = document_text(data, "t.xlsx").text
    lines = text.splitlines()
    assert lines[0] == PARAGRAPHS[0]  # the title row
    assert lines[1] == "| " + " | ".join(HEADER) + " |"  # two header rows read as one
    assert "| 2 | 新开工亿元以上项目300个。 | 钱 宇 | 〃 | 市重点局 | 年内持续推进 |" in lines
    assert "| 1 | 全市地区生产总值增长6.5%左右。 | 钱 宇 | 市发展改革委 | 市统计局、市财政局 | 12月底前 |" in lines  # wrapped cell
    want = summary(parse_document((FIXTURES / "pipe_table.txt").read_bytes(), "pipe_table.txt"))
    doc = parse_document(data, "pipe_table.xlsx")
    assert [r[4] for r in summary(doc)] == [r[4] for r in want]
    assert doc.frames["documents"]["encoding"][0] == "xlsx"


def test_a_spreadsheet_bomb_is_refused_quickly_in_bounded_memory():
    import resource

    data = make_xlsx_bomb()
    assert len(data) < 2000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(UnreadableDocument, match=r"spreadsheet bomb: sheet 'sheet1.xml' has a used range of 1,048,576 rows "
                                                 r"x 16,384 columns .*delete the rows and columns beyond the table"):
        document_text(data, "bomb.xlsx")
    assert time.perf_counter() - t0 < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB


def test_a_zip_that_expands_past_the_limit_is_refused(monkeypatch):
    from transforms import sheets
    from tests.test_formats import make_docx

    monkeypatch.setattr(sheets, "MAX_EXPANDED_BYTES", 10_000)
    for data, name in ((make_xlsx(TABLE_TXT), "t.xlsx"), (make_docx(), "t.docx")):
        with pytest.raises(UnreadableDocument, match=r"expands to .* MB, more than the 0 MB limit"):
            document_text(data, name)


# --- old Word --------------------------------------------------------------------------------

def test_an_old_word_file_is_refused_with_the_command_that_converts_it():
    for data in (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1500), b"not even OLE"):
        with pytest.raises(UnreadableDocument, match=r"old Word 97-2003 file \(\.doc\).*"
                                                     r"`libreoffice --headless --convert-to docx FILE\.doc`"):
            document_text(data, "notice.doc")


def test_old_excel_and_opendocument_spreadsheets_are_read():
    """.xls (xlwt writes BIFF8, as Excel 97-2003 and WPS .et do) with its merged cells; .ods, whose
    merged cells calamine does not report: a lead cell merged down is empty there, which the parser
    reads as the cell above in a table that marks no merges."""
    import io

    import xlwt

    title, header = "某市2024年重点工作任务分工方案", ["序号", "重点工作任务", "牵头单位", "配合单位"]
    wb = xlwt.Workbook()
    ws = wb.add_sheet("表1")
    ws.write_merge(0, 0, 0, 3, title)
    for c, h in enumerate(header):
        ws.write(2, c, h)
    ws.write(3, 0, 1), ws.write(3, 1, "稳定外贸。"), ws.write_merge(3, 4, 2, 2, "市商务局"), ws.write(3, 3, "市财政局")
    ws.write(4, 0, 2), ws.write(4, 1, "扩大内需。"), ws.write(4, 3, "市发改委")
    buf = io.BytesIO()
    wb.save(buf)
    xls = document_text(buf.getvalue(), "t.xls")
    assert xls.text.splitlines() == [title, "| 序号 | 重点工作任务 | 牵头单位 | 配合单位 |", "| 1 | 稳定外贸。 | 市商务局 | 市财政局 |",
                                     "| 2 | 扩大内需。 | 〃 | 市发改委 |"]
    assert [p[3:] for p in xls.pages] == [("表1", 1), ("表1", 3), ("表1", 4), ("表1", 5)]

    ods_file = make_ods([[(title, {"numbercolumnsspanned": 4})] + [(None, {})] * 3, [(h, {}) for h in header],
                         [("1", {}), ("稳定外贸。", {}), ("市商务局", {"numberrowsspanned": 2}), ("市财政局", {})],
                         [("2", {}), ("扩大内需。", {}), (None, {}), ("市发改委", {})]])
    ods = document_text(ods_file, "t.ods")
    assert ods.encoding == "ods" and ods.text.splitlines()[3] == "| 2 | 扩大内需。 |  | 市发改委 |"
    roles = [(r["role"], r["mention"], r["inherited"]) for r in
             parse_document(ods_file, "t.ods").frames["assignments"].iter_rows(named=True)]
    assert ("lead", "市商务局", True) in roles
