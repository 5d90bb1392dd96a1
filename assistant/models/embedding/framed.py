"""What the transformer embedders share (the torch and the OpenVINO EmbeddingGemma): query/document
prompts, EmbeddingGemma's titled document frame, and a memo so that one text is embedded once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from assistant.models.embedding.protocol import EmbedderBase, normalize_rows
from assistant.models.embedding.turns import DOCUMENT_TURN, ModelTurns
from assistant.text.characters import clean_text

__all__ = ["FramedEmbedder", "frame_document"]


def frame_document(text: str, title: str | None) -> str:
    """EmbeddingGemma's document format, with the article's real title instead of "none" (when it has one)."""
    return f"title: {_title(title)} | text: {text}"


def _title(title: str | None) -> str:
    t = " ".join((title or "").split())
    return t[:200] if t else "none"


class FramedEmbedder(EmbedderBase):
    """What the transformer embedders share: query/document prompts, EmbeddingGemma's titled document
    frame (``title: <title> | text: ``), and a memo so that one text is embedded once per process.
    Subclasses set the fields in ``_frame`` and implement ``_forward`` (full texts → normalized rows)."""

    model_id: str
    dim: int
    batch_size: int

    def _frame(self, prompts: dict, query_prompt: str | None, document_prompt: str | None, batch_size: int,
               memo_size: int) -> None:
        self._query_prompt = query_prompt if query_prompt is not None else prompts.get("query")
        self._document_prompt = (
            document_prompt if document_prompt is not None else prompts.get("document", prompts.get("passage"))
        )
        self.batch_size = batch_size
        self._lock = threading.Lock()  # the memo and the subclasses' tables
        self._turns = ModelTurns()  # one user of the model at a time, questions first (the span reader shares it)
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_size = memo_size
        self._titled = bool(self._document_prompt and self._document_prompt.startswith("title: none | text: "))

    def _forward(self, texts: list[str], ingest: bool = False) -> np.ndarray:
        """Full texts → rows; ``ingest``: an ingest's texts (a runtime may run them for throughput)."""
        raise NotImplementedError

    def _encode(self, texts: list[str], prompt: str | None, memo: bool = True, ingest: bool = False) -> np.ndarray:
        """Encode; with ``memo`` (documents) the same text under the same prompt is embedded once per
        process. An ingest's texts (``ingest``) go shortest first, a turn of the model (``DOCUMENT_TURN``
        texts) at a time, on the runtime's throughput path; anything else (questions, the sentences an
        answer checks) in one turn, ahead of waiting ingest turns (turns.py)."""
        keys = [f"{prompt or ''}\x00{t}" for t in texts]
        with self._lock:
            found = {k: self._memo[k] for k in keys if memo and k in self._memo}
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        if not todo:
            return np.stack([found[k] for k in keys])
        step = DOCUMENT_TURN if ingest else len(todo)
        if ingest:
            todo.sort(key=len)  # a turn of similar lengths: little padding
            self._prepare_ingest()  # outside the turns: a question does not wait for it
        for i in range(0, len(todo), step):
            part = todo[i : i + step]
            with self._turns.turn(urgent=not ingest):
                # what the model reads: without the invisible characters stored text may hold (text/characters.py)
                rows = normalize_rows(self._forward([clean_text(k.replace("\x00", "", 1)) for k in part], ingest=ingest))
            found.update(zip(part, rows))
            if memo:
                with self._lock:
                    for k, v in zip(part, rows):
                        self._memo[k] = v
                        if len(self._memo) > self._memo_size:
                            self._memo.popitem(last=False)
        return np.stack([found[k] for k in keys])

    def _prepare_ingest(self) -> None:
        """Make ready what an ingest runs on, if it differs from the question path (the OpenVINO runtime's
        throughput graph); called before taking a turn of the model."""

    def document_key(self, text: str, title: str | None) -> str:
        return f"{_title(title)}\x00{text}" if self._titled else text

    def embed_documents(self, texts: list[str], titles: list[str | None] | None = None, *,
                        ingest: bool = False) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        if self._titled:
            titles = titles or [None] * len(texts)
            return self._encode([frame_document(x, t) for x, t in zip(texts, titles)], None, ingest=ingest)
        return self._encode(texts, self._document_prompt, ingest=ingest)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._query_prompt, memo=False)[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several queries in batches (the abstention probes): the same vectors as :meth:`embed_query`."""
        return self._encode(texts, self._query_prompt, memo=False)

    def clear_memo(self) -> None:
        """Forget memoized document vectors (benchmarks use this to time real work)."""
        with self._lock:
            self._memo.clear()
