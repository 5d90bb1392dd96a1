"""Writing an index: commit articles, remove them, refresh BM25. The caller holds the write lock.

Every article commits in one catalog transaction (its text, sentences, chunks, their cached vectors and,
served, their BM25 postings);
then the nodes of the whole batch go to the vector store through llama-index, one ``add`` per kind
(an article's old nodes are deleted first). A crash in between leaves the crash marker, and the repair
on the next open restores the vector store from the catalog (repair.py). So an article is fully
searchable or absent, never half there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from assistant.settings import Settings
from assistant.store.catalog import Catalog
from assistant.store.embedding_cache import EmbeddingCache
from assistant.store.lexical import LexicalFile
from assistant.store.lexical_sql import SqlLexical
from assistant.store.nodes import Prepared, chunk_nodes, sentence_nodes
from assistant.store.vectors import VectorStore

__all__ = ["Writer", "Embedded"]


@dataclass(frozen=True)
class Embedded:
    """Articles ready to store: their sentence nodes, their vectors as rows (in the nodes' order) and the
    vectors' cache keys."""

    prepared: list[Prepared]
    nodes: list[list[Any]]
    vectors: np.ndarray
    keys: list[str]


class Writer:
    def __init__(self, catalog: Catalog, vectors: VectorStore, cache: EmbeddingCache, lexical: LexicalFile | SqlLexical,
                 settings: Settings):
        self.catalog = catalog
        self.vectors = vectors
        self.cache = cache
        self.lexical = lexical
        self.settings = settings

    def commit(self, prepared: list[Prepared]) -> None:
        """Embed (cached texts skip the model) and store articles, each atomically in the catalog, then
        their nodes in the vector store."""
        self.store(self.embed(prepared))

    def embed(self, prepared: list[Prepared]) -> Embedded:
        """The sentence nodes of some articles with their vectors (cached texts skip the model). Reads the
        catalog, writes nothing: the ingest pipeline (pipeline.py) runs it beside :meth:`store`."""
        nodes = [sentence_nodes(p) for p in prepared]
        vecs, keys = self.cache.embed_nodes([n for ns in nodes for n in ns])
        return Embedded(prepared, nodes, vecs, keys)

    def store(self, embedded: Embedded) -> None:
        """Store embedded articles, each atomically in the catalog, then their nodes in the vector store."""
        at = 0
        now = datetime.now(UTC).isoformat(timespec="seconds")
        done: list[tuple[Prepared, list, np.ndarray]] = []
        old_s: set[str] = set()
        old_c: set[str] = set()
        for p, ns in zip(embedded.prepared, embedded.nodes):
            sv = embedded.vectors[at : at + len(p.sentences)]
            sk = embedded.keys[at : at + len(p.sentences)]
            at += len(p.sentences)
            old_s.update(self.catalog.sentence_ids_of(p.article.id))
            old_c.update(self.catalog.chunk_ids_of(p.article.id))
            with self.catalog.transaction() as conn:
                Catalog.put_vectors(conn, dict(zip(sk, sv)))
                self.lexical.forget(conn, p.article.id)
                Catalog.put_article(conn, p.article, p.lang, p.hash, p.sentences, p.chunk_of, p.tokens, p.chunks, now)
                self.lexical.put(conn, p.article.id, [x.id for x in p.sentences], p.tokens)
                Catalog.bump_generation(conn)
            done.append((p, ns, sv))
        self.vectors.delete("sentences", old_s)
        self.vectors.delete("chunks", old_c)
        self.write_nodes(done)

    def write_nodes(self, items: list[tuple[Prepared, list, np.ndarray]]) -> None:
        """The sentence nodes (their vectors the rows beside them) and chunk nodes of some articles, one
        ``add`` per kind."""
        if not items:
            return
        for _, ns, sv in items:
            for n, v in zip(ns, sv.tolist()):
                n.embedding = v
        self.vectors.add_nodes("sentences", [n for _, ns, _ in items for n in ns])
        self.vectors.add_nodes("chunks", [n for p, _, sv in items for n in chunk_nodes(p, sv)])
        for _, ns, _ in items:
            for n in ns:
                n.embedding = None  # written: the lists go now, not with the batch

    def remove(self, article_id: str) -> bool:
        """Remove an article everywhere. False when it was not there."""
        sids = self.catalog.sentence_ids_of(article_id)
        cids = self.catalog.chunk_ids_of(article_id)
        with self.catalog.transaction() as conn:
            self.lexical.forget(conn, article_id)
            found = Catalog.delete_article(conn, article_id)
            if found:
                Catalog.bump_generation(conn)
        self.vectors.delete("sentences", sids)
        self.vectors.delete("chunks", cids)
        return found

    def refresh_lexical(self) -> None:
        """Bring BM25 up to the catalog (embedded: rebuilt from the stored tokens; served: already is)."""
        self.lexical.refresh(self.catalog)
