"""Follow-up questions made standalone before retrieval (the heuristic; an LLM may do it better).

"and what does Iran want?" after "What are Iran and the US talking about over Afghanistan?" is
searched as "and what does Iran want? What are Iran and the US talking about over Afghanistan?" —
the follow-up first (its words lead), the topic question after it (it disambiguates).

A question counts as a follow-up when there is history and it
- opens with a continuation ("and", "what about", "و", "وماذا", "ماذا عن", "لكن", ...), or
- refers back with a pronoun or demonstrative ("he", "they", "that", "هو", "هم", "ذلك", ...), or
- has at most two content words ("why?", "لماذا؟", "and Iran?").
Otherwise it is searched as asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text.normalize import normalize, tokenize

__all__ = ["standalone_question", "is_follow_up"]

_OPENERS_EN = re.compile(r"^\s*(and|but|so|also|what about|how about|then|why|and why|and how)\b", re.I)
_OPENERS_AR = ("و", "ف", "لكن", "ماذا عن", "وماذا", "وما", "وهل", "وكيف", "ولماذا", "ومن", "ومتى", "وكم", "ثم")
_BACKREF_EN = re.compile(r"\b(he|she|they|it|him|her|them|his|their|its|that|those|this|these|there)\b", re.I)
_BACKREF_AR = {normalize(w) for w in "هو هي هم هما هن ذلك تلك هذا هذه هؤلاء أولئك هناك عنه عنها عنهم منه منها لها له لهم".split()}


def is_follow_up(question: str) -> bool:
    q = question.strip()
    if not q:
        return False
    if _OPENERS_EN.match(q):
        return True
    if q.startswith(_OPENERS_AR) and not q.startswith(("وزير", "واشنطن", "وكالة", "ولاية")):
        first = q.split()[0]
        # "و" + a word is a continuation; a word that merely starts with و/ف (e.g. "فرنسا") is not
        if first in _OPENERS_AR or first[:1] in "وف" and len(q.split()) <= 6:
            return True
    words = {normalize(w) for w in re.findall(r"\w+", q)}
    if _BACKREF_EN.search(q) or words & _BACKREF_AR:
        return True
    return len(tokenize(q)) <= 2


def standalone_question(question: str, history: Sequence[str]) -> str:
    """The question to search for, given earlier questions of the conversation as asked (oldest first).

    The topic comes from the latest earlier question that was not itself a follow-up, so a chain of
    follow-ups stays anchored and does not grow.
    """
    if not history or not is_follow_up(question):
        return question
    anchor = next((h for h in reversed(history) if not is_follow_up(h)), history[0])
    return f"{question.strip()} {anchor.strip()}"
