"""The engine end to end through the public API, on a real Chroma and real BM25.

Tests of retrieval quality (which sentence answers an Arabic or English question, abstention) run on the
real default model (the ``slow`` tier). Tests of the engine's bookkeeping (adding, replacing, removing,
filtering, reopening, repair, offsets, determinism) run twice, through the ``engine`` fixture: on the fake
embedder of tests/fakes.py (the fast tier) and on the real model (slow).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import (
    Article,
    ArticleNotFoundError,
    Assistant,
    IndexMismatchError,
)
from assistant.samples import ensure_sample
from tests.helpers import SAMPLE_ID, add_vectors, sample_text

TROOPS = "20 ألف جندي"


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def engine(request: pytest.FixtureRequest):  # noqa: ANN201 - (embedder, settings)
    """(embedder, settings) of the engine under test: the fake embedder (fast) or the real model (slow)."""
    if request.param == "fake":
        return request.getfixturevalue("fake_embedder"), request.getfixturevalue("fake_settings")
    return request.getfixturevalue("embedder"), request.getfixturevalue("settings")


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def any_sample(request: pytest.FixtureRequest) -> Assistant:
    """The read-only index of the sample articles, over the fake embedder (fast) or the real model (slow)."""
    return request.getfixturevalue("fake_sample_assistant" if request.param == "fake" else "sample_assistant")


@pytest.fixture
def any_assistant(engine, tmp_path: Path):  # noqa: ANN001, ANN201
    """A fresh, empty index over the engine's embedder."""
    embedder, settings = engine
    a = Assistant.open(tmp_path / "fresh", settings=settings, embedder=embedder)
    yield a
    a.close()


def assert_offsets_exact(a: Assistant, answer) -> None:  # noqa: ANN001
    assert answer.citations
    for c in answer.citations:
        _, text = a.article(c.article_id)
        assert text[c.start : c.end] == c.text
        assert f"[{c.n}]" in answer.text


def test_public_names_are_exactly_these() -> None:
    import assistant

    assert set(assistant.__all__) == {
        "Assistant", "Settings", "Article", "ArticleInfo", "Sentence", "Passage", "Citation", "Answer",
        "AnswerChange", "IngestReport", "ShortAnswer", "StreamEvent", "ArticleFilter", "AssistantError",
        "ConfigError", "CollectionNotFoundError", "IngestError", "UnsupportedFormatError",
        "DecodingError", "EmptyArticleError", "FileTooLargeError", "MalformedInputError", "IndexError_",
        "IndexNotFoundError", "IndexMismatchError", "IndexLockedError", "StorageFullError", "StoreUnavailableError", "IndexCorruptError", "ArticleNotFoundError", "DateError", "EmbeddingError", "ModelIntegrityError",
        "LLMError", "LLMTimeoutError", "__version__",
    }
    for name in assistant.__all__:
        assert hasattr(assistant, name)


def test_arabic_question_cites_the_sentence_with_the_answer(sample_assistant: Assistant) -> None:
    ans = sample_assistant.ask("كم عدد القوات الأجنبية في أفغانستان؟")
    assert not ans.abstained and ans.lang == "ar"
    assert TROOPS in ans.citations[0].text
    # the short answer leads: the span reader's words of the cited sentence, then the quoted evidence
    assert ans.short is not None and ans.short.method == "reader" and "20" in ans.short.text
    first, second = ans.text.split("\n")[:2]
    assert first == f"{ans.short.text} [{ans.short.n}]" and second.startswith("بحسب المقالات")
    _, text = sample_assistant.article(ans.short.article_id)
    assert text[ans.short.start:ans.short.end] == ans.short.text
    assert_offsets_exact(sample_assistant, ans)


