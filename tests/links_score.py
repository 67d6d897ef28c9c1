"""Task links against the hand labels of the 潜江 rows: precision, recall, and what each kind of
evidence contributes, on two sets of rows:

* ``fitted``: rows 2, 5, 8, … (tests/expected/qianjiang_task_links.yaml), the rows the weights were
  chosen on;
* ``heldout``: rows 3, 6, 9, … (tests/expected/qianjiang_task_links_heldout.yaml), never used to choose
  a weight or a rule: the honest figure.

    .venv/bin/python -m tests.links_score          # the table README.md quotes
    .venv/bin/python -m tests.links_score --links  # every predicted link on a labelled row, marked

Precision: a predicted link (from a labelled 2023 row to the five-year notice) is wrong when no label,
primary or secondary, supports it. Recall: the share of primary labels predicted.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import polars as pl
import yaml

from transforms import links as tl

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"fitted": Path(__file__).parent / "expected" / "qianjiang_task_links.yaml",
          "heldout": Path(__file__).parent / "expected" / "qianjiang_task_links_heldout.yaml"}
SEEDS = ("000_44ac6d9eff02a8d1.txt", "003_c26dbfc0c5ce5eed.txt")  # 潜江 fyp 2021-2025, gwr 2023


@lru_cache(maxsize=None)
def labels(which: str = "fitted") -> dict:
    return yaml.safe_load(LABELS[which].read_text(encoding="utf-8"))


def frames_from_parsed(docs) -> dict[str, pl.DataFrame]:
    """transforms.links inputs from parsed documents (transforms.document.parse_document results)."""
    cat = lambda name: pl.concat([d.frames[name] for d in docs], how="diagonal_relaxed")  # noqa: E731
    sections = cat("sections").select("doc_id", "section_id", pl.col("title").alias("heading"))
    items = cat("items").join(sections, on=["doc_id", "section_id"], how="left")
    return {"documents": cat("documents"), "items": items, "assignments": cat("assignments"),
            "units": cat("units").unique("unit_id", keep="first"), "indicators": cat("indicators")}


@lru_cache(maxsize=1)
def qianjiang_frames() -> dict[str, pl.DataFrame]:
    from transforms.document import parse_document

    return frames_from_parsed([parse_document((ROOT / "raw" / s).read_bytes(), s) for s in SEEDS])


def score(links: pl.DataFrame, which: str = "fitted") -> dict:
    """Precision and recall of `links` on one set of labelled rows (``fitted`` or ``heldout``)."""
    lab = labels(which)
    rows = {r["item_id"]: r for r in lab["rows"]}
    pred = links.filter(pl.col("from_item_id").is_in(list(rows)), pl.col("to_doc_id") == lab["to_doc_id"])
    ok = fp = 0
    for a, b in pred.select("from_item_id", "to_item_id").iter_rows():
        good = {x["item_id"] for x in rows[a]["primary"] + rows[a]["secondary"]}
        ok, fp = (ok + 1, fp) if b in good else (ok, fp + 1)
    predicted = set(pred.select("from_item_id", "to_item_id").iter_rows())
    primary = {(a, x["item_id"]) for a, r in rows.items() for x in r["primary"]}
    hit = len(primary & predicted)
    return {"predicted": ok + fp, "wrong": fp, "precision": ok / (ok + fp) if ok + fp else 1.0,
            "primary": len(primary), "found": hit, "recall": hit / len(primary) if primary else 1.0}


@lru_cache(maxsize=1)
def qianjiang_pairs() -> pl.DataFrame:
    """Every candidate pair's evidence (computed once; the ablations only re-weigh it)."""
    f = qianjiang_frames()
    return pl.concat(tl.pair_evidence(f["documents"], f["items"], f["assignments"], f["units"], f["indicators"]))


def predict(weights: dict | None = None) -> pl.DataFrame:
    return tl.select_links(qianjiang_pairs(), weights)


def tfidf_top2() -> pl.DataFrame:
    """The issue's baseline: TF-IDF cosine alone, the two closest five-year items per annual item."""
    return (qianjiang_pairs().sort("cosine", "to_item_id", descending=[True, False])
            .group_by("from_item_id", "to_doc_id", maintain_order=True).head(2))


TEXT = ("tfidf", "sentence")  # the text similarity, whole item and closest sentence


def ablation() -> list[tuple[str, dict, dict]]:
    """All evidence; without each kind; the text (tfidf + sentence) with one other kind; the
    baseline; each scored on the fitted and the held-out rows."""
    w = tl.rules().weights
    runs = [("all evidence", predict())]
    runs += [(f"without {k}", predict({k: 0.0})) for k in tl.EVIDENCE_KINDS if w[k]]
    for k in tl.EVIDENCE_KINDS:
        if k not in TEXT:
            only = {j: (w[j] if j in (*TEXT, k) else 0.0) for j in tl.EVIDENCE_KINDS}
            runs.append((f"text + {k}" + ("" if w[k] else " (0.1)"), predict(only | ({} if w[k] else {k: 0.1}))))
    runs.append(("all + lead_function 0.1", predict({"lead_function": 0.1})))
    runs.append(("baseline: cosine top-2", tfidf_top2()))
    return [(name, score(links, "fitted"), score(links, "heldout")) for name, links in runs]


def main(argv: list[str]) -> int:
    if "--links" in argv:
        links = predict().sort("from_item_id", "rank")
        for which in LABELS:
            lab = {r["item_id"]: r for r in labels(which)["rows"]}
            for r in links.filter(pl.col("from_item_id").is_in(list(lab))).iter_rows(named=True):
                row = lab[r["from_item_id"]]
                mark = ("P" if r["to_item_id"] in {x["item_id"] for x in row["primary"]}
                        else "s" if r["to_item_id"] in {x["item_id"] for x in row["secondary"]} else "X")
                print(f"{which:<7} {mark} row {row['row']:>3} -> {r['to_item_id'][-4:]} {r['score']:.2f} "
                      f"{r['strength']:<4} {r['evidence']}")
        return 0
    cols = f"{'links':>5} {'wrong':>5} {'P':>5} {'found':>7} {'R':>5}"
    print(f"{'':<24} {'fitted (rows 2, 5, 8, …)':<31} | held-out (rows 3, 6, 9, …)")
    print(f"{'evidence':<24} {cols} | {cols}")
    for name, *sets in ablation():
        print(f"{name:<24} " + " | ".join(
            f"{s['predicted']:>5} {s['wrong']:>5} {s['precision']:>5.2f} {s['found']:>3}/{s['primary']:<3} "
            f"{s['recall']:>5.2f}" for s in sets))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
