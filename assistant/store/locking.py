"""The write lock of one index: threads of this process and other processes, one writer at a time.

Between processes, one of two locks:

- embedded: ``filelock`` on ``<index>/.lock`` (flock on POSIX, msvcrt on Windows; the kernel drops it
  when the holder dies, even by SIGKILL). filelock may truncate the lock file while it waits, so the
  holder writes its pid in a sidecar ``.lock.owner`` for the message the others get.
- served (the catalog on PostgreSQL): a session-level advisory lock on a connection of its own, so
  processes on any machine take turns; the server drops it when the holder's connection goes (a killed
  process, a lost machine). The holder is named by its connection's application name (host and pid).

A writer that cannot have the lock within ``wait`` seconds gets IndexLockedError naming the holder and
the setting (``store.lock_timeout``) that says how long to wait.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from assistant.errors import IndexLockedError

__all__ = ["WriteLock", "ProcessLock", "FileProcessLock", "AdvisoryLock", "opening", "holder_name"]


def holder_name() -> str:
    """How this process is named to the others waiting for a lock it holds."""
    return f"{socket.gethostname()} pid {os.getpid()}"


class ProcessLock(Protocol):
    """A lock between processes: acquire within ``timeout`` seconds (False when not), release, and who
    holds it (" (host pid N)", or "")."""

    def acquire(self, timeout: float) -> bool: ...

    def release(self) -> None: ...

    def holder(self) -> str: ...

    def held(self) -> bool: ...

    def close(self) -> None: ...


class FileProcessLock:
    """``filelock`` on a file, with its holder's pid in a sidecar ``<file>.owner``."""

    def __init__(self, path: Path):
        self._file = FileLock(str(path), thread_local=False)
        self._owner = path.with_name(path.name + ".owner")

    def acquire(self, timeout: float) -> bool:
        try:
            self._file.acquire(timeout=timeout, poll_interval=0.1)
        except Timeout:
            return False
        try:
            tmp = self._owner.with_name(f"{self._owner.name}.{os.getpid()}")
            tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
            tmp.replace(self._owner)
        except BaseException:
            self._file.release()
            raise
        return True

    def release(self) -> None:
        try:
            self._owner.unlink(missing_ok=True)
        finally:
            self._file.release()

    def close(self) -> None:
        """Nothing to close (the lock file stays)."""

    def held(self) -> bool:
        """Always, between acquire and release: the kernel keeps a flock while the process lives."""
        return True

    def holder(self) -> str:
        try:
            pid = self._owner.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid.isdigit() else ""


