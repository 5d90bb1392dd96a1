"""Where an index keeps what its processes share besides the catalog: the manifest, the write lock, the
crash marker and the lexical index. Two homes, chosen by ``store.catalog_url``:

- :class:`FolderHome` (embedded, the default): files in the index folder (``manifest.json``, ``.lock``,
  ``.dirty``, ``bm25/``) and the catalog in ``catalog.sqlite``; one machine.
- :class:`DatabaseHome` (served): all of it in the collection's PostgreSQL schema (meta rows, advisory
  locks, BM25 in SQL), so app servers and ingesters on any number of machines share one collection and
  the local folder holds nothing they need (the vectors must then be served too: ``store.chroma_url`` or
  ``store.qdrant_url``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from pathlib import Path

from assistant.errors import ConfigError, IndexCorruptError
from assistant.settings import StoreSettings
from assistant.store.catalog import Catalog
from assistant.store.database import PostgresDatabase, schema_name
from assistant.store.lexical import LexicalFile
from assistant.store.lexical_sql import SqlLexical
from assistant.store.locking import AdvisoryLock, FileProcessLock, ProcessLock, holder_name
from assistant.store.manifest import Manifest
from assistant.store.marker import CrashMarker

__all__ = ["FolderHome", "DatabaseHome", "Home", "open_home", "DatabaseMarker", "served_collections"]


class DatabaseMarker:
    """The crash marker as meta rows, one per writer (``dirty:<host pid N> <random>``), same contract as
    marker.CrashMarker. A writer clears only its own row: a writer that lost the lock while another took
    it (see Index.writing) sets its row again, and the other's finishing does not erase it."""

    def __init__(self, catalog: Catalog):
        self._catalog = catalog
        self._key = f"dirty:{holder_name()} {uuid.uuid4().hex[:8]}"  # one per open index, even in one process

    @property
    def present(self) -> bool:
        return bool(self._catalog.db.query("SELECT count(*) FROM meta WHERE key LIKE ?", ("dirty:%",))[0][0])

    def set(self) -> None:
        with self._catalog.transaction() as tx:
            Catalog.set_meta(tx, self._key, "1")

    def clear(self) -> None:
        with self._catalog.transaction() as tx:
            Catalog.set_meta(tx, self._key, None)

    def clear_others(self) -> None:
        """After a repair, under the lock: the rows of writers that died (or lost the lock) are settled."""
        with self._catalog.transaction() as tx:
            tx.execute("DELETE FROM meta WHERE key LIKE ? AND key <> ?", ("dirty:%", self._key))


class FolderHome:
    served = False

    def __init__(self, path: Path):
        self.path = path
        self.where = str(path)
        self.rebuild_hint = str(path)  # what `assistant rebuild --index` takes

    def close(self) -> None:
        """Nothing held before the catalog opens."""

    def open_lock(self) -> ProcessLock:
        return FileProcessLock(self.path / ".open.lock")

    def write_lock(self) -> ProcessLock:
        return FileProcessLock(self.path / ".lock")

    def catalog(self) -> Catalog:
        return Catalog(self.path / "catalog.sqlite")

    def marker(self, catalog: Catalog) -> CrashMarker:
        return CrashMarker(self.path)

    def lexical(self, catalog: Catalog) -> LexicalFile:
        return LexicalFile(self.path / "bm25")

    def load_manifest(self, catalog: Catalog) -> Manifest | None:
        p = self.path / "manifest.json"
        return Manifest.load(p) if p.exists() else None

    def save_manifest(self, catalog: Catalog, manifest: Manifest) -> None:
        manifest.save(self.path / "manifest.json")

    def rebuilding(self, catalog: Catalog) -> Manifest | None:
        """One process at a time writes an embedded index: nobody else to tell about a rebuild."""
        return None

    def mark_rebuilding(self, catalog: Catalog, manifest: Manifest) -> None:
        """Nothing to mark (see :meth:`rebuilding`)."""