def test_english_question_over_arabic_article_quotes_arabic(sample_assistant: Assistant) -> None:
    ans = sample_assistant.ask("How many foreign troops are in Afghanistan?")
    assert not ans.abstained and ans.lang == "en"
    assert any(TROOPS in c.text for c in ans.citations[:2])
    # the short answer is Arabic words of the sentence ("20 ألف"); a number rules convert exactly, no LLM
    assert ans.short is not None and ans.short.text == "20 ألف"
    assert (ans.short.translation, ans.short.translated_by) == ("20,000", "rules")
    first, second = ans.text.split("\n")[:2]
    assert first == f"20,000 (converted from Arabic) [{ans.short.n}]" and second.startswith("According to the articles")
    other = sample_assistant.ask("Who opposes easing sanctions on Iran?")  # a name: quoted, said to be Arabic
    assert other.short is not None and other.short.translation is None
    assert other.text.split("\n")[0] == f"{other.short.text} (in Arabic) [{other.short.n}]"
    assert all(c.lang == "ar" for c in ans.citations)
    assert_offsets_exact(sample_assistant, ans)


@pytest.mark.parametrize(
    "question, needle",
    [
        ("من يعارض تخفيف العقوبات على إيران؟", "بولتون"),
        ("Who opposes easing sanctions on Iran?", "بولتون"),
        ("متى قتل الدبلوماسيون الإيرانيون؟", "1998"),
        ("What did Iran shoot down in the Gulf?", "طائرة مسيرة"),
    ],
)
def test_more_questions_find_their_sentence(sample_assistant: Assistant, question: str, needle: str) -> None:
    ans = sample_assistant.ask(question)
    assert any(needle in c.text for c in ans.citations), [c.text for c in ans.citations]
    assert_offsets_exact(sample_assistant, ans)


@pytest.mark.parametrize(
    "question, lang",
    [
        ("ما هي وصفة كعكة الشوكولاتة بالبندق؟", "ar"),
        ("How do I bake sourdough bread at home?", "en"),
        ("من فاز بكأس العالم لكرة القدم عام 1970؟", "ar"),
    ],
)
def test_abstains_when_the_articles_do_not_answer(sample_assistant: Assistant, question: str, lang: str) -> None:
    ans = sample_assistant.ask(question)
    assert ans.abstained, ans.text
    assert ans.citations == [] and ans.lang == lang
    assert ans.text in ("لا تجيب المقالات المتاحة عن هذا السؤال.", "The available articles do not answer this question.")


def test_same_question_same_answer(any_sample: Assistant) -> None:
    q = "ماذا تريد إيران من الولايات المتحدة؟"
    first = any_sample.ask(q)
    second = any_sample.ask(q)
    assert [c.sentence_id for c in first.citations] == [c.sentence_id for c in second.citations]
    assert [c.score for c in first.citations] == [c.score for c in second.citations]


def test_citations_are_sentences_not_chunks(any_sample: Assistant) -> None:
    ans = any_sample.ask("ما هي مخاوف طهران من مفاوضات ترامب مع طالبان؟", max_citations=5)
    sentences = {s.id: s for s in any_sample.index.catalog.sentences_of(SAMPLE_ID)}
    for c in ans.citations:
        s = sentences[c.sentence_id]
        assert (s.start, s.end, s.text) == (c.start, c.end, c.text)
    assert len({c.sentence_id for c in ans.citations}) == len(ans.citations)


def test_empty_collection_says_so(any_assistant: Assistant) -> None:
    ans = any_assistant.ask("What happened?")
    assert ans.abstained and "no articles" in ans.text


def test_articles_added_by_object_with_metadata_and_filtered_search(any_assistant: Assistant) -> None:
    rep = any_assistant.add([
        Article(id="oil", text="Oil prices rose 5 percent on Monday after OPEC cut output. Traders were surprised.",
                title="Oil jumps", source="Wire", date="2024-01-02"),
        Article(id="rain", text="Heavy rain flooded the streets of Alexandria on Monday. Schools closed.",
                title="Floods", source="Wire", date="2024-01-02"),
    ])
    assert sorted(rep.added) == ["oil", "rain"] and not rep.failed
    infos = {i.id: i for i in any_assistant.articles()}
    assert infos["oil"].title == "Oil jumps" and infos["oil"].n_sentences == 2 and infos["oil"].lang == "en"
    ans = any_assistant.ask("How much did oil prices rise?")
    assert ans.citations[0].article_id == "oil" and "5 percent" in ans.citations[0].text
    assert ans.citations[0].title == "Oil jumps" and ans.citations[0].date == "2024-01-02"
    only_rain = any_assistant.ask("How much did oil prices rise?", article_ids=["rain"])
    assert all(c.article_id == "rain" for c in only_rain.citations)
    assert all(p.sentence.article_id == "rain" for p in any_assistant.search("oil prices", article_ids=["rain"]))


