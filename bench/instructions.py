"""CPU instructions per notice of the parse step (or parse + validate), counted by valgrind's callgrind:
a figure the load of a shared machine does not move, to measure an optimisation before and after.

    python bench/instructions.py --set corpus --docs 20           # 20 corpus notices, parse_document
    python bench/instructions.py --set real                       # the real notices: raw/ seeds + realset
    python bench/instructions.py --set corpus --step batch        # parsed_batch + validated_batch, one batch
    python bench/instructions.py --set real --inner --repeat 20   # no valgrind: the loop itself (to profile it)

Each count is two runs under callgrind with PYTHONHASHSEED=0: import, warm up on one notice (the first
corpus notice, for every set), then parse K notices, minus the same run with K=0; divided by K. The
corpus is bench/corpus/s7-n1000 (bench/make_corpus.py --seed 7 --docs 1000) or --corpus DIR.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT / "bench" / "corpus" / "s7-n1000"
REAL_DIRS = (ROOT / "raw", ROOT / "tests" / "realset" / "raw")


def _paths(which: str, corpus: Path, k: int | None) -> list[Path]:
    if which == "corpus":
        paths = sorted((corpus / "raw").iterdir())[1:]  # the first one is the warm-up
    else:
        paths = [p for d in REAL_DIRS for p in sorted(d.iterdir()) if p.is_file()]
    return paths if k is None else paths[:k]


def inner(which: str, corpus: Path, k: int | None, step: str, repeat: int) -> None:
    from transforms import vocab
    from transforms.batch import SourceFile, parsed_batch
    from transforms.document import parse_document
    from validation.batch import validated_batch

    reviewed = vocab.read_reviewed(vocab.REVIEWED_ALIASES)
    warm = sorted((corpus / "raw").iterdir())[0]
    files = [SourceFile(p, p.name, p.read_bytes()) for p in [warm] + _paths(which, corpus, k)]

    def run(fs):
        if step == "parse":
            for f in fs:
                parse_document(f.data, f.name, reviewed=reviewed)
        else:
            validated_batch(parsed_batch(fs, reviewed))

    run(files[:1])
    t = time.process_time()
    for _ in range(repeat):
        if len(files) > 1:
            run(files[1:])
    if repeat > 1 or os.environ.get("FENGONG_BENCH_TIME"):
        n = (len(files) - 1) * repeat
        print(f"{n} parses: {(time.process_time() - t) / max(n, 1) * 1000:.2f} CPU ms per notice", file=sys.stderr)


def callgrind(which: str, corpus: Path, k: int, step: str) -> int:
    with tempfile.TemporaryDirectory() as d:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={d}/cg.out", sys.executable,
               str(Path(__file__).resolve()), "--inner", "--set", which, "--corpus", str(corpus),
               "--docs", str(k), "--step", step]
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode or not m:
        raise RuntimeError(r.stderr[-3000:])
    return int(m[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="corpus", help="corpus, real, or both: corpus,real")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--docs", type=int, help="K notices (default: 20 of the corpus, every real one)")
    ap.add_argument("--step", choices=("parse", "batch"), default="parse")
    ap.add_argument("--inner", action="store_true", help="run the loop in this process, no valgrind")
    ap.add_argument("--repeat", type=int, default=1, help="with --inner: passes over the K notices")
    args = ap.parse_args(argv)
    sets = args.set.split(",")
    if any(x not in ("corpus", "real") for x in sets):
        ap.error(f"--set: corpus, real or corpus,real, not {args.set}")
    docs = lambda which: args.docs if args.docs is not None else (20 if which == "corpus" else None)  # noqa: E731
    if args.inner:
        inner(sets[0], args.corpus, docs(sets[0]), args.step, args.repeat)
        return 0
    base = callgrind(sets[0], args.corpus, 0, args.step)  # K=0: the same run for every set
    for which in sets:
        n = len(_paths(which, args.corpus, docs(which)))
        full = callgrind(which, args.corpus, n, args.step)
        print(f"{which} {args.step}: {n} notices: {(full - base) / n / 1e6:.1f} M instructions per notice "
              f"(total {full / 1e6:.0f} M, import and warm-up {base / 1e6:.0f} M)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
