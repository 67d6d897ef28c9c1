"""Task links: which items of an annual notice carry out which items of a five-year division.

An item of an annual work-report notice (doc_kind ``gwr``) is compared with every item of the same
jurisdiction's five-year division (``fyp``) whose period covers the annual year, and with the items
of the same jurisdiction's previous annual notice (the latest earlier year: `annual_targets`). Text similarity alone links too much (a sentence
about 生态 resembles every other one about 生态), so a link combines several kinds of evidence, each
a number in [0, 1], weighted by ``transforms/data/links.yaml``:

* ``tfidf``: cosine of character n-gram TF-IDF vectors (scikit-learn ``TfidfVectorizer``'s
  ``char_wb`` n-grams, the lone space left out) of the two texts after generic words (经济, 发展, 建设,
  推进 …) are cut out and short forms are written out beside their full form (国企 -> 国企 国有企业,
  transforms/data/policy_abbreviations.yaml), divided by the best cosine of the annual item (so it
  says "the closest text", whatever the texts' lengths);
* ``sentence``: the same cosine with the target's closest sentence, divided by the annual item's best
  (a plan task holds several commitments and an annual item carries out one: the whole task's vector
  dilutes it);
* ``clause``: the best pair of clauses by rapidfuzz ``fuzz.ratio`` (a restated sentence:
  落实供销合作社综合改革 / 持续深化供销合作社综合改革);
* ``entity``: a named project, place, road, river or quoted term of one item found in the other
  (汉江, 兴隆灌区, “店小二”), weighted by how rare the name is among the jurisdiction's items;
* ``metric``: the same measured quantity (the metric vocabulary entry, transforms/data/metrics.yaml),
  whether the plan states it as a level, a growth rate or a share;
* ``lead_unit`` / ``lead_function``: a lead unit both items share (or only a function of one), a unit
  that leads few of the target notice's items counting more;
* ``unit_name``: the core of a lead unit's name (国资 of 市国资委, 供销 of 市供销社) written in the
  other item's text, a core that few target items hold counting more;
* ``heading``: the heading the five-year item sits under, compared with the annual item (project
  words cut out: 重大工程项目分工, the section of the major-project columns, names no topic);
* ``project``: a five-year major-project heading (专栏) is linked through its own task (the task of
  that notice its words are closest to): an annual item that names a concrete project, place or
  quantity and whose best link is that task is an instalment of the column too.

A pair becomes a link when its text evidence alone reaches a floor (a shared lead unit or heading never
makes a link by itself), its score reaches the threshold, and it is among the best few for its annual
item. ``strength`` is ``same`` for the same measured quantity or a restated clause, ``step`` for a
concrete action that advances the target item.

Pure functions: polars frames in, a polars frame out; no I/O besides reading the data files.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from transforms.vocab import data_yaml

LINKS_VERSION = "2"  # bump when this code changes which links it finds (the marts' fingerprint holds it)
LINKS_DATA_FILES = ("links.yaml", "policy_abbreviations.yaml")  # under transforms/data/, in the fingerprint too
EVIDENCE_KINDS = ("tfidf", "clause", "entity", "metric", "lead_unit", "lead_function", "unit_name", "heading",
                  "sentence", "project")
CONTENT_KINDS = ("tfidf", "clause", "entity", "metric", "sentence")  # what the two texts themselves say
DETAILS = {"metric": "metrics", "entity": "entities", "clause": "clause_text", "lead_unit": "lead_name",
           "lead_function": "function_code", "unit_name": "unit_core", "project": "via_item_id"}

PAIR_SCHEMA = {
    "jurisdiction": pl.String, "from_doc_id": pl.String, "from_item_id": pl.String, "to_doc_id": pl.String,
    "to_item_id": pl.String, "to_doc_kind": pl.String, "to_item_kind": pl.String, "cosine": pl.Float64,
    **{f"e_{k}": pl.Float64 for k in EVIDENCE_KINDS},
    **{v: pl.String for v in DETAILS.values()},
    "home_of": pl.String,      # for a major-project heading: the task of its notice it belongs to
    "concrete": pl.Boolean,    # the annual item names a project, place or quantity
}
LINK_SCHEMA = {
    "jurisdiction": pl.String, "from_doc_id": pl.String, "from_item_id": pl.String, "to_doc_id": pl.String,
    "to_item_id": pl.String, "to_doc_kind": pl.String, "score": pl.Float64, "strength": pl.String,
    "evidence": pl.String, "rank": pl.Int32, **{f"e_{k}": pl.Float64 for k in EVIDENCE_KINDS},
}

_QUOTE = re.compile(r"[“\"「『]([^”\"」』]{2,40})[”\"」』]")
_RUN_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9\-]")
_SENTENCE = re.compile(r"[。;!?]+")  # (the parser writes ASCII punctuation)
_CLAUSE = re.compile(r"[,,;;。!?!?::()()、]+")
_NOTE = re.compile(r"[((]专栏\s*\d+[))]")  # (专栏3) after a project heading


@dataclass(frozen=True)
class LinkRules:
    generic_re: re.Pattern
    suffix_re: re.Pattern
    boundaries: tuple[str, ...]
    generic_names: frozenset[str]
    project_words_re: re.Pattern
    unit_prefix_re: re.Pattern
    unit_suffix_re: re.Pattern
    entity_max_chars: int
    quote_max_chars: int
    ngram_range: tuple[int, int]
    abbreviation_re: re.Pattern
    abbreviations: dict[str, str]
    weights: dict[str, float]
    thresholds: dict[str, float]


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def rules() -> LinkRules:
    d, a = (data_yaml(f) for f in LINKS_DATA_FILES)
    abbr = {str(k): str(v) for k, v in a["abbreviations"].items()}
    return LinkRules(
        generic_re=re.compile(_alt(d["generic_words"])),
        suffix_re=re.compile(_alt(d["entity_suffixes"])),
        boundaries=tuple(sorted(d["entity_boundaries"], key=len, reverse=True)),
        generic_names=frozenset(d["entity_generic_names"]),
        project_words_re=re.compile(_alt(d["project_words"])),
        unit_prefix_re=re.compile("^(?:" + _alt(d["unit_name_affixes"]["prefixes"]) + ")"),
        unit_suffix_re=re.compile("(?:" + _alt(d["unit_name_affixes"]["suffixes"]) + ")$"),
        entity_max_chars=int(d["entity_max_chars"]),
        quote_max_chars=int(d["quote_max_chars"]),
        ngram_range=tuple(d["tfidf_ngram_range"]),
        abbreviation_re=re.compile(_alt(abbr)),
        abbreviations=abbr,
        weights={k: float(d["weights"].get(k, 0.0)) for k in EVIDENCE_KINDS},
        thresholds={k: float(v) for k, v in d["thresholds"].items()},
    )


def clean_text(text: str | None) -> str:
    """The text compared: generic words and a project heading's (专栏N) replaced by spaces."""
    t = _NOTE.sub(" ", text or "")
    return re.sub(r"\s+", " ", rules().generic_re.sub(" ", t)).strip()


