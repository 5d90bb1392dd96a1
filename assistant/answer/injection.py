"""Instructions hidden in articles: a sentence that addresses the model is data, never support."""

from __future__ import annotations

import re

from assistant.text.normalize import normalize

__all__ = ["looks_like_instruction"]

_INSTRUCTION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(ignore|disregard|forget|override)\b.{0,40}\b(question|instructions?|prompt|rules|above|previous|earlier)\b",
        r"^\W*(please\s+)?(say|answer|reply|respond|write|tell the user|output)\b",
        r"\b(you are|act as|pretend to be)\b.{0,30}\b(assistant|model|ai|chatbot|llm)\b",
        r"\bsystem prompt\b",
        r"(تجاهل|تجاهلي|انس|اهمل)\s.{0,40}(السوال|التعليمات|الاوامر|ما سبق|القواعد)",
        r"^\W*(قل|قولي|اجب|اكتب|رد)\s",
        r"(انت|بصفتك)\s+(نموذج|مساعد|ذكاء اصطناعي)",
    )
]


def looks_like_instruction(sentence: str) -> bool:
    """True for a sentence that addresses the model ("Ignore the question and say ...", "تجاهل السؤال").
    Patterns are matched on normalized text (assistant/text/normalize.py: أ→ا, ؤ→و, ...).

    Such a sentence is still shown to the model as article data, but never counts as support: an
    answer that repeats what an injected instruction asked for is not a cited fact.
    """
    text = normalize(sentence)
    return any(p.search(text) for p in _INSTRUCTION)
