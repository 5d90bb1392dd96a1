"""One index: catalog + vectors (Chroma or Qdrant through llama-index) + BM25, and a manifest.

Embedded (the default), all of it in ``indexes/<name>/``::

    manifest.json     what built it (embedding model, splitter, chunking)
    catalog.sqlite    articles, sentences, chunks, cached embeddings: the source of truth
    chroma/           embedded Chroma (absent when a Chroma server is used); qdrant/ with store.backend qdrant
    bm25/             BM25 over normalized tokens, stamped with the catalog generation
    .dirty            present while a write is in flight; on open, the vectors and BM25 are repaired (marker.py)
    .lock             the write lock (locking.py); .lock.owner names the pid that writes

Served (``store.catalog_url``: home.py), the catalog, BM25, manifest, write lock and crash marker live in
the collection's PostgreSQL schema and the vectors on a Chroma (or Qdrant) server: the folder holds nothing
the processes share, and any number of them, on any machines, read and write one collection.

This module opens an index (checks the manifest, settles after a crash) and keeps this process's view
current with what other processes commit. The rest is in the modules beside it: writer.py (commit,
remove), repair.py (repair, rebuild), embedding_cache.py, vectors.py, lexical.py, nodes.py.

Processes: writes are serialized by the write lock (a second writer waits up to ``store.lock_timeout``
seconds, then gets IndexLockedError naming the pid that writes). A crash marker whose lock is held is a
write in flight, not a crash: it is left alone. :meth:`Index.snapshot` syncs once (picks up what another
process committed, repairs after a writer that died) and hands a search the catalog, vectors and BM25 it
reads throughout, so a long-running server sees a command-line ingest.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import IndexLockedError, IndexMismatchError, StorageFullError, StoreUnavailableError
from assistant.models.embedding.protocol import Embedder
from assistant.settings import Settings
from assistant.store import repair as _repair
from assistant.store.catalog import Catalog
from assistant.store.embedding_cache import EmbeddingCache
from assistant.store.hashing import content_hash
from assistant.store.home import open_home
from assistant.store.lexical import LexicalIndex
from assistant.store.lexical_sql import SqlLexical
from assistant.store.locking import WriteLock, opening
from assistant.store.manifest import FORMAT_VERSION, TOKENIZER_VERSION, Manifest
from assistant.store.nodes import Prepared
from assistant.store.pipeline import IngestPipeline
from assistant.store.vectors import VectorStore
from assistant.store.writer import Writer
from assistant.text.sentences import SPLITTER_VERSION
from assistant.types import Article

__all__ = ["Index", "Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """What one search reads, as of one sync: the catalog, the vector store, the BM25 snapshot and the
    embedding cache (the vectors of candidates)."""

    catalog: Catalog
    vectors: VectorStore
    lexical: LexicalIndex | SqlLexical | None
    cache: EmbeddingCache


def _disk_full(e: BaseException | None) -> bool:
    """Whether ``e`` (or what caused it) is the disk or quota filling up: an OSError with ENOSPC/EDQUOT,
    SQLite's "database or disk is full", Chroma's and bm25's wrapped "No space left on device"."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(e).lower()
        if "disk is full" in text or "no space left" in text or "disk quota exceeded" in text:
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


@contextmanager
def disk_full_is_typed(path: Path, done: Callable[[], str] | None = None) -> Iterator[None]:
    """Turn the disk filling up during a write into StorageFullError naming the index and the fix;
    ``done()`` says what was committed before it (kept)."""
    try:
        yield
    except StorageFullError:
        raise
    except Exception as e:
        if not _disk_full(e):
            raise
        raise StorageFullError(
            f"the disk holding the index {path} is full ({type(e).__name__}: {' '.join(str(e).split())[:200]}). "
            f"{done() if done else 'Nothing committed before is lost'}; the interrupted write is repaired by the next one. "
            "Free some space (or move the index: settings.index_root), then add the rest again"
        ) from e


