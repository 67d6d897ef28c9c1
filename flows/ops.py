"""Operations around a run: incremental work, one writer at a time, readers never see a half-written file.

    lock <warehouse>.lock (one writer; the next one waits and says for whom)
      ─▶ copy the warehouse to <warehouse>.staging
      ─▶ sha256 of every file under raw/ ─▶ plan: new / changed / reprocess / already loaded / unchanged
      ─▶ read, parse and load new and changed files into the staging copy (one transaction per document)
      ─▶ names gone from raw/ are marked retired ─▶ run log row
      ─▶ CHECKPOINT, os.replace(staging, warehouse) ─▶ unlock

Readers (`fengong sql`, notebooks with read_only=True) keep the file they opened: os.replace gives the
warehouse path a new inode and the old one lives until its last reader closes. A run killed at any
point leaves the published warehouse as it was; the next run deletes the stale staging copy.

No Prefect here: the flow in flows/pipeline.py passes `parsed_batches`, parse_in_order with its Prefect tasks.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import polars as pl

from flows import steps
from flows.defaults import DEFAULT_LOCK_WAIT_S, DEFAULT_MAX_FILE_MB, DEFAULT_WAREHOUSE
from transforms import vocab
from warehouse import load as wh
from warehouse import marts
from warehouse.review import LOW_CONFIDENCE_COLUMNS, low_confidence_rows, review_rows, write_review_file, write_rows

BATCH_MAX_BYTES = 32 * 2**20  # raw bytes held by one batch, whatever --batch-size says
HASH_CHUNK = 2**20


class RefusedInput(ValueError):
    """The input folder or a file in it is refused before anything is read; the message says why."""


def _progress(msg: str) -> None:
    print(f"fengong: {msg}", flush=True)


# ── input ───────────────────────────────────────────────────────────────────────────────────────

@dataclass
class RawFile:
    path: Path
    name: str  # relative to raw/, as recorded in the warehouse
    size: int
    sha256: str
    problem: str | None = None  # refused without parsing: too large, a link to outside raw/
    mtime_ns: int | None = None
    hashed: bool = True  # False: size and mtime matched the last run's, the recorded sha256 was reused

    @property
    def doc_id(self) -> str:
        return self.sha256[:16]


def project_raw(project_dir: str | Path | None = None) -> Path:
    return (Path(project_dir or Path.cwd()) / "raw").resolve()


def check_raw_dir(raw_dir: str | Path, allow_outside_raw: bool = False,
                  project_dir: str | Path | None = None) -> Path:
    """The folder to read. "Outside raw/" means: its resolved path (symlinks followed) is neither the
    project's raw/ folder (./raw of the directory fengong runs in) nor a folder below it."""
    raw = Path(raw_dir)
    if not raw.is_dir():
        raise RefusedInput(f"no folder {raw}: put notice files (.txt) there, or pass --raw DIR")
    home = project_raw(project_dir)
    if not allow_outside_raw and not raw.resolve().is_relative_to(home):
        raise RefusedInput(f"{raw} is outside this project's raw/ folder ({home}); "
                           "pass --allow-outside-raw to read it anyway")
    return raw


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def undecodable_name(name: str) -> str | None:
    """None for a name that is valid UTF-8; else the name as it can be stored and shown: the bytes that
    are not UTF-8 written as \\xNN (os.scandir hands them over as lone surrogates, which DuckDB, the
    terminal and JSON all refuse)."""
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def _rename_hint(name: str, shown: str) -> str:
    raw = os.fsencode(name)
    try:  # what a Chinese office's zip or share most likely wrote: GBK (GB18030)
        guess = f"; read as GBK it is {raw.decode('gb18030')!r}"
    except UnicodeDecodeError:
        guess = ""
    return (f"the file name {shown} is not valid UTF-8 (it was written in another encoding{guess}); rename it "
            "to UTF-8, e.g. `convmv -f gbk -t utf-8 --notest -r raw/`, and the next run loads it")