def test_incremental_reingest_and_replacement(any_assistant: Assistant, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    f = folder / "story.txt"
    f.write_text("The minister resigned on Tuesday. Protests continued in the capital.", encoding="utf-8")
    assert any_assistant.add([folder]).added == ["story"]
    again = any_assistant.add([folder])
    assert again.unchanged == ["story"] and not again.added and not again.replaced

    f.write_text("The minister withdrew his resignation on Friday. Protests continued in the capital.", encoding="utf-8")
    rep = any_assistant.add([folder])
    assert rep.replaced == ["story"]
    [info] = any_assistant.articles()
    assert info.n_sentences == 2
    # the old sentence is gone everywhere: catalog, Chroma and BM25
    texts = [p.sentence.text for p in any_assistant.search("minister resigned Tuesday", k=10)]
    assert "The minister resigned on Tuesday." not in texts
    assert "The minister withdrew his resignation on Friday." in texts
    idx = any_assistant.index
    assert idx.vectors.count("sentences") == 2
    assert len(idx.lexical) == 2
    ans = any_assistant.ask("When did the minister withdraw his resignation?")
    assert "Friday" in ans.citations[0].text
    assert_offsets_exact(any_assistant, ans)


def test_remove_article(any_assistant: Assistant, sample_dir: Path) -> None:
    any_assistant.add([sample_dir, Article(id="other", text="The festival opens in Cairo next week.")])
    any_assistant.remove(SAMPLE_ID)
    assert [i.id for i in any_assistant.articles()] == ["other"]
    assert any_assistant.index.vectors.count("sentences") == 1
    assert all(p.sentence.article_id == "other" for p in any_assistant.search("طالبان أفغانستان إيران"))
    with pytest.raises(ArticleNotFoundError, match="no article 'missing'"):
        any_assistant.remove("missing")


def test_bad_inputs_are_reported_and_the_rest_indexed(any_assistant: Assistant, tmp_path: Path, sample_dir: Path) -> None:
    assert any_assistant.add([sample_dir]).added == [SAMPLE_ID]
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The central bank kept rates unchanged.", encoding="utf-8")
    (folder / "empty.txt").write_text("  ", encoding="utf-8")
    (folder / "fake.txt").write_bytes(b"%PDF-1.4 binary")
    (folder / "feed.jsonl").write_text('{"id": "j1", "text": "Rain is expected."}\n{oops\n', encoding="utf-8")
    rep = any_assistant.add([folder, tmp_path / "nope.txt"])
    assert sorted(rep.added) == ["good", "j1"]
    failed = dict(rep.failed)
    assert any(k.endswith("empty.txt") for k in failed)
    assert any(k.endswith("fake.txt") and "PDF" in v for k, v in failed.items())
    assert any(k.endswith("feed.jsonl:2") for k in failed)
    assert any(k.endswith("nope.txt") and "does not exist" in v for k, v in failed.items())
    assert sorted(i.id for i in any_assistant.articles()) == sorted([SAMPLE_ID, "good", "j1"])


def test_duplicate_ids_in_one_call(any_assistant: Assistant) -> None:
    rep = any_assistant.add([Article(id="a", text="One."), Article(id="a", text="Two.")])
    assert rep.added == ["a"]
    assert rep.failed and "already given" in rep.failed[0][1]


def test_manifest_mismatch_refuses_and_rebuild_keeps_articles(tmp_path: Path, engine, sample_dir: Path) -> None:  # noqa: ANN001
    embedder, settings = engine
    path = tmp_path / "idx"
    with Assistant.open(path, settings=settings, embedder=embedder) as a:
        a.add([sample_dir])
    other = settings.replace(chunking={"max_sentences": 2})
    with pytest.raises(IndexMismatchError) as err:
        Assistant.open(path, settings=other, embedder=embedder)
    assert "chunk_max_sentences" in str(err.value) and "assistant rebuild" in str(err.value)
    with Assistant.open(path, settings=other, embedder=embedder, rebuild=True) as a:
        assert [i.id for i in a.articles()] == [SAMPLE_ID]
        assert json.loads((path / "manifest.json").read_text())["chunk_max_sentences"] == 2
        assert TROOPS in a.ask("كم عدد القوات الأجنبية في أفغانستان؟").citations[0].text
    with Assistant.open(path, settings=other, embedder=embedder) as a:  # opens cleanly now
        assert len(a.articles()) == 1


def test_index_reopens_from_disk(tmp_path: Path, engine, sample_dir: Path) -> None:  # noqa: ANN001
    embedder, settings = engine
    path = tmp_path / "persist"
    with Assistant.open(path, settings=settings, embedder=embedder) as a:
        a.add([sample_dir])
        before = a.ask("How many foreign troops are in Afghanistan?")
    with Assistant.open(path, settings=settings, embedder=embedder) as b:
        after = b.ask("How many foreign troops are in Afghanistan?")
    assert [c.sentence_id for c in before.citations] == [c.sentence_id for c in after.citations]


def test_moved_index_folder_still_answers(tmp_path: Path, engine, sample_dir: Path) -> None:  # noqa: ANN001
    embedder, settings = engine
    with Assistant.open(tmp_path / "before", settings=settings, embedder=embedder) as a:
        a.add([sample_dir])
    (tmp_path / "before").rename(tmp_path / "after")
    with Assistant.open(tmp_path / "after", settings=settings, embedder=embedder) as b:
        assert b.index.vectors.count("sentences") == b.articles()[0].n_sentences
        assert TROOPS in b.ask("كم عدد القوات الأجنبية في أفغانستان؟").citations[0].text


def test_follow_up_question_uses_the_conversation(sample_assistant: Assistant) -> None:
    first = "What are the secret contacts between Iran and the United States about?"
    ans = sample_assistant.ask("and what does Iran want in return?", history=[first])
    assert ans.standalone_question and first in ans.standalone_question
    assert not ans.abstained
    assert any("العقوبات" in c.text for c in ans.citations), [c.text for c in ans.citations]


def test_ask_stream_ends_with_the_answer_ask_returns(any_sample: Assistant) -> None:
    q = "كم عدد القوات الأجنبية في أفغانستان؟"
    events = list(any_sample.ask_stream(q))
    assert events[-1].answer is not None and all(e.answer is None for e in events[:-1])
    assert "".join(e.delta for e in events[:-1]).strip() == events[-1].answer.text
    assert events[-1].answer.citations == any_sample.ask(q).citations


def test_generative_mode_without_llm_falls_back_with_a_notice(sample_assistant: Assistant) -> None:
    ans = sample_assistant.ask("How many foreign troops are in Afghanistan?", mode="generative")
    assert ans.mode == "extractive" and ans.notice and "No LLM" in ans.notice
    assert TROOPS in ans.citations[0].text


def test_repair_after_a_crash_between_catalog_and_chroma(tmp_path: Path, engine, sample_dir: Path) -> None:  # noqa: ANN001
    """Simulate the two half-written states a crash can leave; reopening restores catalog = Chroma = BM25."""
    embedder, settings = engine
    path = tmp_path / "crash"
    with Assistant.open(path, settings=settings, embedder=embedder) as a:
        a.add([sample_dir, Article(id="extra", text="The port reopened on Sunday. Ships queued outside.")])
        n = a.index.catalog.count()[1]
        # committed in the catalog but never written to Chroma:
        lost = a.index.catalog.sentence_ids_of(SAMPLE_ID)[:5]
        a.index.vectors.delete("sentences", lost)
        # written to Chroma but never committed in the catalog:
        add_vectors(a.index.vectors, "sentences", ["ghost"], ["ghost sentence"], embedder.embed_documents(["ghost sentence"]),
                    [{"article_id": "ghost", "idx": 0, "chunk_id": "c"}])
        (path / ".dirty").touch()
    with Assistant.open(path, settings=settings, embedder=embedder) as b:
        assert not (path / ".dirty").exists()
        assert b.index.vectors.all_ids("sentences") == set(b.index.catalog.all_ids()[0])
        assert b.index.vectors.count("sentences") == n and len(b.index.lexical) == n
        assert TROOPS in b.ask("كم عدد القوات الأجنبية في أفغانستان؟").citations[0].text


def test_offsets_are_exact_and_markers_match_on_either_engine(any_sample: Assistant) -> None:
    ans = any_sample.ask("كم عدد القوات الأجنبية في أفغانستان؟", max_citations=3)
    assert not ans.abstained and ans.lang == "ar"
    assert TROOPS in ans.citations[0].text
    assert_offsets_exact(any_sample, ans)
    assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))


