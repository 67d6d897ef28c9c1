"""Shared fixtures. The seed notices in raw/ are the default input and parsed once per session."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

import pytest

# Flows run in this process too (tests/test_ops.py): Prefect must read its settings from here, before
# it is imported. A PREFECT_HOME of the session's own (not the CLI tests' one: two servers on one
# SQLite file lock each other out), never a server someone set in the environment.
os.environ.update({
    "PREFECT_HOME": tempfile.mkdtemp(prefix="fengong-tests-prefect-"),
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
})
os.environ.pop("PREFECT_API_URL", None)

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "raw"
EXPECTED = Path(__file__).parent / "expected"
SEEDS = sorted(p.name for p in RAW.glob("*.txt"))


def roles_by_item(doc) -> list[tuple[str, dict[str, list[str]]]]:
    """[('一/1', {'lead': [...], 'co': [...]}), ...] for a parsed document, in document order."""
    asg = doc.frames["assignments"]
    out = []
    for it in doc.frames["items"].iter_rows(named=True):
        roles: dict[str, list[str]] = {}
        for a in asg.filter(asg["item_id"] == it["item_id"]).sort("role", "ord").iter_rows(named=True):
            roles.setdefault(a["role"], []).append(a["mention"])
        out.append(("/".join(it["parent_nos"] + [it["item_no"] or "-"]), roles))
    return out


@pytest.fixture(scope="session")
def parsed_seeds():
    from transforms.document import parse_document

    return {name: parse_document((RAW / name).read_bytes(), name) for name in SEEDS}


@pytest.fixture(scope="session")
def expected_seeds():
    files = {name: EXPECTED / name.replace(".txt", ".json") for name in SEEDS}
    return {name: json.loads(f.read_text(encoding="utf-8")) for name, f in files.items() if f.exists()}


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory) -> Path:
    """One PREFECT_HOME for the test session, so the ephemeral database is migrated only once."""
    home = tmp_path_factory.mktemp("prefect_home")
    return home


def run_flow(**kw) -> tuple[dict, list[str]]:
    """The flow, in this process: its summary and the progress lines it printed (without `fengong: `)."""
    from flows.pipeline import ingest

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        summary = ingest(**kw)
    return summary, [line.removeprefix("fengong: ") for line in out.getvalue().splitlines()]


@pytest.fixture(scope="session")
def prefect_api_url() -> str:
    """This session's Prefect server (the one in-process flows use), for a subprocess that runs the
    flow without starting a server of its own (~10 s each)."""
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the process's singleton, as the in-process flows use it
    server.start()
    return server.api_url


def _cli_env(prefect_home: Path) -> dict:
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": str(ROOT),
    })
    return env


@pytest.fixture
def cli_env(prefect_home) -> dict:
    return _cli_env(prefect_home)


@pytest.fixture(scope="module")
def cli_env_module(prefect_home) -> dict:
    """cli_env for module-scoped fixtures that run the CLI once for several tests."""
    return _cli_env(prefect_home)


def fail_after(monkeypatch, owner, name: str, error: Exception) -> None:
    """Make owner.name do its work and then raise `error`: a failure after the rows were written."""
    real = getattr(owner, name)

    def do_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise error

    monkeypatch.setattr(owner, name, do_then_fail)


@pytest.fixture(scope="session")
def seed_warehouse(tmp_path_factory, parsed_seeds) -> Path:
    """warehouse/fengong.duckdb under a session folder, built from the seeds as a run builds it (every
    file name bound, the marts refreshed), with its Parquet export in warehouse/parquet beside it.
    Read-only for tests: copy it before changing it."""
    from warehouse.incremental import functions_frame
    from warehouse import load as wh
    from warehouse import marts
    from warehouse.export import export_parquet

    root = tmp_path_factory.mktemp("seed_warehouse")
    path = root / "warehouse" / "fengong.duckdb"
    path.parent.mkdir()
    con = wh.connect(path)
    try:
        wh.load_functions(con, functions_frame())
        assert wh.load_documents(con, list(parsed_seeds.values())) == []
        con.execute("BEGIN")
        wh.bind_files(con, [(name, d.doc_id, d.frames["documents"]["sha256"][0]) for name, d in parsed_seeds.items()])
        marts.refresh_marts(con)
        con.execute("COMMIT")
        export_parquet(con, path.parent / "parquet")
    finally:
        con.close()
    return path
