"""One index on disk: catalog (SQLite) + vectors (Chroma through llama-index) + BM25, and a manifest.

Layout of ``indexes/<name>/``::

    manifest.json     what built it (embedding model, splitter, chunking)
    catalog.sqlite    articles, sentences, chunks, cached embeddings: the source of truth
    chroma/           embedded Chroma (absent when a Chroma server is used)
    bm25/             BM25 over normalized tokens, stamped with the catalog generation
    .dirty            present while a write is in flight; on open, Chroma and BM25 are repaired
    .lock             held by the process that writes

Every article is committed in one SQLite transaction; Chroma and BM25 follow and are repaired from the
catalog if a crash comes between. So an article is fully searchable or absent, never half there.
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

from .catalog import Catalog, Chunk, text_key
from .embeddings import Embedder
from .errors import EmptyArticleError, IndexLockedError
from .ingest import content_hash
from .language import detect_language
from .lexical import LexicalIndex
from .manifest import FORMAT_VERSION, TOKENIZER_VERSION, Manifest
from .normalize import tokenize
from .sentences import SPLITTER_VERSION, sentence_id, split_sentences
from .settings import Settings
from .types import Article, Sentence
from .vectors import VectorStore

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
        spans = split_sentences(article.text, max_chars=settings.chunking.max_sentence_chars)
        if not spans:
            raise EmptyArticleError(article.id, "has no sentences with words in them; nothing to index")
        seen: dict[str, int] = {}
        self.sentences: list[Sentence] = []
        for sp in spans:
            occ = seen.get(sp.text, 0)
            seen[sp.text] = occ + 1
            self.sentences.append(
                Sentence(sentence_id(article.id, sp.text, occ), article.id, sp.index, sp.start, sp.end, sp.text)
            )
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
        self.vectors = VectorStore(path, self.catalog.uid(), settings.store)
        if stale:
            self._rebuild()
        self.vectors.check(embedder.dim)
        if not manifest_path.exists() or stale:
            self.manifest.save(manifest_path)
        self.lexical = LexicalIndex.load(path / "bm25")
        n_sentences = self.catalog.count()[1]
        if (path / ".dirty").exists() or self.vectors.count("sentences") != n_sentences:
            with self.writing():
                self.repair()
        elif self.lexical is None or self.lexical.generation != self.catalog.generation():
            with self.writing():
                self._refresh_lexical()

    def close(self) -> None:
        self.catalog.close()

    # --- locking ----------------------------------------------------------------------------------
    @contextmanager
    def writing(self, wait: float = 30.0) -> Iterator[None]:
        """Hold this index's write lock (threads in this process, and other processes) and mark it dirty."""
        with self._write_lock:
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                deadline = time.monotonic() + wait
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as e:
                        if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                            raise IndexLockedError(
                                f"another process is writing the index at {self.path}; wait for it to finish "
                                "and try again"
                            ) from e
                        time.sleep(0.1)
                dirty = self.path / ".dirty"
                dirty.touch()
                yield
                dirty.unlink(missing_ok=True)
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
        """Embed and store articles: each one commits atomically. Caller holds ``writing()``."""
        vecs, keys = self._embed([(s.text, p.article.title) for p in prepared for s in p.sentences])
        at = 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for n, p in enumerate(prepared, 1):
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
            self._write_vectors(p, sv, cv)
            self.vectors.delete("sentences", old_s - {s.id for s in p.sentences})
            self.vectors.delete("chunks", old_c - {c.id for c in p.chunks})
            if progress:
                progress(n, len(prepared), p.article.id)

    def _write_vectors(self, p: Prepared, sv: np.ndarray, cv: np.ndarray) -> None:
        self.vectors.add(
            "sentences",
            [s.id for s in p.sentences],
            [s.text for s in p.sentences],
            sv,
            [{"article_id": s.article_id, "idx": s.index, "chunk_id": c} for s, c in zip(p.sentences, p.chunk_of)],
        )
        texts = [" ".join(s.text for s in p.sentences[c.first : c.last + 1]) for c in p.chunks]
        self.vectors.add(
            "chunks",
            [c.id for c in p.chunks],
            texts,
            cv,
            [{"article_id": c.article_id, "first": c.first, "last": c.last} for c in p.chunks],
        )

    def remove(self, article_id: str) -> bool:
        """Remove an article everywhere. Caller holds ``writing()``. False when it was not there."""
        sids = self.catalog.sentence_ids_of(article_id)
        cids = self.catalog.chunk_ids_of(article_id)
        with self.catalog.transaction() as conn:
            found = Catalog.delete_article(conn, article_id)
            if found:
                Catalog.bump_generation(conn)
        self.vectors.delete("sentences", sids)
        self.vectors.delete("chunks", cids)
        return found

    def finish_write(self) -> None:
        """Bring BM25 up to date after a batch of commits/removals. Caller holds ``writing()``."""
        self._refresh_lexical()

    def _refresh_lexical(self) -> None:
        gen = self.catalog.generation()
        rows = [r for batch in self.catalog.iter_sentence_rows("tokens") for r in batch]
        lex = LexicalIndex.build(rows, gen)
        lex.save(self.path / "bm25")
        self.lexical = lex

    # --- repair and rebuild -----------------------------------------------------------------------
    def repair(self) -> dict[str, int]:
        """Make Chroma and BM25 match the catalog (after a crash). Caller holds ``writing()``."""
        want_s, want_c = self.catalog.all_ids()
        have_s, have_c = self.vectors.all_ids("sentences"), self.vectors.all_ids("chunks")
        self.vectors.delete("sentences", have_s - want_s)
        self.vectors.delete("chunks", have_c - want_c)
        stale = {s.article_id for s, _ in self.catalog.sentences(want_s - have_s).values()}
        stale |= {c.article_id for c in self.catalog.chunks_of_ids(want_c - have_c)}
        for aid in sorted(stale):
            self._reindex_article(aid)
        self._refresh_lexical()
        return {"removed": len(have_s - want_s) + len(have_c - want_c), "restored_articles": len(stale)}

    def _stored_article(self, article_id: str) -> Article | None:
        got = self.catalog.article(article_id)
        if got is None:
            return None
        info, text = got
        return Article(id=info.id, text=text, title=info.title, source=info.source, date=info.date,
                       lang=info.lang, path=info.path)

    def _reindex_article(self, article_id: str) -> None:
        article = self._stored_article(article_id)
        if article is None:
            return
        p = Prepared(article, self.settings)
        sv, _ = self._embed([(s.text, article.title) for s in p.sentences])
        cv = np.stack([_mean(sv[c.first : c.last + 1]) for c in p.chunks])
        self._write_vectors(p, sv, cv)

    def _rebuild(self) -> None:
        """Re-split and re-embed every stored article with the current settings."""
        with self.writing():
            self.vectors.reset()
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


def _mean(rows: np.ndarray) -> np.ndarray:
    v = rows.mean(axis=0)
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)
