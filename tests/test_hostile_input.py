"""Hostile input (issue 14): files built to break the reader, each generated here. Every one is either
read or refused with a reason that names what is wrong and what to do, in bounded time and memory."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import RAW, SEEDS
from transforms.document import parse_document
from transforms.text import UnreadableDocument

DOC_TABLES = ("sections", "items", "assignments", "leaders", "indicators", "units", "unit_aliases", "quality_issues")


def rows_without_ids(doc) -> dict[str, pl.DataFrame]:
    """A document's frames with its doc_id (a hash of the file's bytes) written DOC, so that the same
    notice in two encodings can be compared row by row."""
    return {t: doc.frames[t].with_columns(pl.col(pl.Utf8).str.replace_all(doc.doc_id, "DOC", literal=True))
            for t in DOC_TABLES}


# --- encodings -------------------------------------------------------------------------------

@pytest.mark.parametrize("codec, recorded", [("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")])
def test_regression_a_utf16_notice_with_a_bom_was_quarantined_as_binary(codec, recorded):
    """What Windows Notepad saves as "Unicode" (UTF-16-LE with a BOM), and its big-endian twin, give
    exactly the rows of the same notice in UTF-8."""
    text = (RAW / SEEDS[1]).read_text(encoding="utf-8")
    utf8 = parse_document(text.encode("utf-8"), "notice.txt")
    bom = b"\xff\xfe" if codec == "utf-16-le" else b"\xfe\xff"
    doc = parse_document(bom + text.encode(codec), "notice.txt")
    assert doc.frames["documents"]["encoding"][0] == recorded
    assert doc.frames["items"].height == 53
    got, want = rows_without_ids(doc), rows_without_ids(utf8)
    for table in DOC_TABLES:
        assert got[table].equals(want[table]), table


def test_a_broken_utf16_file_says_what_to_do():
    with pytest.raises(UnreadableDocument, match=r"starts with a UTF-16-LE byte-order mark but is not valid "
                                                 r"UTF-16-LE .*save it as UTF-8"):
        parse_document(b"\xff\xfe" + "牵头单位".encode("utf-16-le") + b"\x00\xd8", "odd.txt")  # a lone surrogate


# --- web pages -------------------------------------------------------------------------------

def nested_page(depth: int, body: str) -> bytes:
    """A page whose content sits `depth` <div> deep."""
    return ("<html><body>" + "<div>" * depth + body + "</div>" * depth + "</body></html>").encode("utf-8")


def test_regression_a_page_of_100000_nested_divs_failed_with_recursion_error():
    """5 MB of <div> nested 100,000 deep was quarantined with `RecursionError: maximum recursion depth
    exceeded`; it is refused before any parser builds the tree, with what to do."""
    import time

    from flows import steps

    data = ("<html><body>" + "<div>" * 100_000 + "牵头单位:市发改委" + "</div>" * 100_000).encode("utf-8")
    data += b"<!--" + b"x" * (5 * 2**20 - len(data) - 20) + b"-->"
    assert 4.9 * 2**20 < len(data) < 5 * 2**20  # under the 5 MB limit of one file
    t0 = time.perf_counter()
    result = steps.parse_and_validate([steps.SourceFile(RAW / "deep.html", "deep.html", data)])
    assert time.perf_counter() - t0 < 2
    assert [(q["source_file"], q["stage"], q["reason"]) for q in result.quarantined] == [(
        "deep.html", "decode",
        "cannot read deep.html: the web page nests its elements more than 400 deep (real pages nest a few dozen; "
        "this one is generated or broken): open it in a browser, copy the notice's text into a .txt file and put "
        "that in raw/")]


def test_a_notice_nested_350_deep_is_read():
    text = (RAW / SEEDS[1]).read_text(encoding="utf-8")
    body = "".join(f"<p>{line}</p>" for line in text.splitlines())
    doc = parse_document(nested_page(350, body), "deep.html")
    assert doc.frames["items"].height == 53
