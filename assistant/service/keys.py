"""API keys: bearer tokens for programs, beside the chat's accounts (``assistant keys create|list|revoke``).

A key is shown once, when created (``ca_`` and 43 random URL-safe characters); the file keeps only its
SHA-256 (a random 256-bit token needs no slow hash), its name, and when it was created and last used.
The REST API, the OpenAI-compatible chat and MCP over HTTP accept ``Authorization: Bearer <key>``
(assistant/web/access.py). The file is ``server.keys_file`` (default ``<index_root>/api-keys.json``),
written atomically under a lock and readable by its owner only; a key revoked from the command line is
refused by a running server at its next request (the file is re-read when it changes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from assistant.errors import ConfigError
from assistant.settings import Settings

__all__ = ["ApiKey", "ApiKeys", "keys_file", "TOKEN_PREFIX"]

TOKEN_PREFIX = "ca_"
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_TOUCH_EVERY_S = 60.0  # last_used is written at most once a minute per key


def keys_file(settings: Settings) -> Path:
    """Where the keys of this installation are kept."""
    return settings.server.keys_file or Path(settings.index_root) / "api-keys.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as listed: never the token, never its hash."""

    name: str
    created: str
    last_used: str | None
    prefix: str  # the token's first characters, to tell keys apart

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ApiKeys:
    """The keys file: create, list, revoke, and check a presented token."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock")
        self._cache: tuple[tuple[int, int, int], list[dict[str, Any]]] | None = None
        self._touched: dict[str, float] = {}
        self._mutex = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> ApiKeys:
        return cls(keys_file(settings))

    # --- the file ---------------------------------------------------------------------------------------
    def _read(self) -> list[dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)  # a new file (os.replace) is a new inode
        with self._mutex:
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
            assert isinstance(rows, list)
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as e:
            raise ConfigError(f"cannot read the API keys file {self.path} ({e}); fix or delete it and create the "
                              "keys again (`assistant keys create NAME`)") from e
        with self._mutex:
            self._cache = (stamp, rows)
        return rows

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        tmp.unlink(missing_ok=True)  # a leftover keeps its mode: made anew, owner-only
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"keys": rows}, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    # --- what the command line does -----------------------------------------------------------------------
    def create(self, name: str) -> tuple[ApiKey, str]:
        """A new key named ``name`` (letters, digits, ``. _ @ -``; unique); returns it and its token, which
        is not kept and cannot be shown again."""
        if not _NAME.match(name or ""):
            raise ConfigError(f"{name!r} is not a key name: use up to 64 letters, digits, '.', '_', '@' or '-'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            rows = self._read()
            if any(r["name"] == name for r in rows):
                raise ConfigError(f"there is already a key named {name!r}; revoke it first or choose another name")
            row = {"name": name, "sha256": _digest(token), "prefix": token[:8], "created": _now(), "last_used": None}
            self._write([*rows, row])
        return self._record(row), token

    def list(self) -> list[ApiKey]:
        return [self._record(r) for r in self._read()]

    def revoke(self, name: str) -> ApiKey:
        """Remove the key ``name``; ConfigError when there is none."""
        with self._lock:
            rows = self._read()
            gone = [r for r in rows if r["name"] == name]
            if not gone:
                known = ", ".join(r["name"] for r in rows) or "none"
                raise ConfigError(f"there is no key named {name!r} (the keys: {known})")
            self._write([r for r in rows if r["name"] != name])
        return self._record(gone[0])

    # --- what a server does ---------------------------------------------------------------------------
    def configured(self) -> bool:
        """Whether keys were ever set up here: the file exists (revoking the last key leaves it, empty, so a
        loopback server that asked for keys keeps asking; delete the file to open it again)."""
        return self.path.is_file()

    def verify(self, token: str) -> ApiKey | None:
        """The key ``token`` is, or None. Every key is compared in constant time; the match's
        ``last_used`` is written at most once a minute."""
        digest = _digest(token or "")
        found = None
        for r in self._read():
            if hmac.compare_digest(r["sha256"], digest):
                found = r
        if found is None:
            return None
        if time.monotonic() - self._touched.get(found["name"], -_TOUCH_EVERY_S) >= _TOUCH_EVERY_S:
            self._touched[found["name"]] = time.monotonic()
            self._touch(found["name"])
        return self._record(found)

    def _touch(self, name: str) -> None:
        try:
            with self._lock.acquire(timeout=1):
                rows = self._read()
                for r in rows:
                    if r["name"] == name:
                        r["last_used"] = _now()
                self._write(rows)
        except (OSError, TimeoutError):  # a busy or read-only file: the time is not worth failing a request
            pass

    @staticmethod
    def _record(row: dict[str, Any]) -> ApiKey:
        return ApiKey(name=row["name"], created=row["created"], last_used=row.get("last_used"),
                      prefix=row.get("prefix", ""))
