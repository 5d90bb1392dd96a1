"""When to answer "the articles do not answer this": a threshold per index and language pair, from probes.

A question is answered when its best dense cosine (question, sentence) beats what questions the
articles do *not* answer score against the same index. Those are the probes of ``probes.json``: general
questions over many subjects, written for this, in Arabic and in English. For each index (each catalog
generation) and question language, every probe's best cosine over the indexed sentences is its *null*
score; the threshold is the ``quantile`` of those nulls calibrated for the (question language, article
language) pair and the embedding model (assistant/models/calibration.json, re-derived by
``tools/calibrate_abstention.py``).

Why a null per index and not one fixed score: how high an unanswerable question scores depends on the
collection. Over 40 unrelated paragraphs (XQuAD) an off-topic question's best cosine is about 0.18; over
900 encyclopaedia passages on neighbouring subjects (TyDi) about 0.35, higher than many answerable
questions score over XQuAD. One fixed value either refuses good questions on the first or answers
unanswerable ones on the second; the probes measure each collection. Cross-lingual cosines run lower:
English probes stand for English questions, so the pair is measured as well as calibrated.

``answer.min_score`` (when set) replaces all this with a fixed threshold on the best fused score.
An embedding model without a calibration gets the documented fallback quantile and a logged warning.
Probe vectors are embedded once per model and kept in ``cache_dir``; nulls are computed at the first
question of a language after the index changed (one nearest-neighbour query per probe).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from assistant.models.calibration import PAIRS, Calibration, load_calibration
from assistant.models.embedding.protocol import Embedder
from assistant.resources import shipped
from assistant.store.index import Index
from assistant.text.language import detect_language
from assistant.types import Passage

__all__ = ["Abstention", "Decision", "probe_questions", "null_scores", "abstention_summary"]

log = logging.getLogger(__name__)


@cache
def probe_questions() -> dict[str, tuple[str, ...]]:
    """The shipped probes, by language ("ar", "en")."""
    data = json.loads(shipped("retrieve/probes.json").read_text(encoding="utf-8"))
    return {lang: tuple(data[lang]) for lang in ("ar", "en")}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to abstain, and on what: ``score`` against ``threshold`` for ``pair`` ("en→ar")."""

    abstain: bool
    score: float
    threshold: float
    pair: str


def null_scores(index: Index, probes: np.ndarray) -> np.ndarray:
    """Each probe vector's best cosine over the sentences of ``index`` (0.0 for an empty index)."""
    view = index.snapshot()
    out = np.zeros(len(probes), dtype=np.float32)
    for i, v in enumerate(probes):
        hits = view.vectors.query("sentences", v, 1)
        out[i] = hits[0][1] if hits else 0.0
    return out


def abstention_summary(calibration: Calibration, model_id: str, min_score: float | None) -> dict:
    """How questions abstain with this model and setting, for an evaluation's record."""
    if min_score is not None:
        return {"method": "fixed", "min_score": min_score, "summary": f"below the fixed fused score {min_score:.2f}"}
    quantiles = {p: calibration.quantile(model_id, p) for p in PAIRS}
    text = ", ".join(f"{p} q{q:.2f}" for p, q in quantiles.items())
    return {"method": "probe-null", "quantiles": quantiles,
            "summary": f"below the index's probe-null quantile per pair ({text})"}


class Abstention:
    """The abstention decision for one index and embedder (thread-safe; caches probes and nulls), with the
    quantiles of ``calibration`` (the shipped ``calibration.json`` when not given)."""

    def __init__(self, index: Index, embedder: Embedder, min_score: float | None, cache_dir: Path | None = None,
                 calibration: Calibration | None = None):
        self.index = index
        self.calibration = calibration or load_calibration()
        self.embedder = embedder
        self.min_score = min_score
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._probes: dict[str, np.ndarray] = {}
        self._nulls: dict[tuple[str, int, str], np.ndarray] = {}

    def decide(self, question_lang: str, passages: list[Passage], best_dense: float) -> Decision:
        """Abstain unless the evidence beats the threshold (always abstains without passages)."""
        if not passages:
            return Decision(True, 0.0, 0.0, f"{question_lang}→?")
        article_lang = detect_language(passages[0].sentence.text, default=question_lang)
        pair = f"{question_lang}→{article_lang}"
        if self.min_score is not None:  # the fixed threshold of answer.min_score, on the fused score
            score = passages[0].score
            return Decision(score < self.min_score, score, self.min_score, pair)
        threshold = self.threshold(question_lang, pair)
        return Decision(best_dense < threshold, best_dense, threshold, pair)

    def threshold(self, question_lang: str, pair: str) -> float:
        """The calibrated quantile of this index's null scores for probes in ``question_lang``."""
        q = self.calibration.quantile(self.embedder.model_id, pair)
        return float(np.quantile(self.nulls(question_lang), q))

    def nulls(self, lang: str) -> np.ndarray:
        """The null scores of the ``lang`` probes against the index as it is now (cached per generation).

        The generation is read from the catalog itself, so it is current without a sync; only a cache miss
        reads the vector store, through ``null_scores``' own snapshot (which syncs)."""
        cat = self.index.catalog
        key = (cat.uid(), cat.generation(), lang)
        with self._lock:
            got = self._nulls.get(key)
        if got is None:
            got = null_scores(self.index, self.probe_vectors(lang))
            with self._lock:
                self._nulls = {k: v for k, v in self._nulls.items() if k[:2] == key[:2]}  # drop old generations
                self._nulls[key] = got
        return got

    def probe_vectors(self, lang: str) -> np.ndarray:
        """The probes of ``lang`` embedded as queries: from memory, the cache folder, or the model."""
        with self._lock:
            if lang in self._probes:
                return self._probes[lang]
        texts = list(probe_questions()[lang if lang in ("ar", "en") else "en"])
        digest = hashlib.sha256(("\n".join(texts) + "\x00" + self.embedder.vector_id).encode()).hexdigest()[:16]
        path = None
        if self.cache_dir is not None:
            tag = re.sub(r"[^a-z0-9]+", "-", self.embedder.vector_id.lower()).strip("-")[-60:]
            path = self.cache_dir / f"probes-{tag}-{lang}-{digest}.npy"
        vectors = None
        if path is not None and path.exists():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape != (len(texts), self.embedder.dim):
                    vectors = None
            except (OSError, ValueError):
                vectors = None
        if vectors is None:
            vectors = np.asarray(self.embedder.embed_queries(texts), dtype=np.float32)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(".tmp.npy")
                    np.save(tmp, vectors)
                    tmp.replace(path)
                except OSError as e:  # a read-only cache only costs time
                    log.info("could not cache probe vectors in %s (%s)", path, e)
        with self._lock:
            self._probes[lang] = vectors
        return vectors
