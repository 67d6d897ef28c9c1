"""Stage contracts: one pandera (polars) model per frame that crosses a stage boundary.

Frames are validated eagerly (pandera checks only the schema of a LazyFrame) and lazily in
pandera's sense (every failure is collected). Cross-frame facts — an item's offsets inside its
parent section and the document, an assignment pointing at an item — are checked by joining the
needed columns on before validation (see `contracts.py`).
"""

from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.api.polars.types import PolarsData

ROLES = ["overall_lead", "lead", "co", "responsible"]
ITEM_KINDS = ["indicator", "target", "task", "project"]
BINDINGS = ["约束性", "预期性"]
SEVERITIES = ["error", "warning"]


class DocumentModel(pa.DataFrameModel):
    doc_id: str = pa.Field(unique=True, str_length={"min_value": 16, "max_value": 16})
    source_file: str = pa.Field(str_length={"min_value": 1})
    sha256: str = pa.Field(str_length={"min_value": 64, "max_value": 64})
    title: str = pa.Field(nullable=True)
    jurisdiction: str = pa.Field(nullable=True)
    province: str = pa.Field(nullable=True)
    admin_level: str = pa.Field(nullable=True, isin=["national", "province", "prefecture", "county", "district"])
    doc_kind: str = pa.Field(nullable=True, isin=["fyp", "gwr"])
    period_start: int = pa.Field(nullable=True, ge=1953, le=2100)
    period_end: int = pa.Field(nullable=True, ge=1953, le=2100)
    role_rule: str = pa.Field(isin=["as_labelled", "first_listed_leads"])
    n_chars: int = pa.Field(gt=0)
    incomplete: bool = pa.Field(nullable=True)  # the parser dropped a cut-off last item

    @pa.dataframe_check
    def period_in_order(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("period_start").is_null() | pl.col("period_end").is_null()
            | (pl.col("period_start") <= pl.col("period_end"))
        )


class _Spans(pa.DataFrameModel):
    """Offsets lie inside the document (doc_chars joined on) and start before they end."""

    char_start: int = pa.Field(ge=0)
    char_end: int = pa.Field(gt=0)
    doc_chars: int = pa.Field(gt=0)

    @pa.dataframe_check
    def start_before_end(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("char_start") < pl.col("char_end"))

    @pa.dataframe_check
    def inside_document(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("char_end") <= pl.col("doc_chars"))


class SectionModel(_Spans):
    doc_id: str
    section_id: str = pa.Field(unique=True)
    style: str = pa.Field(isin=["cn1", "cn2", "ar", "ar2", "group", "row"])
    title: str = pa.Field(nullable=True)


class ItemModel(_Spans):
    doc_id: str
    item_id: str = pa.Field(unique=True)
    seq: int = pa.Field(ge=1)
    item_kind: str = pa.Field(isin=ITEM_KINDS)
    binding: str = pa.Field(nullable=True, isin=BINDINGS)
    item_no: str = pa.Field(nullable=True, str_length={"min_value": 1})  # null: an unnumbered table row
    text: str = pa.Field(str_length={"min_value": 1})
    deadline_text: str = pa.Field(nullable=True)
    deadline_date: pl.Date = pa.Field(nullable=True)
    confidence: float = pa.Field(ge=0, le=1)
    parent_start: int = pa.Field(nullable=True)
    parent_end: int = pa.Field(nullable=True)

    @pa.dataframe_check
    def seq_unique_in_document(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.struct("doc_id", "seq").is_unique())

    @pa.dataframe_check
    def inside_parent(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("parent_start").is_null()
            | ((pl.col("char_start") >= pl.col("parent_start")) & (pl.col("char_end") <= pl.col("parent_end")))
        )

    @pa.dataframe_check
    def seq_unique_per_document(cls, data: PolarsData) -> pl.LazyFrame:
        # per document, not per frame: a batch holds several documents, each numbered from 1
        return data.lazyframe.select(pl.struct("doc_id", "seq").is_unique())

    @pa.dataframe_check
    def binding_only_on_indicators(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("binding").is_null() | pl.col("item_kind").is_in(["indicator", "target"]))


