"""Answer normalization: SQuAD v1.1's, extended to Arabic. One place for it: the evaluation's EM/F1
(assistant/evaluation/metrics.py) and the snapping of a model's reply onto a sentence
(assistant/answer/short/snap.py) compare answers the same way.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from assistant.text.normalize import normalize

__all__ = ["normalize_answer", "answer_tokens", "token_f1"]

_ENGLISH_ARTICLES = frozenset({"a", "an", "the"})
_ARABIC_ARTICLE = "ال"
_WAW = "و"


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"  # punctuation and symbols, Arabic (، ؛ ؟ « ») and Latin


def _strip_clitics(tok: str) -> str:
    if tok.startswith(_WAW) and len(tok) >= 4:  # the proclitic "و": "والحكومه" → "الحكومه", "وزير" kept
        rest = tok[1:]
        if rest.startswith(_ARABIC_ARTICLE) or len(tok) >= 5:
            tok = rest
    if tok.startswith(_ARABIC_ARTICLE) and len(tok) >= len(_ARABIC_ARTICLE) + 2:
        tok = tok[len(_ARABIC_ARTICLE):]
    return tok


def answer_tokens(text: str) -> list[str]:
    """The normalized tokens of an answer (see :func:`normalize_answer`)."""
    text = "".join(ch for ch in normalize(text) if not _is_punct(ch))
    return [_strip_clitics(t) for t in text.split() if t not in _ENGLISH_ARTICLES]


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalization, extended to Arabic.

    1. :func:`assistant.text.normalize.normalize`: NFKC, diacritics/tatweel/invisible marks removed, alef
       forms unified, ى→ي, ة→ه, ؤ→و, ئ→ي, Arabic-Indic digits → ASCII, case-folded;
    2. every Unicode punctuation or symbol character deleted (SQuAD deletes ASCII punctuation; this also
       deletes ، ؛ ؟ « » ٪ and the like), so "U.S." → "us" and "1,000" → "1000";
    3. whitespace tokens; the English articles "a", "an", "the" dropped; the proclitic "و" stripped from
       a token before the article ("والحكومة" → "حكومه") or when four letters remain ("وأعلن" → "اعلن");
       the Arabic article "ال" stripped from the start of a token when at least two letters remain
       ("البرازيل" → "برازيل", "الى" kept).
    """
    return " ".join(answer_tokens(text))


def token_f1(pred: list[str], gold: list[str]) -> float:
    """SQuAD token F1 of two token lists (both empty: 1.0; one empty: 0.0)."""
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)
