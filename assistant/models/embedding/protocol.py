"""What the rest of the package may use of an embedding model: :class:`Embedder`, and
:class:`TokenStatesEmbedder` for those that also give token states (the span reader reads them).

Every member a caller uses is listed here; nobody ``getattr``s for more. :class:`EmbedderBase` gives the
members whose meaning is the same for most models (the vectors' id is the model id, the model is ready
at once, queries are embedded one by one), so an embedder states only what differs.

All embedders return L2-normalized float32 rows, so a dot product is the cosine similarity. ``vector_id``
names what the vectors depend on (model, adapter and, for OpenVINO, runtime and precision): indexes and
the embedding cache are keyed to it. ``weights_digest`` is the SHA-256 of the verified weights (None for a
model we did not pin), recorded in the index manifest.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder", "TokenStatesEmbedder", "EmbedderBase", "StatesSpec", "TokenStates", "normalize_rows"]


@runtime_checkable
class Embedder(Protocol):
    """What the index, retrieval, abstention and answers need from an embedding model."""

    model_id: str
    dim: int
    batch_size: int
    weights_digest: str | None

    @property
    def vector_id(self) -> str:
        """What the vectors depend on: the model id, plus the runtime when it gives (slightly) other vectors."""
        ...

    @property
    def ready(self) -> bool:
        """Whether the model has loaded (a model loading in the background makes the first call wait)."""
        ...

    def wait(self) -> None:
        """Wait until the model has loaded (raises what loading it raised)."""
        ...

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None, *,
                        ingest: bool = False) -> np.ndarray:
        """Vectors of sentences; ``titles`` (one per text) are used by models that read a title. ``ingest``:
        they are an ingest's (the index's write path), which may run for throughput and wait while a
        question uses the model; otherwise they are part of answering one."""
        ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several queries at once: the same vectors as :meth:`embed_query`, one row each."""
        ...

    def document_key(self, text: str, title: str | None) -> str:
        """What the vector of a sentence depends on (for the embedding cache)."""
        ...


@dataclass(frozen=True)
class StatesSpec:
    """Token states an embedder can give besides vectors (a span reader reads them): the hidden ``layers``
    (concatenated) of the model with the LoRA ``lora`` switched on (``{}``: the model as it is), texts cut
    at ``max_tokens``. ``source`` is the file the adapter came from (it keys what is built for it)."""

    source: Path
    lora: dict[str, np.ndarray]
    layers: tuple[int, ...]
    max_tokens: int

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 of the adapter's file: what an adapter attached or a graph built for it is tagged with."""
        return hashlib.sha256(self.source.read_bytes()).hexdigest()


@dataclass
class TokenStates:
    """The states of one text's real tokens (tokens × features) and each token's code-point range in the
    text (``0, 0`` for special tokens)."""

    states: np.ndarray
    offsets: np.ndarray


@runtime_checkable
class TokenStatesEmbedder(Embedder, Protocol):
    """An embedder that also gives the hidden states of texts under a switched adapter (checked with
    ``isinstance``: the span reader needs it; the rules need nothing of the model)."""

    def prepare_states(self, spec: StatesSpec) -> None:
        """Start building what :meth:`token_states` needs for ``spec`` (a no-op where nothing is built)."""
        ...

    def token_states(self, texts: list[str], spec: StatesSpec) -> list[TokenStates]: ...


class EmbedderBase:
    """Defaults for :class:`Embedder`'s members that most models share. Subclasses set ``model_id``,
    ``dim`` and ``batch_size`` and implement the three embedding methods."""

    model_id: str
    dim: int
    batch_size: int = 32
    weights_digest: str | None = None

    @property
    def vector_id(self) -> str:
        return self.model_id

    @property
    def ready(self) -> bool:
        return True

    def wait(self) -> None:
        return None

    def embed_query(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([np.asarray(self.embed_query(t), dtype=np.float32) for t in texts])


def normalize_rows(m: np.ndarray) -> np.ndarray:
    """``m`` as float32 with each row scaled to unit length (zero rows stay zero)."""
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)
