"""The reviewer's file: every unit name fengong could not resolve, with context and candidates.

A reviewer records a decision by adding a row to transforms/data/reviewed_aliases.csv
(jurisdiction, alias, canonical, functions, note); the next run applies it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from rapidfuzz import fuzz, process

from transforms import vocab

COLUMNS = ["jurisdiction", "mention", "candidates", "context", "source_file", "doc_id", "item_id"]


def candidates(mention: str, known: list[str], limit: int = 3) -> str:
    """Best-scoring known names: suggestions for a reviewer, never applied automatically."""
    hits = process.extract(mention, known, scorer=fuzz.WRatio, limit=limit)
    return "; ".join(f"{name} ({score:.0f})" for name, score, _ in hits if score >= 50)


def write_review_file(path: Path, rows: list[dict], known_by_jurisdiction: dict[str, list[str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    generic = sorted({a.canonical for a in vocab.aliases().values()})
    seen = set()
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            key = (r["jurisdiction"], r["mention"])
            if key in seen:
                continue
            seen.add(key)
            known = known_by_jurisdiction.get(r["jurisdiction"], []) + generic
            w.writerow({**{k: r.get(k) for k in COLUMNS}, "candidates": candidates(r["mention"], known)})
    return len(seen)
