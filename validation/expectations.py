"""The Great Expectations suite on the loaded warehouse (validation/suite.yaml).

Route: each dataset is a DuckDB query read into pandas, validated by GX 1.x through a pandas
dataframe asset in a file-backed context under the report folder, so GX also builds its Data Docs.
(GX reads no polars, and its DuckDB-over-SQLAlchemy route fails with IndexError, GX #11579.)
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from transforms.indicators import admitted_units

SUITE_FILE = Path(__file__).parent / "suite.yaml"


@dataclass
class ExpectationResult:
    dataset: str
    expectation: str
    about: str
    severity: str
    success: bool
    unexpected_count: int | None
    examples: list = field(default_factory=list)


def load_suite(path: Path = SUITE_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _kwargs(spec: dict, suite: dict) -> dict:
    out = {}
    for k, v in spec.items():
        if k in ("type", "severity", "about"):
            continue
        if isinstance(v, str) and v.startswith("$"):
            v = suite[v[1:]]
        out[k] = v
    return out


def unexpected_labels(frame, etype: str, kw: dict, limit: int = 10) -> list:
    """The failing rows, named by the dataset's first (label) column."""
    label = frame.columns[0]
    if etype == "expect_table_row_count_to_equal":
        bad = frame
    elif etype == "expect_column_values_to_be_in_set":
        bad = frame[~frame[kw["column"]].isin(kw["value_set"])]
    elif etype == "expect_column_values_to_be_between":
        col = frame[kw["column"]]
        mask = col.isna()
        if kw.get("min_value") is not None:
            mask |= col < kw["min_value"]
        if kw.get("max_value") is not None:
            mask |= col > kw["max_value"]
        bad = frame[mask]
    elif etype == "expect_column_pair_values_to_be_equal":
        bad = frame[frame[kw["column_A"]] != frame[kw["column_B"]]]
    elif etype == "expect_column_values_to_be_unique":
        bad = frame[frame[kw["column"]].duplicated(keep=False)]
    elif etype == "expect_column_values_to_not_be_null":
        bad = frame[frame[kw["column"]].isna()]
    else:
        return []
    return bad[label].head(limit).tolist()


def run_suite(con: duckdb.DuckDBPyConnection, out_dir: Path, suite_path: Path = SUITE_FILE) -> tuple[list[ExpectationResult], Path | None]:
    """Validate every dataset; returns the results and the Data Docs index (or None)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite_def = load_suite(suite_path)
    gx_root = Path(out_dir) / "gx_project"
    if gx_root.exists():
        shutil.rmtree(gx_root)  # a fresh context each time: the suite file is the source of truth
    ctx = gx.get_context(mode="file", project_root_dir=str(gx_root))
    ctx.variables.progress_bars = {"globally": False}
    ctx.variables.save()
    source = ctx.data_sources.add_or_update_pandas("fengong_warehouse")
    validations = []
    specs: dict[str, list[dict]] = {}
    frames = {}
    con.register("metric_units", admitted_units().to_arrow())  # the vocabulary, for indicator_units
    for name, ds in suite_def["datasets"].items():
        frames[name] = con.execute(ds["sql"]).df()
        asset = source.add_dataframe_asset(name)
        batch_def = asset.add_batch_definition_whole_dataframe(f"{name}_all")
        suite = ctx.suites.add(gx.ExpectationSuite(name=f"fengong_{name}"))
        for spec in ds["expectations"]:
            cls = getattr(gxe, _camel(spec["type"]))
            suite.add_expectation(cls(**_kwargs(spec, suite_def), meta={"severity": spec["severity"],
                                                                       "about": spec["about"]}))
        specs[name] = ds["expectations"]
        validations.append((name, ctx.validation_definitions.add(
            gx.ValidationDefinition(name=f"fengong_{name}", data=batch_def, suite=suite))))
    con.unregister("metric_units")
    results: list[ExpectationResult] = []
    for name, vd in validations:
        res = vd.run(batch_parameters={"dataframe": frames[name]}, result_format="SUMMARY")
        for r in res.results:
            meta = r.expectation_config.meta or {}
            examples = [] if r.success else unexpected_labels(frames[name], r.expectation_config.type,
                                                                r.expectation_config.kwargs)
            results.append(ExpectationResult(
                dataset=name, expectation=r.expectation_config.type, about=meta.get("about", ""),
                severity=meta.get("severity", "error"), success=bool(r.success),
                unexpected_count=r.result.get("unexpected_count", r.result.get("observed_value")),
                examples=examples))
    docs_index = None
    try:
        ctx.build_data_docs()
        urls = ctx.get_docs_sites_urls()
        if urls:
            docs_index = Path(re.sub("^file://", "", urls[0]["site_url"]))
    except Exception:  # Data Docs are a convenience; the Markdown and HTML reports do not depend on them
        docs_index = None
    return results, docs_index
