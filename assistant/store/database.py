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


def redact(url: str) -> str:
    """A database URL without its password, for messages."""
    u = urlparse(url)
    if u.password is None:
        return url
    return url.replace(f":{u.password}@", ":***@", 1)


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
    """A collection's schema in a PostgreSQL database (psycopg 3, ``pip install cited-assistant[postgres]``)."""

    kind = "postgres"

    def __init__(self, url: str, schema: str, *, application: str = "assistant"):
        try:
            import psycopg
        except ImportError as e:
            raise ConfigError("store.catalog_url names a PostgreSQL database, but psycopg is not installed: "
                              "`pip install 'cited-assistant[postgres]'` (or unset store.catalog_url)") from e
        u = urlparse(url)
        if u.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
            raise ConfigError(f"store.catalog_url {redact(url)!r} is not a PostgreSQL URL like "
                              "postgresql://user:password@host:5432/database")
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.schema = schema
        self.application = application
        self.where = f"{redact(self.url)} (schema {schema})"
        self._lock = threading.RLock()
        self._conn = self.connect()
        self._psycopg = psycopg

    def connect(self, application: str | None = None) -> Any:
        """A new autocommit connection with this collection's schema first on its search path."""
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, application_name=(application or self.application)[:63],
                                   connect_timeout=10)
        except psycopg.Error as e:
            raise StoreUnavailableError(
                f"cannot reach the PostgreSQL database at {redact(self.url)} ({type(e).__name__}: "
                f"{' '.join(str(e).split())[:200]}); start it, or check store.catalog_url") from e
        conn.execute(f'SET search_path TO "{self.schema}", public')
        return conn

    def script(self, sql: str) -> None:
        """Create the schema if needed and run ``sql`` (``;``-separated DDL) in one transaction, serialized
        across processes by a transaction-scoped advisory lock (two servers starting at once would
        otherwise race on ``CREATE ... IF NOT EXISTS``)."""
        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"schema:{self.schema}",))
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
        """A lost connection (server restarted) is reopened for the next call; this one fails typed."""
        if self._conn.closed:
            self._conn = self.connect()
        try:
            yield
        except self._psycopg.OperationalError as e:
            if not self._conn.closed:
                raise
            raise StoreUnavailableError(
                f"the connection to PostgreSQL at {self.where} was lost ({' '.join(str(e).split())[:200]}); "
                "nothing committed is lost: try again once the server is back") from e

    def close(self) -> None:
        with self._lock:
            self._conn.close()
