"""The catalog's database: SQLite in the index folder (embedded, the default) or PostgreSQL named by
``store.catalog_url`` (served: every app server and ingester of a collection shares it).

One small interface over both, so the catalog has one code path: SQL is written once with ``?``
placeholders and portable syntax (``ON CONFLICT``, quoted ``"end"``); :class:`PostgresDatabase` turns the
placeholders into psycopg's. A collection on PostgreSQL lives in a schema of its own
(:func:`schema_name`), so one database holds many collections. What only one engine can do (an advisory
lock, BM25 in SQL) is in the modules that need it (locking.py, lexical_sql.py).

Both are thread-safe: one connection each, its calls serialized (a search's reads are short; a writer's
transaction holds the connection for one article).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from assistant.errors import ConfigError, StoreUnavailableError
from assistant.settings import redact_url as redact

__all__ = ["Database", "Cursor", "SQLiteDatabase", "PostgresDatabase", "schema_name", "redact"]


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    def execute(self, sql: str, params: Iterable[object] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Iterable[object]]) -> None: ...


def schema_name(collection: str) -> str:
    """The PostgreSQL schema of a collection: ``assistant_`` + its name, lower-cased, anything but
    [a-z0-9_] replaced; a name longer than 40 characters keeps 40 and a hash of the whole (PostgreSQL
    names have 63 bytes). Names that still map to one schema are refused when the second is opened."""
    name = re.sub(r"[^a-z0-9_]", "_", collection.lower())
    if len(name) > 40:
        name = name[:40] + "_" + hashlib.blake2b(collection.encode("utf-8"), digest_size=4).hexdigest()
    return "assistant_" + name


class Database:
    """What the catalog needs of a database. ``kind`` is "sqlite" or "postgres"."""

    kind: str
    where: str  # for messages: the file, or the URL without its password and the schema

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:  # pragma: no cover - interface
        raise NotImplementedError
        yield

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:  # pragma: no cover - interface
        raise NotImplementedError

    def script(self, sql: str) -> None:  # pragma: no cover - interface
        """Run ``;``-separated DDL (the schema, created when missing)."""
        raise NotImplementedError

    def has_schema(self, version_key: str, version: int) -> bool:
        """Whether the DDL of ``version`` is known to have run (PostgreSQL: skip it then). SQLite runs its
        ``IF NOT EXISTS`` DDL on every open: cheap there."""
        return False

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class SQLiteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._lock = threading.RLock()

    def script(self, sql: str) -> None:
        with self._lock:
            self._conn.executescript(sql)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn  # type: ignore[misc]
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (our SQL has no literal ``?``, and a literal ``%`` only in
    statements without parameters, which psycopg then does not parse)."""
    return sql.replace("?", "%s")


class _PgTransaction:
    def __init__(self, conn: Any):
        self._conn = conn

    def execute(self, sql: str, params: Iterable[object] = ()) -> Cursor:
        return self._conn.execute(_pg(sql), tuple(params) or None)

    def executemany(self, sql: str, rows: Iterable[Iterable[object]]) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(_pg(sql), rows)


class PostgresDatabase(Database):
    """A collection's schema in a PostgreSQL database (psycopg 3, ``pip install cited-assistant[postgres]``).

    Connections keep TCP keepalives (a half-open connection fails within about a minute instead of
    hanging every request behind it). Messages never carry the password: the URL is parsed before any
    connection (libpq repeats an unparsable URL in its errors) and psycopg's texts are cleaned of it."""

    kind = "postgres"

    def __init__(self, url: str, schema: str, *, application: str = "assistant"):
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as e:
            raise ConfigError("store.catalog_url names a PostgreSQL database, but psycopg is not installed: "
                              "`pip install 'cited-assistant[postgres]'` (or unset store.catalog_url)") from e
        u = urlparse(url)
        if u.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
            raise ConfigError(f"store.catalog_url {redact(url)!r} is not a PostgreSQL URL like "
                              "postgresql://user:password@host:5432/database")
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            self._secret = str(conninfo_to_dict(self.url).get("password") or "")
        except psycopg.Error:
            raise ConfigError("store.catalog_url cannot be read as a PostgreSQL URL (a character in the password "
                              "that needs %-encoding?); write it as postgresql://user:password@host:5432/database "
                              "with the password URL-encoded") from None  # libpq's message repeats the password
        self.schema = schema
        self.application = application
        self.where = f"{redact(self.url)} (schema {schema})"
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        self._psycopg = psycopg
        self._lock = threading.RLock()
        self._closed = False
        self._conn = self.connect()

    def _text(self, e: BaseException) -> str:
        """An error's message on one line, without the password."""
        text = " ".join(str(e).split())[:200]
        return text.replace(self._secret, "***") if self._secret else text

    def unavailable(self, e: BaseException) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the connection to PostgreSQL at {self.where} failed ({type(e).__name__}: {self._text(e)}); nothing "
            "committed is lost: try again once the server is back (store.catalog_url)")

    def connect(self, application: str | None = None) -> Any:
        """A new autocommit connection with this collection's schema first on its search path."""
        conn = None
        try:
            conn = self._psycopg.connect(
                self.url, autocommit=True, application_name=(application or self.application)[:63], connect_timeout=10,
                keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
            conn.execute(f'SET search_path TO "{self.schema}", public')
        except self._psycopg.Error as e:
            if conn is not None:
                conn.close()
            raise StoreUnavailableError(
                f"cannot reach the PostgreSQL database at {redact(self.url)} ({type(e).__name__}: "
                f"{self._text(e)}); start it, or check store.catalog_url") from e
        return conn

    def has_schema(self, version_key: str, version: int) -> bool:
        """Whether the schema exists with ``meta(version_key)`` at ``version`` (then its DDL need not run:
        ``CREATE INDEX IF NOT EXISTS`` would take a lock on the table and need its owner's rights)."""
        rows = self.query("SELECT to_regclass(?)", (f'"{self.schema}".meta',))
        if not rows or rows[0][0] is None:
            return False
        rows = self.query("SELECT value FROM meta WHERE key = ?", (version_key,))
        return bool(rows) and rows[0][0] == str(version)

    def script(self, sql: str) -> None:
        """Create the schema if needed and run ``sql`` (``;``-separated DDL) in one transaction, serialized
        across processes by a transaction-scoped advisory lock (two servers starting at once would
        otherwise race on ``CREATE ... IF NOT EXISTS``)."""
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(1095980884, hashtext(?))", (f"schema:{self.schema}",))  # "ASST"
            tx.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            for statement in (s.strip() for s in sql.split(";")):
                lines = [ln for ln in statement.splitlines() if ln.strip() and not ln.strip().startswith("--")]
                if lines:
                    tx.execute("\n".join(lines))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock, self._guard(), self._conn.transaction():
            yield _PgTransaction(self._conn)

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        with self._lock, self._guard():
            return self._conn.execute(_pg(sql), tuple(params) or None).fetchall()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """A lost connection (server restarted, connection killed) fails typed, and is reopened for the
        next call."""
        if self._closed:
            raise StoreUnavailableError(f"the catalog at {self.where} was closed")
        if self._conn.closed:
            self._conn = self.connect()
        try:
            yield
        except self._psycopg.OperationalError as e:
            if not self._conn.closed:
                raise
            raise self.unavailable(e) from e

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
