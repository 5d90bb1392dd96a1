"""The write lock of one index: threads of this process and other processes, one writer at a time.

Portable: the inter-process lock is ``filelock`` on ``<index>/.lock`` (flock on POSIX, msvcrt on
Windows; the kernel drops it when the holder dies, even by SIGKILL). filelock may truncate the lock
file while it waits, so the holder writes its pid in a sidecar ``.lock.owner`` for the message the
others get. A writer that cannot have the lock within ``wait`` seconds gets IndexLockedError naming
that pid and the setting (``store.lock_timeout``) that says how long to wait.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.errors import IndexLockedError

__all__ = ["WriteLock", "opening"]


@contextmanager
def opening(folder: Path, wait: float) -> Iterator[None]:
    """Held while an index's stores are opened (``<index>/.open.lock``, only for that: never during a
    write, so opening never waits for an ingest). Two processes creating a new index at once would
    otherwise both create Chroma's tables ("table collections already exists")."""
    lock = FileLock(str(folder / ".open.lock"), thread_local=False)
    try:
        lock.acquire(timeout=wait)
    except Timeout as e:
        raise IndexLockedError(f"another process has been opening the index at {folder} for {wait:g} s; "
                               "try again (store.lock_timeout)") from e
    try:
        yield
    finally:
        lock.release()


class WriteLock:
    """Re-entrant in the thread that holds it; ``hold`` yields True for the outermost hold only."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._file = FileLock(str(folder / ".lock"), thread_local=False)
        self._owner = folder / ".lock.owner"
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
            try:
                self._file.acquire(timeout=wait, poll_interval=0.1)
            except Timeout as e:
                raise IndexLockedError(
                    f"another process{self._holder()} is writing the index at {self.folder}; wait for it to "
                    f"finish and try again (waited {wait:g} s; store.lock_timeout, ASSISTANT_STORE__LOCK_TIMEOUT, "
                    "sets how long)"
                ) from e
            try:
                tmp = self._owner.with_name(f".lock.owner.{os.getpid()}")
                tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
                tmp.replace(self._owner)
                self._depth = 1
                try:
                    yield True
                finally:
                    self._depth = 0
                    self._owner.unlink(missing_ok=True)
            finally:
                self._file.release()

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

    @contextmanager
    def local(self) -> Iterator[None]:
        """Wait for the writing thread of this process, if any (not for other processes)."""
        with self._thread:
            yield

    def _holder(self) -> str:
        """" (pid N)" from the owner file, or "" when it names none."""
        try:
            pid = self._owner.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return ""
        return f" (pid {pid})" if pid.isdigit() else ""
