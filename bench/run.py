"""The fengong benchmark: a fresh warehouse from N synthetic notices, end to end, against goals.

    .venv/bin/python bench/run.py --docs 1000            # generates bench/corpus/s7-n1000 if missing

In one run it measures, and writes to bench/out/results-n{N}.json and .md:

1. the floor: reading the same files (decoded) and scanning them with one compiled regex for
   item starts and role labels, in one process;
2. `fengong run` as the CLI runs it (bench/flow_timings.py), in a subprocess: wall time,
   documents/s and MB/s, peak RSS of the process tree (sampled every 50 ms, pool workers
   included), and time per step: read, parse, validate (pandera), load (DuckDB), finalise
   (review file, coverage, run log), and orchestration (the flow call minus the union of the
   steps' intervals: Prefect's start, task submission, result transfer, teardown);
3. a single-process breakdown of parse on a sample (decode/normalise, metadata, outline, roles,
   mentions, unit resolution, indicators, quality checks, frames);
4. `fengong quality` on the warehouse (the Great Expectations suite), timed on its own;
5. F1 of items, assignments and leaders against the generator's truth (bench/score.py);
6. the README's analyst queries (bench/queries.py), median of several runs;
7. one new notice into the N-notice warehouse: parse + validate + load directly, and by a running
   `fengong serve` on the whole raw folder plus the new notice (bench/serve_incremental.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import make_corpus  # noqa: E402
import queries  # noqa: E402
import score  # noqa: E402
import serve_incremental  # noqa: E402

PYTHON = sys.executable
# issue 17's table: a full rebuild of 10,000 notices in 60 s (50,000 in 300 s), and so on
GOALS = {"seconds_10k": 60.0, "seconds_50k": 300.0, "rss_gb": 1.5, "orchestration_share": 0.10, "floor_ratio": 15.0,
         "parse_ms": 8.0, "load_rows_s": 1e6, "incremental_s": 1.5, "nothing_to_do_s": 3.0, "force_growth": 0.10,
         "query_ms": 200.0}

# One regex for the floor: item starts (1. / (一) / 一、 / —— at a line start) and role labels.
FLOOR_RE = re.compile(
    r"^[ \t]*(?:\d{1,3}[.、．]|[((][一二三四五六七八九十]{1,3}[))]|[一二三四五六七八九十]{1,3}、|——)"
    r"|总?牵头单位|牵头部门|责任单位|责任部门|协办单位|配合单位|责任领导", re.M)


# ---------------------------------------------------------------------------------------------
def ensure_corpus(seed: int, docs: int, root: Path) -> Path:
    out = root / f"s{seed}-n{docs}"
    manifest = out / "manifest.json"
    if manifest.exists():
        m = json.loads(manifest.read_text(encoding="utf-8"))
        if m.get("generator_version") == make_corpus.GENERATOR_VERSION and m.get("docs") == docs:
            return out
        if out.is_symlink():  # a corpus kept elsewhere: left as it is, a new one is written here
            out.unlink()
        else:
            shutil.rmtree(out)
    print(f"bench: generating {docs} notices into {out}", flush=True)
    make_corpus.make_corpus(seed, docs, out)
    return out


def floor(raw: Path) -> dict:
    """Read + decode + one compiled regex over every file, one process."""
    t0 = time.perf_counter()
    n_files = n_bytes = hits = 0
    for p in sorted(raw.iterdir()):
        data = p.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        hits += len(FLOOR_RE.findall(text))
        n_files += 1
        n_bytes += len(data)
    return {"seconds": time.perf_counter() - t0, "files": n_files, "bytes": n_bytes, "matches": hits}


class TreeRss:
    """Peak RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.05):
        self.proc, self.every = psutil.Process(pid), every
        self.t0 = time.perf_counter()
        self.peak_total = self.peak_single = 0
        self.max_procs = 0
        self.peak_by_process: dict[int, tuple[int, str]] = {}  # pid -> (peak rss, what it is)
        self.timeline: list[tuple[float, int]] = []  # (seconds since start, tree RSS), about every second
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
                if rss > self.peak_by_process.get(p.pid, (0, ""))[0]:
                    self.peak_by_process[p.pid] = (rss, self._what(p))
            self.peak_total = max(self.peak_total, total)
            self.max_procs = max(self.max_procs, len(procs))
            now = time.perf_counter() - self.t0
            if not self.timeline or now - self.timeline[-1][0] >= 1.0:
                self.timeline.append((now, total))
            self._stop.wait(self.every)

    @staticmethod
    def _what(p: psutil.Process) -> str:
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            return "?"
        for marker, name in (("flow_timings.py", "flow (CLI) process"), ("uvicorn", "Prefect server"),
                             ("prefect.server", "Prefect server"), ("multiprocessing.spawn", "pool worker"),
                             ("resource_tracker", "multiprocessing resource tracker"),
                             ("distributed", "Dask worker/nanny")):
            if marker in cmd:
                return name
        return cmd[:60]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def largest(self, n: int = 8) -> list[tuple[str, int]]:
        return [(what, rss) for rss, what in sorted(self.peak_by_process.values(), reverse=True)[:n]]


