"""Rows (dicts) in, a polars frame of a fixed schema out, at the cost the parser can pay per document.

polars builds a frame from dicts in Rust, except for a list column (parent_nos, functions): there it
calls back into Python to build one Series per row, which made such a frame 4-5 times dearer than
the same frame without it. Here the other columns come from the dicts and each list column from one
Arrow array. An empty frame is a copy of one built once per schema (building it costs as much as
building 20 rows).
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

_SHAPES: dict[int, tuple[dict, dict, list[tuple[int, str, pa.DataType]], pl.DataFrame]] = {}


def _shape(schema: dict[str, pl.DataType]):
    shape = _SHAPES.get(id(schema))
    if shape is None or shape[0] is not schema:
        lists = [(k, name, pl.DataFrame(schema={name: dtype}).to_arrow().schema.field(name).type)
                 for k, (name, dtype) in enumerate(schema.items()) if isinstance(dtype, pl.List)]
        flat = {name: dtype for name, dtype in schema.items() if not isinstance(dtype, pl.List)}
        shape = _SHAPES[id(schema)] = (schema, flat, lists, pl.DataFrame(schema=schema))
    return shape


def rows_frame(rows: list[dict], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The frame of `rows` (dicts with at least the schema's keys), columns in the schema's order.
    `schema` should be a module constant: its shape is remembered by identity."""
    schema_, flat, lists, empty = _shape(schema)
    if not rows:
        return empty.clear()
    if not lists:
        return pl.DataFrame(rows, schema=flat)
    frame = pl.DataFrame(rows, schema=flat)
    for k, name, arrow_type in lists:
        frame.insert_column(k, pl.Series(name, pa.array([r[name] for r in rows], arrow_type)))
    return frame
