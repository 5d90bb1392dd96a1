"""Sentence splitting for Arabic and English news text, with exact offsets.

Rules (measured on the shared dev sets, see tests/test_sentences.py for goldens):

- every line break ends a sentence (news text is one paragraph per line);
- ``. ! ? ؟`` end a sentence when followed by whitespace, the end of the line, or (for a period with
  no space after it) an Arabic letter directly after an Arabic word: "نيفادا.وتعتبر";
- closing quotes/brackets and footnote marks stay with the sentence they close: ``."``, ``.[1][2]``;
- the Arabic comma ``،`` and semicolon ``؛`` never end a sentence;
- a period does not end a sentence after an English abbreviation or initial ("Mr.", "J. K."), before
  a lower-case word, after an Arabic transliterated initial ("جون سي. ميسنجر") unless an ordinary
  sentence opener follows, nor inside an ellipsis;
- a lone Arabic letter before a period is an initial ("م. ثيو كيرني", "ط. و. 99"), but a year mark
  is not: "عام 1923م. نشأت" and "1085 م. وفي" end a sentence after "م.";
- a run longer than ``max_chars`` with no terminator is cut at the last whitespace before the limit
  so one pathological "sentence" cannot swamp the index.

Sentence ids are content hashes of (article id, sentence text, occurrence), so they are stable across
runs and survive edits elsewhere in the article.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.types import Sentence

__all__ = ["SPLITTER_VERSION", "Span", "split_sentences", "sentence_id", "split_article"]

SPLITTER_VERSION = "1"

_LINE_BREAK = re.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
# A terminator run, then closers, then footnote marks.
_TERMINATOR = re.compile(r"(?P<term>[.!?؟…]+)(?P<close>[\"'»”’)\]]*)(?P<note>(?:\[\d{1,3}\])*)")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a\u0671-\u06d3]")
_WORD_BEFORE = re.compile(r"([^\W\d_]+|\d+[^\W\d_]?)$")
_WORD_AFTER = re.compile(r"\s*([^\s]+)")

_ENGLISH_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr vs v etc e.g i.e no nos inc ltd co corp gen gov sen rep lt col capt "
    "sgt mt ft jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n a.m p.m approx dept est fig".split()
)
# Latin letters as Arabic transliteration writes them (initials in names: "جون سي. ميسنجر").
_ARABIC_LETTER_NAMES = frozenset(
    "إيه أيه ايه بي سي دي إي اي إف اف جي جيه إتش اتش آي كيه كاي إل ال إم ام إن ان أو او يو "
    "بيه كيو آر ار إس اس تي في دبليو إكس اكس واي زد زي".split()
)
# Words that open an Arabic sentence; after "X." they mark the period as a real end.
_ARABIC_OPENERS = frozenset(
    "في وفي أما وأما كما ثم وقد قد كان وكان كانت وكانت لكن ولكن إن وإن أن وأن هذا هذه وهذا وهذه "
    "هو وهو هي وهي عام وفي بعد وبعد منذ لم ولم حيث وحيث كذلك ومن من على وعلى إلى عندما وعندما "
    "ويعتبر يعتبر تعتبر وتعتبر يعد ويعد تعد وتعد".split()
)


@dataclass(frozen=True, slots=True)
class Span:
    """One sentence: ``text == source[start:end]``."""

    index: int
    start: int
    end: int
    text: str


def sentence_id(article_id: str, text: str, occurrence: int) -> str:
    """Stable id of a sentence: a hash of its article, text and how many times that text came before."""
    h = hashlib.blake2b(f"{article_id}\x00{text}\x00{occurrence}".encode(), digest_size=8)
    return h.hexdigest()


def _is_break(line: str, m: re.Match[str]) -> bool:
    term = m.group("term")
    after = line[m.end():]
    before = line[: m.start()]
    if not after.strip():
        return True
    spaced = after[:1].isspace()
    if not spaced:
        # "نيفادا.وتعتبر": a period glued to the next Arabic word after an Arabic word.
        word = _WORD_BEFORE.search(before)
        return bool(
            word
            and len(word.group(1)) >= 2
            and _ARABIC_LETTER.match(word.group(1)[-1])
            and _ARABIC_LETTER.match(after[0])
            and not m.group("close")
        ) or (term != "." and bool(_ARABIC_LETTER.match(after[0])) and not term.startswith("…"))
    if term in ("...", "…", "..") or (set(term) <= {".", "…"} and len(term) > 1):
        return False
    if term != ".":
        return True
    if m.group("close") or m.group("note"):
        return True
    nxt = _WORD_AFTER.match(after)
    next_word = nxt.group(1) if nxt else ""
    word_match = _WORD_BEFORE.search(before)
    if word_match is None or not word_match.group(1):
        return True
    prev = word_match.group(1)
    if prev.isascii():
        low = prev.lower()
        # "U.S." style: the token before the final period includes earlier periods.
        dotted = re.search(r"((?:[A-Za-z]\.)+[A-Za-z])$", before)
        if dotted and dotted.group(1).lower() in _ENGLISH_ABBREVIATIONS:
            return False
        if len(prev) == 1 and prev.isalpha() and prev.isupper():
            return False  # an initial: "J. K. Rowling"
        if low in _ENGLISH_ABBREVIATIONS:
            return False
        if next_word[:1].islower() and next_word[:1].isascii():
            return False
        return True
    earlier = before[: word_match.start()].split()
    if len(prev) == 1 and _ARABIC_LETTER.match(prev):
        # A lone letter is an initial ("م. ثيو", "ط. و. 99") unless it marks a year ("1085 م.").
        year_mark = bool(earlier) and earlier[-1][-1:].isdigit() and prev in "مه"
        return year_mark
    if prev in _ARABIC_LETTER_NAMES:
        acronym = bool(earlier) and earlier[-1] in _ARABIC_LETTER_NAMES
        opener = next_word.strip("\"'«»“”()") in _ARABIC_OPENERS
        if not acronym and not opener and _ARABIC_LETTER.match(next_word[:1] or " "):
            return False
    return True


def _cut_long(start: int, end: int, text: str, max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long run at whitespace so no piece exceeds ``max_chars``."""
    pieces = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cut = max(window.rfind(" "), window.rfind("\t"))
        cut = start + (cut if cut > max_chars // 2 else max_chars)
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str, *, max_chars: int = 1000) -> list[Span]:
    """Split ``text`` into sentences; every span satisfies ``text[start:end] == span.text``."""
    bounds: list[tuple[int, int]] = []
    line_start = 0
    lines = []
    for lb in _LINE_BREAK.finditer(text):
        lines.append((line_start, lb.start()))
        line_start = lb.end()
    lines.append((line_start, len(text)))
    for ls, le in lines:
        line = text[ls:le]
        cur = 0
        for m in _TERMINATOR.finditer(line):
            if _is_break(line, m):
                bounds.append((ls + cur, ls + m.end()))
                cur = m.end()
        bounds.append((ls + cur, le))
    spans: list[Span] = []
    for s, e in bounds:
        s, e = _trim(text, s, e)
        if s >= e or not any(ch.isalnum() for ch in text[s:e]):
            if s < e and spans and spans[-1].end == s:  # stray punctuation: glue to previous
                prev = spans.pop()
                spans.append(Span(prev.index, prev.start, e, text[prev.start : e]))
            continue
        for ps, pe in _cut_long(s, e, text, max_chars):
            ps, pe = _trim(text, ps, pe)
            spans.append(Span(len(spans), ps, pe, text[ps:pe]))
    return spans


def split_article(article_id: str, text: str, *, max_chars: int = 1000) -> list[Sentence]:
    """The sentences of one article with their stable ids and offsets: the one place ids are made.

    The index (when it stores an article) and the evaluator (when it finds the gold sentence of a
    question) both call this, so their ids cannot drift apart.
    """
    seen: dict[str, int] = {}
    out: list[Sentence] = []
    for sp in split_sentences(text, max_chars=max_chars):
        occ = seen.get(sp.text, 0)
        seen[sp.text] = occ + 1
        out.append(Sentence(sentence_id(article_id, sp.text, occ), article_id, sp.index, sp.start, sp.end, sp.text))
    return out