def bench_env(out: Path) -> dict:
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", str(out / ".prefect"))
    env.update({"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
    return env


class PrefectServer:
    """`prefect server start` for the run (what a team runs instead of the ephemeral server);
    its start is not part of the measured run."""

    def __init__(self, env: dict, port: int = 4299):
        import urllib.request

        self.url = f"http://127.0.0.1:{port}/api"
        self.proc = subprocess.Popen([str(Path(PYTHON).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                                      "--port", str(port), "--no-ui", "--no-services"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2).read()
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise SystemExit("bench: prefect server did not answer within 120 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def warm_prefect(env: dict) -> None:
    """The first flow in a fresh PREFECT_HOME migrates Prefect's database (~30 s); not part of a run."""
    home = Path(env["PREFECT_HOME"])
    if (home / "prefect.db").exists():
        return
    print(f"bench: migrating Prefect's database in {home} once (not timed)", flush=True)
    subprocess.run([PYTHON, "-c", "from prefect import flow\nflow(lambda: 1)()"], env=env, check=True,
                   capture_output=True)


def run_pipeline(raw: Path, warehouse: Path, timings: Path, env: dict, args: argparse.Namespace,
                 log: Path) -> dict:
    for p in warehouse.parent.glob(warehouse.name + "*"):
        p.unlink()
    cmd = [PYTHON, str(BENCH / "flow_timings.py"), str(timings), "run", "--raw", str(raw), "--warehouse",
           str(warehouse), "--batch-size", str(args.batch_size), "--runner", args.runner, "--allow-outside-raw", "--json"]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=warehouse.parent)
        rss = TreeRss(proc.pid)
        rc = proc.wait()
        rss.stop()
    wall = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"bench: fengong run failed ({rc}); see {log}")
    summary = next(json.loads(line) for line in reversed(log.read_text(encoding="utf-8").splitlines())
                   if line.startswith("{"))
    t = json.loads(timings.read_text(encoding="utf-8"))
    return {"wall": wall, "rss_peak_total": rss.peak_total, "rss_peak_single": rss.peak_single,
            "processes": rss.max_procs, "rss_largest": rss.largest(), "rss_timeline": rss.timeline,
            "summary": summary, **stage_times(t)}


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def stage_times(t: dict) -> dict:
    """Seconds per step (summed over batches, so parallel parse can exceed wall time), the
    wall-clock union of all steps, and the orchestration that is left."""
    marks, events = t["marks"], t["events"]
    steps: dict[str, float] = {}
    for step, a, b in events:
        steps[step] = steps.get(step, 0.0) + (b - a)
    last_load = max((b for s, a, b in events if s == "load"), default=marks["body_start"])
    # after the last load: retire, marts, coverage, run log, publish, review file
    steps["finalise"] = max(0.0, marks["body_end"] - last_load)
    intervals = [(a, b) for _, a, b in events] + [(last_load, marks["body_end"])]
    flow_call = marks["flow_return"] - marks["flow_call"]
    work = _union(intervals)
    return {
        "steps": steps,
        "imports": marks["imported"] - marks["process_start"],
        "flow_call": flow_call,
        "prefect_start": marks["body_start"] - marks["flow_call"],
        "body": marks["body_end"] - marks["body_start"],
        "teardown": marks["flow_return"] - marks["body_end"],
        "work_union": work,
        "orchestration": flow_call - work,
        "in_body_idle": (marks["body_end"] - marks["body_start"]) - _union(
            [(max(a, marks["body_start"]), min(b, marks["body_end"])) for a, b in intervals
             if b > marks["body_start"] and a < marks["body_end"]]),
    }


def parse_breakdown(raw: Path, sample: int) -> dict:
    """CPU seconds per parser stage on `sample` files, one process (wrapping transforms.document's
    names; CPU time, because other users of the machine disturb wall time)."""
    import transforms.document as doc
    from transforms.mentions import UnitSplitter
    from transforms.units import Resolver
    from transforms import vocab

    spent: dict[str, float] = {}
    depth: dict[str, int] = {}

    def wrap(owner, name: str, stage: str):
        fn = getattr(owner, name)

        def wrapper(*a, **k):
            depth[stage] = depth.get(stage, 0) + 1
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                depth[stage] -= 1
                if depth[stage] == 0:
                    spent[stage] = spent.get(stage, 0.0) + time.process_time() - t0
        setattr(owner, name, wrapper)
        return fn

    stages = [(doc, "document_text", "decode + normalise text"), (doc, "grid_row_roles", "roles"),
              (doc, "person_names", "leaders"), (doc, "normalise_text", "decode + normalise text"),
              (doc, "simplified_view", "decode + normalise text"), (doc, "extract_metadata", "metadata"),
              (doc, "parse_outline", "outline"), (doc, "labelled_item", "roles"), (doc, "table_row_roles", "roles"),
              (doc, "standalone_names", "mentions"), (UnitSplitter, "split", "mentions"),
              (UnitSplitter, "__init__", "mentions"), (Resolver, "resolve", "unit resolution"),
              (doc, "item_kind_and_binding", "item kinds"), (doc, "extract_indicators", "indicators"),
              (doc, "quality_checks", "quality checks"), (doc, "_documents_frame", "frames"),
              (doc.pl, "DataFrame", "frames")]
    missing = [f"{getattr(o, '__name__', o)}.{n}" for o, n, _ in stages if not hasattr(o, n)]
    if missing:  # the parser was refactored: say so, and time the rest
        print(f"bench: parse breakdown: no {', '.join(missing)} any more; counted under 'other'", flush=True)
    originals = [(owner, name, wrap(owner, name, stage)) for owner, name, stage in stages if hasattr(owner, name)]
    files = sorted(raw.iterdir())[:sample]
    reviewed = vocab.read_reviewed(vocab.REVIEWED_ALIASES)
    try:
        doc.parse_document(files[0].read_bytes(), files[0].name, reviewed=reviewed)  # warm the caches
        spent.clear()
        t0 = time.process_time()
        for p in files:
            doc.parse_document(p.read_bytes(), p.name, reviewed=reviewed)
        total = time.process_time() - t0
    finally:
        for owner, name, fn in originals:
            setattr(owner, name, fn)
    spent["other (items, assignments, sections)"] = total - sum(spent.values())
    return {"files": len(files), "seconds": total, "ms_per_doc": total / len(files) * 1000, "stages": spent}


def timed_cli(args: list[str], env: dict, cwd: Path) -> dict:
    """`fengong ARGS` in a subprocess: wall time from process start to exit, peak RSS of its tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(Path(PYTHON).parent / "fengong"), *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rss = TreeRss(proc.pid)
    out, _ = proc.communicate()
    rss.stop()
    if proc.returncode != 0:
        raise SystemExit(f"bench: fengong {' '.join(args)} failed ({proc.returncode}):\n{out[-2000:]}")
    return {"wall": time.perf_counter() - t0, "rss_peak_total": rss.peak_total, "output": out[-600:]}


def nothing_to_do(raw: Path, warehouse: Path, env: dict) -> dict:
    """`fengong run` again on the same raw folder: nothing new, changed or gone. With --links-budget 0:
    the task links the rebuild's budget left pending would otherwise be this run's work."""
    return timed_cli(["run", "--raw", str(raw), "--warehouse", str(warehouse), "--allow-outside-raw",
                      "--links-budget", "0"], env, warehouse.parent)


def loaded_rows(warehouse: Path) -> int:
    """Rows in the document tables: what the load step wrote."""
    import duckdb

    from warehouse.load import DOC_TABLES

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return sum(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DOC_TABLES)
    finally:
        con.close()


def force_size(corpus_raw: Path, out: Path, env: dict, n: int = 400) -> dict:
    """The warehouse file after a fresh build of the first `n` notices, and after `run --force` on
    them three times (the replaced rows' space must be given back)."""
    work = out / "force"
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    raw.mkdir(parents=True)
    for f in sorted(corpus_raw.iterdir())[:n]:
        (raw / f.name).symlink_to(f.resolve())
    wh = work / "warehouse.duckdb"
    args = ["run", "--raw", str(raw), "--warehouse", str(wh), "--allow-outside-raw"]
    timed_cli(args, env, work)
    fresh = wh.stat().st_size
    sizes = []
    for _ in range(3):
        timed_cli(args + ["--force"], env, work)
        sizes.append(wh.stat().st_size)
    return {"notices": n, "fresh_bytes": fresh, "force_bytes": sizes}


def run_quality(warehouse: Path, out: Path, env: dict) -> dict:
    t0 = time.perf_counter()
    r = subprocess.run([str(Path(PYTHON).parent / "fengong"), "quality", "--warehouse", str(warehouse),
                        "--out", str(out)], env=env, capture_output=True, text=True)
    return {"seconds": time.perf_counter() - t0, "rc": r.returncode,
            "errors": [ln for ln in r.stderr.splitlines() if "error-level" in ln][:3]}


def incremental(seed: int, docs: int, corpus_raw: Path, warehouse: Path, out: Path, env: dict) -> dict:
    """Notice number `docs` (one the warehouse does not hold) into the N-notice warehouse: directly
    (connect, parse, load), then by a running `fengong serve` on the whole raw folder (bench/serve_incremental.py)."""
    from transforms.batch import SourceFile, parsed_batch
    from validation.batch import concat_frames, validated_batch
    from warehouse import inbox
    from transforms import vocab
    from warehouse import load as wh

    res: dict = {}
    new = out / "incremental"
    shutil.rmtree(new, ignore_errors=True)
    (new / "new").mkdir(parents=True)
    notices = []
    for number in (docs, docs + 1):  # notices the corpus does not hold
        stem, _, data, _, _ = make_corpus.make_notice(seed, number)
        notices.append(new / "new" / f"{stem}.txt")
        notices[-1].write_bytes(data)
    notice = notices[0]
    scratch = new / "direct.duckdb"
    shutil.copyfile(warehouse, scratch)  # the serve measurement needs the warehouse without it
    t0 = time.perf_counter()
    con = wh.connect(scratch)
    t1 = time.perf_counter()
    files = inbox.read_files([notice], new / "new")
    result = validated_batch(parsed_batch(files, vocab.read_reviewed(vocab.REVIEWED_ALIASES)))
    t2 = time.perf_counter()
    failed = wh.load_documents(con, result.parsed)
    t3 = time.perf_counter()
    from warehouse import links, marts

    marts.refresh_marts(con, links_budget_s=0)  # the new notice's jurisdiction's marts
    t4 = time.perf_counter()
    jurisdiction = result.parsed[0].frames["documents"]["jurisdiction"][0] or ""
    links._link(con, [jurisdiction])  # its task links (the served runs below do not link)
    t5 = time.perf_counter()
    con.close()
    scratch.unlink()
    res["direct"] = {"connect": t1 - t0, "parse_validate": t2 - t1, "load": t3 - t2, "marts": t4 - t3,
                     "links": t5 - t4, "total": t5 - t0, "loaded": len(result.parsed) - len(failed)}
    res["serve"] = serve_incremental.measure(corpus_raw, warehouse, notices, new / "serve", env)
    return res


# ---------------------------------------------------------------------------------------------
def report(res: dict) -> str:
    """Markdown tables of one benchmark run."""
    p, n = res["pipeline"], res["docs"]
    mb = res["corpus_bytes"] / 1e6
    s = p["steps"]
    lines = [
        f"### {n:,} notices ({mb:.0f} MB), runner `{res['runner']}`, batch size {res['batch_size']}",
        "",
        f"{res['machine']}; {res['date']}; Prefect {res.get('prefect', 'ephemeral')}; load average "
        f"(1/5/15 min) before the run {_loads(res.get('load_average_before'))}, after {_loads(res.get('load_average_after'))} "
        "(the machine is shared).",
        "",
        *_goal_lines(res), "",
        "| measure | value |", "|---|---:|",
        f"| `fengong run` wall time (process start to exit) | {p['wall']:.1f} s |",
        f"| documents/s, end to end | {n / p['wall']:.0f} |",
        f"| MB/s, end to end | {mb / p['wall']:.2f} |",
        f"| peak RSS, whole process tree (max single process) | {p['rss_peak_total'] / 2**30:.2f} GB "
        f"({p['rss_peak_single'] / 2**30:.2f} GB), {p['processes']} processes |",
        "| RSS of the process tree at 25 / 50 / 75 / 100% of the run | " + " / ".join(
            f"{_rss_at(p.get('rss_timeline', []), q) / 2**30:.2f}" for q in (0.25, 0.5, 0.75, 1.0)) + " GB |",
        "| peak RSS of the largest processes | " + ", ".join(
            f"{what} {rss / 2**30:.2f} GB" for what, rss in p.get("rss_largest", [])) + " |",
        f"| loaded / quarantined | {p['summary']['loaded']} / {p['summary']['quarantined']} |",
        f"| floor: read + decode + one regex, 1 process | {res['floor']['seconds']:.2f} s |",
        f"| **ratio full pipeline / floor** | **{p['wall'] / res['floor']['seconds']:.1f}×** |",
        "",
        "| step | seconds | share of wall |", "|---|---:|---:|",
    ]
    rows = [("Python imports (CLI process)", p["imports"]), ("Prefect start (flow call to flow body)", p["prefect_start"]),
            ("list and hash raw/ files", s.get("discover", 0)),
            ("staging copy of the warehouse (for readers)", s.get("staging", 0)), ("read", s.get("read", 0)),
            ("parse (sum over workers)", s.get("parse", 0)), ("validate: pandera (sum over workers)", s.get("validate", 0)),
            ("load: DuckDB", s.get("load", 0)),
            (f"finalise: retire, marts {s.get('marts', 0):.1f}, coverage, run log, publish {s.get('publish', 0):.1f}, "
             f"review file {s.get('review', 0):.1f}", s.get("finalise", 0)),
            ("Prefect teardown (body end to flow return)", p["teardown"])]
    lines += [f"| {name} | {sec:.1f} | {sec / p['wall']:.0%} |" for name, sec in rows]
    norm = res["breakdown"]["stages"].get("unit resolution", 0) / res["breakdown"]["seconds"]
    lines += [
        f"| normalise: unit resolution, inside parse (estimated: {norm:.0%} of parse in the breakdown) | "
        f"{s.get('parse', 0) * norm:.1f} | — |",
        f"| steps' wall-clock union | {p['work_union']:.1f} | {p['work_union'] / p['wall']:.0%} |",
        f"| **orchestration: flow call − union of steps** | **{p['orchestration']:.1f}** | "
        f"**{p['orchestration'] / p['wall']:.0%}** |",
        f"| of which idle inside the flow body | {p['in_body_idle']:.1f} | {p['in_body_idle'] / p['wall']:.0%} |",
        f"| quality: `fengong quality` (separate process) | {res['quality']['seconds']:.1f} | rc {res['quality']['rc']} |",
        "",
    ]
    if "score" in res:
        lines += _score_lines(res["score"])
    lines += _breakdown_lines(res["breakdown"])
    if "queries" in res:
        lines += ["", "| analyst query (README) | rows | median ms | max ms |", "|---|---:|---:|---:|"]
        lines += [f"| {q['query']} | {q['rows']} | {q['median_ms']:.0f} | {q['max_ms']:.0f} |" for q in res["queries"]]
    inc = res.get("incremental")
    if inc:
        di, sv = inc["direct"], inc["serve"]
        lines += ["", "| one new notice into this warehouse | seconds |", "|---|---:|",
                  f"| direct: connect {di['connect']:.2f} + parse/validate {di['parse_validate']:.2f} + "
                  f"load {di['load']:.2f} + marts {di.get('marts', 0):.2f} + task links of its jurisdiction "
                  f"{di.get('links', 0):.2f} | {di['total']:.2f} |"]
        for name, what in (("nothing_new", "nothing new (the first run after the copy: no standby yet)"),
                           ("one_new", "a new notice"), ("one_new_2", "another new notice")):
            if name not in sv:
                continue
            r = sv[name]
            lines += [f"| `fengong serve`, scheduled run with {what} ({r['files_seen']} files, {r['loaded']} loaded): "
                      f"flow body {r['body_s']:.2f}; scheduled time to end {r['scheduled_to_end_s']:.1f} | "
                      f"**{r['flow_run_s']:.2f}** (flow run, start to end) |"]
    return "\n".join(lines) + "\n"


def _goal_lines(res: dict) -> list[str]:
    """Issue 17's table: every row measured in this run, against its goal."""
    p, n = res["pipeline"], res["docs"]
    rows = []

    def row(what: str, measured: str, goal: str, met: bool | None) -> None:
        rows.append(f"| {what} | {measured} | {goal} | {'—' if met is None else ('met' if met else '**missed**')} |")

    goal_s = {10000: GOALS["seconds_10k"], 50000: GOALS["seconds_50k"]}.get(n)
    row(f"{n:,} notices, full rebuild, `fengong run` process start to exit", f"{p['wall']:.1f} s",
        f"≤ {goal_s:.0f} s" if goal_s else "— (goals are for 10,000 and 50,000)", p["wall"] <= goal_s if goal_s else None)
    ratio = p["wall"] / res["floor"]["seconds"]
    row("full pipeline / regex floor (same run)", f"{ratio:.0f}× (floor {res['floor']['seconds']:.2f} s)",
        f"≤ {GOALS['floor_ratio']:.0f}×", ratio <= GOALS["floor_ratio"])
    ms = res["breakdown"]["ms_per_doc"]
    row(f"parse CPU per notice (one process, {res['breakdown']['files']} notices)", f"{ms:.1f} ms",
        f"≤ {GOALS['parse_ms']:.0f} ms", ms <= GOALS["parse_ms"])
    load_s = p["steps"].get("load", 0)
    if load_s and p.get("loaded_rows"):
        rate = p["loaded_rows"] / load_s
        row("DuckDB load (rows of the document tables / load step)",
            f"{rate / 1e3:,.0f} k rows/s ({p['loaded_rows'] / 1e6:.1f} M rows in {load_s:.1f} s)",
            "≥ 1 M rows/s", rate >= GOALS["load_rows_s"])
    gb = p["rss_peak_total"] / 2**30
    row("peak RSS, whole process tree", f"{gb:.2f} GB", f"≤ {GOALS['rss_gb']} GB", gb <= GOALS["rss_gb"])
    sv = (res.get("incremental") or {}).get("serve") or {}
    for name in ("one_new", "one_new_2"):
        if name in sv:
            r = sv[name]
            row(f"one new notice into this warehouse by `fengong serve` (flow run; body {r['body_s']:.2f} s)",
                f"{r['flow_run_s']:.2f} s", f"≤ {GOALS['incremental_s']} s", r["flow_run_s"] <= GOALS["incremental_s"])
    if "nothing_to_do" in res:
        w = res["nothing_to_do"]["wall"]
        row("`fengong run --links-budget 0` with nothing new, process start to exit",
            f"{w:.2f} s, {res['nothing_to_do']['rss_peak_total'] / 2**20:.0f} MB", f"≤ {GOALS['nothing_to_do_s']:.0f} s",
            w <= GOALS["nothing_to_do_s"])
    if "force" in res:
        f = res["force"]
        growth = max(f["force_bytes"]) / f["fresh_bytes"] - 1
        row(f"warehouse file after `run --force` ×3 on {f['notices']} notices",
            f"{f['fresh_bytes'] / 1e6:.1f} MB fresh, " + " / ".join(f"{b / 1e6:.1f}" for b in f["force_bytes"]) +
            f" MB after ({growth:+.0%})", f"within {GOALS['force_growth']:.0%}", growth <= GOALS["force_growth"])
    return ["| issue 17 | measured | goal | |", "|---|---:|---:|---|", *rows]


def _rss_at(timeline: list, q: float) -> int:
    """The highest tree RSS sampled up to fraction q of the run."""
    if not timeline:
        return 0
    end = timeline[-1][0] * q
    return max(rss for t, rss in timeline if t <= end + 1e-9) if any(t <= end for t, _ in timeline) else 0


def _loads(la) -> str:
    return "/".join(f"{x:.1f}" for x in la) if la else "?"


def _score_lines(sc: dict) -> list[str]:
    lines = ["| correctness vs generator truth | truth | parsed | precision | recall | F1 |",
             "|---|---:|---:|---:|---:|---:|"]
    for k in ("items", "assignments", "leaders"):
        f = sc[k]
        lines.append(f"| {k} | {f['truth']:,} | {f['parsed']:,} | {f['precision']:.4f} | {f['recall']:.4f} | "
                     f"**{f['f1']:.4f}** |")
    d = sc["documents"]
    lines += ["", f"Documents: {d['loaded']}/{d['truth']} loaded; jurisdiction right {d['jurisdiction']:.1%}, "
                  f"kind {d['doc_kind']:.1%}, period {d['period']:.1%}, role rule {d['role_rule']:.1%}.", "",
              "| family | docs | items F1 | assignments F1 |", "|---|---:|---:|---:|"]
    for fam, f in sc["families"].items():
        lines.append(f"| {fam} | {f['docs']} | {f['items']:.4f} | {f['assignments']:.4f} |")
    return lines


def _breakdown_lines(b: dict) -> list[str]:
    lines = ["", f"Parse breakdown, one process, {b['files']} files: {b['ms_per_doc']:.1f} CPU ms per notice", "",
              "| parser stage | CPU ms per notice | share |", "|---|---:|---:|"]
    for stage, sec in sorted(b["stages"].items(), key=lambda x: -x[1]):
        lines.append(f"| {stage} | {sec / b['files'] * 1000:.1f} | {sec / b['seconds']:.0%} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--runner", default="process", choices=("thread", "process", "dask"))
    ap.add_argument("--workers", type=int, help="default: one per core")
    ap.add_argument("--corpus-dir", type=Path, default=BENCH / "corpus")
    ap.add_argument("--out", type=Path, default=BENCH / "out")
    ap.add_argument("--sample", type=int, default=200, help="notices in the single-process parse breakdown")
    ap.add_argument("--prefect-server", action="store_true",
                    help="run against a `prefect server start` started before the run, not the ephemeral server")
    ap.add_argument("--skip", action="append", default=[],
                    choices=("quality", "queries", "incremental", "score", "nothing", "force"),
                    help="leave a part out (repeatable)")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args.seed, args.docs, args.corpus_dir.resolve())
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    env = bench_env(out)
    warm_prefect(env)
    tag = f"n{args.docs}"
    warehouse = out / f"{tag}.duckdb"
    res: dict = {"docs": args.docs, "seed": args.seed, "runner": args.runner, "batch_size": args.batch_size,
                 "corpus_bytes": manifest["bytes"], "date": dt.date.today().isoformat(),
                 "machine": f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB RAM, "
                            f"{platform.machine()}, Python {platform.python_version()}"}
    print("bench: floor (read + decode + one regex)", flush=True)
    res["floor"] = floor(corpus / "raw")
    server = None
    if args.prefect_server:
        server = PrefectServer(env)
        env = {**env, "PREFECT_API_URL": server.url}
        res["prefect"] = f"server at {server.url} (started before the run)"
    else:
        res["prefect"] = "ephemeral (started by the run)"
    print(f"bench: fengong run on {args.docs} notices (runner {args.runner}, Prefect {res['prefect']})", flush=True)
    res["load_average_before"] = os.getloadavg()
    try:
        res["pipeline"] = run_pipeline(corpus / "raw", warehouse, out / f"{tag}-timings.json", env, args,
                                       out / f"{tag}-run.log")
    finally:
        if server:
            server.stop()
    res["load_average_after"] = os.getloadavg()
    res["pipeline"]["loaded_rows"] = loaded_rows(warehouse)
    if "nothing" not in args.skip:
        print("bench: fengong run again, nothing to do", flush=True)
        res["nothing_to_do"] = nothing_to_do(corpus / "raw", warehouse, env)
    print(f"bench: run took {res['pipeline']['wall']:.1f}s; parse breakdown on {args.sample} notices", flush=True)
    res["breakdown"] = parse_breakdown(corpus / "raw", args.sample)
    if "score" not in args.skip:
        print("bench: scoring against the truth", flush=True)
        res["score"] = score.score_warehouse(warehouse, corpus / "truth")
    res["quality"] = (run_quality(warehouse, out / f"{tag}-quality", env) if "quality" not in args.skip
                      else {"seconds": 0.0, "rc": None})
    if "queries" not in args.skip:
        print("bench: analyst queries", flush=True)
        res["queries"] = queries.time_queries(warehouse, runs=5)
    if "incremental" not in args.skip:
        print("bench: one new notice into the warehouse", flush=True)
        res["incremental"] = incremental(args.seed, args.docs, corpus / "raw", warehouse, out, env)
    if "force" not in args.skip:
        print("bench: run --force on 400 notices, three times", flush=True)
        res["force"] = force_size(corpus / "raw", out, env)
    (out / f"results-{tag}.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    md = report(res)
    (out / f"results-{tag}.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
