"""What a question asks for, and whether a sentence holds something of that kind the question lacks.

A sentence that answers "how many" holds a number, one that answers "when" a date or a year, one that
answers "who" a name; and the thing it holds is not already in the question (a paraphrase of the
question repeats the question's own numbers and names). Rules, in Arabic and English, no model:

- :func:`question_type`: ``count`` (كم / ما عدد / how many / how much / how old), ``date`` (متى / في أي
  عام / when / what year), ``person`` (من / who), ``place`` (أين / where / in which country|city), or
  ``other``.
- :func:`typed_spans`: the spans of a sentence that are numbers (digits, Arabic-Indic digits, number
  words, with their scale words: "20 ألف", "three million"), dates and years ("يونيو/ حزيران 2019",
  "1923م", "June 2019"), or names (capitalised Latin words; Arabic has no capitals, so Arabic names are
  not found here), each as (kind, start, end) in code points of the sentence.
- :func:`novel_type_evidence`: 1.0 when the sentence holds a span of the kind the question asks for whose
  normalized text is not in the question, else 0.0 (``other`` questions: always 0.0).
"""

from __future__ import annotations

import re
from typing import Literal

from assistant.text.normalize import normalize

__all__ = ["QuestionType", "question_type", "typed_spans", "novel_type_evidence", "TYPE_OF_SPAN"]

QuestionType = Literal["count", "date", "person", "place", "other"]

# A question word may follow the conjunctions و / ف and is matched on normalized text (أ→ا, ة→ه, ى→ي).
_AR_Q = [
    ("date", r"(?:^|\s)[وف]?(?:متي|في اي (?:عام|سنه|يوم|شهر|تاريخ|قرن|عقد)|اي (?:عام|سنه|يوم|شهر|تاريخ)|"
             r"ما (?:تاريخ|العام|السنه)|منذ متي|الي متي)(?:\s|$)"),
    ("count", r"(?:^|\s)[وف]?(?:كم|ما (?:عدد|مقدار|حجم|نسبه|مساحه|طول|عمر|سعر|قيمه)|بكم)(?:\s|$)"),
    ("place", r"(?:^|\s)[وف]?(?:اين|الي اين|من اين|في اي (?:مدينه|دوله|بلد|مكان|منطقه|مقاطعه|ولايه|قاره))(?:\s|$)"),
    ("person", r"^\s*[وف]?(?:من|لمن|ومن)(?:\s|$)|(?:^|\s)(?:من (?:هو|هي|هم|الذي|التي)|من كان|من كانت)(?:\s|$)"),
]
_EN_Q = [
    ("date", r"\b(?:when|what (?:year|date|day|month|century|decade)|which (?:year|date|day|month|century)|"
             r"in what (?:year|month)|how long ago|since when)\b"),
    ("count", r"\b(?:how (?:many|much|old|long|far|large|big|tall|high)|what (?:number|percentage|amount|"
              r"proportion|share)|what is the (?:number|population|size|cost))\b"),
    ("place", r"\b(?:where|what (?:city|country|state|region|place|continent)|which (?:city|country|state|"
              r"region|place|continent))\b"),
    ("person", r"\b(?:who|whom|whose)\b"),
]
_AR_RULES = [(t, re.compile(p)) for t, p in _AR_Q]
_EN_RULES = [(t, re.compile(p, re.I)) for t, p in _EN_Q]


def question_type(question: str) -> QuestionType:
    """The kind of answer ``question`` asks for (first rule that matches, dates before counts)."""
    text = normalize(question)
    for kind, rule in _AR_RULES + _EN_RULES:
        if rule.search(text):
            return kind  # type: ignore[return-value]
    return "other"


_DIGITS = r"[0-9\u0660-\u0669\u06f0-\u06f9]"
_NUM = rf"{_DIGITS}+(?:[.,\u066b\u066c]{_DIGITS}+)*"
_AR_MONTHS = ("يناير|فبراير|مارس|أبريل|ابريل|إبريل|مايو|يونيو|يونيه|يوليو|يوليه|أغسطس|اغسطس|سبتمبر|أكتوبر|"
              "اكتوبر|نوفمبر|ديسمبر|كانون الثاني|كانون الأول|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول|"
              "تشرين الأول|تشرين الثاني")