def expand_abbreviations(text: str | None) -> str:
    """Each short form (transforms/data/policy_abbreviations.yaml) with its full form written beside
    it, so that a text saying 国企 and one saying 国有企业 share the words.

    >>> expand_abbreviations("推动国企技改")
    '推动国企 国有企业 技改 技术改造 '
    """
    r = rules()
    return r.abbreviation_re.sub(lambda m: f"{m.group(0)} {r.abbreviations[m.group(0)]} ", text or "")


def entities(text: str | None, exclude: frozenset[str] = frozenset()) -> set[str]:
    """Proper-noun-like spans: quoted terms, and runs ending in a domain suffix (灌区, 大道, 江 …)
    cut after the last verb or function word before the suffix.

    >>> sorted(entities("推进兴隆及泽口灌区续建,实施汉江潜江段“十年禁渔”"))
    ['十年禁渔', '汉江', '汉江潜江', '泽口灌区']
    """
    r = rules()
    text = text or ""
    out: set[str] = set()
    for m in _QUOTE.finditer(text):
        q = m.group(1).strip()
        if 2 <= len(q) <= r.quote_max_chars and clean_text(q) and q not in exclude:
            out.add(q)
    single = {s for s in r.suffix_re.pattern.split("|") if len(s) == 1}
    for m in r.suffix_re.finditer(text):
        start = m.start()
        while start > 0 and m.start() - start < r.entity_max_chars and _RUN_CHAR.match(text[start - 1]):
            start -= 1
        name = text[start:m.start()]
        name = name[max((name.rfind(b) + len(b) for b in r.boundaries if b in name), default=0):]
        # a name is more than digits, generic words or another suffix (河湖 is not a name)
        if (not name or not clean_text(name) or re.fullmatch(r"[\dA-Za-z\-]+", name)
                or not name.strip("".join(single)) or name in r.generic_names):
            continue
        span = name + m.group(0)
        if span not in exclude and name not in exclude:
            out.add(span)
    return out


