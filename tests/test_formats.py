"""File formats: the same notice as .txt, a saved web page and a .docx gives the same items and
assignments; tables are read as cells; encodings are detected and recorded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from warehouse.inbox import discover
from transforms.document import parse_document
from transforms.formats import docx_to_text, html_to_text
from transforms.text import UnreadableDocument

FIXTURES = Path(__file__).parent / "fixtures" / "layouts"

HEADER = ["序号", "重点工作任务", "责任领导", "牵头单位", "配合单位", "完成时限"]
ROWS = [  # None: merged with the cell above
    ["一、全力稳住经济增长"],
    ["1", "全市地区生产总值增长6.5%左右。", "钱 宇", "市发展改革委", "市统计局\n市财政局", "12月底前"],
    ["2", "新开工亿元以上项目300个。", "钱 宇", None, "市重点局", "年内持续推进"],
    ["3", "社会消费品零售总额增长7%。", "王建国李明华", "市商务局", "", "2024年12月31日"],
    ["二、深化改革开放"],
    ["4", "推进国有企业改革深化提升行动。", "刘 洋", "市国资委", "市财政局、市发展改革委", "6月底前"],
]
PARAGRAPHS = ["铜陵市人民政府办公室关于印发2024年《政府工作报告》重点工作任务分解表的通知", "铜政办〔2024〕5号", "附件",
              "2024年《政府工作报告》重点工作任务分解表"]


def make_docx() -> bytes:
    """The notice as a Word attachment: a heading row merged across, a lead cell merged down."""
    import docx

    d = docx.Document()
    for p in PARAGRAPHS:
        d.add_paragraph(p)
    table = d.add_table(rows=1 + len(ROWS), cols=len(HEADER))
    for c, h in enumerate(HEADER):
        table.cell(0, c).text = h
    for r, row in enumerate(ROWS, 1):
        if len(row) == 1:
            merged = table.cell(r, 0).merge(table.cell(r, len(HEADER) - 1))
            merged.text = row[0]
            continue
        for c, v in enumerate(row):
            if v is None:
                table.cell(r - 1, c).merge(table.cell(r, c))
            else:
                table.cell(r, c).text = v
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def summary(doc) -> list[tuple]:
    """Per item: numbers, text, roles with mentions, leaders, deadline: what must not depend on the format."""
    asg, ld = doc.frames["assignments"], doc.frames["leaders"]
    out = []
    for it in doc.frames["items"].iter_rows(named=True):
        a = asg.filter(asg["item_id"] == it["item_id"])
        out.append((
            tuple(it["parent_nos"]), it["item_no"], it["item_kind"], it["text"],
            tuple(zip(a["role"], a["ord"], a["mention"], a["inherited"])),
            tuple(ld.filter(ld["item_id"] == it["item_id"])["name"]),
            it["deadline_text"], it["deadline_date"],
        ))
    return out


@pytest.fixture(scope="module")
def three_formats():
    return {
        "txt": parse_document((FIXTURES / "pipe_table.txt").read_bytes(), "pipe_table.txt"),
        "html": parse_document((FIXTURES / "pipe_table.html").read_bytes(), "pipe_table.html"),
        "docx": parse_document(make_docx(), "pipe_table.docx"),
    }


def test_same_notice_in_three_formats_gives_the_same_items_and_assignments(three_formats):
    txt = summary(three_formats["txt"])
    assert len(txt) == 4
    assert summary(three_formats["html"]) == txt
    assert summary(three_formats["docx"]) == txt


def test_pipe_table_cells_are_read_under_their_columns(three_formats):
    rows = summary(three_formats["txt"])
    assert rows[0][4] == (("lead", 1, "市发展改革委", False), ("co", 1, "市统计局", False), ("co", 2, "市财政局", False))
    assert rows[1][4] == (("lead", 1, "市发展改革委", True), ("co", 1, "市重点局", False))  # merged lead cell
    assert rows[2][4] == (("lead", 1, "市商务局", False),)  # empty co cell
    assert [r[5] for r in rows] == [("钱宇",), ("钱宇",), ("王建国", "李明华"), ("刘洋",)]


def test_same_metadata_in_three_formats(three_formats):
    keys = ("jurisdiction", "doc_kind", "period_start", "doc_number")
    got = {f: tuple(d.frames["documents"].row(0, named=True)[k] for k in keys) for f, d in three_formats.items()}
    assert set(got.values()) == {("铜陵市", "gwr", 2024, "铜政办〔2024〕5号")}


def test_web_page_keeps_the_article_and_its_metadata_not_the_navigation():
    text = html_to_text((FIXTURES / "pipe_table.html").read_text(encoding="utf-8"))
    assert "政务公开" not in text and "热门搜索" not in text and "版权所有" not in text and "_hmt" not in text
    assert text.splitlines()[:3] == ["索引号:11340700003138838Y/202401-00012", "发布日期:2024-02-20",
                                     PARAGRAPHS[0]]


def test_web_page_in_gbk_is_decoded_and_the_encoding_recorded():
    html = (FIXTURES / "pipe_table.html").read_text(encoding="utf-8").replace('charset="utf-8"', 'charset="gbk"')
    doc = parse_document(html.encode("gbk"), "notice.htm")
    assert doc.frames["documents"]["encoding"][0] == "html/gb18030"
    assert len(doc.frames["items"]) == 4


def test_docx_cells_merged_down_are_ditto_marks_and_merged_across_are_empty():
    lines = docx_to_text(make_docx()).splitlines()
    assert lines[5] == "| 一、全力稳住经济增长 |  |  |  |  |  |"
    assert lines[7] == "| 2 | 新开工亿元以上项目300个。 | 钱 宇 | 〃 | 市重点局 | 年内持续推进 |"


def test_utf8_bom_text_is_recorded():
    data = b"\xef\xbb\xbf" + (FIXTURES / "space_rows.txt").read_bytes()
    assert parse_document(data, "bom.txt").frames["documents"]["encoding"][0] == "utf-8-sig"


def test_a_broken_docx_says_what_it_is():
    with pytest.raises(UnreadableDocument, match="not a readable .docx"):
        parse_document(b"PK\x03\x04 not really a zip", "broken.docx")


def test_discover_finds_every_file_but_hidden_ones(tmp_path):
    for name in ("a.txt", "b.html", "c.htm", "d.docx", "e.pdf", ".hidden.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in discover(tmp_path)] == ["a.txt", "b.html", "c.htm", "d.docx", "e.pdf"]


def test_a_pdf_says_what_it_is_and_what_to_do():
    with pytest.raises(UnreadableDocument, match="corrupt PDF: it cannot be opened .*download it again"):
        parse_document(b"%PDF-1.7 ...", "notice.pdf")
    with pytest.raises(UnreadableDocument, match="the file is a PDF file, not a text notice; fengong reads .txt, .html, "
                                                 ".docx, .pdf, .xlsx, .xls and .ods by their suffix"):
        parse_document(b"%PDF-1.7 ...", "notice.txt")


def test_web_page_and_word_file_in_raw_load_into_the_warehouse(tmp_path):
    from transforms.batch import SourceFile, parsed_batch
    from validation.batch import concat_frames, validated_batch
    from warehouse import inbox
    from warehouse import load as wh

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "tongling.html").write_bytes((FIXTURES / "pipe_table.html").read_bytes())
    (raw / "notice.docx").write_bytes(make_docx())
    (raw / "scan.pdf").write_bytes(b"%PDF-1.7 ...")
    files = inbox.read_files(inbox.discover(raw), raw)
    result = validated_batch(parsed_batch(files, reviewed={}))
    con = wh.connect(tmp_path / "w.duckdb")
    try:
        assert wh.load_documents(con, result.parsed) == []
        assert con.execute("SELECT source_file, encoding FROM documents ORDER BY 1").fetchall() == [
            ("notice.docx", "docx"), ("tongling.html", "html/utf-8")]
        assert con.execute("SELECT count(*) FROM assignments").fetchone()[0] == 2 * 9  # 3 + 2 + 1 + 3 mentions in each
    finally:
        con.close()
    assert [(q["source_file"], q["stage"]) for q in result.quarantined] == [("scan.pdf", "decode")]


def test_web_page_saved_as_txt_is_read_as_a_web_page():
    data = (FIXTURES / "pipe_table.html").read_bytes()
    doc = parse_document(data, "saved_page.txt")
    assert doc.frames["documents"]["encoding"][0] == "html/utf-8"
    assert len(doc.frames["items"]) == 4


def make_numbered_docx() -> bytes:
    """Items numbered by Word (List Number), a 序号 column typed, a nested table in a co cell."""
    import docx

    d = docx.Document()
    d.add_paragraph("荆州市人民政府办公室关于印发2024年政府工作报告重点工作分工方案的通知")
    d.add_paragraph("一、重点工作")
    d.add_paragraph("完成全市国土空间总体规划报批。(牵头单位:市自然资源和规划局)", style="List Number")
    d.add_paragraph("持续优化营商环境。(牵头单位:市发改委)", style="List Number")
    d.add_paragraph("二、重点项目")
    t = d.add_table(rows=2, cols=4)
    for c, h in enumerate(["序号", "重点工作", "牵头单位", "配合单位"]):
        t.cell(0, c).text = h
    for c, v in enumerate(["1", "稳定外贸。", "市商务局"]):
        t.cell(1, c).text = v
    inner = t.cell(1, 3).add_table(rows=2, cols=1)
    inner.cell(0, 0).text = "市财政局"
    inner.cell(1, 0).text = "荆州海关"
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_automatic_numbering_and_nested_tables_are_read():
    from conftest import roles_by_item

    doc = parse_document(make_numbered_docx(), "numbered.docx")
    assert roles_by_item(doc) == [
        ("一/1", {"lead": ["市自然资源和规划局"]}),
        ("一/2", {"lead": ["市发改委"]}),
        ("二/1", {"co": ["市财政局", "荆州海关"], "lead": ["市商务局"]}),  # the table sits under 二、重点项目
    ]
