"""Dense vectors in ChromaDB through llama-index: one collection of sentences, one of chunks.

Chroma never embeds anything itself (its default embedding function would download a model): every
vector comes from our embedder. Embedded Chroma lives in ``<index>/chroma``; a Chroma server
(``chroma run``) is used instead when ``store.chroma_url`` is set.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from .errors import ConfigError, IndexCorruptError
from .settings import StoreSettings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__all__ = ["VectorStore", "Hit"]

Hit = tuple[str, float]  # (id, cosine similarity)


def _collection_name(index_uid: str, kind: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", index_uid).strip("-._") or "index"
    return f"idx-{base[:200]}-{kind}"


class VectorStore:
    """Sentence and chunk vectors of one index, stored through llama-index's ChromaVectorStore."""

    def __init__(self, index_dir: Path, index_uid: str, settings: StoreSettings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if not url.hostname:
                raise ConfigError(f"store.chroma_url {settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
            headers = {}
            if settings.chroma_token:
                headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
            self.client = chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", headers=headers, settings=chroma_settings,
            )
        else:
            self.client = chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=chroma_settings)
        self._index_uid = index_uid
        self._stores: dict[str, Any] = {}
        self._collections: dict[str, Any] = {}
        self._open_collections()

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
        for kind in ("sentences", "chunks"):
            self.client.delete_collection(_collection_name(self._index_uid, kind))
        self._open_collections()

    # --- writes -----------------------------------------------------------------------------------
    def add(self, kind: str, ids: list[str], texts: list[str], vectors: np.ndarray, metadata: list[dict]) -> None:
        """Add vectors (ids already present are replaced)."""
        from llama_index.core.schema import TextNode

        if not ids:
            return
        self.delete(kind, ids)
        nodes = [
            TextNode(id_=i, text=t, embedding=v.tolist(), metadata=m, excluded_embed_metadata_keys=list(m))
            for i, t, v, m in zip(ids, texts, vectors, metadata)
        ]
        self._stores[kind].add(nodes)

    def delete(self, kind: str, ids: Iterable[str]) -> None:
        ids = list(ids)
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

        n = self.count(kind)
        if n == 0 or k <= 0:
            return []
        filters = None
        if article_ids is not None:
            if not article_ids:
                return []
            filters = MetadataFilters(
                filters=[MetadataFilter(key="article_id", value=list(article_ids), operator=FilterOperator.IN)]
            )
        res = self._stores[kind].query(
            VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=min(k, n), filters=filters)
        )
        # llama-index reports exp(-distance); Chroma's cosine distance is 1 - cos.
        return [(i, 1.0 + math.log(max(s, 1e-30))) for i, s in zip(res.ids or [], res.similarities or [])]

    def vectors(self, kind: str, ids: list[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self._collections[kind].get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def count(self, kind: str) -> int:
        return int(self._collections[kind].count())

    def all_ids(self, kind: str) -> set[str]:
        col = self._collections[kind]
        out: set[str] = set()
        offset, page = 0, 20000
        while True:
            got = col.get(include=[], limit=page, offset=offset)
            out.update(got["ids"])
            if len(got["ids"]) < page:
                return out
            offset += page

    def check(self, dim: int) -> None:
        """Refuse a collection whose vectors have another dimension than the embedder's."""
        for col in self._collections.values():
            if col.count():
                got = col.peek(1)
                emb = got.get("embeddings")
                if emb is not None and len(emb) and len(emb[0]) != dim:
                    raise IndexCorruptError(
                        f"the Chroma collection {col.name!r} holds {len(emb[0])}-dimensional vectors but the "
                        f"embedder gives {dim}; rebuild the index (`assistant rebuild --index ...`)"
                    )
