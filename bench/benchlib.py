"""What the bench scripts share: where a set's bench index lives, the stored vectors of an index as
matrices, warming an eval index from cached embeddings, settings with another short-answer producer.

The scripts run as ``python bench/<script>.py``, so this folder is on ``sys.path`` and ``import benchlib``
finds this file.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant import Assistant, Settings
from assistant.evaluation.run import default_index_path

__all__ = ["bench_tag", "bench_index", "unit", "StoredVectors", "stored_vectors", "warm", "with_short_producer"]


def bench_tag(model_id: str) -> str:
    """The last 40 characters of a folder-safe slug of ``model_id``: the tag in bench index names."""
    return re.sub(r"[^a-z0-9]+", "-", model_id.lower())[-40:]


def bench_index(settings: Settings, name: str, model_id: str) -> Path:
    """The bench index of set ``name`` for the model (built by bench/retrieval_hits.py)."""
    return settings.index_root / f"bench-{name}-{bench_tag(model_id)}"


def unit(m: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)


@dataclass
class StoredVectors:
    """Every sentence of an index with its stored vector (``S``, unit rows, in ``sids`` order), the
    vectors of the chunks (``C``, in ``cids`` order), each sentence's chunk row (``chunk``) and article
    (``art``); ``rows`` are the catalog's sentence rows, ``info`` its sentence records."""

    rows: list[Any]
    sids: list[str]
    info: dict[str, Any]
    S: np.ndarray
    cids: list[str]
    C: np.ndarray
    chunk: np.ndarray
    art: np.ndarray


def stored_vectors(a: Assistant) -> StoredVectors:
    cat, vec = a.index.catalog, a.index.vectors
    rows = [r for batch in cat.iter_sentence_rows("tokens") for r in batch]
    sids = [r[0] for r in rows]
    info = cat.sentences(sids)
    sv = vec.vectors("sentences", sids)
    S = unit(np.stack([sv[s] for s in sids]))
    cids = sorted({info[s][1] for s in sids})
    cv = vec.vectors("chunks", cids)
    C = unit(np.stack([cv[c] for c in cids]))
    chunk_pos = {c: i for i, c in enumerate(cids)}
    chunk = np.array([chunk_pos[info[s][1]] for s in sids])
    art = np.array([r[1] for r in rows], dtype=object)
    return StoredVectors(rows, sids, info, S, cids, C, chunk, art)


def warm(settings: Settings, embedder: Any, name: str, pattern: str) -> int:
    """Copy cached embeddings from indexes matching ``pattern`` (``{set}`` is replaced by ``name``;
    read-only) into the set's eval index; returns how many were offered."""
    sources = sorted(glob.glob(pattern.format(set=name)))
    if not sources:
        return 0
    with Assistant.open(default_index_path(settings, name, embedder.vector_id), settings=settings,
                        embedder=embedder) as a:
        return a.reuse_embeddings(sources)


def with_short_producer(settings: Settings, producer: str) -> Settings:
    """``settings`` with ``answer.short_producer`` set to ``producer``."""
    return settings.model_copy(update={"answer": settings.answer.model_copy(update={"short_producer": producer})})
