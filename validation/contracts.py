"""Run the stage contracts on one parsed document and describe every failure in plain words."""

from __future__ import annotations

import json

import polars as pl
import pandera.polars as pa

from validation import models


def _checked_frames(frames: dict[str, pl.DataFrame]) -> dict[str, tuple[type[pa.DataFrameModel], pl.DataFrame]]:
    lengths = frames["documents"].select("doc_id", pl.col("n_chars").alias("doc_chars"))
    with_len = lambda f: f.join(lengths, on="doc_id", how="left")  # noqa: E731
    sections = frames["sections"]
    items = frames["items"].join(
        sections.select("section_id", pl.col("char_start").alias("parent_start"), pl.col("char_end").alias("parent_end")),
        on="section_id", how="left",
    )
    item_ids = frames["items"].select("item_id", pl.lit(True).alias("item_exists"))
    asg = frames["assignments"].join(item_ids, on="item_id", how="left").with_columns(pl.col("item_exists").fill_null(False))
    return {
        "documents": (models.DocumentModel, frames["documents"]),
        "sections": (models.SectionModel, with_len(sections)),
        "items": (models.ItemModel, with_len(items)),
        "assignments": (models.AssignmentModel, with_len(asg)),
        "leaders": (models.LeaderModel, with_len(frames["leaders"])),
        "indicators": (models.IndicatorModel, with_len(frames["indicators"])),
        "units": (models.UnitModel, _with_doc_id(frames, "units")),
        "unit_aliases": (models.UnitAliasModel, _with_doc_id(frames, "unit_aliases")),
        "quality_issues": (models.QualityIssueModel, frames["quality_issues"]),
    }


def _with_doc_id(frames: dict[str, pl.DataFrame], name: str) -> pl.DataFrame:
    """A document's units and unit aliases carry no doc_id (the loader adds it); uniqueness is per
    document, so a batch must bring it (steps.concat_frames does), one document gets it here."""
    frame = frames[name]
    if "doc_id" in frame.columns:
        return frame
    ids = frames["documents"]["doc_id"]
    if ids.len() != 1:
        raise ValueError(f"{name} of {ids.len()} documents need a doc_id column to be validated together")
    return frame.with_columns(doc_id=pl.lit(ids[0]))


def validate_frames(frames: dict[str, pl.DataFrame]) -> list[dict]:
    """Every contract failure as {doc_id, frame, check, column, row, value}; empty when all pass.

    `frames` may hold one document or a batch of them (concatenated); each failure names the
    document it belongs to, so one bad notice can be quarantined and the rest loaded.
    """
    failures: list[dict] = []
    for name, (model, frame) in _checked_frames(frames).items():
        try:
            model.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as e:
            for r in e.failure_cases.iter_rows(named=True):
                idx = r["index"]
                doc = frame["doc_id"][idx] if idx is not None and "doc_id" in frame.columns else None
                failures.append({"doc_id": doc, "frame": name, "check": r["check"], "column": r["column"],
                                 "row": idx, "value": str(r["failure_case"])})
    return failures


def _example(value: str) -> str:
    """A failing row is shown by its key (item 3 under 二/一), not as a JSON dump."""
    try:
        row = json.loads(value)
    except (ValueError, TypeError):
        return value[:60]
    if not isinstance(row, dict):
        return value[:60]
    if "item_no" in row and "parent_nos" in row:
        return "item " + "/".join([*(row.get("parent_nos") or []), str(row["item_no"])])
    for key in ("item_id", "section_id", "unit_id", "doc_id"):
        if row.get(key):
            return f"{key} {row[key]}" + (f" ({row['mention']})" if row.get("mention") else "")
    return value[:60]


def describe(failures: list[dict]) -> str:
    """One readable sentence per failed check, for the quarantine reason and the console:
    "items: check 'inside_parent' failed for 12 row(s), e.g. item 二/一/5, item 二/一/6"."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for f in failures:
        grouped.setdefault((f["frame"], f["check"], f["column"]), []).append(_example(f["value"]))
    parts = []
    for (frame, check, column), examples in grouped.items():
        where = "" if column in (None, "") or column.endswith("Model") else f" on column {column}"
        parts.append(f"{frame}: check '{check}' failed{where} for {len(examples)} row(s), "
                     f"e.g. {', '.join(examples[:3])}")
    return "; ".join(parts)