# the class id of our advisory locks (two-int form: (class, key)), so they do not collide with other
# applications' single-bigint locks in the same database: "ASST"
_LOCK_CLASS = 0x41535354


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock named by ``key``, on a connection of its own (opened at
    the first acquire and kept). ``db`` is a PostgresDatabase.

    The lock lives as long as that connection: the server drops it when the holder dies. So the
    connection is kept alive deliberately (no idle-session timeout; TCP keepalives, so a machine that
    vanished loses the lock within about a minute, not the OS default of two hours), and :meth:`held` says
    whether it still holds the lock (a writer checks before it declares its write finished). Poolers in
    transaction mode (PgBouncer) cannot carry a session lock: point ``store.catalog_url`` at PostgreSQL or
    at a session-mode pool."""

    def __init__(self, db: Any, key: str):
        self._db = db
        self._key = key
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._db.connect(application=f"assistant lock {holder_name()}")
            for setting in ("idle_session_timeout = 0", "idle_in_transaction_session_timeout = 0",
                            "tcp_keepalives_idle = 30", "tcp_keepalives_interval = 10", "tcp_keepalives_count = 3"):
                try:
                    self._conn.execute(f"SET {setting}")
                except self._db.errors as e:  # an older server without the setting
                    if self._conn.closed:
                        raise self._db.unavailable(e) from e
        return self._conn

    def _call(self, sql: str) -> Any:
        """Run a lock function; a connection found dead (it was idle: a server restart, a killed backend)
        is replaced once, which is safe since a dead connection holds no lock."""
        for attempt in (1, 2):
            try:
                return self._connection().execute(sql, (_LOCK_CLASS, self._key)).fetchone()[0]
            except self._db.errors as e:
                if attempt == 2 or not self._conn.closed:
                    raise self._db.unavailable(e) from e

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self._call("SELECT pg_try_advisory_lock(%s::int4, hashtext(%s))"):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def held(self) -> bool:
        """Whether this connection still holds the lock (False when the connection was lost)."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            return bool(self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = %s::bigint::oid AND objid = (hashtext(%s)::bigint & 4294967295)::oid AND objsubid = 2",
                (_LOCK_CLASS, self._key)).fetchone()[0])
        except self._db.errors:
            return False

    def release(self) -> None:
        """Release; a lost connection released it already (the server dropped the session)."""
        if self._conn is None or self._conn.closed:
            return
        try:
            self._conn.execute("SELECT pg_advisory_unlock(%s::int4, hashtext(%s))", (_LOCK_CLASS, self._key))
        except self._db.errors:
            self._conn.close()

    def holder(self) -> str:
        try:
            rows = self._connection().execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND l.classid = %s::bigint::oid AND l.objid = (hashtext(%s)::bigint & 4294967295)::oid",
                (_LOCK_CLASS, self._key)).fetchall()
        except self._db.errors:
            return ""
        name = rows[0][0].removeprefix("assistant lock ") if rows and rows[0][0] else ""
        return f" ({name})" if name else ""

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@contextmanager
def opening(lock: ProcessLock, where: str, wait: float) -> Iterator[None]:
    """Held while an index's stores are opened (only for that: never during a write, so opening never
    waits for an ingest). Two processes creating a new index at once would otherwise both create
    Chroma's tables ("table collections already exists")."""
    try:
        if not lock.acquire(wait):
            raise IndexLockedError(f"another process{lock.holder()} has been opening the index at {where} for "
                                   f"{wait:g} s; try again (store.lock_timeout)")
        try:
            yield
        finally:
            lock.release()
    finally:
        lock.close()


class WriteLock:
    """Re-entrant in the thread that holds it; ``hold`` yields True for the outermost hold only."""

    def __init__(self, process: ProcessLock, where: str):
        self.where = where
        self._process = process
        self._thread = threading.RLock()
        self._depth = 0

    @contextmanager
    def hold(self, wait: float) -> Iterator[bool]:
        """Hold the lock; another process holding it: wait up to ``wait`` seconds, then IndexLockedError."""
        with self._thread:
            if self._depth:
                self._depth += 1
                try:
                    yield False
                finally:
                    self._depth -= 1
                return
            if not self._process.acquire(wait):
                holder = self._process.holder() if wait > 0 else ""  # wait=0: a probe, nobody reads the name
                raise IndexLockedError(
                    f"another process{holder} is writing the index at {self.where}; wait for it "
                    f"to finish and try again (waited {wait:g} s; store.lock_timeout, ASSISTANT_STORE__LOCK_TIMEOUT, "
                    "sets how long)"
                )
            try:
                self._depth = 1
                try:
                    yield True
                finally:
                    self._depth = 0
            finally:
                self._process.release()

    @contextmanager
    def idle(self) -> Iterator[bool]:
        """True (holding the thread lock meanwhile) when no thread of this process is writing; False
        without waiting otherwise."""
        if not self._thread.acquire(blocking=False):
            yield False
            return
        try:
            yield not self._depth
        finally:
            self._thread.release()

    def close(self) -> None:
        self._process.close()

    def held(self) -> bool:
        """Whether this process still holds the lock between processes (see AdvisoryLock.held)."""
        return self._process.held()

    @contextmanager
    def local(self) -> Iterator[None]:
        """Wait for the writing thread of this process, if any (not for other processes)."""
        with self._thread:
            yield
