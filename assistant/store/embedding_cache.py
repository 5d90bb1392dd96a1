"""The embedding cache in front of the embedder: vectors by (model, text[, title]) in the catalog.

On the write path the sentence nodes are embedded through the llama-index adapter of our embedder
(``models.embedding.llama_adapter.as_llama_index``), but only those whose vector is not cached: a re-ingest, a
rebuild, a repair or a duplicate text cost no model time, and the same text is embedded once per batch.
The retriever reads the vectors of its candidates here too (the catalog is on local disk whatever the
vector store is), and the vector store only when the cache lacks them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assistant.models.embedding.llama_adapter import as_llama_index
from assistant.models.embedding.protocol import Embedder
from assistant.store.catalog import Catalog, text_key
from assistant.store.nodes import mean_vector

__all__ = ["EmbeddingCache"]


class EmbeddingCache:
    def __init__(self, catalog: Catalog, embedder: Embedder):
        self.catalog = catalog
        self.embedder = embedder
        self._embed_model: Any = None

    @property
    def embed_model(self) -> Any:
        """The embedder as a llama-index embedding (made on the first write: a process that only asks does
        not import llama-index)."""
        if self._embed_model is None:
            self._embed_model = as_llama_index(self.embedder)
        return self._embed_model

    def key(self, text: str, title: str | None) -> str:
        return text_key(self.embedder.vector_id, self.embedder.document_key(text, title))

    def lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        return self.catalog.cached_vectors(keys, self.embedder.dim)

    def embed_nodes(self, nodes: list[Any]) -> tuple[np.ndarray, list[str]]:
        """The vectors of sentence nodes (title in their metadata): cached vectors from the catalog, the
        others through the llama-index adapter, each distinct text once. The title is then dropped from the
        metadata (each metadata key is a row per node in Chroma; the catalog has the title). Returns the
        vectors as rows, in the nodes' order, and their cache keys (the caller stores them with the article
        and sets ``node.embedding`` from the rows when it writes the nodes)."""
        keys = [self.key(n.text, n.metadata.get("title") or None) for n in nodes]
        found = self.lookup(keys)
        todo: dict[str, Any] = {}
        for k, n in zip(keys, nodes):
            if k not in found:
                todo.setdefault(k, n)
        if todo:
            self.embed_model(list(todo.values()))
            found.update((k, np.asarray(n.embedding, dtype=np.float32)) for k, n in todo.items())
        if not keys:
            return np.empty((0, self.embedder.dim), np.float32), keys
        vecs = np.stack([found[k] for k in keys])
        for n in nodes:
            # set from the rows when the nodes are written (Writer.write_nodes): a batch waiting in the ingest
            # pipeline holds no lists of 768 Python floats a node (~25 kB each)
            n.embedding = None
            n.metadata.pop("title", None)  # read by the embedder, not stored: the catalog has it
        return vecs, keys

    def sentence_vectors(self, sentences: dict[str, tuple[str, str | None]]) -> dict[str, np.ndarray]:
        """Cached vectors of sentences given as ``{id: (text, article title)}``; uncached ones are absent."""
        keys = {sid: self.key(text, title) for sid, (text, title) in sentences.items()}
        got = self.lookup(list(keys.values()))
        return {sid: got[k] for sid, k in keys.items() if k in got}

    def chunk_vectors(self, chunks: dict[str, list[str]], vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Vectors of chunks (``{chunk id: its sentence ids in order}``) as stored: the normalized mean of
        their sentences' vectors (from ``vectors``); a chunk missing any of them is absent."""
        out = {}
        for cid, sids in chunks.items():
            if sids and all(s in vectors for s in sids):
                out[cid] = mean_vector(np.stack([vectors[s] for s in sids]))
        return out
