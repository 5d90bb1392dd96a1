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
