"""Article dates: whatever form a news article gives, one ISO 8601 form the filters can compare.

:func:`normalize_date` reads

- ISO 8601: ``2019-06-12``, ``2019-06-12T08:30:00+03:00`` (the date part is kept), ``2019-06``, ``2019``;
- numeric dates, day first as Arabic and European news write them: ``12/6/2019``, ``12-06-2019``,
  ``12.06.2019``, and year first: ``2019/06/12``;
- month names in Arabic (the Egyptian and Gulf names يناير … ديسمبر, the Levantine and Iraqi كانون الثاني …
  كانون الأول, the Maghrebi جانفي … ديسمبر, with or without hamza and taa marbuta: ابريل, يونية) and in
  English (full or abbreviated): ``12 يونيو 2019``, ``يونيو/ حزيران 2019``, ``الأربعاء 12 حزيران 2019``,
  ``June 12, 2019``, ``12 Jun 2019``;
- Arabic-Indic and Persian digits anywhere (``١٢ يونيو ٢٠١٩``), and a trailing ``م`` (the Gregorian mark).

and returns ``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` when the day or month is not given (no precision is
invented). Anything else raises :class:`~assistant.errors.DateError` with the forms it accepts.

:func:`date_bounds` gives the first and last day a normalized date covers, which is what the date filters
compare (``2019-06`` is inside ``date_from="2019-06-15"``… ``date_to="2019-06-30"``: it overlaps it).
"""

from __future__ import annotations

import calendar
import re

from assistant.errors import DateError
from assistant.text.normalize import normalize

__all__ = ["normalize_date", "date_bounds", "DATE_FORMS"]

DATE_FORMS = ("2019-06-12 (ISO 8601, with or without a time), 2019-06, 2019, 12/6/2019 (day first), "
              "2019/06/12, '12 يونيو 2019', '12 حزيران 2019', 'June 12, 2019'")

_MONTHS_RAW = {
    1: ["يناير", "كانون الثاني", "جانفي", "january", "jan"],
    2: ["فبراير", "شباط", "فيفري", "february", "feb"],
    3: ["مارس", "آذار", "march", "mar"],
    4: ["أبريل", "إبريل", "نيسان", "أفريل", "april", "apr"],
    5: ["مايو", "أيار", "ماي", "may"],
    6: ["يونيو", "يونية", "حزيران", "جوان", "june", "jun"],
    7: ["يوليو", "يولية", "تموز", "جويلية", "july", "jul"],
    8: ["أغسطس", "آب", "أوت", "august", "aug"],
    9: ["سبتمبر", "أيلول", "september", "sep", "sept"],
    10: ["أكتوبر", "تشرين الأول", "october", "oct"],
    11: ["نوفمبر", "تشرين الثاني", "november", "nov"],
    12: ["ديسمبر", "كانون الأول", "december", "dec"],
}
# normalized (alef forms, taa marbuta, case) name -> month; longest names first so that "كانون الثاني"
# is taken before a shorter name inside it
_MONTHS = dict(sorted(((normalize(n), m) for m, names in _MONTHS_RAW.items() for n in names),
                      key=lambda kv: -len(kv[0])))
_MONTH_RE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in _MONTHS) + r")(?!\w)")
_WEEKDAYS = re.compile(r"(?<!\w)(?:" + normalize("السبت|الأحد|الاثنين|الإثنين|الثلاثاء|الأربعاء|الخميس|الجمعة") +
                       r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)(?!\w)")

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[t ]\d{1,2}:\d{2}.*)?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YEAR_FIRST = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")


def _iso(year: int, month: int | None, day: int | None, given: str) -> str:
    if not 1 <= year <= 9999 or (month is not None and not 1 <= month <= 12):
        raise DateError(given, f"is not a date ({'month ' + str(month) if month else 'year'} out of range); give {DATE_FORMS}")
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise DateError(given, f"is not a date ({year:04d}-{month:02d} has no day {day}); give {DATE_FORMS}")
    return f"{year:04d}-{month:02d}-{day:02d}"


def normalize_date(value: str) -> str:
    """``value`` as ``YYYY-MM-DD`` (or ``YYYY-MM``, ``YYYY``); DateError for anything else (module doc)."""
    given = value
    text = normalize(str(value))  # Arabic-Indic digits -> ASCII, alef forms, case, invisible marks
    text = re.sub(r"(?<=\d)\s*م\b", "", text).strip()  # 2019م: the Gregorian mark
    if m := _ISO.match(text):
        y, mo, d = m.groups()
        return _iso(int(y), int(mo) if mo else None, int(d) if d else None, given)
    if m := _DAY_FIRST.match(text):
        d, mo, y = (int(g) for g in m.groups())
        return _iso(y, mo, d, given)
    if m := _YEAR_FIRST.match(text):
        y, mo, d = (int(g) for g in m.groups())
        return _iso(y, mo, d, given)
    months = {_MONTHS[n] for n in _MONTH_RE.findall(text)}
    rest = _WEEKDAYS.sub(" ", _MONTH_RE.sub(" ", text))
    numbers = [int(n) for n in re.findall(r"\d+", rest)]
    leftover = re.sub(r"[\d\s,./\-،()]+", "", rest)
    if len(months) == 1 and not leftover:  # "يونيو/ حزيران 2019": two names of one month
        years = [n for n in numbers if n >= 1000]
        days = [n for n in numbers if n < 1000]
        if len(years) == 1 and len(days) <= 1:
            return _iso(years[0], months.pop(), days[0] if days else None, given)
    raise DateError(given, f"is not a date we read; give {DATE_FORMS}")


def date_bounds(date: str) -> tuple[str, str]:
    """The first and last day (``YYYY-MM-DD``) a normalized date covers."""
    parts = date.split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return f"{year:04d}-01-01", f"{year:04d}-12-31"
    month = int(parts[1])
    if len(parts) == 2:
        return f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
    return date, date
