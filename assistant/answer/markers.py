"""Citation markers in a generated answer: find them, take them out.

Accepted (tested in tests/test_citecheck.py):

- ``[1]``, ``[1, 2]``, ``[1،2]``, ``[1-3]`` (a range), ``[1][2]``, with ASCII, Arabic-Indic (``[١]``)
  or Persian (``[۱]``) digits, and an optional word inside: ``[Source 1]``, ``[المصدر ٢]``;
- the same inside ``【1】``, ``⟦1⟧`` and full-width ``［1］``;
- ``(1)`` and ``(1, 2)`` count only when every number is one that was shown and the group does not
  open a line (so a year "(1998)" or a list item "(1) ..." stays text);
- a number that was not shown is reported in ``Marker.invalid`` (the checker drops it); other bracket
  styles are text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Marker", "find_markers", "strip_markers", "ascii_digits"]

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


def ascii_digits(text: str) -> str:
    """``text`` with Arabic-Indic and Persian digits (and the Arabic decimal and thousands signs) in ASCII."""
    return text.translate(_DIGIT_MAP)
