"""transforms/frames.py: rows in, the frame polars itself would build, at less cost."""

import datetime

import polars as pl

from transforms.frames import rows_frame

SCHEMA = {"doc_id": pl.Utf8, "parent_nos": pl.List(pl.Utf8), "seq": pl.Int64, "day": pl.Date,
          "functions": pl.List(pl.Utf8)}


def test_rows_frame_is_the_frame_polars_builds_from_the_same_rows():
    rows = [
        {"doc_id": "d1", "parent_nos": ["一", "(二)"], "seq": 1, "day": datetime.date(2024, 6, 30), "functions": []},
        {"doc_id": "d1", "parent_nos": [], "seq": 2, "day": None, "functions": ["development"]},
    ]
    built = rows_frame(rows, SCHEMA)
    assert built.schema == pl.Schema(SCHEMA)
    assert built.equals(pl.DataFrame(rows, schema=SCHEMA))
    assert built["parent_nos"].to_list() == [["一", "(二)"], []]


def test_an_empty_frame_has_the_schema_and_is_not_shared():
    first = rows_frame([], SCHEMA)
    assert first.height == 0 and first.schema == pl.Schema(SCHEMA)
    first.insert_column(0, pl.Series("extra", [], dtype=pl.Int64))
    assert rows_frame([], SCHEMA).columns == list(SCHEMA)