def metric_families(metrics: list[str | None], codes: list[str | None]) -> set[str]:
    """The measured quantities of an item's numbers: the metric vocabulary entry whose keyword the
    phrase holds (高新技术产业增加值 is one quantity whether stated in 亿元 or as a share of GDP),
    else the code; the generic other_* codes compare nothing. A keyword with a qualifier before it
    is another quantity when the qualifier is a sector (房地产业固定资产投资 is not 固定资产投资).

    >>> sorted(metric_families(["力争高新技术产业增加值", "房地产业固定资产投资"], [None, None]))
    ['high_tech_share_of_gdp']
    """
    from transforms.indicators import vocab

    v = vocab()
    verbs = re.compile("|".join(re.escape(w) for w in sorted(set(v.triggers) | {"力争", "确保", "保证", "实现"},
                                                               key=len, reverse=True)))
    out = set()
    for phrase, code in zip(metrics, codes):
        phrase = phrase or ""
        share = phrase.find("占")  # 研发经费占GDP比重 measures 研发经费, not GDP
        hits = list(v.keyword_re.finditer(phrase[:share] if share > 0 else phrase))
        if hits:
            before = clean_text(verbs.sub(" ", phrase[:hits[-1].start()]))
            if not re.search(r"[\u4e00-\u9fff]业$", before):  # a sector: 房地产业, 工业
                out.add(v.by_keyword[hits[-1].group(0)]["code"])
        elif code and not code.startswith("other"):
            out.add(code)
    return out


def _idf(df: int, n: int) -> float:
    """1 for something in one item, towards 0 for something in every item."""
    return max(0.0, math.log((n + 1) / (df + 1)) / math.log(n + 1)) if n > 0 else 0.0


def _short_names(jurisdiction: str) -> frozenset[str]:
    short = re.sub(r"(市|区|县|省|自治区|自治州|自治县|旗)$", "", jurisdiction or "")
    return frozenset(x for x in {jurisdiction, short} if x)


def annual_targets(documents: pl.DataFrame) -> pl.DataFrame:
    """Pairs (from_doc_id, to_doc_id): each annual notice with the same jurisdiction's five-year
    divisions whose period covers its year, and with its previous annual notices (those of the latest
    earlier year). Not with every earlier one: a decade of annual notices would make pairs grow with
    the square of the notices per jurisdiction (issue 17: a 10,000-notice rebuild spent over ten
    minutes here), and the years link in a chain (2025 -> 2024 -> 2023), so an item's history is
    still followed back year by year."""
    d = documents.select(
        "doc_id", pl.col("jurisdiction").fill_null(""), "doc_kind",
        pl.coalesce("period_year", "period_start").alias("year"), "period_start", "period_end")
    annual = d.filter(pl.col("doc_kind") == "gwr", pl.col("year").is_not_null())
    pairs = annual.join(d, on="jurisdiction", suffix="_to").filter(
        pl.col("jurisdiction") != "",
        pl.col("doc_id") != pl.col("doc_id_to"),
        ((pl.col("doc_kind_to") == "fyp")
         & (pl.col("period_start_to") <= pl.col("year"))
         & (pl.coalesce("period_end_to", "period_start_to") >= pl.col("year")))
        | ((pl.col("doc_kind_to") == "gwr") & (pl.col("year_to") < pl.col("year"))))
    previous = pl.col("year_to").filter(pl.col("doc_kind_to") == "gwr").max().over("doc_id")
    pairs = pairs.filter((pl.col("doc_kind_to") == "fyp") | (pl.col("year_to") == previous))
    return pairs.select("jurisdiction", pl.col("doc_id").alias("from_doc_id"),
                        pl.col("doc_id_to").alias("to_doc_id"), pl.col("doc_kind_to").alias("to_doc_kind"))


