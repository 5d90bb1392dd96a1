"""Fakes at the model boundary, for the fast test tier (``pytest -m "not slow"``).

:class:`FakeEmbedder` stands in for the embedding model and nothing else: it implements the
:class:`assistant.models.embedding.protocol.Embedder` protocol, so the engine around it (reading, sentence
splitting, the catalog, a real embedded Chroma, real BM25, fusion, answering, citation offsets) runs for
real. It is a fake at the model boundary, not a model: its vectors are deterministic hashes of character
n-grams and words, so texts that share words and spellings are close and unrelated texts are far, which
is enough to test plumbing, never retrieval quality (the ``slow`` tier runs the real model for that).

:class:`Scripted` stands in for a chat model (the LLM boundary): it replays the replies a test scripts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import numpy as np

from assistant.models.embedding.protocol import Embedder, EmbedderBase
from assistant.text.normalize import normalize, tokenize

__all__ = ["FakeEmbedder", "CountingEmbedder", "Scripted"]


class FakeEmbedder(EmbedderBase):
    """Hashed character 3-grams and word tokens of the normalized text, in a fixed-size L2-normalized
    float32 vector (``dim`` 1024 by default, ``model_id`` "fake-hash-1024": fewer collisions than a small
    vector, so unrelated texts score near 0). Same text, same vector, in every
    process and on every run (blake2b, not Python's salted ``hash``). Counts what it embeds."""

    ready = True  # a plain attribute: a test sets it to False to stand for a model still loading

    def __init__(self, dim: int = 1024):
        self.dim = dim
        self.model_id = f"fake-hash-{dim}"
        self.embedded: list[str] = []  # every document text embedded, in order (to see the cache work)
        self.queries: list[str] = []

    def _bucket(self, feature: str) -> tuple[int, float]:
        h = hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        n = int.from_bytes(h, "little")
        return n % self.dim, 1.0 if (n >> 32) & 1 else -1.0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        folded = " ".join(normalize(text).split())
        padded = f" {folded} "
        for i in range(len(padded) - 2):
            j, sign = self._bucket("c:" + padded[i : i + 3])
            v[j] += sign
        for tok in tokenize(text):
            j, sign = self._bucket("w:" + tok)
            v[j] += 2.0 * sign  # whole words weigh more than their spellings
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            v[0] = 1.0  # no features (empty or symbols only): a fixed unit vector
            return v
        return v / norm

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None, *,
                        ingest: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return self._vector(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def document_key(self, text: str, title: str | None) -> str:
        return text  # the title is not embedded


class CountingEmbedder(EmbedderBase):
    """A real embedder, counting what it is asked to embed (to see the embedding cache work): every other
    member is the inner embedder's."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.model_id, self.dim, self.batch_size = inner.model_id, inner.dim, inner.batch_size
        self.weights_digest = inner.weights_digest
        self.embedded: list[str] = []

    @property
    def vector_id(self) -> str:
        return self.inner.vector_id

    @property
    def documents(self) -> int:
        return len(self.embedded)

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None, *,
                        ingest: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts, titles, ingest=ingest)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def document_key(self, text: str, title: str | None) -> str:
        return self.inner.document_key(text, title)


class Scripted:
    """A ChatModel that replays ``replies`` (an exception is raised instead of replied)."""

    name, serial = "scripted", False

    def __init__(self, *replies: str | Exception):
        self.replies = list(replies)
        self.calls: list[list[tuple[str, str]]] = []

    def stream(self, messages, timeout: float) -> Iterator[str]:  # noqa: ANN001
        self.calls.append(list(messages))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        yield from re.findall(r"\S+\s*", reply)

    def complete(self, messages, timeout: float) -> str:  # noqa: ANN001
        return "".join(self.stream(messages, timeout))
