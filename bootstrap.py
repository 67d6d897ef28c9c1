#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""fengong bootstrap: create ./.venv, install the locked stack, run fengong or the tests.

Stdlib only; run it with the system python3 (3.11+):

    python3 bootstrap.py setup [--force]      create/refresh .venv only
    python3 bootstrap.py run [ARGS...]        .venv/bin/fengong run ARGS...
    python3 bootstrap.py test [ARGS...]       .venv/bin/python -m pytest ARGS...

The first call creates .venv, installs uv into it with pip, installs
requirements.lock with uv (bytecode compiled), then installs this project
editable with --no-deps.  Later calls skip the install while a stamp (hash of
requirements.lock, pyproject.toml, the package layout and the venv's Python)
is unchanged.

Environment:
    FENGONG_VENV        venv location (default: ./.venv next to this file)
    PREFECT_HOME        default: ./.prefect next to this file
    Prefect settings set if not already set:
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=120
        PREFECT_SERVER_ANALYTICS_ENABLED=false
        DO_NOT_TRACK=1
"""
# Keep this file parseable by old Python 3 versions so the version check below
# can print a clear message: no walrus, no match, no 3.8+ only syntax.

import sys

MIN_PYTHON = (3, 11)

if sys.version_info < MIN_PYTHON:
    sys.stderr.write(
        "fengong: Python %d.%d+ is required, but this is Python %s (%s).\n"
        "fengong: run bootstrap.py with a Python 3.11 interpreter, e.g. `python3.11 bootstrap.py ...`.\n"
        % (MIN_PYTHON[0], MIN_PYTHON[1], sys.version.split()[0], sys.executable)
    )
    sys.exit(2)

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("FENGONG_VENV") or (ROOT / ".venv")).resolve()
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
VENV_PY = BIN / ("python.exe" if os.name == "nt" else "python")
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
STAMP = VENV / ".fengong-install-stamp"
LOCKFILE = VENV / ".fengong-bootstrap.lock"
# Top-level import packages; their presence is part of the stamp because the
# editable install only maps packages that existed when it was made.
PACKAGES = ("flows", "transforms", "validation", "warehouse")
UV_REQUIREMENT = "uv>=0.5"
STAMP_FORMAT = "1"

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}

USAGE = """\
usage: python3 bootstrap.py COMMAND [ARGS...]

commands:
  setup [--force]   create ./.venv and install the locked dependencies
                    (--force reinstalls even if nothing changed)
  run [ARGS...]     set up if needed, then run `fengong run ARGS...`
  test [ARGS...]    set up if needed, then run `python -m pytest ARGS...`
                    (fails if pytest collects no tests)
  -h, --help        show this help

The first setup takes seconds with uv; later calls reuse .venv unless
requirements.lock or pyproject.toml changed.
"""


class BootstrapError(Exception):
    pass


def say(msg):
    # Progress goes to stderr so `run` output on stdout stays clean.
    sys.stderr.write("fengong: %s\n" % msg)
    sys.stderr.flush()


def run_quiet(cmd, what, env=None):
    """Run cmd, hiding its output unless it fails."""
    proc = subprocess.run(
        [str(c) for c in cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(ROOT),
    )
    if proc.returncode != 0:
        out = proc.stdout.decode("utf-8", "replace").rstrip()
        raise BootstrapError(
            "%s failed (exit %d): %s\n%s" % (what, proc.returncode, " ".join(map(str, cmd)), out)
        )
    return proc


def run_visible(cmd, what, env=None):
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=str(ROOT))
    if proc.returncode != 0:
        raise BootstrapError("%s failed (exit %d): %s" % (what, proc.returncode, " ".join(map(str, cmd))))


def venv_python_version():
    """(major, minor) of the venv's interpreter, or None if it is missing/broken."""
    if not VENV_PY.exists():
        return None
    try:
        out = subprocess.run(
            [str(VENV_PY), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        major, minor = out.stdout.decode().strip().split(".")
        return int(major), int(minor)
    except ValueError:
        return None


def compute_stamp(pyver):
    h = hashlib.sha256()
    h.update(("format=%s\n" % STAMP_FORMAT).encode())
    h.update(("python=%d.%d\n" % pyver).encode())
    for path in (LOCK, PYPROJECT):
        h.update(("%s\n" % path.name).encode())
        h.update(path.read_bytes())
    present = [p for p in PACKAGES if (ROOT / p / "__init__.py").is_file()]
    h.update(("packages=%s\n" % ",".join(present)).encode())
    return h.hexdigest()


class _FileLock:
    """Serialise concurrent bootstraps (e.g. two terminals) on the same venv."""

    def __init__(self, path):
        self.path = path
        self.fh = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # not on POSIX: no locking
            return self
        self.fh = open(str(self.path), "a")
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            self.fh.close()


def ensure_venv():
    pyver = venv_python_version()
    if pyver is not None and pyver < MIN_PYTHON:
        raise BootstrapError(
            "%s uses Python %d.%d, but 3.11+ is required; delete it and rerun." % (VENV, pyver[0], pyver[1])
        )
    if pyver is None:
        if VENV.exists() and (BIN.exists() or (VENV / "pyvenv.cfg").exists()):
            say("%s looks broken; recreating it" % VENV.name)
            shutil.rmtree(str(VENV))
        say("creating %s (Python %s)" % (VENV.name, sys.version.split()[0]))
        t0 = time.monotonic()
        try:
            run_quiet([sys.executable, "-m", "venv", str(VENV)], "creating the virtualenv")
        except BootstrapError as exc:
            raise BootstrapError(
                "%s\nfengong: on Debian/Ubuntu install the venv module first: "
                "sudo apt-get install python3-venv" % exc
            )
        pyver = venv_python_version()
        if pyver is None:
            raise BootstrapError("created %s but %s does not run" % (VENV, VENV_PY))
        say("created %s in %.1f s" % (VENV.name, time.monotonic() - t0))
    if pyver != (3, 11):
        say("note: requirements.lock was resolved for Python 3.11; %s has %d.%d" % (VENV.name, pyver[0], pyver[1]))
    return pyver


def install_env():
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(VENV)
    # The machine may set PYTHONDONTWRITEBYTECODE=1; precompiling at install
    # time roughly halves cold import time (great_expectations: ~12 s -> ~5 s).
    env["UV_COMPILE_BYTECODE"] = "1"
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    return env


def find_uv(env):
    uv = BIN / ("uv.exe" if os.name == "nt" else "uv")
    if uv.exists():
        return uv
    say("installing uv into %s (pip)" % VENV.name)
    t0 = time.monotonic()
    try:
        run_quiet([VENV_PY, "-m", "pip", "install", "--quiet", UV_REQUIREMENT], "installing uv", env=env)
    except BootstrapError as exc:
        say("could not install uv, falling back to pip (slower, ~100 s):\n%s" % exc)
        return None
    if not uv.exists():
        say("uv was installed but %s is missing; falling back to pip" % uv)
        return None
    say("uv ready in %.1f s" % (time.monotonic() - t0))
    return uv


def install(force=False):
    if not LOCK.is_file():
        raise BootstrapError("%s is missing" % LOCK)
    if not PYPROJECT.is_file():
        raise BootstrapError("%s is missing" % PYPROJECT)
    VENV.mkdir(parents=True, exist_ok=True)
    with _FileLock(LOCKFILE):
        pyver = ensure_venv()
        stamp = compute_stamp(pyver)
        fengong_exe = BIN / ("fengong.exe" if os.name == "nt" else "fengong")
        if not force and STAMP.is_file() and STAMP.read_text().strip() == stamp and fengong_exe.exists():
            return False
        t0 = time.monotonic()
        env = install_env()
        if STAMP.exists():
            STAMP.unlink()
        uv = find_uv(env)
        if uv is not None:
            say("installing dependencies (uv)…")
            t1 = time.monotonic()
            run_quiet([uv, "pip", "install", "--python", VENV_PY, "--compile-bytecode", "-r", LOCK],
                      "installing requirements.lock with uv", env=env)
            say("dependencies installed in %.1f s" % (time.monotonic() - t1))
            run_quiet([uv, "pip", "install", "--python", VENV_PY, "--compile-bytecode", "--no-deps", "-e", ROOT],
                      "installing fengong (editable)", env=env)
        else:
            say("installing dependencies (pip)…")
            t1 = time.monotonic()
            run_visible([VENV_PY, "-m", "pip", "install", "--quiet", "-r", LOCK],
                        "installing requirements.lock with pip", env=env)
            say("dependencies installed in %.1f s" % (time.monotonic() - t1))
            run_quiet([VENV_PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT],
                      "installing fengong (editable)", env=env)
        STAMP.write_text(stamp + "\n")
        say("environment ready in %.1f s" % (time.monotonic() - t0))
        return True


def runtime_env():
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    for key, value in PREFECT_DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
    return env


def cmd_run(args):
    exe = BIN / ("fengong.exe" if os.name == "nt" else "fengong")
    if not exe.exists():
        raise BootstrapError("%s is missing after setup (is flows/cli.py with main() in place?)" % exe)
    argv = [str(exe), "run"] + list(args)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "nt":
        return subprocess.call(argv, env=runtime_env())
    os.execve(argv[0], argv, runtime_env())


def cmd_test(args):
    argv = [str(VENV_PY), "-m", "pytest"] + list(args)
    proc = subprocess.Popen(argv, env=runtime_env())
    while True:
        try:
            rc = proc.wait()
            break
        except KeyboardInterrupt:
            # pytest got the SIGINT too (same process group); let it finish.
            continue
    if rc == 5:
        say("pytest collected no tests (exit 5); treating that as a failure")
        return 5
    return rc


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    command, args = argv[0], argv[1:]
    if command not in ("setup", "run", "test"):
        sys.stderr.write("fengong: unknown command %r\n\n%s" % (command, USAGE))
        return 2
    force = False
    if command == "setup":
        unknown = [a for a in args if a != "--force"]
        if unknown:
            sys.stderr.write("fengong: setup takes only --force, got %s\n" % " ".join(unknown))
            return 2
        force = bool(args)
    try:
        changed = install(force=force)
        if command == "setup":
            if not changed:
                say("%s is up to date" % VENV.name)
            return 0
        if command == "run":
            return cmd_run(args)
        return cmd_test(args)
    except BootstrapError as exc:
        say("error: %s" % exc)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