def task_links(documents: pl.DataFrame, items: pl.DataFrame, assignments: pl.DataFrame,
               units: pl.DataFrame, indicators: pl.DataFrame,
               weights: dict[str, float] | None = None) -> pl.DataFrame:
    """The links fengong stands behind, one row per (annual item, earlier item); see the module doc.

    documents: doc_id, jurisdiction, doc_kind, period_start, period_end, period_year
    items: doc_id, item_id, item_kind, text, char_start, heading (the title of its section, may be null)
    assignments: doc_id, item_id, role, unit_id (the lead roles are 'lead' and 'overall_lead')
    units: unit_id, name, functions (list of function codes)
    indicators: doc_id, item_id, metric, metric_code
    weights: overrides of the weights in links.yaml (0 switches a kind of evidence off)
    """
    out = [select_links(p, weights) for p in pair_evidence(documents, items, assignments, units, indicators)]
    out = [x for x in out if not x.is_empty()]
    if not out:
        return pl.DataFrame(schema=LINK_SCHEMA)
    return pl.concat(out).sort("from_doc_id", "from_item_id", "rank")


def pair_evidence(documents, items, assignments, units, indicators):
    """Every candidate pair's evidence, one frame per jurisdiction (a generator: a jurisdiction's
    pairs are all in memory at once, never the whole country's)."""
    pairs = annual_targets(documents)
    for (jurisdiction,), jp in pairs.group_by(["jurisdiction"], maintain_order=True):
        docs = sorted(set(jp["from_doc_id"]) | set(jp["to_doc_id"]))
        yield _pairs_of_jurisdiction(
            jurisdiction, jp, items.filter(pl.col("doc_id").is_in(docs)),
            assignments.filter(pl.col("doc_id").is_in(docs)), units,
            indicators.filter(pl.col("doc_id").is_in(docs)))


def select_links(pairs: pl.DataFrame, weights: dict[str, float] | None = None) -> pl.DataFrame:
    """The links among candidate pairs: score, floors, the best few per annual item and target notice,
    then the major-project headings of the best links' tasks; strength and a readable evidence line."""
    r = rules()
    t = r.thresholds
    w = {**r.weights, **(weights or {})}
    if pairs.is_empty():
        return pl.DataFrame(schema=LINK_SCHEMA)
    content = sum(w[k] * pl.col(f"e_{k}") for k in CONTENT_KINDS)
    score = sum(w[k] * pl.col(f"e_{k}") for k in EVIDENCE_KINDS if k != "project")
    p = pairs.with_columns(content.alias("content"), score.alias("score"), pl.lit(0.0).alias("e_project"))
    p = p.filter(pl.col("content") >= t["min_content"], pl.col("score") >= t["score"])
    group = ["from_item_id", "to_doc_id"]
    p = (p.sort("score", "to_item_id", descending=[True, False])
         .with_columns(pl.col("score").max().over(group).alias("best"),
                       pl.int_range(1, pl.len() + 1).over(group).cast(pl.Int32).alias("rank"))
         .filter(pl.col("score") >= t["relative"] * pl.col("best"), pl.col("rank") <= t["max_links"]))
    if w["project"] > 0:
        # a concrete annual item whose best link is a column's own task is an instalment of the column
        heads = pairs.filter(pl.col("home_of").is_not_null()).select(
            "from_item_id", "to_doc_id", "to_item_id", "home_of")
        derived = (p.filter(pl.col("rank") == 1, pl.col("concrete"))
                   .join(heads.rename({"to_item_id": "head_id"}),
                         left_on=["from_item_id", "to_doc_id", "to_item_id"],
                         right_on=["from_item_id", "to_doc_id", "home_of"])
                   .join(p.select("from_item_id", pl.col("to_item_id").alias("head_id")),
                         on=["from_item_id", "head_id"], how="anti"))
        derived = derived.join(
            pairs.select(pl.exclude("home_of", "concrete", "e_project", "via_item_id")).rename(
                {"to_item_id": "head_id"}), on=["from_item_id", "to_doc_id", "head_id"], suffix="_head")
        if not derived.is_empty():
            heads_rows = derived.select(
                *[pl.col(f"{c}_head").alias(c) if f"{c}_head" in derived.columns else pl.col(c)
                  for c in p.columns if c not in ("to_item_id", "via_item_id", "e_project", "score", "rank")],
                pl.col("head_id").alias("to_item_id"), pl.col("to_item_id").alias("via_item_id"),
                pl.lit(1.0).alias("e_project"), (w["project"] * pl.col("score")).alias("score"),
                (pl.col("rank") + 1 + t["max_links"]).cast(pl.Int32).alias("rank"))
            p = pl.concat([p, heads_rows.select(p.columns)])
    if p.is_empty():
        return pl.DataFrame(schema=LINK_SCHEMA)
    p = p.sort("from_item_id", "to_doc_id", "score", descending=[False, False, True]).with_columns(
        pl.int_range(1, pl.len() + 1).over(group).cast(pl.Int32).alias("rank"))
    same = (((w["metric"] > 0) & (pl.col("e_metric") > 0))
            | ((w["clause"] > 0) & (pl.col("e_clause") >= t["same_clause"])
               & (pl.col("clause_text").str.len_chars() >= t["same_clause_chars"])))
    lines = [_evidence_line(row, w) for row in p.iter_rows(named=True)]
    return (p.with_columns(pl.when(same & (pl.col("e_project") == 0)).then(pl.lit("same")).otherwise(pl.lit("step"))
                           .alias("strength"), pl.Series("evidence", lines, dtype=pl.String), pl.col("score").round(4))
            .select(list(LINK_SCHEMA)))


