"""What the facade asks of an answering mode: the :class:`Answerer` protocol and its inputs.

The facade (assistant/assistant.py) retrieves passages, then hands them to the answerer of the mode
asked for: ``ExtractiveAnswerer`` (assistant/answer/extractive.py) or ``GenerativeAnswerer``
(assistant/answer/generative.py). Answerers are built by the facade with what they need (settings
sections, the chat model, the embedder, a function that looks up article records); they never see the
facade, the index or the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.types import AnswerMode, ArticleInfo, Passage, StreamEvent

__all__ = ["Answerer", "AnswerRequest", "ArticleLookup"]

ArticleLookup = Callable[[Iterable[str]], Mapping[str, ArticleInfo]]
"""Article ids -> their records (ids without a record are left out)."""


@dataclass(frozen=True)
class AnswerRequest:
    """One question after retrieval.

    ``question``: as asked; ``lang``: the answer's language; ``passages``: retrieved, best first;
    ``abstain``: the evidence is too weak, say so (decided by assistant/retrieve/refusal.py); ``max_citations``:
    None for the settings' default; ``standalone_question``: the follow-up rewritten to stand alone (None
    when it was searched as asked); ``started`` and ``retrieved``: ``time.perf_counter()`` readings.
    """

    question: str
    lang: str
    passages: list[Passage]
    abstain: bool
    started: float
    retrieved: float
    max_citations: int | None = None
    standalone_question: str | None = None

    @property
    def asked(self) -> str:
        """The question the answer is written for: the standalone one when there is one."""
        return self.standalone_question or self.question


class Answerer(Protocol):
    """One answering mode."""

    mode: AnswerMode

    def standalone(self, question: str, history: Sequence[str]) -> str:
        """The question to search for, given the earlier questions of the conversation (oldest first)."""
        ...

    def stream(self, request: AnswerRequest) -> Iterator[StreamEvent]:
        """Text deltas, then one last event carrying the final :class:`Answer`."""
        ...
