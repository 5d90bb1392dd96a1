from assistant.text.language import detect_language
from assistant.text.normalize import normalize, tokenize


def test_normalize_folds_arabic_variants() -> None:
    assert normalize("أَفْغَانِسْتَانُ") == "افغانستان"  # diacritics, hamza-on-alef
    assert normalize("إيران") == normalize("ايران")
    assert normalize("آسيا") == "اسيا"
    assert normalize("مصطفى") == normalize("مصطفي")  # alef maqsura
    assert normalize("مدرسة") == normalize("مدرسه")  # ta marbuta
    assert normalize("جـــميل") == "جميل"  # tatweel
    assert normalize("٢٠١٩ و۲۰۱۹") == "2019 و2019"  # Arabic-Indic and Eastern digits
    assert normalize("OPEC Ｔｅｈｒａｎ") == "opec tehran"  # case-fold + NFKC width
    assert normalize("طال\u200fبان\u202e") == "طالبان"  # bidi and zero-width controls


def test_tokenize_strips_clitics_and_stopwords_consistently() -> None:
    assert tokenize("والمدرسة في القاهرة") == tokenize("المدرسه القاهره")
    assert "في" not in tokenize("في القاهرة")
    assert tokenize("How many troops are in Afghanistan?") == ["many", "troops", "afghanistan"]


def test_language_detection() -> None:
    assert detect_language("كم عدد القوات الأجنبية في أفغانستان؟") == "ar"
    assert detect_language("How many foreign troops are in Afghanistan?") == "en"
    assert detect_language("ما موقف OPEC من الأسعار؟") == "ar"  # an acronym does not flip it
    assert detect_language("12345", default="ar") == "ar"


def test_one_arabic_rule_everywhere() -> None:
    from fractions import Fraction

    from assistant.text.language import ARABIC_SHARE, arabic_share, has_arabic, is_arabic

    assert ARABIC_SHARE == Fraction(1, 3)
    assert is_arabic("ما هي OPEC؟") and not is_arabic("OPEC and the oil price")
    assert is_arabic("اب" + "x" * 4) and not is_arabic("اب" + "x" * 5)  # exactly a third counts; less does not
    assert not is_arabic("12345 ...") and not has_arabic("12345 ...")
    assert has_arabic("Taliban (طالبان) said") and not is_arabic("Taliban (طالبان) said no to the talks today")
    for text in ("اب" + "x" * 4, "اب" + "x" * 5, "كم عدد", "Kabul", "ما موقف OPEC من الأسعار؟"):
        assert (detect_language(text) == "ar") == is_arabic(text)
    assert arabic_share("ما هي OPEC؟") > ARABIC_SHARE > arabic_share("OPEC and the oil price")


def test_invisible_characters_have_one_home_with_named_sets() -> None:
    from assistant.text import characters as cleaning
    from assistant.text import normalize as normalize_module

    stripped = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u180e"
    kept = "\u200c\u200d\u200e\u200f\u061c"  # joiners shape words; direction marks only place punctuation
    assert cleaning.INVISIBLE_FORMAT.sub("", stripped + kept) == kept
    assert cleaning.MATCH_INVISIBLE.sub("", stripped + kept) == ""  # matching ignores every one of them
    assert normalize_module.normalize("طال\u200cبان") == normalize_module.normalize("طالبان")
    assert all(cleaning.ID_FORBIDDEN.search(ch) for ch in stripped + kept + "\x00\x1f\x7f\x85\x9f")
    assert cleaning.clean_text("a\x00b\tc\u202ed") == "ab\tcd"
