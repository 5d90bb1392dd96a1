"""The producers of short answers: each takes the question and the answer's citations and returns the
exact words of one cited sentence (a :class:`~assistant.types.ShortAnswer`), or None.

- :class:`ReaderProducer` (``reader``): the trained span reader on the embedding model (span_reader.py);
  reads the first ``sentences`` citations and keeps the surest span. LLM-free, the default.
- :class:`RulesProducer` (``rules``): question type + the words the question lacks (rules.py). LLM-free,
  needs no model: the default for an embedding model the reader was not trained on.
- :class:`LLMProducer` (``llm``): any configured chat model (the bundled Qwen GGUF, Ollama, an
  OpenAI-compatible server) prompted with prompts/short.*.txt; its reply is snapped onto the sentence
  (snap.py) or dropped.

:class:`Translator` puts a short answer into the question's language with the configured chat model
(prompts/translate.*.txt) when the cited sentence is in another; without one, ``translation`` stays None.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from assistant.answer.prompts import NO_ANSWER, render_messages
from assistant.answer.short.rules import rule_span
from assistant.answer.short.snap import snap
from assistant.answer.short.span_reader import SpanReader
from assistant.errors import LLMError
from assistant.models.chat import ChatModel
from assistant.settings import LLMSettings
from assistant.text.language import detect_language
from assistant.types import Citation, ShortAnswer

__all__ = ["ShortProducer", "ReaderProducer", "RulesProducer", "LLMProducer", "Translator", "short_from", "trim_to_words"]

log = logging.getLogger(__name__)


class ShortProducer(Protocol):
    method: str

    def produce(self, question: str, citations: Sequence[Citation]) -> ShortAnswer | None:
        """The short answer inside one of ``citations``, or None when not confident enough."""
        ...


def short_from(c: Citation, start: int, end: int, confidence: float, method: str) -> ShortAnswer:
    """The record for ``c.text[start:end]``, with offsets moved into the article."""
    return ShortAnswer(text=c.text[start:end], article_id=c.article_id, sentence_id=c.sentence_id,
                       start=c.start + start, end=c.start + end, n=c.n, confidence=round(confidence, 4),
                       method=method)


class ReaderProducer:
    method = "reader"

    def __init__(self, reader: SpanReader, min_confidence: float, sentences: int = 2):
        self.reader, self.min_confidence, self.sentences = reader, min_confidence, sentences

    def produce(self, question: str, citations: Sequence[Citation]) -> ShortAnswer | None:
        cited = list(citations[: self.sentences])
        if not cited:
            return None
        guesses = self.reader.guesses(question, [c.text for c in cited])
        scored = [(g.score, g, c) for g, c in zip(guesses, cited) if g is not None and g.end > g.start]
        if not scored:
            return None
        _, g, c = max(scored, key=lambda t: t[0])
        if g.prob < self.min_confidence:
            return None
        start, end = trim_to_words(c.text, g.start, g.end)
        return short_from(c, start, end, g.prob, self.method) if end > start else None


class RulesProducer:
    method = "rules"

    def __init__(self, min_confidence: float):
        self.min_confidence = min_confidence

    def produce(self, question: str, citations: Sequence[Citation]) -> ShortAnswer | None:
        if not citations:
            return None
        c = citations[0]
        g = rule_span(question, c.text)
        if g is None or g.confidence < self.min_confidence:
            return None
        return short_from(c, g.start, g.end, g.confidence, self.method)


class LLMProducer:
    method = "llm"

    def __init__(self, chat: ChatModel, settings: LLMSettings, min_f1: float = 0.5):
        self.chat, self.settings, self.min_f1 = chat, settings, min_f1

    def produce(self, question: str, citations: Sequence[Citation]) -> ShortAnswer | None:
        if not citations:
            return None
        c = citations[0]
        messages = render_messages("short", c.lang or detect_language(c.text, default="ar"), self.settings.prompts_dir,
                                   question=question, sentence=" ".join(c.text.split()))
        try:
            reply = self.chat.complete(messages, timeout=self.settings.timeout)
        except LLMError as e:
            log.warning("no short answer: the LLM failed (%s)", e)
            return None
        reply = reply.strip().splitlines()[0].strip() if reply.strip() else ""
        if not reply or NO_ANSWER in reply:
            return None
        hit = snap(reply, c.text, min_f1=self.min_f1)
        if hit is None:
            return None  # not words of the sentence: never shown
        start, end, f1 = hit
        return short_from(c, start, end, f1, self.method)


class Translator:
    """The short answer in the question's language, by the configured chat model (marked as machine
    translation wherever it is shown)."""

    def __init__(self, chat: ChatModel, settings: LLMSettings):
        self.chat, self.settings = chat, settings

    def translate(self, question: str, phrase: str, lang: str) -> str | None:
        messages = render_messages("translate", lang, self.settings.prompts_dir, question=question, phrase=phrase)
        try:
            reply = self.chat.complete(messages, timeout=self.settings.timeout)
        except LLMError as e:
            log.warning("no translation of the short answer: the LLM failed (%s)", e)
            return None
        lines = [ln.strip() for ln in reply.strip().splitlines() if ln.strip()]
        return lines[0][:200] if lines else None


_EDGE_PUNCT = " \t\n\"'«»()[]{}،,.:;!?؟—-–“”‘’"


def trim_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words, then stripped of spaces and punctuation at its edges."""
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in _EDGE_PUNCT:
        start -= 1
    while end < len(text) and not text[end].isspace() and text[end] not in _EDGE_PUNCT:
        end += 1
    while start < end and text[start] in _EDGE_PUNCT:
        start += 1
    while end > start and text[end - 1] in _EDGE_PUNCT:
        end -= 1
    return start, end
