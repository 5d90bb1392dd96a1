"""Splitter goldens: Arabic and English, and the traps listed in ../shared/data/README.md."""

import pytest

from assistant.text.sentences import sentence_id, split_sentences


def texts(t: str) -> list[str]:
    spans = split_sentences(t)
    for s in spans:
        assert t[s.start : s.end] == s.text  # offsets are exact
    return [s.text for s in spans]


@pytest.mark.parametrize(
    "text, expected",
    [
        # Arabic sentence ends: . ! ? ؟ and the line break; never the Arabic comma or semicolon.
        ("قال المسؤول إن المحادثات مستمرة، وإنها سرية. ورفض البيت الأبيض التعليق؛ ولم يرد.",
         ["قال المسؤول إن المحادثات مستمرة، وإنها سرية.", "ورفض البيت الأبيض التعليق؛ ولم يرد."]),
        ("هل توجد محادثات؟ نعم! قالها مرتين.", ["هل توجد محادثات؟", "نعم!", "قالها مرتين."]),
        ("قناة سرية\nسيمثل الاتصال المباشر تناقضا صارخا.", ["قناة سرية", "سيمثل الاتصال المباشر تناقضا صارخا."]),
        # Trap: initials in transliterated names.
        ("ترجمها جون سي. ميسنجر عام 1850. ثم نشرت.", ["ترجمها جون سي. ميسنجر عام 1850.", "ثم نشرت."]),
        ("عاش المليونير م. ثيو كيرني في المدينة. وبنى قصرا.", ["عاش المليونير م. ثيو كيرني في المدينة.", "وبنى قصرا."]),
        ("كتب المؤرخ فريديريك و. موت كتابا.", ["كتب المؤرخ فريديريك و. موت كتابا."]),
        # ... but an acronym or a sentence opener after the letter ends the sentence.
        ("اشترتها شركة يو بي تي. في عام 1950 تغير كل شيء.", ["اشترتها شركة يو بي تي.", "في عام 1950 تغير كل شيء."]),
        # Trap: year marks.
        ("انتهت الدولة في 29 أكتوبر 1923م. نشأت بعدها الجمهورية.",
         ["انتهت الدولة في 29 أكتوبر 1923م.", "نشأت بعدها الجمهورية."]),
        ("دخلها سنة 1085 م. وفي السنة التالية غادر.", ["دخلها سنة 1085 م.", "وفي السنة التالية غادر."]),
        # Trap: footnote marks after a period stay with their sentence.
        ("توفي السلطان في 1918م.[1] وخلفه أخوه.", ["توفي السلطان في 1918م.[1]", "وخلفه أخوه."]),
        ("وهي الحكومة.[1][2][3] تم ذلك لاحقا.", ["وهي الحكومة.[1][2][3]", "تم ذلك لاحقا."]),
        # Trap: a period with no space after it, between Arabic words.
        ("تقع المدينة في نيفادا.وتعتبر أكبر مدنها.", ["تقع المدينة في نيفادا.", "وتعتبر أكبر مدنها."]),
        # Quotes close with their sentence; an ellipsis inside a quote does not end it.
        ('قال إن إيران "يمكن أن تكون ذات قيمة كبيرة... هذه فرصة". وأضاف.',
         ['قال إن إيران "يمكن أن تكون ذات قيمة كبيرة... هذه فرصة".', "وأضاف."]),
        # Decimal numbers and Arabic-Indic digits are not sentence ends.
        ("بلغ النمو ٣.٥ بالمئة. وارتفع 2.7 مرة.", ["بلغ النمو ٣.٥ بالمئة.", "وارتفع 2.7 مرة."]),
        # English: abbreviations, initials, lower-case continuation.
        ("Mr. J. K. Rowling lives in the U.S. and earns 3.5 million. She writes.",
         ["Mr. J. K. Rowling lives in the U.S. and earns 3.5 million.", "She writes."]),
        ("See Brown v. Board of Education. It changed schools.",
         ["See Brown v. Board of Education.", "It changed schools."]),
        ("Is it true? Yes! It is.", ["Is it true?", "Yes!", "It is."]),
        ('He said "no." Then he left.', ['He said "no."', "Then he left."]),
    ],
)
def test_split_goldens(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_blank_lines_and_whitespace_only_yield_nothing() -> None:
    assert texts("\n\n   \n\t") == []
    assert texts("  أولا.  \n\n  ثانيا.  ") == ["أولا.", "ثانيا."]


def test_windows_line_endings_keep_offsets() -> None:
    t = "السطر الأول.\r\nالسطر الثاني."
    assert texts(t) == ["السطر الأول.", "السطر الثاني."]


def test_overlong_run_is_cut_at_whitespace() -> None:
    t = " ".join(["كلمة"] * 5000)  # ~25,000 characters with no sentence end
    spans = split_sentences(t, max_chars=1000)
    assert len(spans) > 20
    assert all(len(s.text) <= 1000 for s in spans)
    assert all(not s.text.startswith(" ") and not s.text.endswith(" ") for s in spans)
    assert "".join(s.text for s in spans).replace(" ", "") == t.replace(" ", "")


def test_punctuation_only_line_is_not_a_sentence() -> None:
    assert texts("الخبر.\n***\n...") == ["الخبر."]


def test_sentence_ids_are_stable_and_distinguish_repeats() -> None:
    a = sentence_id("art", "نص مكرر.", 0)
    assert a == sentence_id("art", "نص مكرر.", 0)
    assert a != sentence_id("art", "نص مكرر.", 1)
    assert a != sentence_id("other", "نص مكرر.", 0)
