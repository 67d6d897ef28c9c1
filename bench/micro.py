"""Quick single-process timings of one stage, to measure an optimisation before and after.

    python bench/micro.py parse    --corpus bench/corpus/s7-n1000 [--docs 200]   ms per notice
    python bench/micro.py validate --corpus … [--docs 100]   parse_and_validate of one batch, minus parse
    python bench/micro.py load     --corpus … [--docs 1000]  parse, then load into a fresh DuckDB file, by batch

Each prints one line: the best of --repeat runs, in CPU seconds of this process (time.process_time),
which other users of a shared machine disturb less than wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flows import steps  # noqa: E402
from transforms import vocab  # noqa: E402
from transforms.document import parse_document  # noqa: E402


def _files(corpus: Path, n: int) -> list[steps.SourceFile]:
    raw = corpus / "raw"
    return steps.read_files(steps.discover(raw)[:n], raw)


def parse(files, reviewed) -> float:
    t0 = time.process_time()
    for f in files:
        parse_document(f.data, f.name, reviewed=reviewed)
    return time.process_time() - t0


def validate(files, reviewed) -> float:
    """Seconds of parse_and_validate beyond parsing (the batch's validation and quarantine checks)."""
    t0 = time.process_time()
    for f in files:
        parse_document(f.data, f.name, reviewed=reviewed)
    parsing = time.process_time() - t0
    t0 = time.process_time()
    r = steps.parse_and_validate(files, reviewed)
    assert not r.quarantined, r.quarantined[:1]
    return time.process_time() - t0 - parsing


def load(files, reviewed, batch: int = 100) -> float:
    from warehouse import load as wh

    parsed = [parse_document(f.data, f.name, reviewed=reviewed) for f in files]
    with tempfile.TemporaryDirectory() as d:
        con = wh.connect(Path(d) / "w.duckdb")
        t0 = time.process_time()
        for k in range(0, len(parsed), batch):
            assert wh.load_documents(con, parsed[k:k + batch]) == []
        seconds = time.process_time() - t0
        con.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Single-process timing of one stage.")
    ap.add_argument("stage", choices=("parse", "validate", "load"))
    ap.add_argument("--corpus", type=Path, default=ROOT / "bench" / "corpus" / "s7-n1000")
    ap.add_argument("--docs", type=int)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n = args.docs or {"parse": 200, "validate": 100, "load": 1000}[args.stage]
    files = _files(args.corpus, n)
    reviewed = vocab.read_reviewed(vocab.REVIEWED_ALIASES)
    parse_document(files[0].data, files[0].name, reviewed=reviewed)  # warm caches
    fn = {"parse": parse, "validate": validate, "load": load}[args.stage]
    best = min(fn(files, reviewed) for _ in range(args.repeat))
    print(f"{args.stage}: {len(files)} notices in {best:.2f} CPU s = {best / len(files) * 1000:.1f} ms per notice "
          f"(best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