# how each kind of evidence reads in task_links.evidence ({v}: its value, {d}: its detail column)
_EVIDENCE_TEXT = {"tfidf": "text {c:.2f}", "clause": "clause {v:.2f} “{d}”", "entity": "names {d}",
                  "metric": "metric {d}", "lead_unit": "lead {d}", "lead_function": "lead function {d}",
                  "unit_name": "unit named {d}", "heading": "heading {v:.2f}", "sentence": "sentence {v:.2f}",
                  "project": "major-project column of the task {d}"}


def _evidence_line(row: dict, w: dict[str, float]) -> str:
    return "; ".join(_EVIDENCE_TEXT[k].format(v=row[f"e_{k}"], c=row["cosine"], d=row.get(DETAILS.get(k, "")))
                     for k in EVIDENCE_KINDS if row[f"e_{k}"] and w[k])


def _pairs_of_jurisdiction(jurisdiction, pairs, items, assignments, units, indicators) -> pl.DataFrame:
    r = rules()
    t = r.thresholds
    items = items.sort("doc_id", "char_start")
    ids = items["item_id"].to_list()
    docs = items["doc_id"].to_list()
    kinds = items["item_kind"].to_list()
    texts = [x or "" for x in items["text"]]
    cleaned = [clean_text(expand_abbreviations(x)) for x in texts]
    # a heading made of project words (重大工程项目分工, the section of the major-project columns) says
    # no topic: they are cut out like the generic words
    headings = [clean_text(r.project_words_re.sub(" ", x or ""))
                for x in (items["heading"] if "heading" in items.columns else [None] * len(ids))]
    n = len(ids)

    # imported here: scikit-learn takes 1.1 s to import, and a run that links nothing (nothing new, or
    # a run whose links budget is spent) imports this module all the same (warehouse/links.py)
    from sklearn.feature_extraction.text import TfidfVectorizer

    # char_wb pads every word with spaces: the space alone would be a feature of every text, and the
    # more words (generic words cut out leave a space each) the closer any two texts; it is dropped
    vec = TfidfVectorizer(analyzer=_char_wb_grams(r.ngram_range))
    vec.fit([c or " " for c in cleaned])
    tx = vec.transform(cleaned)
    # headings repeat (every item of a section has its section's): each distinct one is read once
    distinct = {h: i for i, h in enumerate(dict.fromkeys(headings))}
    hx = vec.transform(list(distinct))[[distinct[h] for h in headings]]
    # the project headings without their project words (only they are read so: _project_homes)
    projects = [k for k in range(n) if kinds[k] == "project"]
    px = {"rows": {k: i for i, k in enumerate(projects)},
          "matrix": vec.transform([r.project_words_re.sub(" ", cleaned[k]) for k in projects]) if projects else None}

    exclude = _short_names(jurisdiction)
    ents = [entities(x, exclude) for x in texts]
    every = sorted(set().union(*ents)) if ents else []
    holds = {e: np.array([e in x for x in texts]) for e in every}
    ent_idf = {e: _idf(int(h.sum()), n) for e, h in holds.items()}
    sentences = [[c.strip() for c in _SENTENCE.split(x) if len(c.strip()) >= t["clause_min_chars"]] for x in cleaned]
    clauses = [[c.strip() for c in _CLAUSE.split(x) if len(c.strip()) >= t["clause_min_chars"]] for x in cleaned]

    leads: dict[str, set[str]] = {}
    for iid, u in assignments.filter(pl.col("role").is_in(["lead", "overall_lead"]),
                                     pl.col("unit_id").is_not_null()).select("item_id", "unit_id").iter_rows():
        leads.setdefault(iid, set()).add(u)
    fn_of = {u: set(f if f is not None else []) - {"collective"}
             for u, f in zip(units["unit_id"], units["functions"].to_list())}
    collective = {u for u, f in zip(units["unit_id"], units["functions"].to_list()) if f is not None and "collective" in f}
    name_of = dict(zip(units["unit_id"], units["name"]))
    lead_fns = {i: set().union(*(fn_of.get(u, set()) for u in us)) for i, us in leads.items()}
    lead_cores: dict[str, set[str]] = {}
    for iid, u, mention in assignments.filter(
            pl.col("role").is_in(["lead", "overall_lead"]), pl.col("unit_id").is_not_null()).select(
            "item_id", "unit_id", "mention").iter_rows():
        if u not in collective:  # 各区镇街道 says nothing about the task
            for nm in (mention, name_of.get(u)):
                lead_cores.setdefault(iid, set()).update(unit_cores(nm, exclude))
    fams: dict[str, set[str]] = {}
    for (iid,), g in indicators.group_by(["item_id"]):
        fams[iid] = metric_families(g["metric"].to_list(), g["metric_code"].to_list())

    frames = []
    sentence_vectors: dict[str, tuple] = {}  # a target notice's sentences, read once for all its pairs
    for from_doc, to_doc, to_kind in pairs.select("from_doc_id", "to_doc_id", "to_doc_kind").iter_rows():
        ai = [k for k in range(n) if docs[k] == from_doc]
        bi = [k for k in range(n) if docs[k] == to_doc]
        if not ai or not bi:
            continue
        cos = (tx[ai] @ tx[bi].T).toarray()
        best = cos.max(axis=1, keepdims=True)
        rel = np.where(cos >= t["tfidf_floor"], cos / np.maximum(best, 1e-9), 0.0)
        if to_doc not in sentence_vectors:
            sentence_vectors[to_doc] = _sentence_vectors(vec, [sentences[k] for k in bi])
        sent = _sentence_matrix(tx[ai], sentence_vectors[to_doc], t["tfidf_floor"])
        head = (tx[ai] @ hx[bi].T).toarray()
        head = np.where(head >= t["tfidf_floor"], head, 0.0)
        clause, clause_text = _clause_matrix([clauses[k] for k in ai], [clauses[k] for k in bi],
                                             t["clause_floor"])
        ent, ent_text = _entity_matrix(ai, bi, ents, holds, ent_idf)
        met = np.zeros_like(cos)
        met_text = np.full(cos.shape, None, dtype=object)
        for x, a in enumerate(ai):
            for y, b in enumerate(bi):
                common = fams.get(ids[a], set()) & fams.get(ids[b], set())
                if common:
                    met[x, y] = 1.0
                    met_text[x, y] = ",".join(sorted(common))
        lead, lead_text, fn, fn_text = _lead_matrices(ai, bi, ids, leads, lead_fns, name_of, t["lead_rarity_power"])
        uname, uname_text = _unit_name_matrix(ai, bi, ids, texts, lead_cores)
        home = _project_homes(bi, ids, kinds, tx, px, leads, t)
        rows = {
            "from_item_id": [ids[a] for a in ai for _ in bi], "to_item_id": [ids[b] for _ in ai for b in bi],
            "to_item_kind": [kinds[b] for _ in ai for b in bi], "cosine": cos.ravel(),
            "e_tfidf": rel.ravel(), "e_clause": clause.ravel(), "e_entity": ent.ravel(), "e_metric": met.ravel(),
            "e_lead_unit": lead.ravel(), "e_lead_function": fn.ravel(), "e_unit_name": uname.ravel(),
            "e_heading": head.ravel(), "e_sentence": sent.ravel(), "e_project": np.zeros(cos.size), "metrics": met_text.ravel(),
            "entities": ent_text.ravel(), "clause_text": clause_text.ravel(), "lead_name": lead_text.ravel(),
            "function_code": fn_text.ravel(), "unit_core": uname_text.ravel(), "via_item_id": [None] * cos.size,
            "home_of": [home.get(b) for _ in ai for b in bi],
            "concrete": [bool(ents[a] or fams.get(ids[a])) for a in ai for _ in bi],
        }
        f = pl.DataFrame({k: list(v) for k, v in rows.items()}, schema={
            k: PAIR_SCHEMA[k] for k in rows})
        frames.append(f.with_columns(pl.lit(jurisdiction).alias("jurisdiction"), pl.lit(from_doc).alias("from_doc_id"),
                                     pl.lit(to_doc).alias("to_doc_id"), pl.lit(to_kind).alias("to_doc_kind"))
                      .select(list(PAIR_SCHEMA)))
    return pl.concat(frames) if frames else pl.DataFrame(schema=PAIR_SCHEMA)


