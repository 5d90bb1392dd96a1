"""Dense vectors through llama-index's vector-store interface: one store of sentence nodes, one of
chunk nodes. Writes are ``vector_store.add(nodes)`` and ``delete_nodes``, searches are
``query(VectorStoreQuery)``, or the backend's own ``search`` where it has one (Chroma: the same query,
without llama-index's import and node building on the question path); which vector store (``store.backend``: Chroma or Qdrant) is a setting, and
what is truly backend-specific (the client, counting, listing ids, fetching stored vectors, the score
llama-index reports) is in one small adapter per backend (chroma_backend.py, qdrant_backend.py).

Threads: one client serves reader threads and a writer thread at once (measured in
tests/test_concurrency.py); where the backend says its writes must run alone (embedded Chroma), a write
call waits for the reads in flight and holds new ones back while it writes (~30 ms per 5,000 nodes). That
gate is per process: another process's client is not held back (each embedded client reloads after a
writer). Processes: :meth:`VectorStore.reload` reopens an embedded client so it sees what another process
wrote; a reload waits for the calls in flight and holds new ones back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexCorruptError
from assistant.settings import StoreSettings

__all__ = ["VectorStore", "Hit"]

Hit = tuple[str, float]  # (id, cosine similarity)
_BATCH = 5000  # ids per write: an embedded Chroma write costs ~30 ms whatever its size


class _Gate:
    """Many calls at once (``shared``), or one alone (``exclusive``: a reload; every call of a backend
    that is ``serial``; the writes of one whose writes must run alone); a waiting exclusive call holds
    new calls back so it is not starved. Not re-entrant: a shared holder must not ask again."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._exclusive = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._waiting:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if not self._active:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._exclusive or self._active:
                self._cond.wait()
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def open_backend(index_dir: Path, index_uid: str, settings: StoreSettings, dim: int) -> Any:
    if settings.backend == "qdrant":
        from assistant.store.qdrant_backend import QdrantBackend

        return QdrantBackend(index_dir, index_uid, settings, dim)
    from assistant.store.chroma_backend import ChromaBackend

    return ChromaBackend(index_dir, index_uid, settings, dim)


class VectorStore:
    """Sentence and chunk nodes of one index in a llama-index vector store."""

    def __init__(self, index_dir: Path, index_uid: str, settings: StoreSettings, dim: int | None = None):
        self._gate = _Gate()
        self.backend = open_backend(index_dir, index_uid, settings, dim or 0)
        self._calls = self._gate.exclusive if self.backend.serial else self._gate.shared
        self._writes = self._gate.exclusive if self.backend.writes_alone else self._calls

    @property
    def embedded(self) -> bool:
        """True for a store inside the index folder, False for a server."""
        return bool(self.backend.embedded)

    def reload(self) -> None:
        """Reopen an embedded client so it sees what other processes wrote (no-op otherwise)."""
        with self._gate.exclusive():
            self.backend.reconnect()

    def close(self) -> None:
        with self._gate.exclusive():
            self.backend.close()

    def reset(self) -> None:
        """Drop both collections and start empty (a rebuild with another embedder)."""
        with self._gate.exclusive():
            self.backend.reset()

    # --- writes -----------------------------------------------------------------------------------
    def add_nodes(self, kind: str, nodes: list[Any]) -> None:
        """Write nodes carrying their embeddings with ``vector_store.add``, many per call. Ids must not
        be stored already (the writer deletes an article's old nodes first)."""
        if not nodes:
            return
        with self._calls():  # built (llama-index imported, ~2 s the first time) before reads are held back
            self.backend.stores  # noqa: B018
        with self._writes():
            self.backend.prepare(nodes)
            store = self.backend.stores[kind]
            for at in range(0, len(nodes), _BATCH):
                store.add(nodes[at : at + _BATCH])

    def delete(self, kind: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        with self._writes():
            store = self.backend.stores[kind]
            for at in range(0, len(ids), _BATCH):
                store.delete_nodes(node_ids=[self.backend.node_id(i) for i in ids[at : at + _BATCH]])

    # --- reads ------------------------------------------------------------------------------------
    def query(self, kind: str, vector: np.ndarray, k: int, article_ids: list[str] | None = None) -> list[Hit]:
        """The ``k`` nearest ids with cosine similarity, optionally only within some articles."""
        if k <= 0 or (article_ids is not None and not article_ids):
            return []
        with self._calls():
            search = getattr(self.backend, "search", None)
            if search is not None:  # the backend's own query (Chroma): what llama-index would ask it; Chroma
                return search(kind, vector, k, article_ids)  # takes k above its count (counting costs 30 ms at 420k)
            n = self.backend.count(kind)
            if n == 0:
                return []
            return self._llama_index_query(kind, vector, min(k, n), article_ids)

    def _llama_index_query(self, kind: str, vector: np.ndarray, k: int, article_ids: list[str] | None) -> list[Hit]:
        from llama_index.core.vector_stores.types import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
        )

        filters = None
        if article_ids is not None:
            filters = MetadataFilters(
                filters=[MetadataFilter(key="article_id", value=list(article_ids), operator=FilterOperator.IN)]
            )
        res = self.backend.stores[kind].query(
            VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=k, filters=filters)
        )
        return [(i, self.backend.cosine(s)) for i, s in zip(self.backend.our_ids(res), res.similarities or [])]

    def vectors(self, kind: str, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (ids not stored are absent)."""
        if not ids:
            return {}
        with self._calls():
            return self.backend.fetch(kind, list(ids))

    def count(self, kind: str) -> int:
        with self._calls():
            return self.backend.count(kind)

    def all_ids(self, kind: str) -> set[str]:
        with self._calls():
            return self.backend.all_ids(kind)

    def check(self, dim: int) -> None:
        """Refuse stored vectors whose dimension is not the embedder's."""
        with self._calls():
            dims = self.backend.dims()
        for name, d in dims.items():
            if d != dim:
                raise IndexCorruptError(
                    f"the vector collection {name!r} holds {d}-dimensional vectors but the embedder gives "
                    f"{dim}; rebuild the index (`assistant rebuild --index ...`)"
                )
