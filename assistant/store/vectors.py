"""Dense vectors in ChromaDB through llama-index: one collection of sentences, one of chunks.

Chroma never embeds anything itself (its default embedding function would download a model): every
vector comes from our embedder. Embedded Chroma lives in ``<index>/chroma``; a Chroma server
(``chroma run``) is used instead when ``store.chroma_url`` is set.

Threads: one embedded client serves reader threads and a writer thread at once (measured in
tests/test_concurrency.py: no errors, nothing lost). Processes: embedded Chroma keeps its vector index
in memory, so a process does not see vectors another process added after it opened the index (and a
collection that was empty when it opened fails its queries). :meth:`VectorStore.reload` reopens the
client to pick them up; the index calls it when the catalog says another process wrote
(``Index.sync``). A reload waits for the calls in flight and holds new ones back meanwhile. A Chroma
server needs no reload: every process talks to the same one.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import ConfigError, IndexCorruptError
from assistant.settings import StoreSettings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["VectorStore", "Hit"]

Hit = tuple[str, float]  # (id, cosine similarity)


def _collection_name(index_uid: str, kind: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", index_uid).strip("-._") or "index"
    return f"idx-{base[:200]}-{kind}"


class _Gate:
    """Many calls at once (``shared``), or one reload alone (``exclusive``); a waiting reload holds new
    calls back so it is not starved. Not re-entrant: a shared holder must not ask again."""

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


class VectorStore:
    """Sentence and chunk vectors of one index, stored through llama-index's ChromaVectorStore."""

    def __init__(self, index_dir: Path, index_uid: str, settings: StoreSettings):
        self._index_dir = index_dir
        self._settings = settings
        self._index_uid = index_uid
        self._gate = _Gate()
        self._stores: dict[str, Any] = {}
        self._collections: dict[str, Any] = {}
        self.client = self._connect()
        self._open_collections()

    @property
    def embedded(self) -> bool:
        """True for Chroma inside the index folder, False for a Chroma server."""
        return not self._settings.chroma_url

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = self._settings
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if not settings.chroma_url:
            return chromadb.PersistentClient(path=str(self._index_dir / "chroma"), settings=chroma_settings)
        url = urlparse(settings.chroma_url)
        if not url.hostname or url.scheme not in ("http", "https"):
            raise ConfigError(f"store.chroma_url {settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", headers=headers, settings=chroma_settings,
            )
        except Exception as e:  # noqa: BLE001 - httpx/chromadb raise many kinds; we name the server and the fix
            raise ConfigError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(e).__name__}: {e}); start it "
                "(`chroma run --path DIR --host 127.0.0.1 --port PORT`) or unset store.chroma_url"
            ) from e

    def reload(self) -> None:
        """Reopen the embedded client so it sees what other processes wrote (no-op for a server)."""
        if not self.embedded:
            return
        with self._gate.exclusive():
            self.client.close()
            self.client = self._connect()
            self._open_collections()

    def close(self) -> None:
        with self._gate.exclusive():
            self.client.close()

    def _open_collections(self) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        for kind in ("sentences", "chunks"):
            col = self.client.get_or_create_collection(
                _collection_name(self._index_uid, kind), metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            self._collections[kind] = col
            self._stores[kind] = ChromaVectorStore(chroma_collection=col)

    def reset(self) -> None:
        """Drop both collections and start empty (a rebuild with another embedder)."""
        with self._gate.exclusive():
            for kind in ("sentences", "chunks"):
                self.client.delete_collection(_collection_name(self._index_uid, kind))
            self._open_collections()

    # --- writes -----------------------------------------------------------------------------------
    def add(self, kind: str, ids: list[str], texts: list[str], vectors: np.ndarray, metadata: list[dict]) -> None:
        """Add vectors; ids already present are replaced. One upsert per 5,000 ids: an embedded Chroma
        write costs ~30 ms whatever its size, so callers pass many articles at once. Rows are stored
        as llama-index's ChromaVectorStore stores its nodes, so its queries read them."""
        from llama_index.core.schema import MetadataMode, TextNode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        if not ids:
            return
        flat = self._stores[kind].flat_metadata
        rows = []
        for i, t, m in zip(ids, texts, metadata):
            node = TextNode(id_=i, text=t, metadata=m, excluded_embed_metadata_keys=list(m))
            meta = {k: ("" if v is None else v) for k, v in node_to_metadata_dict(node, remove_text=True,
                                                                                  flat_metadata=flat).items()}
            rows.append((meta, node.get_content(metadata_mode=MetadataMode.NONE)))
        with self._gate.shared():
            col = self._collections[kind]
            for at in range(0, len(ids), 5000):
                part = slice(at, at + 5000)
                col.upsert(ids=ids[part], embeddings=np.asarray(vectors[part], dtype=np.float32),
                           metadatas=[r[0] for r in rows[part]], documents=[r[1] for r in rows[part]])

    def delete(self, kind: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            with self._gate.shared():
                self._delete(kind, ids)

    def _delete(self, kind: str, ids: list[str]) -> None:
        for i in range(0, len(ids), 5000):
            self._stores[kind].delete_nodes(node_ids=ids[i : i + 5000])

    # --- reads ------------------------------------------------------------------------------------
    def query(self, kind: str, vector: np.ndarray, k: int, article_ids: list[str] | None = None) -> list[Hit]:
        """The ``k`` nearest ids with cosine similarity, optionally only within some articles."""
        from llama_index.core.vector_stores.types import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
        )

        if k <= 0 or (article_ids is not None and not article_ids):
            return []
        filters = None
        if article_ids is not None:
            filters = MetadataFilters(
                filters=[MetadataFilter(key="article_id", value=list(article_ids), operator=FilterOperator.IN)]
            )
        with self._gate.shared():
            n = int(self._collections[kind].count())
            if n == 0:
                return []
            res = self._stores[kind].query(
                VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=min(k, n), filters=filters)
            )
        # llama-index reports exp(-distance); Chroma's cosine distance is 1 - cos.
        return [(i, 1.0 + math.log(max(s, 1e-30))) for i, s in zip(res.ids or [], res.similarities or [])]

    def vectors(self, kind: str, ids: list[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        with self._gate.shared():
            got = self._collections[kind].get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def count(self, kind: str) -> int:
        with self._gate.shared():
            return int(self._collections[kind].count())

    def all_ids(self, kind: str) -> set[str]:
        out: set[str] = set()
        offset, page = 0, 20000
        while True:
            with self._gate.shared():
                got = self._collections[kind].get(include=[], limit=page, offset=offset)
            out.update(got["ids"])
            if len(got["ids"]) < page:
                return out
            offset += page

    def check(self, dim: int) -> None:
        """Refuse a collection whose vectors have another dimension than the embedder's."""
        for col in self._collections.values():
            with self._gate.shared():
                got = col.peek(1) if col.count() else {}
            if got:
                emb = got.get("embeddings")
                if emb is not None and len(emb) and len(emb[0]) != dim:
                    raise IndexCorruptError(
                        f"the Chroma collection {col.name!r} holds {len(emb[0])}-dimensional vectors but the "
                        f"embedder gives {dim}; rebuild the index (`assistant rebuild --index ...`)"
                    )
