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
