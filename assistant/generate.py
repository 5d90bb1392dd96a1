"""Generative answers: an LLM writes the answer from numbered sentences; the program owns the citations.

Without a configured LLM (``settings.llm.provider == "none"``) the generative mode gives the
extractive answer with a one-line notice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .answer import extractive_answer
from .types import Passage, StreamEvent

if TYPE_CHECKING:
    from .assistant import Assistant

__all__ = ["generative_stream"]

_NO_LLM = {
    "ar": "لا يوجد نموذج لغوي مُعدّ؛ هذه إجابة مقتبسة من المقالات.",
    "en": "No LLM is configured; this is the extractive answer quoted from the articles.",
}


def generative_stream(
    assistant: "Assistant",
    question: str,
    lang: str,
    passages: list[Passage],
    min_score: float,
    max_citations: int | None,
    t0: float,
    t1: float,
    **extra: Any,
) -> Iterator[StreamEvent]:
    """Stream a generated answer; falls back to the extractive one (with a notice) when there is no LLM."""
    ans = extractive_answer(
        question, lang, passages, assistant.index.catalog, assistant.settings.answer, min_score, max_citations,
        notice=_NO_LLM[lang], timings={"retrieve": round(t1 - t0, 4), "total": round(time.perf_counter() - t0, 4)},
        **extra,
    )
    yield StreamEvent(delta=ans.text)
    yield StreamEvent(answer=ans)