def test_a_search_within_articles_scores_them_exactly_as_the_store_would(fake_assistant: Assistant) -> None:
    """Within a few articles the retriever scores every sentence from its cached vector (a filtered
    vector-store search scans: 0.8 s at 420k vectors); the ranking is the store's filtered one, and past
    ``retrieval.exact_filter_max`` sentences the store is asked."""
    rep = fake_assistant.add([
        Article(id=f"a{i}", text=f"Story {i} about ports. The port of city {i} handled {i * 7} ships in May. "
                f"Workers at port {i} went on strike. Officials in city {i} said talks would resume.")
        for i in range(6)
    ])
    assert len(rep.added) == 6
    q = "How many ships did the port handle?"
    ids = ["a1", "a4"]
    r = fake_assistant.retriever
    view = fake_assistant.index.snapshot()
    qv = fake_assistant.embedder.embed_query(q)
    exact = r._exact_within(view, qv, ids, 40, 10)
    assert exact is not None
    dense, chunks = exact
    store_dense = dict(view.vectors.query("sentences", qv, 40, ids))
    store_chunks = dict(view.vectors.query("chunks", qv, 10, ids))
    assert dense.keys() == store_dense.keys() and chunks.keys() == store_chunks.keys()
    for got, want in ((dense, store_dense), (chunks, store_chunks)):
        assert all(abs(got[i] - want[i]) < 1e-5 for i in want)
    found = fake_assistant.search(q, article_ids=ids)
    assert found and {p.sentence.article_id for p in found} <= set(ids)
    small = fake_assistant.settings.replace(retrieval={"exact_filter_max": 3}).retrieval
    assert type(r)(fake_assistant.index, fake_assistant.embedder, small)._exact_within(view, qv, ids, 40, 10) is None


