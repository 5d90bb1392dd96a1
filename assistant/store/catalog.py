"""The catalog: articles, sentences and chunks, the index's source of truth, in SQLite (embedded) or
PostgreSQL (served, ``store.catalog_url``): one code path over database.py.

Chroma (vectors) and BM25 (tokens) are derived from it and repaired to match it after a crash.
An article is in the index exactly when its catalog transaction committed. The embedding cache
(vectors by model and text hash) lets a rebuild or a re-ingest of known text skip the model.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import IndexMismatchError
from assistant.store.database import Database, SQLiteDatabase, Transaction
from assistant.types import Article, ArticleInfo, Sentence

__all__ = ["Catalog", "Chunk", "text_key", "SCHEMA_VERSION"]

# The catalog's schema, recorded in meta('schema_version'); a change to _SCHEMA bumps it (PostgreSQL runs the DDL
# only when the recorded version differs) and adds its migration.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles(
    id TEXT PRIMARY KEY, title TEXT, source TEXT, date TEXT, lang TEXT NOT NULL, path TEXT,
    text TEXT NOT NULL, content_hash TEXT NOT NULL, n_sentences INTEGER NOT NULL, added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sentences(
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    chunk_id TEXT NOT NULL, tokens TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_by_article ON sentences(article_id, idx);
-- a search reads the sentences of its candidate chunks: without this, a scan of every sentence (69 ms at 100k)
CREATE INDEX IF NOT EXISTS sentences_by_chunk ON sentences(chunk_id, idx);
CREATE TABLE IF NOT EXISTS chunks(
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    first_idx INTEGER NOT NULL, last_idx INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS vectors(key TEXT PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _schema(kind: str) -> str:
    return _SCHEMA.replace("BLOB", "BYTEA") if kind == "postgres" else _SCHEMA


def text_key(model_id: str, text: str) -> str:
    """Cache key of one text's embedding under one model."""
    return hashlib.blake2b(f"{model_id}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole sentences of one article (``first``..``last`` sentence indexes, inclusive)."""

    id: str
    article_id: str
    first: int
    last: int


class Catalog:
    """Articles, sentences, chunks and cached embeddings in one database (SQLite file, or a PostgreSQL
    schema). Thread-safe."""

    def __init__(self, db: Database | Path):
        self.db = SQLiteDatabase(db) if isinstance(db, Path) else db
        self._uid: str | None = None
        try:
            if not self.db.has_schema("schema_version", SCHEMA_VERSION):
                self.db.script(_schema(self.db.kind))
            self._check_version()
        except BaseException:
            self.db.close()
            raise

    def _check_version(self) -> None:
        with self.transaction() as tx:
            version = Catalog.meta_once(tx, "schema_version", str(SCHEMA_VERSION))
            if int(version) > SCHEMA_VERSION:
                raise IndexMismatchError(
                    f"the catalog at {self.db.where} has schema version {version}, newer than this release reads "
                    f"({SCHEMA_VERSION}); upgrade cited-assistant on this machine")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic write: all of it commits, or none of it (also on a crash)."""
        with self.db.transaction() as tx:
            yield tx

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        return self.db.query(sql, params)

    # --- meta -------------------------------------------------------------------------------------
    def uid(self) -> str:
        """A random id fixed when the index is created: names its Chroma collections, survives moves. Read
        once (every question asks for it, and a write transaction each time cost every question a round
        trip and the write lock of SQLite): only a new index writes it."""
        import uuid

        if self._uid is None:
            self._uid = self.get_meta("uid")
        if self._uid is None:
            with self.transaction() as conn:
                self._uid = Catalog.meta_once(conn, "uid", uuid.uuid4().hex[:16])
        return self._uid

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0][0]) if rows else None

    @staticmethod
    def meta_once(conn: Transaction, key: str, value: str) -> str:
        """The value of ``key``, set to ``value`` when it has none (two processes setting it at once: the
        first insert wins, both read it)."""
        conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO NOTHING", (key, value))
        return str(conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0])

    @staticmethod
    def set_meta(conn: Transaction, key: str, value: str | None) -> None:
        if value is None:
            conn.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         (key, value))

    def generation(self) -> int:
        """A counter bumped by every committed change of articles."""
        rows = self._query("SELECT value FROM meta WHERE key='generation'")
        return int(rows[0][0]) if rows else 0

    @staticmethod
    def bump_generation(conn: Transaction) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)"
        )

    # --- articles ---------------------------------------------------------------------------------
    def content_hash(self, article_id: str) -> str | None:
        rows = self._query("SELECT content_hash FROM articles WHERE id=?", (article_id,))
        return rows[0][0] if rows else None

    def articles(self) -> list[ArticleInfo]:
        rows = self._query(
            "SELECT id, title, source, date, lang, n_sentences, path, content_hash FROM articles ORDER BY id"
        )
        return [ArticleInfo(*r) for r in rows]

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        rows = self._query(
            "SELECT id, title, source, date, lang, n_sentences, path, content_hash, text FROM articles WHERE id=?",
            (article_id,),
        )
        if not rows:
            return None
        *info, text = rows[0]
        return ArticleInfo(*info), text

    def article_infos(self, ids: Iterable[str]) -> dict[str, ArticleInfo]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, ArticleInfo] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._query(
                "SELECT id, title, source, date, lang, n_sentences, path, content_hash FROM articles "
                f"WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            out.update({r[0]: ArticleInfo(*r) for r in rows})
        return out

    def count(self) -> tuple[int, int]:
        """(articles, sentences)."""
        a = self._query("SELECT COUNT(*) FROM articles")[0][0]
        s = self._query("SELECT COUNT(*) FROM sentences")[0][0]
        return a, s

    @staticmethod
    def put_article(
        conn: Transaction,
        article: Article,
        lang: str,
        chash: str,
        sentences: list[Sentence],
        chunk_of: list[str],
        tokens: list[str],
        chunks: list[Chunk],
        added_at: str,
    ) -> None:
        """Replace (or insert) one article with its sentences and chunks, inside ``conn``'s transaction."""
        conn.execute("DELETE FROM articles WHERE id=?", (article.id,))
        conn.execute(
            "INSERT INTO articles(id, title, source, date, lang, path, text, content_hash, n_sentences, added_at) "
            "VALUES(?,?,?,?,?,?,?,?,?,?)",
            (article.id, article.title, article.source, article.date, lang, article.path, article.text, chash,
             len(sentences), added_at),
        )
        conn.executemany(
            'INSERT INTO sentences(id, article_id, idx, start, "end", text, chunk_id, tokens) VALUES(?,?,?,?,?,?,?,?)',
            [(s.id, s.article_id, s.index, s.start, s.end, s.text, c, t)
             for s, c, t in zip(sentences, chunk_of, tokens)],
        )
        conn.executemany(
            "INSERT INTO chunks(id, article_id, first_idx, last_idx) VALUES(?,?,?,?)",
            [(c.id, c.article_id, c.first, c.last) for c in chunks],
        )

    @staticmethod
    def delete_article(conn: Transaction, article_id: str) -> bool:
        cur = conn.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return cur.rowcount > 0

    # --- sentences and chunks ---------------------------------------------------------------------
    _SENT_COLS = 'id, article_id, idx, start, "end", text'

    def sentence_ids_of(self, article_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM sentences WHERE article_id=? ORDER BY idx", (article_id,))]

    def chunk_ids_of(self, article_id: str) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM chunks WHERE article_id=?", (article_id,))]

    def sentences_of(self, article_id: str) -> list[Sentence]:
        rows = self._query(f"SELECT {self._SENT_COLS} FROM sentences WHERE article_id=? ORDER BY idx", (article_id,))
        return [Sentence(*r) for r in rows]

    def sentences(self, ids: Iterable[str]) -> dict[str, tuple[Sentence, str]]:
        """Sentences by id, each with its chunk id."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, tuple[Sentence, str]] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._query(
                f"SELECT {self._SENT_COLS}, chunk_id FROM sentences WHERE id IN ({','.join('?' * len(part))})", part
            )
            out.update({r[0]: (Sentence(*r[:6]), r[6]) for r in rows})
        return out

    def chunk_sentence_ids(self, chunk_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(dict.fromkeys(chunk_ids))
        out: dict[str, list[str]] = {c: [] for c in ids}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._query(
                f"SELECT chunk_id, id FROM sentences WHERE chunk_id IN ({','.join('?' * len(part))}) ORDER BY idx",
                part,
            )
            for cid, sid in rows:
                out[cid].append(sid)
        return out

    def iter_sentence_rows(self, column: str = "text", batch: int = 5000) -> Iterator[list[tuple[str, str, str]]]:
        """(sentence id, article id, text or tokens) in a stable order, in batches."""
        if column not in ("text", "tokens"):
            raise ValueError(column)
        last = ""
        while True:
            rows = self._query(
                f"SELECT id, article_id, {column} FROM sentences WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            )
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def all_ids(self) -> tuple[set[str], set[str]]:
        """(sentence ids, chunk ids) currently committed."""
        s = {r[0] for r in self._query("SELECT id FROM sentences")}
        c = {r[0] for r in self._query("SELECT id FROM chunks")}
        return s, c

    def chunks_of_ids(self, ids: Iterable[str]) -> list[Chunk]:
        ids = list(ids)
        out: list[Chunk] = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self._query(
                f"SELECT id, article_id, first_idx, last_idx FROM chunks WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            out.extend(Chunk(*r) for r in rows)
        return out

    def sentence_texts_for_chunks(self, chunks: list[Chunk]) -> dict[str, list[str]]:
        """Texts of the sentences in each chunk, in order."""
        sids = self.chunk_sentence_ids([c.id for c in chunks])
        sents = self.sentences([s for ids in sids.values() for s in ids])
        return {cid: [sents[s][0].text for s in ids if s in sents] for cid, ids in sids.items()}

    # --- embedding cache --------------------------------------------------------------------------
    def cached_vectors(self, keys: list[str], dim: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        for i in range(0, len(uniq), 500):
            part = uniq[i : i + 500]
            rows = self._query(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
            for k, blob in rows:
                v = np.frombuffer(bytes(blob), dtype=np.float32)
                if v.shape[0] == dim:
                    out[k] = v
        return out

    @staticmethod
    def put_vectors(conn: Transaction, items: dict[str, np.ndarray]) -> None:
        conn.executemany(
            "INSERT INTO vectors(key, vec) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET vec = excluded.vec",
            [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
        )

    def seed_vectors(self, sources: Iterable[str | Path]) -> int:
        """Copy the embedding cache of other indexes (their folder or catalog file, opened read-only)
        into this one, keeping what is here; returns how many rows were offered. Keys hash the model id
        with the text, so vectors of another model never match anything. A source that cannot be read
        is skipped."""
        offered = 0
        for src in sources:
            db = Path(src) / "catalog.sqlite" if Path(src).is_dir() else Path(src)
            try:
                ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    rows = ro.execute("SELECT key, vec FROM vectors").fetchall()
                finally:
                    ro.close()
            except sqlite3.Error:
                continue
            with self.transaction() as conn:
                conn.executemany("INSERT INTO vectors(key, vec) VALUES(?, ?) ON CONFLICT(key) DO NOTHING", rows)
            offered += len(rows)
        return offered

    def prune_vectors(self, keep: set[str]) -> int:
        """Drop cached vectors whose key is not in ``keep``; returns how many were dropped."""
        with self.transaction() as conn:
            keys = [r[0] for r in conn.execute("SELECT key FROM vectors").fetchall()]
            gone = [k for k in keys if k not in keep]
            conn.executemany("DELETE FROM vectors WHERE key=?", [(k,) for k in gone])
        return len(gone)
