"""Arabic numbers, amounts, dates, years and decades put into English by rules (assistant/text/english_rules.py):
exact where every word is covered, None as soon as one is not (fast tier)."""

from __future__ import annotations

import pytest

from assistant.text.english_rules import to_english


@pytest.mark.parametrize("arabic,english", [
    ("20 ألف", "20,000"),  # the examples
    ("يونيو/ حزيران 2019", "June 2019"),
    ("عام 1998", "1998"),
    ("ثلاثة ملايين", "3 million"),
    ("٢٠ ألف", "20,000"),  # Arabic-Indic digits
    ("عشرة آلاف", "10,000"),
    ("خمسة وعشرون", "25"),
    ("ثلاث وعشرين ألف", "23,000"),
    ("3.5 مليار دولار", "$3.5 billion"),
    ("5 ملايين دولار", "$5 million"),
    ("100 مليون يورو", "€100 million"),
    ("200 ريال", "200 riyals"),
    ("90 في المئة", "90%"),
    ("12 بالمائة", "12%"),
    ("51.6٪", "51.6%"),
    ("17 ثانية", "17 seconds"),
    ("1 يوم", "1 day"),
    ("18 عاماً", "18 years"),
    ("2.5 مليون نسمة", "2.5 million people"),
    ("687 و760 نانومتر", "687 and 760 nm"),
    ("12 يونيو 2019", "June 12, 2019"),
    ("3 كانون الثاني 2020", "January 3, 2020"),
    ("سنة 1520", "1520"),
    ("١٩٢٣م", "1923"),
    ("في عام 1998", "in 1998"),
    ("بعد 1279", "after 1279"),
    ("1321 إلى 1323", "1321 to 1323"),
    ("حوالي 300 شخص", "about 300 people"),
    ("أكثر من 20 ألف", "more than 20,000"),
    ("الخمسينيات", "1950s"),
    ("صيف سنة 1521", "summer of 1521"),
    ("3:08", "3:08"),
    ("20–18", "20–18"),
    ("68511", "68,511"),
    ("1,388", "1,388"),
    ("3.62", "3.62"),
])
def test_what_rules_cover_is_converted(arabic: str, english: str) -> None:
    assert to_english(arabic) == english


@pytest.mark.parametrize("arabic", [
    "20 ألف جندي",  # a noun the rules do not know: the whole span must be covered
    "الطريق الوطنية 99",
    "5 ملايين دولار نقداً",
    "زلماي خليل زاد",
    "في",  # particles alone are no answer
    "و",
    "",
])
def test_anything_else_is_left_alone(arabic: str) -> None:
    assert to_english(arabic) is None
