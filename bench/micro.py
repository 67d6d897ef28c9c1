"""Quick single-process timings of one stage, to measure an optimisation before and after.

    python bench/micro.py parse    --corpus bench/corpus/s7-n1000 [--docs 200]   ms per notice
    python bench/micro.py validate --corpus … [--docs 100]   the validate step of one batch (validation.batch)
    python bench/micro.py load     --corpus … [--docs 1000]  parse, then load into a fresh DuckDB file, by batch

Each prints one line: the best of --repeat runs, in CPU seconds of this process (time.process_time,
which other users of a shared machine disturb less than wall time; DuckDB's and polars' threads
count too) and in wall seconds.
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

from transforms.batch import SourceFile, parsed_batch  # noqa: E402
from validation.batch import validated_batch  # noqa: E402
from warehouse import inbox  # noqa: E402
from transforms import vocab  # noqa: E402
from transforms.document import parse_document  # noqa: E402


def _files(corpus: Path, n: int) -> list[SourceFile]:
    raw = corpus / "raw"
    return inbox.read_files(inbox.discover(raw)[:n], raw)


class Clock:
    """CPU and wall seconds of a block."""

    def __enter__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def parse(files, reviewed) -> Clock:
    with Clock() as c:
        for f in files:
            parse_document(f.data, f.name, reviewed=reviewed)
    return c


def validate(files, reviewed) -> Clock:
    """Seconds of the validate step of a batch (contracts, rejected rows, quarantine)."""
    parsing = parse(files, reviewed)
    with Clock() as c:
        r = validated_batch(parsed_batch(files, reviewed))
    assert not r.quarantined, r.quarantined[:1]
    c.cpu, c.wall = c.cpu - parsing.cpu, c.wall - parsing.wall
    return c


def load(files, reviewed, batch: int = 100) -> Clock:
    from warehouse import load as wh

    parsed = [parse_document(f.data, f.name, reviewed=reviewed) for f in files]
    with tempfile.TemporaryDirectory() as d:
        con = wh.connect(Path(d) / "w.duckdb")
        with Clock() as c:
            for k in range(0, len(parsed), batch):
                assert wh.load_documents(con, parsed[k:k + batch]) == []
        con.close()
    return c


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
    runs = [fn(files, reviewed) for _ in range(args.repeat)]
    cpu, wall = min(r.cpu for r in runs), min(r.wall for r in runs)
    print(f"{args.stage}: {len(files)} notices: {cpu / len(files) * 1000:.1f} CPU ms, {wall / len(files) * 1000:.1f} "
          f"wall ms per notice (best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