_EN_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_AR_NUMBER_WORDS = ("واحد|واحدة|اثنان|اثنين|اثنتان|اثنتين|ثلاث|ثلاثة|أربع|أربعة|خمس|خمسة|ست|ستة|سبع|سبعة|"
                    "ثماني|ثمانية|ثمان|تسع|تسعة|عشر|عشرة|عشرون|عشرين|ثلاثون|ثلاثين|أربعون|أربعين|خمسون|خمسين|"
                    "ستون|ستين|سبعون|سبعين|ثمانون|ثمانين|تسعون|تسعين|مئة|مائة|مئتين|مئتان|ألف|ألفين|آلاف|"
                    "مليون|ملايين|مليار|مليارات|نصف|ربع|ثلث|ضعف")
_EN_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                    "hundred|thousand|million|billion|half|dozen|dozens|hundreds|thousands|millions")
_SCALE = r"(?:\s+(?:ألف|آلاف|مليون|ملايين|مليار|مليارات|thousand|million|billion|trillion))?"
_AR_PREFIX = r"(?:[وبلف]|وب|ول|بال|وال|لل)?"  # proclitics glued to a number word: وأربعة, بثلاث

_SPAN_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(
        rf"(?:{_DIGITS}{{1,2}}\s+)?(?:{_AR_MONTHS})(?:\s*/\s*(?:{_AR_MONTHS}))?(?:\s+(?:عام\s+|سنة\s+)?{_DIGITS}{{4}})?"
        rf"|(?:{_DIGITS}{{1,2}}\s+)?\b(?:{_EN_MONTHS})\b(?:\s+{_DIGITS}{{1,2}}(?!{_DIGITS}),?)?(?:\s+{_DIGITS}{{4}})?"
        rf"|(?<!{_DIGITS}){_DIGITS}{{4}}(?:\s*(?:م|هـ|ه)(?=\W|$))?(?!{_DIGITS})"
        rf"|(?<!{_DIGITS}){_DIGITS}{{1,4}}s\b"
        rf"|\b(?:the\s+)?(?:{_DIGITS}{{1,2}}(?:st|nd|rd|th)|first|second|third)\s+century\b"
        rf"|القرن\s+\S+")),
    ("count", re.compile(
        rf"(?<!\w){_NUM}%?{_SCALE}"
        rf"|(?<!\w){_AR_PREFIX}(?:{_AR_NUMBER_WORDS})(?:\s+(?:و)?(?:{_AR_NUMBER_WORDS}))*(?!\w)"
        rf"|\b(?:{_EN_NUMBER_WORDS})(?:[\s-]+(?:and\s+)?(?:{_EN_NUMBER_WORDS}))*\b", re.I)),
    ("person", re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][\w'\u2019-]+(?:\s+(?:[A-Z]\.\s+)?[A-Z][\w'\u2019-]+)*")),
]
TYPE_OF_SPAN = {"count": "count", "date": "date", "person": "person"}
_WANTS = {"count": {"count"}, "date": {"date"}, "person": {"person"}, "place": {"person"}, "other": set()}


def typed_spans(sentence: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the numbers, dates and Latin-script names in ``sentence``, in text order; a
    span inside a longer one of another kind is dropped ("2019" inside "يونيو/ حزيران 2019")."""
    found: list[tuple[str, int, int]] = []
    for kind, rule in _SPAN_RULES:
        for m in rule.finditer(sentence):
            s, e = m.span()
            while e > s and not sentence[e - 1].isalnum():
                e -= 1
            if e > s:
                found.append((kind, s, e))
    found.sort(key=lambda x: (x[1], -(x[2] - x[1])))
    out: list[tuple[str, int, int]] = []
    for kind, s, e in found:
        if out and s < out[-1][2]:
            continue  # overlaps the longer/earlier span kept before it
        out.append((kind, s, e))
    return out


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", normalize(text)))


def novel_type_evidence(qtype: QuestionType, question: str, sentence: str) -> float:
    """1.0 when ``sentence`` holds a span of the kind ``qtype`` asks for that brings a word the question
    lacks, else 0.0."""
    wants = _WANTS[qtype]
    if not wants:
        return 0.0
    q = _words(question)
    for kind, s, e in typed_spans(sentence):
        if kind in wants and _words(sentence[s:e]) - q:
            return 1.0
    return 0.0