class DatabaseHome:
    served = True

    def __init__(self, path: Path, settings: StoreSettings):
        if not settings.chroma_url and settings.backend == "chroma":
            raise ConfigError(
                "store.catalog_url puts the catalog on a PostgreSQL server, but the vectors would stay in this "
                "machine's folder: serve them too (store.chroma_url, e.g. `chroma run --path DIR --port 8000`), "
                "or unset store.catalog_url")
        if settings.backend == "qdrant" and not settings.qdrant_url:
            raise ConfigError("store.catalog_url with store.backend qdrant needs store.qdrant_url (a Qdrant server "
                              "every machine reaches)")
        if (path / "catalog.sqlite").exists():
            raise ConfigError(
                f"{path} holds an embedded collection (catalog.sqlite), and store.catalog_url would open a new, empty "
                f"one of the same name in PostgreSQL instead: unset store.catalog_url to use it, or give the served "
                "collection another name")
        self.path = path
        self.schema = schema_name(path.name)
        self.rebuild_hint = path.name
        assert settings.catalog_url is not None
        self._db = PostgresDatabase(settings.catalog_url.get_secret_value(), self.schema,
                                    application=f"assistant {holder_name()}")
        self.where = self._db.where

    def close(self) -> None:
        self._db.close()

    def open_lock(self) -> ProcessLock:
        return AdvisoryLock(self._db, f"open:{self.schema}")

    def write_lock(self) -> ProcessLock:
        return AdvisoryLock(self._db, f"write:{self.schema}")

    def catalog(self) -> Catalog:
        catalog = Catalog(self._db)
        name = self.path.name
        with catalog.transaction() as tx:  # the schema's collection: names differing only in case share a schema
            holder = Catalog.meta_once(tx, "collection", name)
        if holder != name:
            catalog.close()
            raise ConfigError(f"the collection name {name!r} maps to the PostgreSQL schema {self.schema}, which holds "
                              f"the collection {holder!r}; choose another name")
        return catalog

    def marker(self, catalog: Catalog) -> DatabaseMarker:
        return DatabaseMarker(catalog)

    def lexical(self, catalog: Catalog) -> SqlLexical:
        return SqlLexical(catalog)

    def load_manifest(self, catalog: Catalog) -> Manifest | None:
        raw = catalog.get_meta("manifest")
        if raw is None:
            return None
        try:
            return Manifest(**json.loads(raw))
        except (ValueError, TypeError) as e:
            raise IndexCorruptError(f"the manifest of {self.where} is unreadable ({e}); drop the schema "
                                    f"{self.schema} and ingest again") from e

    def save_manifest(self, catalog: Catalog, manifest: Manifest) -> None:
        """The manifest, and the end of a rebuild to it (one transaction)."""
        with catalog.transaction() as tx:
            Catalog.set_meta(tx, "manifest", json.dumps(asdict(manifest)))
            Catalog.set_meta(tx, "rebuilding", None)

    def rebuilding(self, catalog: Catalog) -> Manifest | None:
        """The settings a rebuild in progress (or interrupted) is moving the collection to, if any."""
        raw = catalog.get_meta("rebuilding")
        return Manifest(**json.loads(raw)) if raw else None

    def mark_rebuilding(self, catalog: Catalog, manifest: Manifest) -> None:
        """Before a rebuild resets the vectors: every other process stops at its next look (Index.sync)."""
        with catalog.transaction() as tx:
            Catalog.set_meta(tx, "rebuilding", json.dumps(asdict(manifest)))
            Catalog.bump_generation(tx)


Home = FolderHome | DatabaseHome


def served_collections(settings: StoreSettings) -> list[str]:
    """The collections in the database of ``store.catalog_url`` (none when it is not set)."""
    if not settings.catalog_url:
        return []
    db = PostgresDatabase(settings.catalog_url.get_secret_value(), "public", application=f"assistant {holder_name()}")
    try:
        schemas = [r[0] for r in db.query(
            "SELECT n.nspname FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid "
            "WHERE n.nspname LIKE 'assistant\\_%' AND c.relname = 'meta' AND c.relkind = 'r'")]
        names = []
        for schema in schemas:
            quoted = '"' + schema.replace('"', '""') + '"'
            try:
                rows = db.query(f"SELECT value FROM {quoted}.meta WHERE key = 'collection'")
            except db.errors:  # a schema this role may not read: not one of its collections
                continue
            if rows:
                names.append(str(rows[0][0]))
        return sorted(names)
    finally:
        db.close()


def open_home(path: Path, settings: StoreSettings) -> Home:
    return DatabaseHome(path, settings) if settings.catalog_url else FolderHome(path)
