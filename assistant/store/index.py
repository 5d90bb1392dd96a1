"""One index on disk: catalog (SQLite) + vectors (Chroma through llama-index) + BM25, and a manifest.

Layout of ``indexes/<name>/``::

    manifest.json     what built it (embedding model, splitter, chunking)
    catalog.sqlite    articles, sentences, chunks, cached embeddings: the source of truth
    chroma/           embedded Chroma (absent when a Chroma server is used)
    bm25/             BM25 over normalized tokens, stamped with the catalog generation
    .dirty            present while a write is in flight; on open, Chroma and BM25 are repaired
    .lock             flock'ed by the process that writes (its pid inside, for the message of the others)

Every article is committed in one SQLite transaction; Chroma and BM25 follow and are repaired from the
catalog if a crash comes between. So an article is fully searchable or absent, never half there.

Processes: writes are serialized by the flock on ``.lock`` (a second writer waits up to
``store.lock_timeout`` seconds, then gets IndexLockedError naming the pid that writes). A ``.dirty``
marker whose lock is held is a write in flight, not a crash: it is left alone. Reading ``index.vectors``
or ``index.lexical`` first calls :meth:`Index.sync`, which picks up what another process committed (and
repairs after a writer that died), so a long-running server sees a command-line ingest.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.errors import EmptyArticleError, IndexLockedError
from assistant.models.embeddings import Embedder
from assistant.settings import Settings
from assistant.store.catalog import Catalog, Chunk, text_key
from assistant.store.lexical import LexicalIndex
from assistant.store.manifest import FORMAT_VERSION, TOKENIZER_VERSION, Manifest
from assistant.store.vectors import VectorStore
from assistant.text.language import detect_language
from assistant.text.normalize import tokenize
from assistant.text.reading import content_hash
from assistant.text.sentences import SPLITTER_VERSION, split_article
from assistant.types import Article, Sentence

__all__ = ["Index", "Prepared", "make_chunks"]

Progress = Callable[[int, int, str], None]


def make_chunks(article_id: str, sentences: list[Sentence], max_sentences: int, max_chars: int) -> list[Chunk]:
    """Group consecutive whole sentences into chunks of at most ``max_sentences`` and ``max_chars``."""
    chunks: list[Chunk] = []
    first = 0
    size = 0
    for i, s in enumerate(sentences):
        if i > first and (i - first >= max_sentences or size + len(s.text) > max_chars):
            chunks.append(_chunk(article_id, sentences, first, i - 1))
            first, size = i, 0
        size += len(s.text) + 1
    if sentences:
        chunks.append(_chunk(article_id, sentences, first, len(sentences) - 1))
    return chunks


def _chunk(article_id: str, sentences: list[Sentence], first: int, last: int) -> Chunk:
    h = hashlib.blake2b(digest_size=8)
    for s in sentences[first : last + 1]:
        h.update(s.id.encode())
    return Chunk(id="c" + h.hexdigest(), article_id=article_id, first=first, last=last)


class Prepared:
    """An article split and ready to embed and commit."""

    def __init__(self, article: Article, settings: Settings):
        self.article = article
        self.hash = content_hash(article)
        self.lang = article.lang or detect_language(article.text, default="ar")
        self.sentences = split_article(article.id, article.text, max_chars=settings.chunking.max_sentence_chars)
        if not self.sentences:
            raise EmptyArticleError(article.id, "has no sentences with words in them; nothing to index")
        self.chunks = make_chunks(
            article.id, self.sentences, settings.chunking.max_sentences, settings.chunking.max_chars
        )
        self.chunk_of = [c.id for c in self.chunks for _ in range(c.first, c.last + 1)]
        self.tokens = [" ".join(tokenize(s.text)) for s in self.sentences]


class Index:
    """An index folder, opened for reading and writing. Thread-safe; one writing process at a time."""

    def __init__(self, path: Path, settings: Settings, embedder: Embedder, *, rebuild: bool = False):
        self.path = path
        self.name = path.name
        self.settings = settings
        self.embedder = embedder
        path.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._in_write = 0  # depth of writing() in the thread holding _write_lock
        self._found_dirty = False  # the last writing() found a .dirty marker from a writer that died
        self._closed = False
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            embedding_model=embedder.model_id,
            embedding_dim=embedder.dim,
            splitter_version=SPLITTER_VERSION,
            tokenizer_version=TOKENIZER_VERSION,
            chunk_max_sentences=settings.chunking.max_sentences,
            chunk_max_chars=settings.chunking.max_chars,
            max_sentence_chars=settings.chunking.max_sentence_chars,
        )
        manifest_path = path / "manifest.json"
        stale = False
        if manifest_path.exists():
            old = Manifest.load(manifest_path)
            if rebuild:
                stale = old != self.manifest
            else:
                old.check_compatible(self.manifest, path)
        self.catalog = Catalog(path / "catalog.sqlite")
        self._generation = self.catalog.generation()  # what this process's Chroma client and BM25 reflect
        self._lexical: LexicalIndex | None = None
        self._lexical_stamp: tuple[int, int] | None = None
        self._vectors = VectorStore(path, self.catalog.uid(), settings.store)
        if stale:
            self._rebuild()
        self._vectors.check(embedder.dim)
        if not manifest_path.exists() or stale:
            self.manifest.save(manifest_path)
        self._load_lexical()
        self._settle()

    def _settle(self) -> None:
        """On open: repair after a writer that died, or bring BM25 up to date; skipped (not waited for)
        while another process writes, since that writer leaves everything consistent when it finishes."""
        n_sentences = self.catalog.count()[1]
        lexical_stale = self._lexical is None or self._lexical.generation != self.catalog.generation()
        if not (self._dirty.exists() or lexical_stale or self._vectors.count("sentences") != n_sentences):
            return
        try:
            with self.writing(wait=0):
                if self._found_dirty or self._vectors.count("sentences") != self.catalog.count()[1]:
                    self.repair()
                elif self._lexical is None or self._lexical.generation != self.catalog.generation():
                    self._refresh_lexical()
        except IndexLockedError:
            pass  # a write is in flight in another process

    @property
    def _dirty(self) -> Path:
        return self.path / ".dirty"

    @property
    def vectors(self) -> VectorStore:
        """The Chroma collections, current with what any process committed (see :meth:`sync`)."""
        self.sync()
        return self._vectors

    @property
    def lexical(self) -> LexicalIndex | None:
        """The BM25 snapshot, current with the last one any process saved (see :meth:`sync`)."""
        self.sync()
        return self._lexical

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._vectors.close()
            self.catalog.close()

    # --- other processes --------------------------------------------------------------------------
    def sync(self) -> None:
        """Pick up what other processes committed since this one last looked: reopen embedded Chroma
        (it caches its vectors in memory), load a newer BM25 snapshot, and repair after a writer that
        died mid-write. Cheap when nothing changed (one SQLite read and one stat). Skipped while this
        process writes (its own view is then the current one)."""
        if self._closed or not self._write_lock.acquire(blocking=False):
            return
        try:
            if self._in_write:
                return
            gen = self.catalog.generation()
            if gen != self._generation:
                self._vectors.reload()
                self._generation = gen
            if self._dirty.exists():  # a writer is at work, or died: repair only in the second case
                try:
                    with self.writing(wait=0):
                        if self._found_dirty:
                            self.repair()
                except IndexLockedError:
                    pass
            self._load_lexical()
        finally:
            self._write_lock.release()

    def _lexical_file_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.path / "bm25" / "docs.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _load_lexical(self) -> None:
        """Load the saved BM25 snapshot when it is not the one in memory and is newer."""
        stamp = self._lexical_file_stamp()
        if stamp is None or stamp == self._lexical_stamp:
            return
        lex = LexicalIndex.load(self.path / "bm25")
        self._lexical_stamp = stamp
        if lex is not None and (self._lexical is None or lex.generation >= self._lexical.generation):
            self._lexical = lex

    # --- locking ----------------------------------------------------------------------------------
    @contextmanager
    def writing(self, wait: float | None = None) -> Iterator[None]:
        """Hold this index's write lock (threads in this process, and other processes) and mark it dirty.

        Another process writing: wait up to ``wait`` seconds (default ``store.lock_timeout``), then raise
        IndexLockedError naming it. Re-entrant in the thread that holds it."""
        wait = self.settings.store.lock_timeout if wait is None else wait
        with self._write_lock:
            if self._in_write:  # nested in this thread: the flock is already ours
                self._in_write += 1
                try:
                    yield
                finally:
                    self._in_write -= 1
                return
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                deadline = time.monotonic() + wait
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as e:
                        if e.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() >= deadline:
                            raise IndexLockedError(
                                f"another process{_holder(fd)} is writing the index at {self.path}; wait for it "
                                f"to finish and try again (waited {wait:g} s; store.lock_timeout, "
                                "ASSISTANT_STORE__LOCK_TIMEOUT, sets how long)"
                            ) from e
                        time.sleep(0.1)
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self._found_dirty = self._dirty.exists()
                if self.catalog.generation() != self._generation:  # another process wrote since we looked
                    self._vectors.reload()
                self._dirty.touch()
                self._in_write = 1
                try:
                    yield
                finally:
                    self._in_write = 0
                    self._generation = self.catalog.generation()
                self._dirty.unlink(missing_ok=True)
                self._found_dirty = False
            finally:
                os.close(fd)  # releases the flock

    # --- writing ----------------------------------------------------------------------------------
    def unchanged(self, article: Article) -> bool:
        return self.catalog.content_hash(article.id) == content_hash(article)

    def _key(self, text: str, title: str | None) -> str:
        return text_key(self.embedder.model_id, self.embedder.document_key(text, title))

    def _embed(self, items: list[tuple[str, str | None]]) -> tuple[np.ndarray, list[str]]:
        """Vectors and cache keys for (sentence, title) pairs; cached ones skip the model."""
        keys = [self._key(t, title) for t, title in items]
        cached = self.catalog.cached_vectors(keys, self.embedder.dim)
        todo: dict[str, tuple[str, str | None]] = {}
        for k, item in zip(keys, items):
            if k not in cached:
                todo.setdefault(k, item)
        if todo:
            fresh = self.embedder.embed_documents([t for t, _ in todo.values()], [ti for _, ti in todo.values()])
            cached.update(zip(todo, fresh))
        vecs = np.stack([cached[k] for k in keys]) if keys else np.empty((0, self.embedder.dim), np.float32)
        return vecs, keys

    def commit(self, prepared: list[Prepared], progress: Progress | None = None) -> None:
        """Embed and store articles: each one commits atomically in the catalog; then the vectors of the
        whole batch go to Chroma in one write per collection (a crash in between leaves ``.dirty``, and
        the repair on the next open restores them from the catalog). Caller holds ``writing()``."""
        vecs, keys = self._embed([(s.text, p.article.title) for p in prepared for s in p.sentences])
        at = 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        done: list[tuple[Prepared, np.ndarray, np.ndarray]] = []
        stale_s: set[str] = set()
        stale_c: set[str] = set()
        for p in prepared:
            sv = vecs[at : at + len(p.sentences)]
            sk = keys[at : at + len(p.sentences)]
            at += len(p.sentences)
            cv = np.stack([_mean(sv[c.first : c.last + 1]) for c in p.chunks])
            old_s = set(self.catalog.sentence_ids_of(p.article.id))
            old_c = set(self.catalog.chunk_ids_of(p.article.id))
            with self.catalog.transaction() as conn:
                Catalog.put_vectors(conn, dict(zip(sk, sv)))
                Catalog.put_article(conn, p.article, p.lang, p.hash, p.sentences, p.chunk_of, p.tokens, p.chunks, now)
                Catalog.bump_generation(conn)
            done.append((p, sv, cv))
            stale_s |= old_s - {s.id for s in p.sentences}
            stale_c |= old_c - {c.id for c in p.chunks}
        self._write_vectors(done)
        self._vectors.delete("sentences", stale_s)
        self._vectors.delete("chunks", stale_c)
        if progress:
            for n, (p, _, _) in enumerate(done, 1):
                progress(n, len(prepared), p.article.id)

    def _write_vectors(self, items: list[tuple[Prepared, np.ndarray, np.ndarray]]) -> None:
        """Sentence and chunk vectors of some articles, in one Chroma write per collection."""
        if not items:
            return
        self._vectors.add(
            "sentences",
            [s.id for p, _, _ in items for s in p.sentences],
            [s.text for p, _, _ in items for s in p.sentences],
            np.concatenate([sv for _, sv, _ in items]),
            [{"article_id": s.article_id, "idx": s.index, "chunk_id": c}
             for p, _, _ in items for s, c in zip(p.sentences, p.chunk_of)],
        )
        self._vectors.add(
            "chunks",
            [c.id for p, _, _ in items for c in p.chunks],
            [" ".join(s.text for s in p.sentences[c.first : c.last + 1]) for p, _, _ in items for c in p.chunks],
            np.concatenate([cv for _, _, cv in items]),
            [{"article_id": c.article_id, "first": c.first, "last": c.last} for p, _, _ in items for c in p.chunks],
        )

    def remove(self, article_id: str) -> bool:
        """Remove an article everywhere. Caller holds ``writing()``. False when it was not there."""
        sids = self.catalog.sentence_ids_of(article_id)
        cids = self.catalog.chunk_ids_of(article_id)
        with self.catalog.transaction() as conn:
            found = Catalog.delete_article(conn, article_id)
            if found:
                Catalog.bump_generation(conn)
        self._vectors.delete("sentences", sids)
        self._vectors.delete("chunks", cids)
        return found

    def finish_write(self) -> None:
        """Bring BM25 up to date after a batch of commits/removals. Caller holds ``writing()``."""
        self._refresh_lexical()

    def _refresh_lexical(self) -> None:
        gen = self.catalog.generation()
        rows = [r for batch in self.catalog.iter_sentence_rows("tokens") for r in batch]
        lex = LexicalIndex.build(rows, gen)
        lex.save(self.path / "bm25")
        self._lexical = lex
        self._lexical_stamp = self._lexical_file_stamp()

    # --- repair and rebuild -----------------------------------------------------------------------
    def repair(self) -> dict[str, int]:
        """Make Chroma and BM25 match the catalog (after a crash). Caller holds ``writing()``."""
        want_s, want_c = self.catalog.all_ids()
        have_s, have_c = self._vectors.all_ids("sentences"), self._vectors.all_ids("chunks")
        self._vectors.delete("sentences", have_s - want_s)
        self._vectors.delete("chunks", have_c - want_c)
        stale = {s.article_id for s, _ in self.catalog.sentences(want_s - have_s).values()}
        stale |= {c.article_id for c in self.catalog.chunks_of_ids(want_c - have_c)}
        batch: list[tuple[Prepared, np.ndarray, np.ndarray]] = []
        for aid in sorted(stale):
            item = self._reindex_item(aid)
            if item is not None:
                batch.append(item)
            if sum(len(p.sentences) for p, _, _ in batch) >= 1000:
                self._write_vectors(batch)
                batch = []
        self._write_vectors(batch)
        self._refresh_lexical()
        return {"removed": len(have_s - want_s) + len(have_c - want_c), "restored_articles": len(stale)}

    def _stored_article(self, article_id: str) -> Article | None:
        got = self.catalog.article(article_id)
        if got is None:
            return None
        info, text = got
        return info.to_article(text)

    def _reindex_item(self, article_id: str) -> tuple[Prepared, np.ndarray, np.ndarray] | None:
        """A stored article split again with its vectors (from the embedding cache), to write to Chroma."""
        article = self._stored_article(article_id)
        if article is None:
            return None
        p = Prepared(article, self.settings)
        sv, _ = self._embed([(s.text, article.title) for s in p.sentences])
        cv = np.stack([_mean(sv[c.first : c.last + 1]) for c in p.chunks])
        return p, sv, cv

    def _rebuild(self) -> None:
        """Re-split and re-embed every stored article with the current settings."""
        with self.writing():
            self._vectors.reset()
            ids = [a.id for a in self.catalog.articles()]
            batch: list[Prepared] = []
            for aid in ids:
                article = self._stored_article(aid)
                if article is None:
                    continue
                batch.append(Prepared(article, self.settings))
                if len(batch) >= 32:
                    self.commit(batch)
                    batch = []
            if batch:
                self.commit(batch)
            self._refresh_lexical()


def _holder(fd: int) -> str:
    """" (pid N)" from the lock file, or "" when it holds no pid."""
    try:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _mean(rows: np.ndarray) -> np.ndarray:
    v = rows.mean(axis=0)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)