SAMPLE_TITLE = "وسطاء ينقلون رسائل سرية بين طهران وواشنطن بشأن أفغانستان"


def test_the_bundled_sample_has_a_title_and_source_and_replaces_its_untitled_version(
        fake_assistant: Assistant, sample_dir: Path, tmp_path: Path) -> None:
    """The sample shows by its headline, not its id; an index holding the sample as it shipped before (a
    .txt, no title) gets it replaced on the next ``ensure_sample``: same id, same text, same sentences."""
    old = tmp_path / "old"
    old.mkdir()
    (old / f"{SAMPLE_ID}.txt").write_text(sample_text(sample_dir), encoding="utf-8")  # as it shipped before
    assert fake_assistant.add([old]).added == [SAMPLE_ID]
    [before] = fake_assistant.articles()
    assert before.title is None and before.source is None
    sentences = fake_assistant.index.catalog.sentence_ids_of(SAMPLE_ID)

    rep = ensure_sample(fake_assistant)
    assert rep.replaced == [SAMPLE_ID] and not rep.added and not rep.failed
    [info] = fake_assistant.articles()
    assert (info.id, info.title, info.source, info.date, info.lang) == (SAMPLE_ID, SAMPLE_TITLE, "رويترز", None, "ar")
    assert info.n_sentences == before.n_sentences == 31 and info.content_hash != before.content_hash
    assert fake_assistant.index.catalog.sentence_ids_of(SAMPLE_ID) == sentences
    assert fake_assistant.article(SAMPLE_ID)[1] == sample_text(sample_dir)  # the text byte for byte
    ans = fake_assistant.ask("كم عدد القوات الأجنبية في أفغانستان؟")
    assert TROOPS in ans.citations[0].text
    assert (ans.citations[0].title, ans.citations[0].source) == (SAMPLE_TITLE, "رويترز")
    assert_offsets_exact(fake_assistant, ans)
    assert ensure_sample(fake_assistant).unchanged == [SAMPLE_ID]
