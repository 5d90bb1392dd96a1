"""The LLM-free span extractor by rules: the words of a sentence that the question asks for and lacks.

- A ``count``/``date`` question (كم / متى / how many / when ...) takes the number or date of the
  sentence (assistant/retrieve/answer_type.py finds them, scale words included: "20 ألف", "يونيو/ حزيران
  2019") that the question does not already hold, nearest to the words the sentence shares with the
  question; a number keeps the unit word that follows it ("20 ألف جندي", "3,000 soldiers").
- A ``person``/``place`` question takes a capitalised Latin name the question lacks (Arabic has no
  capitals: there it falls through to the next rule).
- Otherwise: the run of words the question lacks (function words trimmed from its ends) that sits next
  to the shared words, at most ``max_words`` long, cut from the side away from them.

Works on any embedding model (no model at all); the trained reader (span_reader.py) does better where
it is available. Each result carries a confidence: typed answers are surer than the fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.retrieve.answer_type import question_type, typed_spans
from assistant.text.normalize import ARABIC_STOPWORDS, ENGLISH_STOPWORDS, normalize, tokenize

__all__ = ["RuleGuess", "rule_span", "words_of"]

_WORD = re.compile(r"[^\s]+")
_EDGE = re.compile(r"^[^\w]+|[^\w]+$")
_STOP = ARABIC_STOPWORDS | ENGLISH_STOPWORDS | {"ان", "الي", "او", "اذا", "وان", "بان", "لان", "s"}
_WANTS = {"count": {"count"}, "date": {"date"}, "person": {"person"}, "place": {"person"}}
TYPED_CONFIDENCE = 0.6
FALLBACK_CONFIDENCE = 0.3


@dataclass(frozen=True)
class RuleGuess:
    start: int  # code points into the sentence
    end: int
    confidence: float
    kind: str  # the question type the rule answered


def words_of(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of each word of ``sentence``, punctuation at its edges left out."""
    out = []
    for m in _WORD.finditer(sentence):
        s, e = m.span()
        core = _EDGE.sub("", m.group())
        if not core:
            continue
        lead = len(m.group()) - len(m.group().lstrip("\"'«»()[]{}،,.:;!?؟—-–“”‘’"))
        s += lead
        e = s + len(core) if m.group()[lead:].startswith(core) else e
        out.append((s, e))
    return out


def _shared(sentence: str, words: list[tuple[int, int]], question: str) -> list[bool]:
    q = set(tokenize(question))
    return [bool(set(tokenize(sentence[s:e])) & q) for s, e in words]


def _is_stop(word: str) -> bool:
    n = normalize(word)
    return n in _STOP or not tokenize(word)


def _distance(span: tuple[int, int], anchors: list[tuple[int, int]]) -> int:
    if not anchors:
        return 0
    s, e = span
    return min(max(a - e, s - b, 0) for a, b in anchors)


def rule_span(question: str, sentence: str, max_words: int = 4) -> RuleGuess | None:
    """The rule's answer span inside ``sentence`` (None when every word is already in the question)."""
    words = words_of(sentence)
    if not words:
        return None
    shared = _shared(sentence, words, question)
    anchors = [w for w, sh in zip(words, shared) if sh]
    kind = question_type(question)
    wants = _WANTS.get(kind, set())
    if wants:
        qnorm = set(normalize(question).split())
        typed = [(k, s, e) for k, s, e in typed_spans(sentence)
                 if k in wants and set(normalize(sentence[s:e]).split()) - qnorm]
        if typed:
            _, s, e = min(typed, key=lambda t: (_distance((t[1], t[2]), anchors), t[1]))
            if kind == "count":
                e = _with_unit(sentence, words, shared, e)
            return RuleGuess(s, e, TYPED_CONFIDENCE, kind)
    # the fallback: runs of words the question lacks, the one touching the shared words wins
    runs: list[list[int]] = []
    for i, sh in enumerate(shared):
        if sh:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    best: tuple[tuple[int, ...], list[int]] | None = None
    for run in runs:
        core = [i for i in run if not _is_stop(sentence[words[i][0]:words[i][1]])]
        if not core:
            continue
        run = run[run.index(core[0]):run.index(core[-1]) + 1]
        before = run[0] > 0 and shared[run[0] - 1]
        after = run[-1] + 1 < len(words) and shared[run[-1] + 1]
        if len(run) > max_words:
            run = run[:max_words] if before or not after else run[-max_words:]
        touching = 0 if (before or after) else 1
        dist = _distance((words[run[0]][0], words[run[-1]][1]), anchors)
        # the words right after shared ones first; a run between two shared words is mostly the
        # question's own words in another form ("فوقه" / "فوق"), so it comes after one that is not
        key = (touching, 0 if before else 1, int(before and after), dist, run[0])
        if best is None or key < best[0]:
            best = (key, run)
    if best is None:
        return None
    run = best[1]
    return RuleGuess(words[run[0]][0], words[run[-1]][1], FALLBACK_CONFIDENCE, kind)


def _with_unit(sentence: str, words: list[tuple[int, int]], shared: list[bool], end: int) -> int:
    """``end`` moved past the word that follows the number when it is a unit (not a function word, not
    a word of the question, not another number)."""
    nxt = next((i for i, (s, _) in enumerate(words) if s >= end), None)
    if nxt is None:
        return end
    s, e = words[nxt]
    gap = sentence[end:s]
    if gap.strip() or shared[nxt] or _is_stop(sentence[s:e]) or any(ch.isdigit() for ch in sentence[s:e]):
        return end
    return e