def _char_wb_grams(ngram_range: tuple[int, int]):
    """scikit-learn's ``char_wb`` analyzer without the lone space, remembering each text's n-grams
    (fit, then transform, read every text twice; sentences are often a whole item's text). The same
    n-grams as ``TfidfVectorizer(analyzer="char_wb").build_analyzer()`` (lowercased, runs of white
    space made one, every word padded with a space, a word shorter than n counted once), in another
    order, which a count does not see; tests/test_links.py compares the two."""
    lo, hi = ngram_range
    seen: dict[str, list[str]] = {}

    def grams(text: str) -> list[str]:
        got = seen.get(text)
        if got is None:
            got = []
            for w in _WHITE_SPACES.sub(" ", text.lower()).split():
                w = f" {w} "
                size = len(w)
                for n in range(lo, hi + 1):
                    if size <= n:  # the whole padded word, once, and no longer n-grams
                        got.append(w)
                        break
                    got.extend(w[i:i + n] for i in range(size - n + 1))
            got = seen[text] = [g for g in got if g.strip()]
        return got

    return grams


_WHITE_SPACES = re.compile(r"\s\s+")


def _sentence_vectors(vec, b_sentences) -> tuple:
    """The TF-IDF vectors of a target notice's sentences, and which item each run of them belongs to."""
    segments = [(y, len(s)) for y, s in enumerate(b_sentences) if s]
    matrix = vec.transform([c for s in b_sentences for c in s]) if segments else None
    return len(b_sentences), segments, matrix


