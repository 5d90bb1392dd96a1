"""Mapping a model's reply back onto exact words of the sentence it was given, or dropping it.

A model's reply is never shown as text: it is only a pointer. :func:`snap` finds the run of whole words
of the sentence whose normalized tokens (Arabic letter forms, diacritics, the article ال and the و
proclitic, punctuation: the evaluation's answer normalization) best match the reply's by token F1, and
keeps it only when that F1 reaches ``min_f1``. A reply that is not in the sentence at all (an invented
answer, a translation, NO_ANSWER) is dropped.
"""

from __future__ import annotations

from collections import Counter

from assistant.answer.short.rules import words_of
from assistant.text.answer_match import answer_tokens, token_f1

__all__ = ["snap"]


def snap(reply: str, sentence: str, *, min_f1: float = 0.5, min_recall: float = 0.6,
         slack: int = 3) -> tuple[int, int, float] | None:
    """(start, end, f1) of the words of ``sentence`` closest to ``reply``, or None when none is close
    enough: token F1 at least ``min_f1`` and at least ``min_recall`` of the reply's tokens found (so "في
    شهر مارس" does not snap onto a lone "في", nor "June 2019" onto "2019"). Windows up to ``slack`` words
    longer than the reply are tried; ties go to the shorter one."""
    target = answer_tokens(reply)
    if not target:
        return None
    words = words_of(sentence)
    toks = [answer_tokens(sentence[s:e]) for s, e in words]
    best: tuple[float, int, int, int] | None = None  # (f1, -length, start word, end word)
    for i in range(len(words)):
        run: list[str] = []
        for j in range(i, min(len(words), i + len(target) + slack)):
            run = run + toks[j]
            if not toks[i] or not toks[j]:
                continue  # a window starts and ends on a word that counts
            f1 = token_f1(run, target)
            if sum((Counter(run) & Counter(target)).values()) < min_recall * len(target):
                continue
            key = (f1, -(j - i), -i, j)
            if best is None or key > best:
                best = key
    if best is None or best[0] < min_f1:
        return None
    i, j = -best[2], best[3]
    return words[i][0], words[j][1], best[0]
