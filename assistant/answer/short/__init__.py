"""Short answers: the exact words of a cited sentence that answer the question, led with in the answer.

:func:`build_short_answers` picks the producer the settings name (``answer.short_producer``; ``auto``: the
trained span reader when the embedding model is the one it was trained on, else the rules) and, when a
chat model is configured, a translator for questions asked in another language than the cited sentence.
An English question over an Arabic sentence first tries the rules of assistant/text/english_rules.py
(numbers, amounts, dates, years: an exact conversion, marked as such), then the translator.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from assistant.answer.short.producers import (
    LLMProducer,
    ReaderProducer,
    RulesProducer,
    ShortProducer,
    Translator,
)
from assistant.answer.short.span_reader import SpanReader, reader_path
from assistant.errors import ConfigError
from assistant.models.chat import ChatModel
from assistant.models.embedding.protocol import Embedder, TokenStatesEmbedder
from assistant.settings import AnswerSettings, LLMSettings
from assistant.text.english_rules import to_english
from assistant.types import Citation, ShortAnswer

__all__ = ["ShortAnswers", "build_short_answers"]

RULES_MIN_CONFIDENCE = 0.3  # the rules' typed answers say 0.6, their fallback 0.3


class ShortAnswers:
    """One producer, and a translator when a chat model can translate."""

    def __init__(self, producer: ShortProducer, translator: Translator | None = None):
        self.producer, self.translator = producer, translator

    @property
    def method(self) -> str:
        return self.producer.method

    def find(self, question: str, lang: str, citations: Sequence[Citation], *, translate: bool = True) -> ShortAnswer | None:
        """The short answer for ``question`` (asked in ``lang``) among ``citations``; translated into
        ``lang`` when its sentence is in another language, a translator exists and ``translate``."""
        short = self.producer.produce(question, citations)
        if short is None:
            return None
        source_lang = next((c.lang for c in citations if c.n == short.n), None)
        if not source_lang or source_lang == lang:
            return short
        converted = to_english(short.text) if (source_lang, lang) == ("ar", "en") else None
        if converted:  # numbers, amounts, dates and years: exact by rules, no model needed
            return replace(short, translation=converted, translated_by="rules")
        if translate and self.translator is not None:
            translation = self.translator.translate(question, short.text, lang)
            if translation:
                short = replace(short, translation=translation, translated_by="llm")
        return short


def _card(settings: AnswerSettings) -> dict:
    """The JSON card of the span reader the settings name ({} when it is not shipped)."""
    path = reader_path(settings.short_reader).with_suffix(".json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _reader_producer(settings: AnswerSettings, embedder: Embedder) -> ReaderProducer:
    reader = SpanReader.load(embedder, settings.short_reader, embedder.model_id)
    threshold = settings.short_min_confidence
    if threshold is None:
        threshold = float(reader.card.get("min_confidence", 0.0))
    return ReaderProducer(reader, threshold, settings.short_sentences)


def _reader_fits(card: dict, embedder: Embedder) -> bool:
    return bool(card) and isinstance(embedder, TokenStatesEmbedder) and card.get("model_id") == embedder.model_id


def build_short_answers(settings: AnswerSettings, llm_settings: LLMSettings, embedder: Embedder,
                        chat: ChatModel | None) -> ShortAnswers | None:
    """The short-answer producer the settings name (None for ``none``)."""
    choice = settings.short_producer
    if choice == "none":
        return None
    producer: ShortProducer
    if choice == "llm":
        if chat is None:
            raise ConfigError("answer.short_producer is 'llm' but no LLM is configured (llm.provider); "
                              "use 'auto' for the LLM-free producers")
        producer = LLMProducer(chat, llm_settings)
    elif choice == "reader" or (choice == "auto" and _reader_fits(_card(settings), embedder)):
        producer = _reader_producer(settings, embedder)
    else:
        rules_min = settings.short_min_confidence
        producer = RulesProducer(RULES_MIN_CONFIDENCE if rules_min is None else rules_min)
    translator = Translator(chat, llm_settings) if chat is not None else None
    return ShortAnswers(producer, translator)