def _sentence_matrix(ax, b_vectors, floor):
    """For every (annual item, target item): the TF-IDF cosine of the annual item with the target's
    closest sentence, divided by the annual item's best (a plan task holds several commitments, one
    sentence each, and an annual item carries out one of them: the whole task's vector dilutes it)."""
    n_targets, segments, matrix = b_vectors
    sent = np.zeros((ax.shape[0], n_targets))
    if not segments:
        return sent
    sc = (ax @ matrix.T).toarray()
    starts = np.cumsum([0] + [k for _, k in segments[:-1]])
    sent[:, [y for y, _ in segments]] = np.maximum.reduceat(sc, starts, axis=1)
    best = sent.max(axis=1, keepdims=True)
    return np.where(sent >= floor, sent / np.maximum(best, 1e-9), 0.0)


def _clause_matrix(a_clauses, b_clauses, floor):
    """For every (annual item, target item): the best clause similarity (0-1) and the clause."""
    best = np.zeros((len(a_clauses), len(b_clauses)))
    text = np.full(best.shape, None, dtype=object)
    flat_a = [(x, c) for x, cs in enumerate(a_clauses) for c in cs]
    flat_b = [(y, c) for y, cs in enumerate(b_clauses) for c in cs]
    if not flat_a or not flat_b:
        return best, text
    m = process.cdist([c for _, c in flat_a], [c for _, c in flat_b], scorer=fuzz.ratio,
                      score_cutoff=int(floor * 100))
    for k, j in zip(*np.nonzero(m)):
        x, y = flat_a[k][0], flat_b[j][0]
        s = m[k, j] / 100.0
        if s > best[x, y]:
            best[x, y] = s
            text[x, y] = min(flat_a[k][1], flat_b[j][1], key=len)
    return best, text


def _entity_matrix(ai, bi, ents, holds, ent_idf):
    """A name one item holds found in the other, weighted by its rarity."""
    m = np.zeros((len(ai), len(bi)))
    text = np.full(m.shape, None, dtype=object)
    names = sorted(set().union(*(ents[k] for k in ai + bi)), key=lambda e: -ent_idf[e])
    for e in names:
        ha, hb = holds[e][ai], holds[e][bi]
        if not ha.any() or not hb.any():
            continue
        both = np.outer(ha, hb)
        newer = both & (m < ent_idf[e])
        m[newer] = ent_idf[e]
        for x, y in zip(*np.nonzero(both)):
            text[x, y] = e if text[x, y] is None else text[x, y] + "、" + e
    return m, text


