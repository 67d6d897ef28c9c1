"""Score the parser on the real notices of the realset in a few seconds, with the realset's own scorer.

    .venv/bin/python -m tests.realset_score                 # the by-doc table, the summary, the floor
    .venv/bin/python -m tests.realset_score --raise-floor   # then raise tests/realset_floor.json
    .venv/bin/python -m tests.realset_score --mismatches    # also score.py's list of mismatches

`build_warehouse` parses every file of the realset's raw/ the way the flow does
(transforms.batch.parsed_batch, validation.batch.validated_batch: the same quarantine), without Prefect, and writes the accepted
documents' frames into a DuckDB file holding only the tables score.py reads. `score` runs the
realset's own score.py on a warehouse (never a copy of its rules) and parses what it prints.

The realset is tests/realset/ (a byte copy of the shared one, see PROVENANCE.md), or the folder
that $FENGONG_REALSET names (with raw/, gold.json and score.py in it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENDORED = HERE / "realset"
FLOOR_FILE = HERE / "realset_floor.json"
SCORED_TABLES = ("documents", "items", "assignments", "leaders", "indicators")

SUMMARY = re.compile(r"items exact (\d+)/(\d+); unit-role F1 ([\d.]+) \(P ([\d.]+) R ([\d.]+)\); "
                     r"counts (\d+)/(\d+); metadata (\d+)/(\d+)$")
BY_DOC = re.compile(r"^  (\S+) (.+?)\s+(loaded|NOT LOADED)\s+items exact (\d+)/(\d+)$")


def realset_dir() -> Path:
    """$FENGONG_REALSET if set, else the vendored tests/realset."""
    folder = Path(os.environ.get("FENGONG_REALSET") or VENDORED).resolve()
    missing = [n for n in ("raw", "gold.json", "score.py") if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"realset folder {folder} lacks {', '.join(missing)} (FENGONG_REALSET="
                                f"{os.environ.get('FENGONG_REALSET')!r})")
    return folder


def build_warehouse(raw_dir: str | Path, path: str | Path) -> list[dict]:
    """Parse every file under raw_dir as the flow does and write the accepted documents into the
    DuckDB file `path` (tables documents, items, assignments, leaders, indicators). Returns the
    quarantine rows (source_file, stage, reason, …) of the files that were not accepted."""
    import duckdb
    import polars as pl

    from transforms.batch import SourceFile, parsed_batch
    from validation.batch import concat_frames, validated_batch
    from warehouse import inbox
    from transforms import vocab

    raw_dir = Path(raw_dir)
    files = inbox.read_files(inbox.discover(raw_dir), raw_dir)
    result = validated_batch(parsed_batch(files, vocab.read_reviewed(vocab.REVIEWED_ALIASES)))
    con = duckdb.connect(str(path))
    try:
        if not result.parsed:  # nothing accepted: the warehouse's own DDL gives the empty tables
            from warehouse.load import ensure_schema

            ensure_schema(con)
            return result.quarantined
        frames = concat_frames(result.parsed)
        for table in SCORED_TABLES:
            frame = frames[table]
            if table == "documents":
                frame = frame.with_columns(pl.col("published_on").cast(pl.Date))
            con.register("frame", frame.to_arrow())
            try:
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
            finally:
                con.unregister("frame")
    finally:
        con.close()
    return result.quarantined


def score(path: str | Path, realset: Path | None = None, mismatches: bool = False) -> dict:
    """Run the realset's score.py on the warehouse at `path` (`--quiet --by-doc`, or without
    --quiet when `mismatches`) and return its figures:
    line (the summary line as printed), items_exact, items_total, f1, precision, recall, counts,
    metadata, not_loaded, docs (one dict per by-doc line), table (the by-doc lines), mismatches."""
    realset = realset or realset_dir()
    cmd = [sys.executable, str(realset / "score.py"), str(path), str(realset / "gold.json"), "--by-doc"]
    r = subprocess.run(cmd + ([] if mismatches else ["--quiet"]), capture_output=True, text=True,
                       encoding="utf-8", timeout=300)
    lines = r.stdout.splitlines()
    m = SUMMARY.search(lines[-1]) if lines else None
    if r.returncode not in (0, 1) or not m:  # score.py exits 1 whenever anything is off: that is normal
        raise RuntimeError(f"score.py failed (exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    files = {k: g["file"] for k, g in json.loads((realset / "gold.json").read_text(encoding="utf-8"))["docs"].items()}
    docs = []
    for line in lines[:-1]:
        d = BY_DOC.match(line)
        if d:  # score.py prints the first 48 characters of a name: the whole one is in gold.json
            docs.append({"key": d[1], "file": files.get(d[1], d[2]), "loaded": d[3] == "loaded",
                         "exact": int(d[4]), "total": int(d[5]), "line": line})
    return {
        "line": lines[-1], "items_exact": int(m[1]), "items_total": int(m[2]), "f1": float(m[3]),
        "precision": float(m[4]), "recall": float(m[5]), "counts": (int(m[6]), int(m[7])),
        "metadata": (int(m[8]), int(m[9])), "not_loaded": sum(not d["loaded"] for d in docs), "docs": docs,
        "table": "\n".join(d["line"] for d in docs),
        "mismatches": [x for x in lines if x.startswith("  x ")],
    }


def measure(realset: Path | None = None, keep: str | Path | None = None, mismatches: bool = False) -> dict:
    """Build the realset in process (into `keep`, or a temporary file) and score it: score()'s dict
    plus quarantined (the quarantine rows), seconds_build and seconds_score."""
    realset = realset or realset_dir()
    with tempfile.TemporaryDirectory(prefix="realset-") as tmp:
        path = Path(keep) if keep else Path(tmp) / "realset.duckdb"
        if keep:
            path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        quarantined = build_warehouse(realset / "raw", path)
        t1 = time.perf_counter()
        out = score(path, realset, mismatches)
        out.update(quarantined=quarantined, seconds_build=t1 - t0, seconds_score=time.perf_counter() - t1,
                   realset=str(realset))
    return out


def table(figures: dict) -> str:
    """score.py's by-doc lines, each notice that was not loaded followed by why it was quarantined."""
    why = {q["source_file"]: q for q in figures.get("quarantined", [])}
    out = []
    for d in figures["docs"]:
        out.append(d["line"])
        q = why.get(d["file"]) if not d["loaded"] else None
        if q:
            reason = q["reason"].split(": ", 1)[-1] if q["reason"].startswith(q["source_file"]) else q["reason"]
            out.append(f"        [{q['stage']}] {reason[:160]}")
    return "\n".join(out)


