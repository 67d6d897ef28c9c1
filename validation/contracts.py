"""Run the stage contracts on parsed documents, describe every failure in plain words, and set the
failing rows aside (`reject_rows`) so that the rest of a notice still loads."""

from __future__ import annotations

import json

import polars as pl
import pandera.polars as pa

from validation import models


ROW = "_row"  # a row's position in its document's frame, carried through the joins below


def _checked_frames(frames: dict[str, pl.DataFrame]) -> dict[str, tuple[type[pa.DataFrameModel], pl.DataFrame]]:
    """Each frame as its model checks it, numbered per document first (ROW), so that a failure found
    in a joined frame names the row of the frame as parsed."""
    num = lambda f: f.with_columns(pl.int_range(pl.len()).over("doc_id").alias(ROW))  # noqa: E731
    lengths = frames["documents"].select("doc_id", pl.col("n_chars").alias("doc_chars"))
    with_len = lambda f: f.join(lengths, on="doc_id", how="left")  # noqa: E731
    sections = num(frames["sections"])
    # one row per key on the right of each join: a duplicated key is its own frame's failure, not its children's
    items = num(frames["items"]).join(
        sections.select("section_id", pl.col("char_start").alias("parent_start"), pl.col("char_end").alias("parent_end"))
        .unique("section_id", keep="first"),
        on="section_id", how="left",
    )
    item_ids = frames["items"].select("item_id").unique().with_columns(item_exists=pl.lit(True))
    asg = num(frames["assignments"]).join(item_ids, on="item_id", how="left").with_columns(pl.col("item_exists").fill_null(False))
    return {
        "documents": (models.DocumentModel, num(frames["documents"])),
        "sections": (models.SectionModel, with_len(sections)),
        "items": (models.ItemModel, with_len(items)),
        "assignments": (models.AssignmentModel, with_len(asg)),
        "leaders": (models.LeaderModel, with_len(num(frames["leaders"]))),
        "indicators": (models.IndicatorModel, with_len(num(frames["indicators"]))),
        "units": (models.UnitModel, num(_with_doc_id(frames, "units"))),
        "unit_aliases": (models.UnitAliasModel, num(_with_doc_id(frames, "unit_aliases"))),
        "quality_issues": (models.QualityIssueModel, num(frames["quality_issues"])),
    }


def _with_doc_id(frames: dict[str, pl.DataFrame], name: str) -> pl.DataFrame:
    """A document's units and unit aliases carry no doc_id (the loader adds it); uniqueness is per
    document, so a batch must bring it (validation.batch.concat_frames does), one document gets it here."""
    frame = frames[name]
    if "doc_id" in frame.columns:
        return frame
    ids = frames["documents"]["doc_id"]
    if ids.len() != 1:
        raise ValueError(f"{name} of {ids.len()} documents need a doc_id column to be validated together")
    return frame.with_columns(doc_id=pl.lit(ids[0]))


def validate_frames(frames: dict[str, pl.DataFrame]) -> list[dict]:
    """Every contract failure as {doc_id, frame, check, column, row, value}; empty when all pass.

    `frames` may hold one document or a batch of them (concatenated, each document's rows together);
    each failure names the document it belongs to and `row`, the failing row's position among that
    document's rows of the frame (None when the failure is not about a row: a missing column, a
    wrong dtype; then doc_id is None too).
    """
    failures: list[dict] = []
    for name, (model, frame) in _checked_frames(frames).items():
        try:
            model.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as e:
            for r in e.failure_cases.iter_rows(named=True):
                idx = r["index"]
                doc = frame["doc_id"][idx] if idx is not None and "doc_id" in frame.columns else None
                row = frame[ROW][idx] if idx is not None else None
                failures.append({"doc_id": doc, "frame": name, "check": r["check"], "column": r["column"],
                                 "row": row, "value": str(r["failure_case"])})
    # a failure a join repeated (a key on the right twice) is one failure
    failures = list({(f["frame"], f["check"], f["column"], f["doc_id"], f["row"], f["value"]): f
                     for f in failures}.values())
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


# ── rows that fail a contract are set aside, the rest of the notice loads ─────────────────────────

REJECTED_SCHEMA = {"doc_id": pl.Utf8, "source_file": pl.Utf8, "frame": pl.Utf8, "row_no": pl.Int64,
                   "check_name": pl.Utf8, "column_name": pl.Utf8, "row": pl.Utf8, "reason": pl.Utf8}

# (parent frame, key, child frame, child key): a child whose parent row is rejected is rejected with it.
# Parents are never children, so one pass over this list finds every dependent row.
DEPENDENTS = (
    ("items", "item_id", "assignments", "item_id"),
    ("items", "item_id", "leaders", "item_id"),
    ("items", "item_id", "indicators", "item_id"),
    ("units", "unit_id", "assignments", "unit_id"),
    ("units", "unit_id", "unit_aliases", "unit_id"),
)
PARENT_WORD = {"items": "item", "units": "unit"}