def scan_raw(raw: Path, max_file_mb: float = DEFAULT_MAX_FILE_MB, allow_outside_raw: bool = False,
             known: dict[str, tuple[int, int, str]] | None = None,
             linked_dirs: list[str] | None = None) -> list[RawFile]:
    """Every notice file under raw/ with its size and content hash, read in 1 MB chunks (bounded memory).
    A file over the size limit or a link that leads outside raw/ is marked with the reason, not read.

    `known` maps a name to the (size, mtime_ns, sha256) recorded when it was last loaded: a file whose
    size and modification time (in nanoseconds) are unchanged is not read again (as rsync decides).
    Hashing every file is most of an incremental run's time on a large raw/ folder; `--force` hashes all.
    A name that is not valid UTF-8 is kept escaped (`undecodable_name`) and the file refused until renamed.
    Links to folders are not followed; their names are appended to `linked_dirs`, when given."""
    real_raw = raw.resolve()
    limit = int(max_file_mb * 2**20)
    known = known or {}
    out = []
    for p, name, linked in steps.list_raw(raw, linked_dirs):
        shown = undecodable_name(name)
        try:
            st = p.stat()
            size, mtime = st.st_size, st.st_mtime_ns
            seen = known.get(name)
            hashed = seen is None or seen[:2] != (size, mtime)
            sha = sha256_file(p) if hashed else seen[2]
        except FileNotFoundError:
            continue  # removed while the folder was listed: gone, like any other removed file
        except OSError as e:  # quarantined with the reason, read again by the next run
            out.append(RawFile(p, shown or name, 0, "", f"cannot read {shown or name}: {e.strerror or e}"))
            continue
        problem = None
        if shown:
            problem, name = _rename_hint(name, shown), shown
        elif linked and not allow_outside_raw and not p.resolve().is_relative_to(real_raw):
            problem = f"{name} is a link to {p.resolve()}, outside raw/; pass --allow-outside-raw to read it"
        elif size > limit:
            problem = (f"{name} is {size / 2**20:.1f} MB, larger than the {max_file_mb:g} MB limit for one notice; "
                       "split it into one file per notice (or raise --max-file-mb)")
        out.append(RawFile(p, name, size, sha, problem, mtime, hashed))
    return out


def decisions_version() -> str:
    """Reviewer decisions change how names resolve, so a change to them reprocesses the documents."""
    path = vocab.REVIEWED_ALIASES
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "none"


# ── plan ────────────────────────────────────────────────────────────────────────────────────────

@dataclass
class Plan:
    process: list[RawFile] = field(default_factory=list)      # parse and load (one name per content)
    same_content: dict[str, list[RawFile]] = field(default_factory=dict)  # sha256 -> further names of it
    link: list[RawFile] = field(default_factory=list)         # content already loaded: record the name only
    refuse: list[RawFile] = field(default_factory=list)       # quarantine without reading
    skip: list[RawFile] = field(default_factory=list)         # unchanged
    clear_quarantine: list[str] = field(default_factory=list)  # back to content that is loaded
    new: int = 0
    changed: int = 0
    reprocessed: int = 0