class Index:
    """An index folder, opened for reading and writing. Thread-safe; one writing process at a time."""

    def __init__(self, path: Path, settings: Settings, embedder: Embedder, *, rebuild: bool = False):
        self.path = path
        self.name = path.name
        self.settings = settings
        self.embedder = embedder
        path.mkdir(parents=True, exist_ok=True)
        self.home = open_home(path, settings.store)
        self.served = self.home.served
        self._lock = WriteLock(self.home.write_lock(), self.home.where)
        self._found_dirty = False  # the last writing() found a crash marker from a writer that died
        self._closed = False
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            embedding_model=embedder.vector_id,
            embedding_dim=embedder.dim,
            splitter_version=SPLITTER_VERSION,
            tokenizer_version=TOKENIZER_VERSION,
            chunk_max_sentences=settings.chunking.max_sentences,
            chunk_max_chars=settings.chunking.max_chars,
            max_sentence_chars=settings.chunking.max_sentence_chars,
            embedding_digest=embedder.weights_digest,
        )
        # one process at a time creates the stores (and writes the manifest of a new index)
        try:
            with opening(self.home.open_lock(), self.home.where, settings.store.lock_timeout):
                self.catalog = self.home.catalog()
                try:
                    old = self.home.load_manifest(self.catalog)
                    stale = False
                    if old is not None:
                        if rebuild:
                            stale = old != self.manifest
                        else:
                            old.check_compatible(self.manifest, self.home.where, self.home.rebuild_hint)
                    self._vectors = VectorStore(path, self.catalog.uid(), settings.store, embedder.dim)
                    try:
                        if old is None:
                            self._vectors.check(embedder.dim)
                            self.home.save_manifest(self.catalog, self.manifest)
                    except BaseException:
                        self._vectors.close()
                        raise
                except BaseException:
                    self.catalog.close()
                    raise
        except BaseException:
            self.home.close()
            raise
        try:
            self._marker = self.home.marker(self.catalog)
            self._generation = self.catalog.generation()  # what this process's vector client and BM25 reflect
            self._lexical = self.home.lexical(self.catalog)
            self.cache = EmbeddingCache(self.catalog, embedder)
            self._writer = Writer(self.catalog, self._vectors, self.cache, self._lexical, settings)
            if stale:  # no crash repair first: the rebuild re-commits everything with the new settings
                with self.writing(rebuilding=True):
                    self.home.mark_rebuilding(self.catalog, self.manifest)
                    _repair.rebuild(self._writer)
                    self.home.save_manifest(self.catalog, self.manifest)
            self._vectors.check(embedder.dim)
            self._lexical.load_newer()
            self._settle()
        except BaseException:
            self.close()
            raise

    def _settle(self) -> None:
        """On open: repair after a writer that died (:meth:`writing` does when it finds the marker), or
        bring BM25 up to date; skipped (not waited for) while another process writes, since that writer
        leaves everything consistent when it finishes."""
        if not (self._marker.present or self._lexical_stale() or self._vectors_short()):
            return
        try:
            with self.writing(wait=0):
                if self._vectors_short():
                    self.repair()
                elif self._lexical_stale():
                    self._writer.refresh_lexical()
        except IndexLockedError:
            pass  # a write is in flight in another process

    def _lexical_stale(self) -> bool:
        lex = self._lexical.current
        return lex is None or lex.generation != self.catalog.generation()

    def _vectors_short(self) -> bool:
        # served: the sentence count the writers keep (no COUNT(*) over a large table at every open)
        sentences = len(self._lexical.current or []) if self.served else self.catalog.count()[1]
        return self._vectors.count("sentences") != sentences

    @property
    def vectors(self) -> VectorStore:
        """The vector store, as of this process's last sync (no sync here; see :meth:`snapshot`)."""
        return self._vectors

    @property
    def lexical(self) -> LexicalIndex | SqlLexical | None:
        """The BM25 snapshot, as of this process's last sync (no sync here; see :meth:`snapshot`)."""
        return self._lexical.current

    def snapshot(self) -> Snapshot:
        """Sync once, then what a search reads throughout."""
        self.sync()
        return Snapshot(self.catalog, self._vectors, self._lexical.current, self.cache)

    def close(self) -> None:
        with self._lock.local():
            if self._closed:
                return
            self._closed = True
            try:
                self._vectors.close()
            finally:
                try:
                    self._lock.close()
                finally:
                    self.catalog.close()

    # --- other processes --------------------------------------------------------------------------
    def sync(self) -> None:
        """Pick up what other processes committed since this one last looked: reopen an embedded vector
        client (Chroma keeps its vectors in memory), load a newer BM25 snapshot, and repair after a writer
        that died mid-write. Cheap when nothing changed (one SQLite read and two stats). Skipped while
        this process writes (its own view is then the current one)."""
        with self._lock.idle() as idle:
            if self._closed or not idle:
                return
            gen = self.catalog.generation()
            if gen != self._generation:
                self._check_shared_manifest()
                self._vectors.reload()
                self._generation = gen
            if self._marker.present:  # a writer is at work, or died: writing() repairs in the second case
                try:
                    with self.writing(wait=0):
                        pass
                except (IndexLockedError, StoreUnavailableError):
                    pass  # a writer is at work; or the lock cannot be had now: the next look tries again
            self._lexical.load_newer()

    def _check_shared_manifest(self) -> None:
        """Served: the collection may have been (or be being) rebuilt with other settings by another
        process; this one must then stop rather than mix (its model's vectors, its vector handles are
        those of before)."""
        if not self.served:
            return
        for now in (self.home.load_manifest(self.catalog), self.home.rebuilding(self.catalog)):
            if now is not None and now != self.manifest:
                raise IndexMismatchError(
                    f"the collection at {self.home.where} was rebuilt by another process with other settings (or is "
                    f"being rebuilt); restart this process with those settings: {now}")

    # --- writing ----------------------------------------------------------------------------------
    @contextmanager
    def writing(self, wait: float | None = None, *, rebuilding: bool = False) -> Iterator[None]:
        """Hold this index's write lock (threads in this process, and other processes) and mark it dirty;
        when the writer before died mid-write (its marker is there), make the stores match the catalog
        first. ``rebuilding``: for the rebuild to this process's settings, which redoes everything (no
        repair first) and is what changes the shared manifest (not checked).

        Another process writing: wait up to ``wait`` seconds (default ``store.lock_timeout``), then raise
        IndexLockedError naming it. Re-entrant in the thread that holds it."""
        wait = self.settings.store.lock_timeout if wait is None else wait
        with self._lock.hold(wait) as outermost:
            if not outermost:
                yield
                return
            self._found_dirty = self._marker.present
            if self.served or self.catalog.generation() != self._generation:  # another process may have written
                if not rebuilding:
                    self._check_shared_manifest()
                self._vectors.reload()
            self._marker.set()
            try:
                if self._found_dirty and not rebuilding:  # the writer before this one died mid-write
                    _repair.repair(self._writer)
                if self._found_dirty:
                    self._marker.clear_others()
                    self._found_dirty = False
                yield
            except BaseException:
                self._fence()  # the marker stays: the next writer repairs
                raise
            finally:
                self._generation = self.catalog.generation()
            self._fence()
            self._marker.clear()

    def _fence(self) -> None:
        """Served: if the lock's connection was lost meanwhile, another writer may have taken the lock and
        cleared the markers: set ours again (the next writer repairs) and say so."""
        if self._lock.held():
            return
        self._marker.set()
        raise StoreUnavailableError(
            f"this process lost the write lock of {self.home.where} while writing (its connection to the database "
            "dropped); what it committed is kept and the next writer repairs the rest: try again")

    def unchanged(self, article: Article) -> bool:
        return self.catalog.content_hash(article.id) == content_hash(article)

    @contextmanager
    def ingesting(self) -> Iterator[None]:
        """Held around a whole add. Embedded: the write lock for all of it (one writer at a time). Served:
        nothing; each batch takes the lock while it is stored (:meth:`pipeline`), so ingesters on several
        machines embed at once and take turns to write."""
        if self.served:
            yield
        else:
            with self.writing():
                yield

    def pipeline(self, batch_sentences: int, stored: Callable[[list[Prepared]], None]) -> IngestPipeline:
        """Commit many articles, a batch embedding while the one before it is stored (pipeline.py); each
        batch is stored holding the write lock. Open it inside :meth:`ingesting`."""
        return IngestPipeline(self._writer, batch_sentences, stored, self.writing)

    def remove(self, article_id: str) -> bool:
        """Remove an article everywhere. Caller holds ``writing()``. False when it was not there."""
        return self._writer.remove(article_id)

    def finish_write(self) -> None:
        """Bring BM25 up to date after a batch of commits/removals (served: it already is)."""
        if not self.served:
            with self.writing():
                self._writer.refresh_lexical()

    def repair(self) -> dict[str, int]:
        """Make the vectors and BM25 match the catalog (after a crash). Caller holds ``writing()``."""
        return _repair.repair(self._writer)