def wholesale(failures: list[dict]) -> list[dict]:
    """The failures that reject a whole notice: its documents row fails, or a frame fails as a whole
    (no row to point at: a missing column, a wrong dtype)."""
    return [f for f in failures if f["frame"] == "documents" or f["row"] is None]


def _reason(f: dict) -> str:
    column = f["column"]
    if column in (None, "") or column.endswith("Model"):
        return f"the row fails the {f['frame']} check {f['check']}"
    value = f["value"] if len(f["value"]) <= 60 else f["value"][:57] + "…"
    return f"{column} {value!r} fails the check {f['check']}"


def reject_rows(frames: dict[str, pl.DataFrame], failures: list[dict]) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """One document's frames without the rows that fail a contract, and those rows (REJECTED_SCHEMA).

    Pure: frames and `failures` (validate_frames of this document, no `wholesale` ones) in, kept
    frames and the rejected rows out; nothing else is changed. A rejected row is one row per failed
    check (a row failing two checks is listed twice), its content as JSON in `row`, `reason` a sentence.

    Dependent rows go with their parent (DEPENDENTS), recorded with check_name 'parent_rejected' and
    the reason 'its item was rejected' (or 'its unit was rejected'): an item takes its assignments,
    leaders and indicators; a unit takes the assignments and aliases that point to it.

    Units and aliases that only rejected assignments used are dropped without a record: a unit that
    no remaining assignment names, its aliases, and an alias whose name only a rejected assignment
    wrote. They are derived from the rejected assignment, whose row keeps its mention and unit_id;
    kept, they would count the document for a unit it no longer names (units.n_documents) or map a
    bad name ('镇') to a unit in unit_aliases.

    Kept as they are: sections (an item under a rejected section keeps its section_id; no table or
    check joins on it), quality_issues about a rejected item (they describe the source text), and
    document_texts. The caller re-validates the kept frames.
    """
    if wholesale(failures):
        raise ValueError("reject_rows cannot set aside a documents row or a whole frame: quarantine the notice")
    doc = frames["documents"].row(0, named=True)
    doc_id, source_file = doc["doc_id"], doc["source_file"]
    # frame -> row -> [(check, column, reason)]
    rejected: dict[str, dict[int, list[tuple[str | None, str | None, str]]]] = {}
    for f in failures:
        column = None if f["column"] in (None, "") or f["column"].endswith("Model") else f["column"]
        rejected.setdefault(f["frame"], {}).setdefault(f["row"], []).append((f["check"], column, _reason(f)))

    def keys_gone(frame: str, key: str) -> set:
        rows = rejected.get(frame, {})
        keys = frames[frame][key]
        kept = set(keys.gather([i for i in range(len(keys)) if i not in rows]).to_list())
        return {keys[i] for i in rows} - kept

    for parent, key, child, child_key in DEPENDENTS:  # one pass: no child is another one's parent
        if gone := keys_gone(parent, key):
            rows = rejected.setdefault(child, {})
            for i, v in enumerate(frames[child][child_key].to_list()):
                if v in gone and i not in rows:
                    rows[i] = [(None, child_key, f"its {PARENT_WORD[parent]} was rejected")]

    kept = {name: _without(frame, rejected.get(name, {})) for name, frame in frames.items()}
    if rejected.get("assignments"):
        asg, gone_asg = kept["assignments"], frames["assignments"][sorted(rejected["assignments"])]
        orphan_units = set(gone_asg["unit_id"].to_list()) - set(asg["unit_id"].to_list())
        orphan_names = set(gone_asg["mention"].to_list()) - set(asg["mention"].to_list())
        kept["units"] = kept["units"].filter(~pl.col("unit_id").is_in(list(orphan_units)))
        kept["unit_aliases"] = kept["unit_aliases"].filter(
            ~pl.col("unit_id").is_in(list(orphan_units)) & ~pl.col("alias").is_in(list(orphan_names)))

    out = []
    for name, rows in rejected.items():
        frame = frames[name]
        for i in sorted(rows):
            row = json.dumps(frame.row(i, named=True), ensure_ascii=False, default=str)
            for check, column, reason in rows[i]:
                out.append({"doc_id": doc_id, "source_file": source_file, "frame": name, "row_no": i,
                            "check_name": check or "parent_rejected", "column_name": column, "row": row, "reason": reason})
    return kept, pl.DataFrame(out, schema=REJECTED_SCHEMA)


def _without(frame: pl.DataFrame, rows: dict[int, list]) -> pl.DataFrame:
    if not rows:
        return frame
    return frame.with_row_index("__i").filter(~pl.col("__i").is_in(list(rows))).drop("__i")


def no_rejected_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECTED_SCHEMA)
