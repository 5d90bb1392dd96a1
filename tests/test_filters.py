"""Article dates normalized at ingest (assistant/text/dates.py) and the filters of a question
(assistant/retrieve/filters.py) through the Python API and the CLI. Fast tier: the fake embedder at the model
boundary (tests/fakes.py), a real Chroma, BM25 and catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import Article, Assistant
from assistant.cli import main
from assistant.errors import ConfigError, DateError
from assistant.text.dates import date_bounds, normalize_date


@pytest.mark.parametrize(("given", "iso"), [
    ("2019-06-12", "2019-06-12"), ("2019-06-12T08:30:00+03:00", "2019-06-12"), ("2019-6", "2019-06"),
    ("2019", "2019"), ("12/6/2019", "2019-06-12"), ("12.06.2019", "2019-06-12"), ("2019/06/12", "2019-06-12"),
    ("12 يونيو 2019", "2019-06-12"), ("١٢ يونيو ٢٠١٩", "2019-06-12"), ("يونيو/ حزيران 2019", "2019-06"),
    ("الأربعاء 12 حزيران 2019", "2019-06-12"), ("3 كانون الثاني 2020", "2020-01-03"),
    ("5 تشرين الأول 2019", "2019-10-05"), ("12 يونية 2019م", "2019-06-12"), ("1923م", "1923"),
    ("9 ابريل 2003", "2003-04-09"), ("1 جويلية 2021", "2021-07-01"), ("June 12, 2019", "2019-06-12"),
    ("Wednesday, 12 June 2019", "2019-06-12"), ("12 Jun 2019", "2019-06-12"),
])
def test_dates_in_the_forms_news_uses(given: str, iso: str) -> None:
    assert normalize_date(given) == iso


@pytest.mark.parametrize("bad", ["yesterday", "31/2/2019", "2019-13-01", "12 يونيو", "June July 2019", "",
                                 "12 Junior 2019"])
def test_a_bad_date_is_refused_with_the_forms(bad: str) -> None:
    with pytest.raises(DateError, match="give 2019-06-12"):
        normalize_date(bad)


def test_date_bounds() -> None:
    assert date_bounds("2020-02") == ("2020-02-01", "2020-02-29")
    assert date_bounds("2019") == ("2019-01-01", "2019-12-31")
    assert date_bounds("2019-06-12") == ("2019-06-12", "2019-06-12")


def _news() -> list[Article]:
    return [
        Article(id="afp-ar", text="قال المتحدث إن المحادثات ستستأنف في الدوحة يوم الاثنين.", source="AFP",
                date="12 يونيو 2019", lang="ar"),
        Article(id="reuters-ar", text="وقال المتحدث إن المحادثات ستستأنف في الدوحة الأسبوع المقبل.", source="Reuters",
                date="٣ تموز ٢٠١٩", lang="ar"),
        Article(id="reuters-en", text="The spokesman said talks would resume in Doha on Monday.", source="Reuters",
                date="2019-06", lang="en"),
        Article(id="undated", text="The spokesman said talks in Doha would resume.", source="AFP", lang="en"),
    ]


def test_dates_are_stored_in_iso_and_a_bad_one_names_the_article(fake_assistant: Assistant) -> None:
    rep = fake_assistant.add([*_news(), Article(id="bad", text="Talks resumed.", date="the day before")])
    assert sorted(rep.added) == ["afp-ar", "reuters-ar", "reuters-en", "undated"]
    [(where, why)] = rep.failed
    assert where == "bad" and "'the day before' is not a date we read" in why and "leave it out" in why
    dates = {i.id: i.date for i in fake_assistant.articles()}
    assert dates == {"afp-ar": "2019-06-12", "reuters-ar": "2019-07-03", "reuters-en": "2019-06", "undated": None}


def test_a_page_date_we_cannot_read_is_dropped_not_the_page(fake_assistant: Assistant, tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text('<html><head><meta name="date" content="soon"><title>T</title></head>'
                    "<body><p>Talks resumed in Doha on Monday.</p></body></html>", encoding="utf-8")
    rep = fake_assistant.add([page])
    assert rep.added and not rep.failed
    assert fake_assistant.articles()[0].date is None


def _cited(a: Assistant, **filters: object) -> set[str]:
    ans = a.ask("When will the talks in Doha resume?", retriever="dense", **filters)
    return {c.article_id for c in ans.citations}


def test_filters_by_source_date_language_and_id(fake_assistant: Assistant) -> None:
    fake_assistant.add(_news())
    everything = {p.sentence.article_id for p in fake_assistant.search("talks Doha resume", 20, retriever="dense")}
    assert everything == {"afp-ar", "reuters-ar", "reuters-en", "undated"}

    def found(**f: object) -> set[str]:
        return {p.sentence.article_id for p in fake_assistant.search("talks Doha resume", 20, retriever="dense", **f)}

    assert found(sources=["reuters"]) == {"reuters-ar", "reuters-en"}  # case ignored
    assert found(languages=["ar"]) == {"afp-ar", "reuters-ar"}
    assert found(date_from="2019-06-01", date_to="2019-06-30") == {"afp-ar", "reuters-en"}  # undated: left out
    assert found(date_from="2019-06-15") == {"reuters-ar", "reuters-en"}  # 2019-06 overlaps the range
    assert found(date_to="١ تموز ٢٠١٩") == {"afp-ar", "reuters-en"}
    assert found(sources=["Reuters"], languages=["en"]) == {"reuters-en"}
    assert found(article_ids=["afp-ar", "undated"], sources=["AFP"]) == {"afp-ar", "undated"}
    assert _cited(fake_assistant, sources=["AFP"], languages=["ar"]) == {"afp-ar"}


def test_nothing_matching_says_so_and_bad_filters_are_refused(fake_assistant: Assistant) -> None:
    fake_assistant.add(_news())
    ans = fake_assistant.ask("When will the talks resume?", sources=["BBC"])
    assert ans.abstained and ans.citations == [] and ans.text.startswith("No article matches the chosen filters")
    ar = fake_assistant.ask("متى تستأنف المحادثات؟", date_from="2030-01-01")
    assert ar.abstained and ar.text.startswith("لا توجد مقالات تطابق")
    assert fake_assistant.search("talks", sources=["BBC"]) == []
    with pytest.raises(DateError, match="'next week' is not a date we read"):
        fake_assistant.ask("When?", date_from="next week")
    with pytest.raises(ConfigError, match="is after date_to"):
        fake_assistant.ask("When?", date_from="2019-07-01", date_to="2019-06-01")
    with pytest.raises(ConfigError, match="languages is an empty list"):
        fake_assistant.ask("When?", languages=[])


def test_the_cli_filters_and_names_a_bad_date(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch, fake_embedder) -> None:  # noqa: ANN001
    import assistant.assistant as facade

    monkeypatch.setattr(facade, "build_embedder", lambda *_args: fake_embedder)  # the model boundary, faked
    data = tmp_path / "news.jsonl"
    data.write_text("\n".join(json.dumps(a.to_dict(), ensure_ascii=False) for a in _news()), encoding="utf-8")
    index = str(tmp_path / "idx")
    assert main(["ingest", str(data), "--index", index]) == 0
    capsys.readouterr()
    assert main(["ask", "When will the talks in Doha resume?", "--index", index, "--json", "--retriever", "bm25",
                 "--source", "Reuters", "--lang", "en"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {c["article_id"] for c in out["citations"]} == {"reuters-en"}
    assert main(["ask", "When?", "--index", index, "--date-from", "someday"]) != 0
    assert "'someday' is not a date we read; give 2019-06-12" in capsys.readouterr().err