class AssignmentModel(_Spans):
    doc_id: str
    item_id: str
    role: str = pa.Field(isin=ROLES)
    ord: int = pa.Field(ge=1)
    mention: str = pa.Field(str_length={"min_value": 2})
    mention_kind: str = pa.Field(isin=["unit", "collective"])
    unit_id: str = pa.Field(str_length={"min_value": 1})
    cue: str = pa.Field(isin=["label", "verb", "bracket", "column", "group", "star"])
    rule: str = pa.Field(isin=["as_written", "star", "lead_elsewhere", "first_listed_leads", "single_unit", "none"])
    item_exists: bool

    @pa.dataframe_check
    def points_to_an_item(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("item_exists"))

    @pa.dataframe_check
    def lead_and_responsible_never_together(cls, data: PolarsData) -> pl.LazyFrame:
        has_lead = (pl.col("role") == "lead").any().over("item_id")
        has_resp = (pl.col("role") == "responsible").any().over("item_id")
        return data.lazyframe.select(~(has_lead & has_resp))

    @pa.dataframe_check
    def ord_unique_per_role(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.struct("item_id", "role", "ord").is_unique())


class LeaderModel(_Spans):
    doc_id: str
    item_id: str
    name: str = pa.Field(str_length={"min_value": 2, "max_value": 12})


class IndicatorModel(_Spans):
    doc_id: str
    item_id: str
    source: str = pa.Field(isin=["indicator", "target", "task_text"])
    metric: str = pa.Field(str_length={"min_value": 1})
    metric_code: str = pa.Field(nullable=True)
    comparator: str = pa.Field(nullable=True, isin=["=", ">=", ">", "<=", "<", "~"])
    value: float = pa.Field(nullable=True)
    value_unit: str = pa.Field(nullable=True)
    basis: str = pa.Field(nullable=True, isin=["annual_growth", "level", "share_of_gdp", "absolute"])
    horizon_year: int = pa.Field(nullable=True, ge=1950, le=2100)
    qualitative: bool

    @pa.dataframe_check
    def number_unless_qualitative(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("qualitative") == pl.col("value").is_null())

    @pa.dataframe_check
    def percent_levels_within_0_100(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("value_unit") != "%") | pl.col("value_unit").is_null() | (pl.col("basis") == "annual_growth")
            | pl.col("value").is_between(0, 100)
        )


class UnitModel(pa.DataFrameModel):
    doc_id: str
    unit_id: str
    jurisdiction: str
    name: str = pa.Field(str_length={"min_value": 2})
    kind: str = pa.Field(isin=["unit", "collective"])
    source: str = pa.Field(isin=["reviewed", "document", "dictionary", "rule", "provisional"])
    resolved: bool

    @pa.dataframe_check
    def one_row_per_unit_per_document(cls, data: PolarsData) -> pl.LazyFrame:
        # two notices of one city name the same units: unique within a document, not within a batch
        return data.lazyframe.select(pl.struct("doc_id", "unit_id").is_unique())

    @pa.dataframe_check
    def resolved_units_have_a_function(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("resolved") | (pl.col("functions").list.len() > 0))


class UnitAliasModel(pa.DataFrameModel):
    doc_id: str
    jurisdiction: str
    alias: str = pa.Field(str_length={"min_value": 1})
    unit_id: str

    @pa.dataframe_check
    def one_unit_per_alias(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.struct("doc_id", "jurisdiction", "alias").is_unique())


class QualityIssueModel(pa.DataFrameModel):
    doc_id: str
    item_id: str = pa.Field(nullable=True)
    severity: str = pa.Field(isin=SEVERITIES)
    check_name: str = pa.Field(str_length={"min_value": 1})
    message: str = pa.Field(str_length={"min_value": 1})


class TaskLinkModel(pa.DataFrameModel):
    """warehouse table task_links (transforms/links.py)."""

    jurisdiction: str = pa.Field(str_length={"min_value": 1})
    from_doc_id: str
    from_item_id: str
    to_doc_id: str
    to_item_id: str
    to_doc_kind: str = pa.Field(isin=["fyp", "gwr"])
    score: float = pa.Field(gt=0)
    strength: str = pa.Field(isin=["same", "step"])
    evidence: str = pa.Field(str_length={"min_value": 1})
    rank: pl.Int32 = pa.Field(ge=1)

    @pa.dataframe_check
    def one_row_per_link(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.struct("from_item_id", "to_item_id").is_unique())

    @pa.dataframe_check
    def across_documents(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("from_doc_id") != pl.col("to_doc_id"))
