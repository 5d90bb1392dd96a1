"""Real servers for the tests of served collections (issue 25): PostgreSQL and ``chroma run``.

PostgreSQL: ``ASSISTANT_TEST_PG_URL`` when it is set (``.ci/run`` starts Debian's cluster and sets it);
otherwise a throw-away cluster (``initdb`` of the installed PostgreSQL, trust auth, loopback, a free
port), run as the ``postgres`` user when the tests run as root (PostgreSQL refuses root). Without
PostgreSQL's binaries the tests that need it are skipped, saying so.

Chroma: ``ASSISTANT_TEST_CHROMA_URL`` when set, otherwise ``chroma run`` (it comes with chromadb) on a
free loopback port with its data in a temp folder.

Each test gets a fresh database (``fresh_database``), so collections never leak between tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from bench.common import new_database
from tests.helpers import free_port

CHROMA = Path(sys.executable).with_name("chroma")


# --- Chroma ------------------------------------------------------------------------------------------------
def start_chroma(folder: Path, port: int) -> tuple[subprocess.Popen, str]:
    """``chroma run`` on loopback with its data in ``folder/data``; returns once it answers."""
    if not CHROMA.exists():
        pytest.fail(f"{CHROMA} is missing; it comes with the chromadb package (pip install chromadb)")
    log = (folder / "server.log").open("a")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            pytest.fail(f"chroma run did not come up: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.3)


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


# --- PostgreSQL --------------------------------------------------------------------------------------------
def missing(why: str) -> None:
    """Skip, saying why; in CI (``CI=true``, as .ci/run sets) fail instead: there the servers must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"in CI the served-collection tests must run: {why}")
    pytest.skip(why)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class TempPostgres:
    """A PostgreSQL cluster of its own in ``folder`` (trust auth, loopback only)."""

    def __init__(self, folder: Path):
        bin_dir = _pg_bin()
        if bin_dir is None:
            missing("PostgreSQL is not installed (no initdb): the served-catalog tests need it; install the "
                    "postgresql package or set ASSISTANT_TEST_PG_URL")
        self.bin = bin_dir
        self.folder = folder
        self.port = free_port()
        self.data = folder / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(folder, "postgres", "postgres")
            folder.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(folder / "server.log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
                  "start")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if done.returncode:
            pytest.fail(f"{tool} failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server at ``server_url``; its URL (named t_<hex>: scripts/services.sh
    drops those)."""
    return new_database(server_url, "t")


def postgres_server():  # noqa: ANN201 - a generator for a fixture
    """Yields the URL of a PostgreSQL server's maintenance database (see the module's docstring)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is needed for a served catalog: pip install 'cited-assistant[postgres]'")
    url = os.environ.get("ASSISTANT_TEST_PG_URL")
    if url:
        yield url
        return
    # not under pytest's temp root: as root that is 0700, and the postgres user could not reach it
    folder = Path(tempfile.mkdtemp(prefix="assistant-test-pg-"))
    try:
        pg = TempPostgres(folder)
        try:
            yield pg.url
        finally:
            pg.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def chroma_server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - a generator for a fixture
    url = os.environ.get("ASSISTANT_TEST_CHROMA_URL")
    if url:
        yield url
        return
    proc, url = start_chroma(tmp_path_factory.mktemp("chroma-server"), free_port())
    try:
        yield url
    finally:
        stop_process(proc)