def plan_run(con, files: list[RawFile], parser_version: str, decisions: str, force: bool = False) -> Plan:
    """Decide per file name, from the warehouse's own record, what this run has to do.

    unchanged (same sha256 as the name's last content) and loaded by this parser and these reviewer
    decisions, or quarantined by them → skipped. Everything else is parsed: new names, changed
    content, --force, a new parser_version or new decisions, and files whose load failed last time.
    """
    names = {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, doc_id, sha256, retired_at FROM document_files").fetchall()}
    docs = {r[0]: r[1:] for r in con.execute(
        "SELECT doc_id, parser_version, decisions_version FROM documents").fetchall()}
    quarantined = {r[0]: r[1:] for r in con.execute(
        "SELECT source_file, sha256, stage, parser_version, decisions_version, reason FROM quarantine").fetchall()}
    plan = Plan()
    to_process: dict[str, list[RawFile]] = {}
    for f in files:
        known, q = names.get(f.name), quarantined.get(f.name)
        if known is None and q is None:
            status = "new"
        elif known is not None and known[2] is not None and known[1] == f.sha256:
            status = "new"  # a retired name is back, with the content it had
        elif known is not None and known[1] == f.sha256 or q is not None and q[0] == f.sha256:
            status = "same"
        else:
            status = "changed"
        plan.new += status == "new"
        plan.changed += status == "changed"
        q_current = q is not None and bool(f.sha256) and q[0] == f.sha256 and (
            q[1] == "read" and q[4] == f.problem or q[1] != "load" and q[2:4] == (parser_version, decisions))
        loaded_current = docs.get(f.doc_id) == (parser_version, decisions)
        if not force and q_current:
            plan.skip.append(f)
        elif f.problem:
            plan.refuse.append(f)
        elif not force and loaded_current:
            if known is not None and known[0] == f.doc_id and known[2] is None:
                plan.skip.append(f)
            else:
                plan.link.append(f)
            if q is not None:
                plan.clear_quarantine.append(f.name)
        else:
            plan.reprocessed += status == "same"
            to_process.setdefault(f.sha256, []).append(f)
    for sha, group in to_process.items():
        plan.process.append(group[0])
        if group[1:]:
            plan.same_content[sha] = group[1:]
    return plan


def batches(files: list[RawFile], size: int, max_bytes: int = BATCH_MAX_BYTES):
    """At most `size` files and `max_bytes` raw bytes per batch (a single larger file is its own batch)."""
    cur: list[RawFile] = []
    held = 0
    for f in files:
        if cur and (len(cur) >= size or held + f.size > max_bytes):
            yield cur
            cur, held = [], 0
        cur.append(f)
        held += f.size
    if cur:
        yield cur


# ── the warehouse: writable, locked, staged ─────────────────────────────────────────────────────

def _explain(e: OSError, doing: str) -> str:
    if e.errno == errno.ENOSPC:
        return f"no space left on the device while {doing}; free some space and run again"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{doing}: {e.strerror} (is the warehouse folder read-only?); make it writable or pass --warehouse"
    return f"{doing} failed: {e.strerror or e}"


def _writable(path: Path) -> bool:
    """Writable by this process (not a read-only file system), and not made read-only on purpose: a
    file or folder without any write bit (chmod a-w) counts as read-only even for root."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def check_writable(warehouse: Path) -> None:
    """Fail before any work when the warehouse cannot be written (read-only folder, file or disk)."""
    folder = warehouse.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise wh.WarehouseError(_explain(e, f"creating the warehouse folder {folder}")) from e
    if not _writable(folder):
        raise wh.WarehouseError(
            f"the warehouse folder {folder} is read-only: a run writes {warehouse.name}.lock and "
            f"{warehouse.name}.staging next to the warehouse. Make it writable, or pass --warehouse PATH")
    if warehouse.exists() and not _writable(warehouse):
        raise wh.WarehouseError(f"the warehouse file {warehouse} is read-only; nothing was changed. "
                                "Make it writable (chmod u+w), or pass --warehouse PATH")


class WarehouseLock:
    """One writer per warehouse: flock on <warehouse>.lock. The kernel drops the lock when its holder
    dies (even by SIGKILL), so a crashed run never blocks the next one. The file says who holds it."""

    def __init__(self, warehouse: Path, wait_s: float = DEFAULT_LOCK_WAIT_S, progress: Callable = _progress,
                 what: str = "fengong run"):
        self.path = warehouse.with_name(warehouse.name + ".lock")
        self.wait_s, self.progress, self.what = wait_s, progress, what
        self.waited_s = 0.0
        self.waited_for: dict = {}
        self._fh = None

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def __enter__(self) -> "WarehouseLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise wh.WarehouseError(_explain(e, f"creating the lock file {self.path}")) from e
        self._fh = os.fdopen(fd, "r+", encoding="utf-8")
        t0 = time.monotonic()
        if not self._try():
            time.sleep(0.1)  # the holder writes its name right after it locks
            self.waited_for = self.holder()
            who = (f"the run started by pid {self.waited_for['pid']} at {self.waited_for.get('started', '?')} "
                   f"({self.waited_for.get('what', '?')})" if self.waited_for.get("pid") else "another run")
            self.progress(f"waiting for {who} to finish (lock {self.path}) …")
            while not self._try():
                if time.monotonic() - t0 > self.wait_s:
                    self._fh.close()
                    raise wh.WarehouseError(f"gave up after {self.wait_s:g} s waiting for {who}; "
                                            f"nothing was changed (lock {self.path})")
                time.sleep(0.2)
            self.waited_s = time.monotonic() - t0
            self.progress(f"the other run finished after {self.waited_s:.1f}s; continuing")
        self._fh.seek(0)
        self._fh.truncate()
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                   "started": dt.datetime.now().isoformat(timespec="seconds")}, self._fh)
        self._fh.flush()
        return self

    def _try(self) -> bool:
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def __exit__(self, *exc) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.flush()
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


class Staging:
    """The run writes a copy of the warehouse and swaps it in with os.replace when it is complete."""

    def __init__(self, live: Path):
        self.live = live
        self.path = live.with_name(live.name + ".staging")
        self.con: duckdb.DuckDBPyConnection | None = None

    @staticmethod
    def _wal(p: Path) -> Path:
        return p.with_name(p.name + ".wal")

    def open(self) -> duckdb.DuckDBPyConnection:
        self.discard()  # what a killed run left behind
        try:
            if self.live.exists():
                shutil.copyfile(self.live, self.path)
                shutil.copymode(self.live, self.path)
                if self._wal(self.live).exists():  # only after a crash of a writer that wrote in place
                    shutil.copyfile(self._wal(self.live), self._wal(self.path))
        except OSError as e:
            self.discard()
            raise wh.WarehouseError(_explain(e, f"copying {self.live} to {self.path.name}") +
                                    "; the warehouse was not changed") from e
        try:
            self.con = wh.connect(self.path)
        except BaseException:
            self.discard()
            raise
        return self.con

    def publish(self) -> None:
        try:
            self.con.execute("CHECKPOINT")
            self.con.close()
            self.con = None
            if self._wal(self.path).exists():
                raise wh.WarehouseError(f"{self.path} still has a write-ahead log after CHECKPOINT")
            _fsync(self.path)
            self._wal(self.live).unlink(missing_ok=True)  # a stale log must never be replayed on the new file
            os.replace(self.path, self.live)
            _fsync(self.live.parent)
        except OSError as e:
            self.discard()
            raise wh.WarehouseError(_explain(e, f"publishing {self.live}") + "; the warehouse was not changed") from e
        except duckdb.Error as e:
            self.discard()
            raise wh.WarehouseError(f"finishing {self.path.name} failed ({e}); the warehouse was not changed") from e

    def discard(self) -> None:
        if self.con is not None:
            try:
                self.con.close()
            except duckdb.Error:
                pass
            self.con = None
        for p in (self.path, self._wal(self.path)):
            p.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_transaction(warehouse: Path, what: str, work: Callable[[duckdb.DuckDBPyConnection, WarehouseLock], object],
                      lock_wait_s: float = DEFAULT_LOCK_WAIT_S, progress: Callable = _progress):
    """Run `work` on a staging copy under the writer lock; publish it if `work` returns, else discard it."""
    check_writable(warehouse)
    with WarehouseLock(warehouse, lock_wait_s, progress, what) as lock:
        staging = Staging(warehouse)
        con = staging.open()
        try:
            result = work(con, lock)
        except wh.WarehouseError as e:
            staging.discard()
            raise wh.WarehouseError(f"{e} (the published warehouse {warehouse} was not changed)") from e
        except BaseException:
            staging.discard()
            raise
        staging.publish()
    return result


# ── a run ───────────────────────────────────────────────────────────────────────────────────────

@dataclass
class Counts:
    """What a run did, counted in file names (the same content under two names counts twice)."""
    files_seen: int = 0
    new_files: int = 0          # names not seen before (or back after being retired)
    changed_files: int = 0      # known names with other content
    reprocessed: int = 0        # unchanged, parsed again: --force, a new parser_version or reviewer decisions
    linked: int = 0             # names recorded for content that is loaded under another name
    skipped: int = 0            # unchanged and already loaded or quarantined
    parsed: int = 0
    quarantined: int = 0
    loaded: int = 0
    retired: int = 0            # names gone from raw/, marked retired


@dataclass
class RunSummary(Counts):
    run_id: str = ""
    seconds: float = 0.0
    warehouse: str = ""
    review_file: str | None = None
    unresolved: int = 0
    low_confidence: int = 0     # items whose roles rest on weak evidence, in review/low_confidence_items.csv
    mentions: int = 0
    mentions_resolved: int = 0
    units: int = 0
    units_with_function: int = 0
    still_quarantined: int = 0  # files now in raw/ with a quarantine row (this run's or an earlier one's)
    # current documents (a name in raw/) with rows that failed a contract, and with error-level findings
    rejected_rows: int = 0
    rejected_documents: int = 0
    error_issues: int = 0
    error_documents: int = 0
    waited_s: float = 0.0
    forced: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def functions_frame() -> pl.DataFrame:
    tax = vocab.taxonomy()
    return pl.DataFrame([{"code": f.code, "name_zh": f.zh, "name_en": f.en, "party": f.party}
                         for f in tax.functions.values()])


def run_ingest(raw_dir: str = "raw", warehouse: str = DEFAULT_WAREHOUSE, batch_size: int = 100,
               review_file: str | None = None, force: bool = False, allow_outside_raw: bool = False,
               max_file_mb: float = DEFAULT_MAX_FILE_MB, lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
               project_dir: str | None = None, parsed_batches: Callable | None = None, progress: Callable = _progress,
               triggered_by: str = "manual", flow_run_id: str | None = None) -> dict:
    """One incremental run. Raises RefusedInput (bad --raw) or WarehouseError (cannot write)."""
    started = dt.datetime.now()
    t0 = time.perf_counter()
    raw = check_raw_dir(raw_dir, allow_outside_raw, project_dir)
    path = Path(warehouse)
    review_path = Path(review_file) if review_file else path.parent / "review" / "unresolved_units.csv"
    run_id = uuid.uuid4().hex[:12]

    def work(con, lock: WarehouseLock):
        wh.load_functions(con, functions_frame())
        linked_dirs: list[str] = []
        files = scan_raw(raw, max_file_mb, allow_outside_raw, known=None if force else wh.file_stats(con),
                         linked_dirs=linked_dirs)
        pv, dv = vocab.parser_version(), decisions_version()
        plan = plan_run(con, files, pv, dv, force)
        c = Counts(files_seen=len(files), new_files=plan.new, changed_files=plan.changed,
                   reprocessed=plan.reprocessed, skipped=len(plan.skip))
        progress(f"{len(files)} notice file(s) in {raw}: {plan.new} new, {plan.changed} changed, "
                 f"{plan.reprocessed} to reprocess{' (--force)' if force and plan.reprocessed else ''}, "
                 f"{len(plan.skip)} unchanged (skipped)")
        if linked_dirs:
            progress(f"{len(linked_dirs)} link(s) to a folder in {raw} not followed (a link can lead back into "
                     f"raw/ or to / and loop): {', '.join(linked_dirs[:5])}{' …' if len(linked_dirs) > 5 else ''}; "
                     "copy or move the folder into raw/, or run with --raw pointing at it")
        _load_plan(con, raw, plan, pv, dv, batch_size, parsed_batches or parse_in_order, progress, c, t0)
        present = [f.name for f in files]
        wh.record_file_stats(con, [(f.name, f.sha256, f.size, f.mtime_ns) for f in files if f.hashed and not f.problem])
        retired = wh.retire_missing(con, present)
        c.retired = len(retired)
        if retired:
            progress(f"{len(retired)} file(s) no longer in {raw}, marked retired (`fengong prune` deletes them): "
                     + ", ".join(retired[:5]) + (" …" if len(retired) > 5 else ""))
        # the loaded data out of DuckDB's memory and into the file before the queries below: up to
        # checkpoint_threshold of it is held in memory until then, and with a 512 MB limit the
        # review query ran out of memory at 10,000 notices (publish's CHECKPOINT then has little left)
        con.execute("CHECKPOINT")
        _refresh_marts(con, progress)
        cov = con.execute("""
            SELECT count(*), count(*) FILTER (WHERE resolved),
                   (SELECT count(*) FROM units), (SELECT count(*) FROM units WHERE len(functions) > 0)
            FROM assignments WHERE NOT inherited""").fetchone()
        still_q = con.execute("SELECT count(*) FROM quarantine WHERE source_file IN (SELECT unnest($p))",
                              {"p": present or [""]}).fetchone()[0]
        problems = current_problems(con)
        rows = review_rows(con)
        weak = low_confidence_rows(con)
        known = {j: [n for (n,) in con.execute(
            "SELECT DISTINCT name FROM units WHERE resolved AND jurisdiction = ?", [j]).fetchall()]
            for j in {r["jurisdiction"] for r in rows}}
        wh.record_run(con, {
            **asdict(c), "run_id": run_id, "started_at": started, "finished_at": dt.datetime.now(),
            "command": "run", "pruned": 0, "data_changed": bool(c.loaded or c.linked or c.retired), "forced": force,
            "parser_version": pv, "decisions_version": dv, "raw_dir": str(raw.resolve()),
            "triggered_by": triggered_by, "flow_run_id": flow_run_id, "host": socket.gethostname(),
            "pid": os.getpid(), "waited_s": round(lock.waited_s, 2)})
        summary = RunSummary(**asdict(c), run_id=run_id, warehouse=str(path), review_file=str(review_path),
                             mentions=cov[0], mentions_resolved=cov[1], units=cov[2], units_with_function=cov[3],
                             still_quarantined=still_q, waited_s=round(lock.waited_s, 2), forced=force, **problems)
        return summary, rows, known, weak

    summary, rows, known, weak = write_transaction(path, f"fengong run ({triggered_by})", work, lock_wait_s, progress)
    summary.unresolved = write_review_file(review_path, rows, known)
    summary.low_confidence = write_rows(review_path.with_name("low_confidence_items.csv"), weak, LOW_CONFIDENCE_COLUMNS)
    summary.seconds = round(time.perf_counter() - t0, 2)
    return summary.as_dict()


def current_problems(con) -> dict[str, int]:
    """Rows set aside by the contracts and error-level quality findings, in the current documents
    (those with a name in raw/; call after retire_missing)."""
    r = con.execute("""
        WITH cur AS (SELECT doc_id FROM documents WHERE retired_at IS NULL),
             rej AS (SELECT DISTINCT doc_id, frame, row_no FROM rejected_rows WHERE doc_id IN (SELECT doc_id FROM cur)),
             err AS (SELECT doc_id FROM quality_issues WHERE severity = 'error' AND doc_id IN (SELECT doc_id FROM cur))
        SELECT (SELECT count(*) FROM rej), (SELECT count(DISTINCT doc_id) FROM rej),
               (SELECT count(*) FROM err), (SELECT count(DISTINCT doc_id) FROM err)""").fetchone()
    return dict(zip(("rejected_rows", "rejected_documents", "error_issues", "error_documents"), r))


def _refresh_marts(con, progress: Callable) -> None:
    t = time.perf_counter()
    stale = marts.refresh_marts(con)
    if stale:
        progress(f"marts refreshed for {len(stale)} jurisdiction(s) in {time.perf_counter() - t:.2f}s")


def parse_in_order(path_batches: list[list[Path]], raw: Path, reviewed, read: Callable = steps.read_files,
                   parse: Callable = steps.parse_and_validate) -> Iterator[tuple[list[steps.SourceFile], steps.BatchResult]]:
    """Read and parse batch after batch; yields (files, result) in batch order. The flow passes its
    Prefect tasks as `read` and `parse`; any iterator of the same shape will do (the loader takes
    batches in the order they come)."""
    for paths in path_batches:
        files = read(paths, raw)
        yield files, parse(files, reviewed)


def _load_plan(con, raw: Path, plan: Plan, pv: str, dv: str, batch_size: int, parsed_batches: Callable,
               progress, c: Counts, t0: float) -> None:
    if plan.clear_quarantine:
        wh.clear_quarantine(con, plan.clear_quarantine)
    q_rows = [{"source_file": f.name, "sha256": f.sha256 or None, "stage": "read", "reason": f.problem}
              for f in plan.refuse]
    links = [(f.name, f.doc_id, f.sha256) for f in plan.link]
    reviewed = vocab.read_reviewed(vocab.REVIEWED_ALIASES)
    done = 0
    by_name = {f.name: f for f in plan.process}
    path_batches = [[f.path for f in b] for b in batches(plan.process, batch_size)]
    for files, result in parsed_batches(path_batches, raw, reviewed):
        batch = [by_name[sf.name] for sf in files]
        for d in result.parsed:
            d.frames["documents"] = d.frames["documents"].with_columns(pl.lit(dv).alias("decisions_version"))
        failed = wh.load_documents(con, result.parsed)
        batch_q = result.quarantined + [
            {"source_file": d.frames["documents"]["source_file"][0], "sha256": d.frames["documents"]["sha256"][0],
             "stage": "load", "reason": why} for d, why in failed]
        failed_ids = {d.doc_id for d, _ in failed}
        loaded = {d.doc_id for d in result.parsed if d.doc_id not in failed_ids}
        # further names of the same content: recorded with the document, or quarantined with it
        why_by_sha = {q["sha256"]: q for q in batch_q}
        for f in batch:
            again = [(o.name, o.sha256) for o in plan.same_content.get(f.sha256, [])]
            again += [(name, f.sha256) for name, doc_id in result.duplicates if doc_id == f.doc_id]
            for name, sha in again:
                if f.doc_id in loaded:
                    links.append((name, f.doc_id, sha))
                elif sha in why_by_sha:
                    q = why_by_sha[sha]
                    batch_q.append({**q, "source_file": name,
                                    "reason": f"{name}: same content as {f.name}, which was quarantined: {q['reason']}"})
        wh.clear_quarantine(con, [f.name for f in batch] + [o.name for f in batch
                                                            for o in plan.same_content.get(f.sha256, [])])
        q_rows += batch_q
        c.parsed += len(result.parsed)
        c.loaded += len(loaded)
        done += len(batch)
        progress(f"{done}/{len(plan.process)} files to parse: {c.parsed} parsed, "
                 f"{len(q_rows)} quarantined, {c.loaded} loaded ({time.perf_counter() - t0:.1f}s)")
    if links:
        con.execute("BEGIN")
        try:
            wh.bind_files(con, links)
            con.execute("COMMIT")
        except BaseException:
            wh._rollback(con)
            raise
        c.linked = len(links)
        for name, doc_id, _ in links:
            progress(f"{name}: same content as a loaded document ({doc_id}); name recorded in document_files")
    for q in q_rows:
        q.update(parser_version=pv, decisions_version=dv)
        progress(f"QUARANTINED {q['source_file']} [{q['stage']}]: {q['reason'][:300]}")
    wh.quarantine(con, q_rows)
    c.quarantined = len(q_rows)


# ── prune ───────────────────────────────────────────────────────────────────────────────────────

@dataclass
class Pruned:
    """What a prune deleted (or, dry run, would delete)."""
    documents: list[tuple] = field(default_factory=list)  # (doc_id, source_file, retired_at)
    names: list[str] = field(default_factory=list)        # retired file names (document_files rows)
    rows: dict[str, int] = field(default_factory=dict)    # rows per table


def prune(warehouse: str = DEFAULT_WAREHOUSE, dry_run: bool = False, lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
          progress: Callable = _progress) -> Pruned:
    """Delete retired documents (every row in every document table) and retired file names, in one
    transaction. Returns what was (or, with dry_run, would be) deleted, counted by the deletes themselves."""
    path = Path(warehouse)
    if not path.exists():
        raise wh.WarehouseError(f"no warehouse at {path}; run `fengong run` first")
    if dry_run:
        con = wh.connect(path, read_only=True)
        try:
            return Pruned(wh.retired_documents(con), wh.retired_names(con), wh.retired_rows(con))
        except duckdb.BinderException:  # a warehouse from before retirement existed: nothing is retired
            return Pruned()
        finally:
            con.close()

    def work(con, lock: WarehouseLock):
        started = dt.datetime.now()
        listed = wh.retired_documents(con)
        docs, names, rows = wh.prune_retired(con)
        _refresh_marts(con, progress)
        wh.record_run(con, {
            "run_id": uuid.uuid4().hex[:12], "started_at": started, "finished_at": dt.datetime.now(),
            "command": "prune", "pruned": len(docs), "data_changed": bool(docs or names), "triggered_by": "manual",
            "parser_version": vocab.parser_version(), "host": socket.gethostname(), "pid": os.getpid(),
            "waited_s": round(lock.waited_s, 2)})
        return Pruned(listed, names, rows)

    return write_transaction(path, "fengong prune", work, lock_wait_s, progress)
