"""An embedder as a llama-index ``BaseEmbedding``, so llama-index never falls back to its global
``Settings`` (which would reach for OpenAI)."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from assistant.models.embedding.protocol import Embedder

__all__ = ["as_llama_index"]


def as_llama_index(embedder: Embedder) -> Any:
    """Wrap an embedder as a llama-index BaseEmbedding (documents via text methods, queries via query).

    The index's write path embeds its sentence nodes through it (``adapter(nodes)``, llama-index's
    TransformComponent call): each node's text is embedded with the node's ``title`` metadata, so a model
    that reads the title (EmbeddingGemma) gets it, and the vectors are the embedder's own."""
    return _adapter_class()(embedder)


@functools.cache
def _adapter_class() -> Any:
    """The adapter class, defined once (on first use: importing llama-index is not free)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import MetadataMode
    from pydantic import PrivateAttr

    class EmbedderAdapter(BaseEmbedding):
        _inner: Any = PrivateAttr()
        _ingest: dict = PrivateAttr()

        def __init__(self, inner: Embedder):
            super().__init__(model_name=inner.model_id, embed_batch_size=max(1, inner.batch_size))
            self._inner = inner
            # an embedder written before ``ingest`` existed (a user's own) is called as it was
            takes = "ingest" in inspect.signature(inner.embed_documents).parameters
            self._ingest = {"ingest": True} if takes else {}

        @classmethod
        def class_name(cls) -> str:
            return "CitedAssistantEmbedder"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed_documents(list(texts)).tolist()

        def __call__(self, nodes: Any, **kwargs: Any) -> Any:
            """Embed nodes (their text without metadata, with their ``title`` metadata as the title)."""
            if not nodes:
                return nodes
            texts = [n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes]
            titles = [n.metadata.get("title") or None for n in nodes]
            for n, v in zip(nodes, self._inner.embed_documents(texts, titles, **self._ingest).tolist()):
                n.embedding = v
            return nodes

    return EmbedderAdapter
