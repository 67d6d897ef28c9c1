"""What is in raw/: the folder checked, every file listed, hashed and read.

A file is refused here, unread, with a reason a person can act on: too large, a link out of raw/, a
name that is not UTF-8. Everything else is handed to the parser as a SourceFile (name and bytes).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from flows.defaults import DEFAULT_MAX_FILE_MB

if TYPE_CHECKING:  # the parser's modules take ~1 s to import; a run with nothing to do needs none
    from transforms.batch import SourceFile

HASH_CHUNK = 2**20


class RefusedInput(ValueError):
    """The input folder or a file in it is refused before anything is read; the message says why."""


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
    for p, name, linked in list_raw(raw, linked_dirs):
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



def discover(raw_dir: Path) -> list[Path]:
    """Every file under raw/, sorted, hidden files skipped. Files in other formats are not skipped
    silently: reading them says what they are (a PDF, an image…) and they are quarantined."""
    return [p for p, _, _ in list_raw(raw_dir)]


def list_raw(raw_dir: Path, linked_dirs: list[str] | None = None) -> list[tuple[Path, str, bool]]:
    """(path, name relative to raw/, whether it is a symbolic link) of every file under raw/, sorted
    as `discover` sorts. As Path.rglob did: links to files are listed (scan_raw checks where they
    lead), links to folders are not followed (a loop, or a link to /, would otherwise be walked),
    and a folder that cannot be read is skipped. os.scandir gives the file types without a stat per
    file (10,000 files: 0.1 s, where Path.rglob and is_file took 0.3-0.5 s). The names of the links
    to folders that were not followed are appended to `linked_dirs`, when given."""
    found: list[tuple[tuple[str, ...], bool]] = []

    def walk(folder: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as entries:
                for e in entries:
                    if e.name.startswith("."):
                        continue
                    if e.is_file():
                        found.append((parts + (e.name,), e.is_symlink()))
                    elif e.is_dir(follow_symlinks=False):
                        walk(e.path, parts + (e.name,))
                    elif linked_dirs is not None and e.is_dir():
                        linked_dirs.append("/".join(parts + (e.name,)))
        except PermissionError:
            pass

    walk(str(raw_dir), ())
    found.sort()
    return [(raw_dir.joinpath(*parts), "/".join(parts), linked) for parts, linked in found]


def read_files(paths: list[Path], raw_dir: Path) -> list[SourceFile]:
    from transforms.batch import SourceFile

    return [SourceFile(p, p.relative_to(raw_dir).as_posix(), p.read_bytes()) for p in paths]
