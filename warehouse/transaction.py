"""One writer at a time, and readers never see a half-written warehouse.

    check_writable ─▶ lock <warehouse>.lock (one writer; the next one waits and says for whom)
      ─▶ staging file: the standby brought up to date (below), else a copy of the warehouse
      ─▶ the run writes the staging file
      ─▶ CHECKPOINT, fsync; the published file is kept as <warehouse>.standby (a hard link);
         os.replace(staging, warehouse) ─▶ unlock                              (or: discard the staging file)

Readers (`fengong sql`, notebooks with read_only=True) keep the file they opened: os.replace gives the
warehouse path a new inode and the old one lives until its last reader closes. A run killed at any
point (SIGKILL included) leaves the published warehouse as it was: the kernel drops the flock, and the
next writer deletes the stale staging file.

**The standby.** Copying the whole warehouse for every run made a run's cost grow with the warehouse
(0.4-0.6 s at 866 MB, linear). Instead, publishing keeps the file it replaces, under the name
<warehouse>.standby: the warehouse as it was one run ago. The next run renames the standby to its
staging file and brings it up to date from the published file (`catch_up`): the documents whose row
differs, and every other table whose content differs, are copied from the published file; the cost
is the previous run's changes plus a fingerprint of each table, not a copy of the file. The standby
is used only when it is safe, else the run copies the warehouse as before:
- the published file is the one the last publish wrote (inode, size and mtime in
  <warehouse>.standby.json), so nothing wrote it in place since;
- no reader holds the standby: a reader in another process holds a DuckDB lock on it (opening it for
  writing fails), a reader in this process an open file descriptor (/proc/self/fd);
- both files have the same schema.
It costs the disk space of a second warehouse.

`staged()` is the form the flow uses (a `with` block around the run's steps); `write_transaction` is
the same for one function (prune).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from flows.defaults import DEFAULT_LOCK_WAIT_S
from warehouse import load as wh


def say(msg: str) -> None:
    """A progress line, as every command prints them (stdout; `run --json` sends stdout to stderr)."""
    print(f"fengong: {msg}", flush=True)


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

    def __init__(self, warehouse: Path, wait_s: float = DEFAULT_LOCK_WAIT_S, progress: Callable = say,
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

    @property
    def standby(self) -> Path:
        return self.live.with_name(self.live.name + ".standby")

    @property
    def stamp(self) -> Path:
        return self.live.with_name(self.live.name + ".standby.json")

    def open(self) -> duckdb.DuckDBPyConnection:
        self.discard()  # what a killed run left behind
        self.caught_up: dict | None = None  # what catch_up copied, when the standby was used
        try:
            if self.live.exists() and self._take_standby():
                self.caught_up = self._catch_up()
            if self.live.exists() and self.caught_up is None:
                self.path.unlink(missing_ok=True)
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

    @staticmethod
    def _file_id(p: Path) -> list[int]:
        st = p.stat()
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]

    def _take_standby(self) -> bool:
        """Rename the standby to the staging file if it may be brought up to date (see the module)."""
        try:
            stamp = json.loads(self.stamp.read_text(encoding="utf-8"))
            if (stamp.get("published") != self._file_id(self.live) or self._wal(self.live).exists()
                    or self._wal(self.standby).exists() or _open_here(self.standby)):
                return False
            os.replace(self.standby, self.path)
        except (OSError, ValueError):
            return False
        return True

    def _catch_up(self) -> dict | None:
        """Bring the staging file (the standby) up to the published warehouse; None (and the staging
        file removed) when it cannot be: a reader holds it, or the schemas differ."""
        try:
            con = duckdb.connect(str(self.path))
        except duckdb.Error:  # a reader in another process holds it: it keeps its file, we copy
            self.path.unlink(missing_ok=True)
            return None
        try:
            con.execute(f"SET memory_limit = '{wh.writer_memory()}'")
            con.execute("SET enable_progress_bar = false")
            quoted = str(self.live).replace("'", "''")
            con.execute(f"ATTACH '{quoted}' AS published (READ_ONLY)")
            try:
                copied = catch_up(con, "published")
            finally:
                con.execute("DETACH published")
            if copied is not None:
                con.execute("CHECKPOINT")
        except duckdb.Error:
            copied = None
        finally:
            con.close()
        if copied is None:
            self.path.unlink(missing_ok=True)
            self._wal(self.path).unlink(missing_ok=True)
        return copied

    # A run that replaced many documents (--force, a new parser version) leaves the blocks of the old
    # rows free inside the file; DuckDB reuses them but never gives them back (400 notices, --force:
    # 39 MB -> 74 MB). When at least this share of a file of at least this size is free, the staging
    # file is rewritten compactly (COPY FROM DATABASE: tables, views, macros, constraints, rows) before
    # it is published: a cost paid by the runs that freed the space, not by every run. Replacing every
    # document frees about half the file; a run that adds a notice rewrites the last row group of each
    # table it touches, which freed 29% of a 1,000-notice file (and DuckDB reuses those blocks at the
    # next run): with a quarter as the threshold every such run rewrote the whole file (2 s there).
    COMPACT_FREE_SHARE = 0.4
    COMPACT_MIN_BYTES = 16 * 2**20

    def compact_copy(self) -> Path | None:
        """The staging copy rewritten without free blocks, beside it, when it is sparse; else None."""
        _, _, block_size, total, _, free, *_ = self.con.execute("PRAGMA database_size").fetchone()
        if not total or free / total < self.COMPACT_FREE_SHARE or total * block_size < self.COMPACT_MIN_BYTES:
            return None
        compact = self.path.with_name(self.path.name + ".compact")
        for p in (compact, self._wal(compact)):
            p.unlink(missing_ok=True)
        name = self.con.execute("SELECT current_database()").fetchone()[0]
        quoted = str(compact).replace("'", "''")
        self.con.execute(f"ATTACH '{quoted}' AS fengong_compact")
        try:
            self.con.execute(f'COPY FROM DATABASE "{name}" TO fengong_compact')
        finally:
            self.con.execute("DETACH fengong_compact")
        return compact

    def publish(self) -> None:
        try:
            self.con.execute("CHECKPOINT")
            compact = self.compact_copy()
            self.con.close()
            self.con = None
            if compact is not None:
                os.replace(compact, self.path)
            if self._wal(self.path).exists():
                raise wh.WarehouseError(f"{self.path} still has a write-ahead log after CHECKPOINT")
            _fsync(self.path)
            self._wal(self.live).unlink(missing_ok=True)  # a stale log must never be replayed on the new file
            self._keep_as_standby()
            os.replace(self.path, self.live)
            _write_atomically(self.stamp, json.dumps({"published": self._file_id(self.live)}))
            _fsync(self.live.parent)
        except OSError as e:
            self.discard()
            raise wh.WarehouseError(_explain(e, f"publishing {self.live}") + "; the warehouse was not changed") from e
        except duckdb.Error as e:
            self.discard()
            raise wh.WarehouseError(f"finishing {self.path.name} failed ({e}); the warehouse was not changed") from e

    def _keep_as_standby(self) -> None:
        """The file about to be replaced stays, as the next run's standby (a second name for it)."""
        self.stamp.unlink(missing_ok=True)
        self.standby.unlink(missing_ok=True)
        if self.live.exists():
            try:
                os.link(self.live, self.standby)
            except OSError:  # a file system without hard links: the next run copies
                pass

    def discard(self) -> None:
        if self.con is not None:
            try:
                self.con.close()
            except duckdb.Error:
                pass
            self.con = None
        compact = self.path.with_name(self.path.name + ".compact")
        for p in (self.path, self._wal(self.path), compact, self._wal(compact)):
            p.unlink(missing_ok=True)


