"""The program owns the citations of a generated answer: parse, drop, check, add, renumber.

Pure functions. The only outside input is ``embed``, a function from texts to L2-normalized rows
(the embedder's ``embed_documents``), so the support check is a cosine between an answer sentence and
the source sentence it cites. Markers are parsed by assistant/answer/markers.py; numbers, currencies and
names compared by assistant/answer/agreement.py; instructions hidden in articles recognized by
assistant/answer/injection.py.

A marker belongs to the sentence it ends ("soldiers [1]." or "soldiers. [1]"); when the answer opens
with a marker ("[1] The force ... [2] Iran ..."), each marker belongs to the sentence after it. A marker
number that was not shown is dropped (``dropped_marker``).

Each answer sentence (split with assistant/text/sentences.py after the markers are taken out) is checked
against the sentences it cites:

- support: cosine(answer sentence, cited sentence) >= the threshold calibrated for the embedder, one
  for the same script and one across scripts (assistant/models/calibration.py). Cited sentences below it
  lose their marker; a sentence that reads as an instruction to the model supports nothing;
- agreement: its numbers and currencies must appear in a cited sentence, else ``number_mismatch``;
  its Latin-script names in a cited sentence or the question.

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

from assistant.answer.agreement import disagreements, name_problems
from assistant.answer.injection import looks_like_instruction
from assistant.answer.markers import find_markers, strip_markers
from assistant.models.calibration import Thresholds
from assistant.text.language import is_arabic
from assistant.text.normalize import tokenize
from assistant.text.sentences import split_sentences
from assistant.types import AnswerChange

__all__ = ["CheckResult", "check_answer", "Embed", "Policy"]

Embed = Callable[[list[str]], np.ndarray]
Policy = Literal["remove", "flag"]


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


def _script(text: str) -> str:
    return "ar" if is_arabic(text) else "latin"


def _is_connective(sentence: str) -> bool:
    """A lead-in with no content to check: at most two content words, no digits."""
    if any(ch.isdigit() for ch in sentence):
        return False
    return len(tokenize(sentence)) <= 2


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
            return disagreements(text, srcs) + name_problems(text, srcs, question)

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