def _lead_matrices(ai, bi, ids, leads, lead_fns, name_of, power):
    """A lead unit both share, weighted by how few of the target notice's items it leads (to the
    power `lead_rarity_power`: a unit that leads a tenth of the plan says little); else a function
    of their lead units, weighted the same way."""
    nb = len(bi)
    unit_n: dict[str, int] = {}
    fn_n: dict[str, int] = {}
    for b in bi:
        for u in leads.get(ids[b], ()):
            unit_n[u] = unit_n.get(u, 0) + 1
        for f in lead_fns.get(ids[b], ()):
            fn_n[f] = fn_n.get(f, 0) + 1
    lead = np.zeros((len(ai), nb))
    fn = np.zeros_like(lead)
    lead_text = np.full(lead.shape, None, dtype=object)
    fn_text = np.full(lead.shape, None, dtype=object)
    for x, a in enumerate(ai):
        la, fa = leads.get(ids[a], set()), lead_fns.get(ids[a], set())
        if not la:
            continue
        for y, b in enumerate(bi):
            common = la & leads.get(ids[b], set())
            if common:
                u = min(common, key=lambda u: (unit_n[u], u))
                lead[x, y] = _idf(unit_n[u], nb) ** power
                lead_text[x, y] = name_of.get(u, u)
                continue
            fns = fa & lead_fns.get(ids[b], set())
            if fns:
                f = min(fns, key=lambda f: (fn_n[f], f))
                fn[x, y] = _idf(fn_n[f], nb) ** power
                fn_text[x, y] = f
    return lead, lead_text, fn, fn_text


def _project_homes(bi, ids, kinds, tx, px, leads, t) -> dict[int, str]:
    """Each major-project heading (item_kind 'project') of a notice -> the task of that notice its
    words are closest to, a shared lead unit counting half as much again; none when nothing is close.
    px: the project headings' vectors without their project words (rows: item index -> matrix row)."""
    tasks = [b for b in bi if kinds[b] not in ("project", "indicator")]
    heads = [b for b in bi if kinds[b] == "project"]
    if not tasks or not heads:
        return {}
    sim = (px["matrix"][[px["rows"][b] for b in heads]] @ tx[tasks].T).toarray()
    home = {}
    for h, b in enumerate(heads):
        bonus = np.array([0.5 * bool(leads.get(ids[b], set()) & leads.get(ids[z], set())) for z in tasks])
        score = sim[h] * (1 + bonus)
        if score.max() >= t["project_home"]:
            home[b] = ids[tasks[int(np.argmax(score))]]
    return home


def unit_cores(name: str | None, exclude: frozenset[str] = frozenset()) -> set[str]:
    """The parts of a unit's name that say what it does: 市国资委 -> {国资}, 市供销社 -> {供销},
    市水利和湖泊局 -> {水利, 湖泊} (prefixes and suffixes in links.yaml unit_name_affixes; the
    jurisdiction's own name and generic words are no core).

    >>> sorted(unit_cores("市小龙虾产业发展促进中心"))
    ['小龙虾产业']
    """
    r = rules()
    core = name or ""
    for x in sorted(exclude, key=len, reverse=True):
        core = core.replace(x, "")
    core = r.unit_prefix_re.sub("", core, count=1)
    while len(shorter := r.unit_suffix_re.sub("", core)) >= 2 and shorter != core:
        core = shorter
    return {c for c in re.split(r"[和与及、]", core) if len(c) >= 2 and clean_text(c) == c}


def _unit_name_matrix(ai, bi, ids, texts, lead_cores):
    """The core of a lead unit of the annual item written in the target item's text, weighted by how
    few of the target notice's items hold that core. (The other way round, a plan's unit named in an
    annual item, matched too much by chance: 供销 of 市供销社 in 产供销.)"""
    m = np.zeros((len(ai), len(bi)))
    text = np.full(m.shape, None, dtype=object)
    held = {}
    for x, a in enumerate(ai):
        for core in lead_cores.get(ids[a], ()):
            if core not in held:
                held[core] = np.array([core in texts[b] for b in bi])
            h = held[core]
            if h.any():
                v = _idf(int(h.sum()), len(bi))
                better = h & (m[x] < v)
                m[x, better] = v
                text[x, better] = core
    return m, text