def _open_here(path: Path) -> bool:
    """Does this process hold `path` open (a DuckDB reader of the file before the last publish)?
    POSIX locks do not conflict within one process, so DuckDB would let this process write it."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return True  # cannot tell: do not use the standby
    st = path.stat()
    for fd in fds.iterdir():
        try:
            s = fd.stat()
        except OSError:
            continue
        if (s.st_dev, s.st_ino) == (st.st_dev, st.st_ino):
            return True
    return False


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# A standby more than this share of whose documents changed (after --force, a new parser) is not
# caught up: rewriting most rows costs more than a copy and leaves the file full of free blocks.
COPY_WHEN_CHANGED = 0.25


def catch_up(con: duckdb.DuckDBPyConnection, published: str) -> dict | None:
    """Make the database of `con` equal to the attached database `published`, which is a later state
    of the same warehouse (the standby's next runs). Returns what was copied (table -> rows), or None
    when the schemas differ or most documents changed (the caller copies the file).

    - Tables with a doc_id (warehouse/load.py DOC_TABLES) are written only by loading a document
      (all its rows, one transaction) and deleting it; documents' own row is also updated (retired,
      renamed). So a document whose `documents` row differs, or exists on one side only, is copied
      in every such table: deleted here, inserted from `published`.
    - Every other table (marts, links, runs, file records, quarantine) is compared by a fingerprint
      of its rows (count and sum of row hashes), per jurisdiction where it has one, and the parts
      that differ are replaced."""
    def digest(db: str) -> list:
        return con.execute(f"SELECT digest FROM {db}.schema_state").fetchall()

    def columns(db: str) -> dict[str, list[str]]:
        # two queries: joined, DuckDB 1.5 took 0.25 s (it sized every table of both files)
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                                            "AND schema_name = 'main'", [db]).fetchall()}
        cols: dict[str, list[str]] = {}
        for t, c in con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? "
                                "AND schema_name = 'main' ORDER BY table_name, column_index", [db]).fetchall():
            if t in tables:
                cols.setdefault(t, []).append(c)
        return cols

    here = con.execute("SELECT current_database()").fetchone()[0]
    try:
        if digest(here) != digest(published):
            return None
    except duckdb.CatalogException:
        return None
    mine, theirs = columns(here), columns(published)
    if mine != theirs:
        return None
    copied: dict[str, int] = {}
    con.execute("BEGIN")
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE catch_up_docs AS
            SELECT doc_id FROM (SELECT doc_id, hash(d) AS h FROM {here}.documents d) a
            FULL JOIN (SELECT doc_id, hash(d) AS h FROM {published}.documents d) b USING (doc_id)
            WHERE a.h IS DISTINCT FROM b.h""")
        changed, total = con.execute(f"SELECT (SELECT count(*) FROM catch_up_docs), "
                                     f"(SELECT count(*) FROM {published}.documents)").fetchone()
        if changed > total * COPY_WHEN_CHANGED:
            con.execute("ROLLBACK")
            return None
        if changed:
            for table in wh.DOC_TABLES:
                con.execute(f"DELETE FROM {here}.{table} WHERE doc_id IN (SELECT doc_id FROM catch_up_docs)")
                n = con.execute(f"INSERT INTO {here}.{table} SELECT * FROM {published}.{table} "
                                "WHERE doc_id IN (SELECT doc_id FROM catch_up_docs)").fetchone()[0]
                copied[table] = n
        for table, cols in sorted(mine.items()):
            if table in wh.DOC_TABLES:
                continue
            key = "jurisdiction" if "jurisdiction" in cols else "NULL"
            fingerprint = f"SELECT {key} AS k, count(*) AS n, sum(hash(t)::HUGEINT) AS h FROM {{db}}.{table} t GROUP BY 1"
            differ = [k for (k,) in con.execute(f"""
                SELECT coalesce(a.k, b.k) FROM ({fingerprint.format(db=here)}) a
                FULL JOIN ({fingerprint.format(db=published)}) b ON a.k IS NOT DISTINCT FROM b.k
                WHERE a.n IS DISTINCT FROM b.n OR a.h IS DISTINCT FROM b.h""").fetchall()]
            if not differ:
                continue
            if key == "NULL":
                where, params = "true", {}
            else:
                where = "(list_contains($k, jurisdiction) OR ($null AND jurisdiction IS NULL))"
                params = {"k": [k for k in differ if k is not None], "null": None in differ}
            con.execute(f"DELETE FROM {here}.{table} WHERE {where}", params)
            copied[table] = con.execute(f"INSERT INTO {here}.{table} SELECT * FROM {published}.{table} WHERE {where}",
                                        params).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return copied


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Transaction:
    """What the steps of a run write through: the staging copy's connection, and the lock (how long
    the run waited for it)."""
    con: duckdb.DuckDBPyConnection
    lock: WarehouseLock
    warehouse: Path


@contextlib.contextmanager
def staged(warehouse: str | Path, what: str, lock_wait_s: float = DEFAULT_LOCK_WAIT_S,
           progress: Callable = say) -> Iterator[Transaction]:
    """Lock the warehouse, open a staging copy, and publish it when the block ends; discard it if
    the block raises (or the process is stopped), so the warehouse is as it was before or as the
    block left it, never in between."""
    warehouse = Path(warehouse)
    check_writable(warehouse)
    with WarehouseLock(warehouse, lock_wait_s, progress, what) as lock:
        staging = Staging(warehouse)
        con = staging.open()
        try:
            yield Transaction(con, lock, warehouse)
        except wh.WarehouseError as e:
            staging.discard()
            raise wh.WarehouseError(f"{e} (the published warehouse {warehouse} was not changed)") from e
        except BaseException:
            staging.discard()
            raise
        staging.publish()


def write_transaction(warehouse: Path, what: str, work: Callable[[Transaction], object],
                      lock_wait_s: float = DEFAULT_LOCK_WAIT_S, progress: Callable = say):
    """`work(transaction)` on a staging copy under the writer lock; published if it returns."""
    with staged(warehouse, what, lock_wait_s, progress) as tx:
        return work(tx)