def read_floor(path: Path = FLOOR_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def below_floor(figures: dict, floor: dict) -> list[str]:
    """What falls short of the floor, one sentence each; empty when the floor holds."""
    short = []
    if figures["items_exact"] < floor["items_exact"]:
        short.append(f"items exact {figures['items_exact']} < floor {floor['items_exact']}")
    if figures["f1"] < floor["f1"]:
        short.append(f"unit-role F1 {figures['f1']:.3f} < floor {floor['f1']:.3f}")
    if len(figures["quarantined"]) > floor["quarantined_max"]:
        short.append(f"{len(figures['quarantined'])} notices quarantined > floor's maximum {floor['quarantined_max']}")
    return short


def raised_floor(figures: dict, floor: dict) -> dict:
    """The floor with each figure the build beats moved up to it; no figure is ever lowered."""
    return {**floor, "items_exact": max(floor["items_exact"], figures["items_exact"]),
            "f1": max(floor["f1"], figures["f1"]),
            "quarantined_max": min(floor["quarantined_max"], len(figures["quarantined"]))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.realset_score", description=__doc__.split("\n\n")[0])
    ap.add_argument("--raise-floor", action="store_true",
                    help=f"raise {FLOOR_FILE.relative_to(ROOT)} to the current figures where they are higher "
                         "(never lowers it)")
    ap.add_argument("--mismatches", action="store_true", help="also print score.py's mismatches (up to 60)")
    ap.add_argument("--keep", metavar="FILE", help="build the DuckDB file here and keep it (default: a temporary one)")
    args = ap.parse_args(argv)

    figures = measure(keep=args.keep, mismatches=args.mismatches)
    for line in figures["mismatches"]:
        print(line)
    print(table(figures))
    print(figures["line"])
    print(f"{len(figures['quarantined'])} of {len(figures['docs'])} notices quarantined; "
          f"built in {figures['seconds_build']:.1f}s, scored in {figures['seconds_score']:.1f}s "
          f"(realset {figures['realset']})")
    floor = read_floor()
    short = below_floor(figures, floor)
    print(f"floor ({FLOOR_FILE.relative_to(ROOT)}): items exact {floor['items_exact']}, F1 {floor['f1']:.3f}, "
          f"at most {floor['quarantined_max']} quarantined: " + ("; ".join(short) if short else "holds"))
    if args.raise_floor:
        new = raised_floor(figures, floor)
        if new != floor:
            FLOOR_FILE.write_text(json.dumps(new, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            print(f"floor raised: items exact {new['items_exact']}, F1 {new['f1']:.3f}, "
                  f"at most {new['quarantined_max']} quarantined")
        else:
            print("floor unchanged: nothing rose above it")
    return 1 if short else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run as a script (python tests/realset_score.py) too
    sys.exit(main())
